// What a result layer can show (choropleth of a numeric column, LISA clusters, Gi* hot and
// cold spots, scan clusters, allocation coverage, local regression coefficients, regions and
// neighbourhood types, neighbourhood change: moved up / stayed / moved down) and the colour, category and legend of each
// area for the chosen view. Colours of LISA and Gi* come from dongne.report (palettes.json).

import { classBreaks, classOf, decimals } from "./classify.js";
import { formatNumber, lang, t } from "./i18n.js";

// "No value" is hatched (the pattern is defined in index.html), so that it cannot be taken for
// the light grey of "not significant", as in the report maps.
const MISSING = "url(#no-data-hatch)";
// Scan clusters that are not significant at alpha: grey, as in ScanStatistic.categories().
const NOT_SIGNIFICANT = "#bdbdbd";

/** Category views: the label column, the significance column and the palette used. */
const CATEGORY_VIEWS = [
  { id: "lisa", column: "lisa_label", significant: "lisa_significant", p: "lisa_p", palette: "lisa" },
  { id: "gistar", column: "gistar_label", significant: "gistar_significant", p: "gistar_p", palette: "hotspot" },
  { id: "gi", column: "gi_label", significant: "gi_significant", p: "gi_p", palette: "hotspot" },
  { id: "scan", column: "scan_label", significant: "scan_in_significant_cluster", p: "scan_cluster_p", palette: "scan" },
];

const COVERAGE = {
  already: "#9ecae1",
  new: "#238b45",
  partly: "#a1d99b",
  none: "#fdae6b",
};

const SCAN_SECONDARY = ["#ef8a62", "#f4a582", "#fddbc7", "#fdae61", "#fee090"];

// Neighbourhood change (space-time markov): the quantile class of the last step against the
// first. Up and down in a diverging pair, "stayed" light; a higher class is not "better" (the
// values may be a deprivation share), so neither is green.
const MOVES = [
  { move: "up", colour: "#d6604d", key: "markov_up" },
  { move: "same", colour: "#f0f0f0", key: "markov_same" },
  { move: "down", colour: "#4393c3", key: "markov_down" },
];

function isTrue(v) {
  return v === true || v === 1 || v === "True" || v === "true";
}

/** Numeric columns of the features (every present value a number), in property order. */
export function numericColumns(features) {
  const names = Object.keys(features[0]?.properties ?? {});
  return names.filter((name) => {
    let seen = false;
    for (const f of features) {
      const v = f.properties[name];
      if (v === null || v === undefined) continue;
      if (typeof v !== "number") return false;
      seen = true;
    }
    return seen;
  });
}

/** The views a layer supports, e.g. ["lisa", "gistar", "value"]. */
export function availableViews(features) {
  const props = features[0]?.properties ?? {};
  const views = [...localViews(props), ...GROUP_VIEWS.filter((v) => v.column in props).map((v) => v.id)];
  views.push(...CATEGORY_VIEWS.filter((v) => v.column in props).map((v) => v.id));
  if ("coverage_before" in props && "coverage_after" in props) views.push("coverage");
  if ("markov_move" in props) views.push("markov");
  views.push("value");
  return views;
}

/** The significance column used by "significant only" for `view` (null if none). */
export function significanceColumn(view, features) {
  const props = features[0]?.properties ?? {};
  const local = localName(view);
  if (local !== null) return `local_${local}_significant` in props ? `local_${local}_significant` : null;
  const own = CATEGORY_VIEWS.find((v) => v.id === view);
  if (own) return own.significant in props ? own.significant : null;
  const first = CATEGORY_VIEWS.find((v) => v.significant in props);
  return first ? first.significant : null;
}

/** The p-value column shown in the table for `view`: adjusted if there is one. */
export function pValueColumn(view, features) {
  const props = features[0]?.properties ?? {};
  const own = CATEGORY_VIEWS.find((v) => v.id === view);
  if (!own) return null;
  for (const suffix of ["_adjusted", "_value"]) {
    if (`${own.p}${suffix}` in props) return `${own.p}${suffix}`;
  }
  return null;
}

/** The label column of a category view ("lisa" -> "lisa_label"), null for other views. */
export function categoryColumn(view) {
  if (view === "markov") return "markov_move";
  return [...CATEGORY_VIEWS, ...GROUP_VIEWS].find((v) => v.id === view)?.column ?? null;
}

// ------------------------------------------------------------ explain and regions layers

/** The covariate of a local-coefficient view ("local:x1" -> "x1"), null for other views. */
export function localName(view) {
  return typeof view === "string" && view.startsWith("local:") ? view.slice(6) : null;
}

/** The name of a view in the current language ("local:x1" -> "Local coefficient: x1"). */
export function viewLabel(view) {
  const local = localName(view);
  return local === null ? t(`view_${view}`) : t("view_local", { name: local });
}

/** The value column a view maps (the local coefficient), null when the view has none. */
export function viewColumn(view) {
  const local = localName(view);
  return local === null ? null : `local_${local}`;
}

// GWR/MGWR layers (dongne explain) carry local_<name> and local_<name>_significant (the
// Fotheringham–Byrne corrected test); one view per covariate, the intercept last.
function localViews(props) {
  const names = Object.keys(props)
    .map((k) => /^local_(.+)_significant$/.exec(k)?.[1])
    .filter((n) => n !== undefined && `local_${n}` in props);
  names.sort((a, b) => (a === "const") - (b === "const"));
  return names.map((n) => `local:${n}`);
}

// Regions and neighbourhood types (dongne regions): one colour per region or type, the colour
// of the run's own map (region_colour, type_colour written by the service).
const GROUP_VIEWS = [
  { id: "region", column: "region", colour: "region_colour" },
  { id: "type", column: "type", colour: "type_colour" },
];

function groupText(view, props) {
  const value = props[view.column];
  if (view.id === "region") return t("region_n", { n: value });
  const name = lang() === "ko" ? (props.type_name_ko ?? props.type_name) : props.type_name;
  return name ? `${t("type_n", { n: value })}: ${name}` : t("type_n", { n: value });
}

function styleGroups(features, keyOf, view, base, styles, legend) {
  const counts = new Map();
  let missing = 0;
  for (const f of features) {
    const value = f.properties[view.column];
    const colour = f.properties[view.colour];
    const ok = value !== null && value !== undefined;
    const key = ok ? `${view.id} ${value}` : null;
    if (!ok) missing += 1;
    else {
      const entry = counts.get(key) ?? { value, colour: colour ?? "#888888", text: groupText(view, f.properties), count: 0 };
      entry.count += 1;
      counts.set(key, entry);
    }
    styles.set(keyOf(f), {
      ...base(f),
      fill: ok ? (colour ?? "#888888") : MISSING,
      category: key,
      categoryText: ok ? groupText(view, f.properties) : null,
    });
  }
  const order = [...counts.entries()].sort((a, b) => Number(a[1].value) - Number(b[1].value));
  for (const [category, { colour, text, count }] of order) legend.push({ colour, text, count, category });
  return missing;
}

// Local coefficients: classes symmetric around 0 (blue below, red above, as the report's
// coefficient maps), grey where the coefficient is not significant, hatched where missing.
function styleLocal(features, keyOf, name, options, palettes, base, styles, legend) {
  const column = `local_${name}`;
  const sigColumn = `local_${name}_significant`;
  const values = features.map((f) => f.properties[column]).map((v) => (typeof v === "number" ? v : NaN));
  const shown = values.filter((v, i) => Number.isFinite(v) && isTrue(features[i].properties[sigColumn]));
  const top = shown.length ? Math.max(...shown.map(Math.abs)) : 0;
  const k = 6;
  const colours = palettes.diverging?.[String(k)] ?? ["#2166ac", "#67a9cf", "#d1e5f0", "#fddbc7", "#ef8a62", "#b2182b"];
  const edges = top > 0 ? Array.from({ length: k + 1 }, (_, i) => -top + (2 * top * i) / k) : [];
  const counts = new Array(k).fill(0);
  let grey = 0;
  let missing = 0;
  features.forEach((f, i) => {
    const v = values[i];
    const significant = isTrue(f.properties[sigColumn]);
    let fill = MISSING;
    let category = null;
    let categoryText = null;
    if (!Number.isFinite(v)) missing += 1;
    else if (!significant || !edges.length) {
      grey += 1;
      fill = NOT_SIGNIFICANT;
      category = "not significant";
      categoryText = t("local_not_significant");
    } else {
      const c = Math.min(Math.max(Math.floor(((v + top) / (2 * top)) * k), 0), k - 1);
      counts[c] += 1;
      fill = colours[c];
      category = v > 0 ? "positive" : "negative";
      categoryText = t(v > 0 ? "local_positive" : "local_negative");
    }
    styles.set(keyOf(f), { ...base(f), value: v, significant, fill, category, categoryText });
  });
  const d = edges.length ? Math.max(0, 2 - Math.floor(Math.log10(top))) : 0;
  counts.forEach((count, i) => {
    if (!count) return;
    legend.push({ colour: colours[i], text: `${formatNumber(edges[i], d)} – ${formatNumber(edges[i + 1], d)}`, count });
  });
  if (grey) legend.push({ colour: NOT_SIGNIFICANT, text: t("local_not_significant"), count: grey, category: "not significant" });
  return missing;
}

function scanCategory(label) {
  if (label === "most likely cluster") return { colour: "#b2182b", text: t("scan_most_likely") };
  const m = /^secondary cluster (\d+)$/.exec(label ?? "");
  if (m) {
    const n = Number(m[1]);
    return { colour: SCAN_SECONDARY[(n - 2) % SCAN_SECONDARY.length], text: t("scan_secondary", { n }) };
  }
  if (label === "not in a cluster") return { colour: "#eeeeee", text: t("scan_none") };
  return null;
}

function coverageCategory(before, after) {
  if (!Number.isFinite(before) || !Number.isFinite(after)) return null;
  if (after <= 0) return "none";
  if (after > before) return "new";
  return after >= 100 ? "already" : "partly";
}

/**
 * Colour, category and label of every area for `options` = {view, column, scheme, k}.
 * Returns {styles: Map key -> {fill, category, categoryText, value, significant}, legend}.
 * `legend` lists {colour, text, count} entries (count of areas in each class).
 */
export function styleLayer(features, keyOf, options, palettes) {
  const styles = new Map();
  const legend = [];
  const sigColumn = significanceColumn(options.view, features);
  const base = (f) => ({
    value: f.properties[options.column],
    significant: sigColumn ? isTrue(f.properties[sigColumn]) : false,
  });
  let missing = 0;

  const group = GROUP_VIEWS.find((v) => v.id === options.view);
  if (localName(options.view) !== null) {
    missing = styleLocal(features, keyOf, localName(options.view), options, palettes, base, styles, legend);
  } else if (group) {
    missing = styleGroups(features, keyOf, group, base, styles, legend);
  } else if (options.view === "value") {
    const values = features.map((f) => f.properties[options.column]).map((v) => (typeof v === "number" ? v : NaN));
    const edges = classBreaks(values, options.scheme, options.k);
    const n = Math.max(edges.length - 1, 1);
    const colours = palettes.sequential[String(Math.min(Math.max(n, 2), 7))] ?? palettes.sequential["5"];
    const counts = new Array(n).fill(0);
    features.forEach((f, i) => {
      const c = edges.length ? classOf(values[i], edges) : -1;
      if (c < 0) missing += 1;
      else counts[c] += 1;
      styles.set(keyOf(f), { ...base(f), fill: c < 0 ? MISSING : colours[c], category: null, categoryText: null });
    });
    const d = decimals(edges);
    const fmt = (v) => formatNumber(Number(v.toFixed(d)), d);
    counts.forEach((count, i) => {
      const text = fmt(edges[i]) === fmt(edges[i + 1]) ? fmt(edges[i]) : `${fmt(edges[i])} – ${fmt(edges[i + 1])}`;
      legend.push({ colour: colours[i], text, count });
    });
  } else if (options.view === "markov") {
    const counts = new Map(MOVES.map((m) => [m.move, 0]));
    for (const f of features) {
      const p = f.properties;
      const m = MOVES.find((x) => x.move === p.markov_move);
      if (m) counts.set(m.move, counts.get(m.move) + 1);
      else missing += 1;
      styles.set(keyOf(f), {
        ...base(f),
        value: p.markov_class_change,
        fill: m ? m.colour : MISSING,
        category: m ? `markov ${m.move}` : null,
        categoryText: m ? t("markov_area", { move: t(m.key), from: p.markov_class_first, to: p.markov_class_last }) : null,
      });
    }
    for (const m of MOVES) {
      legend.push({ colour: m.colour, text: t(m.key), count: counts.get(m.move), category: `markov ${m.move}` });
    }
  } else if (options.view === "coverage") {
    const counts = { already: 0, new: 0, partly: 0, none: 0 };
    for (const f of features) {
      const cat = coverageCategory(f.properties.coverage_before, f.properties.coverage_after);
      if (cat) counts[cat] += 1;
      else missing += 1;
      styles.set(keyOf(f), {
        ...base(f),
        value: f.properties.coverage_after,
        significant: cat === "new",
        fill: cat ? COVERAGE[cat] : MISSING,
        category: cat ? `coverage ${cat}` : null,
        categoryText: cat ? t(`coverage_${cat}`) : null,
      });
    }
    for (const cat of ["new", "already", "partly", "none"]) {
      legend.push({ colour: COVERAGE[cat], text: t(`coverage_${cat}`), count: counts[cat] });
    }
  } else {
    const view = CATEGORY_VIEWS.find((v) => v.id === options.view);
    const counts = new Map();
    for (const f of features) {
      const label = f.properties[view.column];
      let entry = null;
      let key = label;
      if (view.palette === "scan") {
        entry = scanCategory(label);
        if (entry && label !== "not in a cluster" && !isTrue(f.properties[view.significant])) {
          entry = { colour: NOT_SIGNIFICANT, text: t("scan_not_significant", { name: entry.text }) };
          key = `${label} (not significant)`;
        }
      } else if (label != null && palettes[view.palette][label]) {
        const p = palettes[view.palette][label];
        // "undefined" (no value, no statistic) is hatched like missing data, never a grey
        // that could be read as "not significant".
        entry = { colour: label === "undefined" ? MISSING : p.colour, text: p[lang()] };
      }
      if (!entry) missing += 1;
      else counts.set(key, { ...entry, count: (counts.get(key)?.count ?? 0) + 1 });
      styles.set(keyOf(f), {
        ...base(f),
        fill: entry ? entry.colour : MISSING,
        category: entry ? key : null,
        categoryText: entry ? entry.text : null,
      });
    }
    const order =
      view.palette === "scan"
        ? [...counts.keys()].sort((a, b) => (a === "not in a cluster") - (b === "not in a cluster") || a.localeCompare(b))
        : Object.keys(palettes[view.palette]).filter((key) => counts.has(key));
    for (const key of order) {
      const { colour, text, count } = counts.get(key);
      legend.push({ colour, text, count, category: key });
    }
  }
  if (missing) legend.push({ colour: MISSING, text: t("no_data"), count: missing });
  return { styles, legend };
}

// ------------------------------------------------------------------ space-time series

/** Gi* state of a bin: hot (+1) and cold (-1) spots significant after the FDR, or neither. */
const STEP_STATES = [
  { state: 1, colour: "#d7301f", key: "step_hot" },
  { state: -1, colour: "#2166ac", key: "step_cold" },
  { state: 0, colour: "#f0f0f0", key: "step_not_significant" },
];

/** The measures of a space-time series that the time slider can show. */
export function seriesMeasures(series) {
  return ["value", "gi_star", "markov_class"].filter((m) => m in (series?.measures ?? {}));
}

/** The clusters of `series` alive at `step` (their time span holds it). */
export function clustersAt(series, step) {
  return (series?.clusters ?? []).filter((c) => c.start <= step && step <= c.end);
}

/**
 * Colour every area by its value at time step `options.step` of `series` (a run's
 * series.json) and ring the areas of the clusters alive at that step.
 * `options.measure`: "value" (classes over all steps, so that colours compare across steps),
 * "gi_star" (hot and cold spots of that step) or "markov_class" (the quantile class of the
 * step in a neighbourhood-change run). Same return value as styleLayer.
 */
export function styleTimeStep(features, keyOf, series, options, palettes) {
  const styles = new Map();
  const row = new Map(series.areas.map((a, i) => [String(a), i]));
  const step = Math.min(Math.max(options.step ?? 0, 0), series.steps.length - 1);
  // Only significant clusters are ringed: a ring must not suggest a cluster that chance explains.
  const alive = clustersAt(series, step);
  const ring = new Map();
  for (const c of alive.filter((x) => x.significant)) for (const m of c.members) ring.set(String(m), c);
  const notSignificant = alive.filter((x) => !x.significant).length;
  const gi = options.measure === "gi_star" && "gi_star" in series.measures;
  const quantile = options.measure === "markov_class" && "markov_class" in series.measures;
  const values = series.measures[gi ? "gi_star" : quantile ? "markov_class" : "value"];
  let classify; // (row) -> {fill, category, categoryText} or null (no value)
  let entries; // () -> legend entries of the classes
  if (quantile) {
    // Markov's quantile classes (1 = lowest), the same classes at every step (pooled)
    const k = Math.max(1, ...values.flat().filter((v) => Number.isFinite(v)));
    const colours = palettes.sequential[String(Math.min(Math.max(k, 2), 7))] ?? palettes.sequential["5"];
    const colourOf = (c) => colours[Math.min(Math.floor(((c - 1) * colours.length) / k), colours.length - 1)];
    const counts = new Array(k).fill(0);
    classify = (i) => {
      const c = values[i][step];
      if (!Number.isFinite(c)) return null;
      counts[c - 1] += 1;
      return { fill: colourOf(c), category: `class ${c}`, categoryText: t("markov_class_n", { n: c }) };
    };
    entries = () =>
      counts.map((count, i) => ({ colour: colourOf(i + 1), text: t("markov_class_n", { n: i + 1 }), count, category: `class ${i + 1}` }));
  } else if (gi) {
    const states = series.measures.state;
    const counts = new Map(STEP_STATES.map((s) => [s.state, 0]));
    classify = (i) => {
      const s = STEP_STATES.find((x) => x.state === states[i][step]);
      if (!s) return null;
      counts.set(s.state, counts.get(s.state) + 1);
      return { fill: s.colour, category: s.key, categoryText: t(s.key) };
    };
    entries = () => STEP_STATES.map((s) => ({ colour: s.colour, text: t(s.key), count: counts.get(s.state), category: s.key }));
  } else {
    const all = values.flat();
    // Fisher's natural breaks are quadratic in the number of values: quantiles for long series
    const scheme = options.scheme === "natural_breaks" && all.length > 4000 ? "quantiles" : options.scheme;
    const edges = classBreaks(all, scheme, options.k);
    const n = Math.max(edges.length - 1, 1);
    const colours = palettes.sequential[String(Math.min(Math.max(n, 2), 7))] ?? palettes.sequential["5"];
    const counts = new Array(n).fill(0);
    classify = (i) => {
      const c = edges.length ? classOf(values[i][step], edges) : -1;
      if (c < 0) return null;
      counts[c] += 1;
      return { fill: colours[c], category: null, categoryText: null };
    };
    const d = decimals(edges);
    const fmt = (v) => formatNumber(Number(v.toFixed(d)), d);
    entries = () =>
      counts.map((count, i) => ({
        colour: colours[i],
        text: fmt(edges[i]) === fmt(edges[i + 1]) ? fmt(edges[i]) : `${fmt(edges[i])} – ${fmt(edges[i + 1])}`,
        count,
      }));
  }
  let missing = 0;
  const ringCounts = new Map();
  for (const f of features) {
    const key = keyOf(f);
    const i = row.get(key);
    const got = i === undefined ? null : classify(i);
    if (!got) missing += 1;
    const cluster = ring.get(key) ?? null;
    if (cluster) ringCounts.set(cluster, (ringCounts.get(cluster) ?? 0) + 1);
    styles.set(key, {
      ...(got ?? { fill: MISSING, category: null, categoryText: null }),
      value: i === undefined ? null : values[i][step],
      significant: Boolean(cluster?.significant),
      ring: cluster ? "in-cluster" : null,
      cluster: cluster?.cluster ?? null,
    });
  }
  const legend = entries();
  for (const [c, count] of [...ringCounts].sort((a, b) => a[0].cluster - b[0].cluster)) {
    legend.push({
      colour: "none",
      ring: "in-cluster",
      text: t("step_cluster", { n: c.cluster, p: formatNumber(c.p_value, 3) }),
      count,
    });
  }
  if (notSignificant) legend.push({ colour: "none", text: t("step_clusters_ns"), count: notSignificant });
  if (missing) legend.push({ colour: MISSING, text: t("no_data"), count: missing });
  return { styles, legend };
}
