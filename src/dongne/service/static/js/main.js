// The dashboard: sign in, choose a workspace, upload datasets, run analyses and watch them,
// and explore a result layer on the map, in the legend, the details panel and the table.

import { api, ApiError, apiUrl, storedToken, storeToken } from "./api.js";
import { columnLabel, formatNumber, lang, progressText, setCategoryTexts, setLang, t, translate } from "./i18n.js";
import {
  availableViews,
  categoryColumn,
  numericColumns,
  pValueColumn,
  seriesMeasures,
  significanceColumn,
  styleLayer,
  viewColumn,
  viewLabel,
  styleTimeStep,
} from "./layers.js";
import { AreaMap } from "./map.js";
import { renderDetails } from "./details.js";
import { ResultsTable } from "./table.js";

const $ = (id) => document.getElementById(id);
const SVG = "http://www.w3.org/2000/svg";
const NUMERIC_DTYPE = /^(u?int|float|Int|UInt|Float)/;
const POLL_MS = 600;

const state = {
  me: null,
  workspace: null,
  role: null,
  datasets: [],
  runs: [],
  models: [],
  palettes: null,
  layer: null, // {title, features, key, name, run}
  options: { view: "value", column: null, scheme: "quantiles", k: 5, step: 0, measure: "value" },
  styled: null,
  selected: null,
  polling: null,
  activeRun: null,
};

const map = new AreaMap($("map"), { onActivate: (key) => selectArea(key, { from: "map" }) });
const table = new ResultsTable($("table"), {
  onSelect: (key) => selectArea(key, { from: "table" }),
});

// ------------------------------------------------------------------ helpers

function setStatus(text, kind = "") {
  const el = $("status");
  el.textContent = text;
  el.className = `status ${kind}`;
}

function showError(err) {
  const message = err instanceof ApiError && err.status === 0 ? t("network_error") : err.message;
  setStatus(t("error", { message }), "error");
}

function option(value, text, selected = false) {
  const el = document.createElement("option");
  el.value = value;
  el.textContent = text;
  el.selected = selected;
  return el;
}

/** Replace the options of a <select>, keeping its value when it is still offered. */
function fillSelect(select, entries, preferred) {
  const keep = select.multiple ? [...select.selectedOptions].map((o) => o.value) : [select.value];
  select.replaceChildren(...entries.map(([value, text]) => option(value, text)));
  const values = entries.map(([value]) => value);
  if (select.multiple) {
    for (const o of select.options) o.selected = keep.includes(o.value);
  } else if (values.includes(keep[0]) && keep[0] !== "") {
    select.value = keep[0];
  } else if (preferred !== undefined && values.includes(preferred)) {
    select.value = preferred;
  }
}

function columnsOf(dataset) {
  return dataset?.summary?.columns ?? [];
}

function guessKey(names) {
  return names.find((n) => /(^|_)code$/i.test(n)) ?? names.find((n) => /(^|_)id$/i.test(n)) ?? names[0];
}

/** The name column to show: English names in English when the data have them. */
function nameColumn(props, preferred) {
  const names = Object.keys(props);
  const base = preferred ?? names.find((n) => /_name$/.test(n) && !/_table$/.test(n));
  if (!base) return null;
  if (lang() === "en" && `${base}_en` in props) return `${base}_en`;
  return base;
}

/**
 * The paragraphs of a server summary in the current language. Summaries alternate English
 * and Korean blocks; an unindented line is Korean when at least 30 % of its letters are
 * Hangul, and indented lines (details, lists of area names) belong to the line above.
 */
function splitSummary(text) {
  const keep = [];
  let korean = false;
  for (const line of text.split("\n")) {
    if (line.trim() && !/^\s/.test(line)) {
      const letters = line.match(/[A-Za-z\uac00-\ud7a3]/g) ?? [];
      const hangul = line.match(/[\uac00-\ud7a3]/g) ?? [];
      korean = letters.length > 0 && hangul.length / letters.length >= 0.3;
    }
    if (!line.trim() || korean === (lang() === "ko")) keep.push(line);
  }
  return keep
    .join("\n")
    .split(/\n\s*\n/)
    .map((p) => p.replace(/^\n+|\s+$/g, ""))
    .filter(Boolean);
}

// ------------------------------------------------------------------ sign in

async function signIn(token) {
  storeToken(token);
  try {
    state.me = await api("me");
  } catch (err) {
    storeToken(null);
    showError(err);
    return;
  }
  $("signin").hidden = true;
  $("app").hidden = false;
  $("sign-out").hidden = false;
  $("who").textContent = t("signed_in_as", { name: state.me.user.name });
  setStatus("");
  fillWorkspaces();
  await chooseWorkspace($("workspace").value);
}

function signOut() {
  storeToken(null);
  clearTimeout(state.polling);
  window.location.reload();
}

function fillWorkspaces() {
  const entries = state.me.workspaces.map((w) => [w.slug, `${w.name} (${w.slug})`]);
  fillSelect($("workspace"), entries, state.workspace ?? entries[0]?.[0]);
}

async function chooseWorkspace(slug) {
  state.workspace = slug;
  const ws = state.me.workspaces.find((w) => w.slug === slug);
  state.role = ws?.role ?? null;
  $("role").textContent = state.role ? t("role_is", { role: t(`role_${state.role}`) }) : "";
  const canEdit = state.role === "owner" || state.role === "editor";
  for (const id of ["upload-form", "run-form"]) {
    for (const el of $(id).elements) el.disabled = !canEdit;
  }
  await Promise.all([loadDatasets(), loadRuns(), loadModels()]);
}

// ------------------------------------------------------------------ datasets

async function loadDatasets() {
  if (!state.workspace) return;
  state.datasets = await api(`workspaces/${state.workspace}/datasets`);
  renderDatasets();
  refreshRunForm();
}

function renderDatasets() {
  const list = $("dataset-list");
  if (!state.datasets.length) {
    const li = document.createElement("li");
    li.textContent = t("no_datasets");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...state.datasets.map((d) => {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = d.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = t("dataset_meta", { id: d.id, kind: d.kind, rows: d.summary?.rows ?? "?" });
      if (d.shared) meta.textContent += ` · ${t("shared_from", { ws: d.workspace })}`;
      li.append(title, meta);
      if (d.kind === "areas") {
        const show = document.createElement("button");
        show.type = "button";
        show.className = "secondary";
        show.textContent = t("show_on_map");
        show.setAttribute("aria-label", t("show_on_map_label", { name: d.name }));
        show.addEventListener("click", () => showDataset(d));
        li.append(show);
      }
      return li;
    }),
  );
}

async function upload(event) {
  event.preventDefault();
  const file = $("upload-file").files[0];
  if (!file) return;
  const kind = $("upload-kind").value;
  setStatus(t("uploading", { name: file.name }));
  try {
    const d = await api(`workspaces/${state.workspace}/datasets`, {
      method: "POST",
      query: {
        kind,
        filename: file.name,
        name: $("upload-name").value.trim(),
        x: kind === "points" ? $("upload-x").value.trim() : "",
        y: kind === "points" ? $("upload-y").value.trim() : "",
      },
      body: file,
    });
    setStatus(t("uploaded", { name: d.name, rows: d.summary?.rows ?? "?" }), "ok");
    $("upload-form").reset();
    $("upload-xy").hidden = true;
    await loadDatasets();
  } catch (err) {
    showError(err);
  }
}

async function showDataset(d) {
  setStatus(t("loading"));
  try {
    const gj = await api(`datasets/${d.id}/download`, { query: { format: "geojson" } });
    const names = columnsOf(d).map((c) => c.name);
    setLayer({ title: d.name, features: gj.features, key: guessKey(names), name: null, run: null });
    setStatus("");
  } catch (err) {
    showError(err);
  }
}

// ------------------------------------------------------------------ run form

function datasetsOf(...kinds) {
  return state.datasets.filter((d) => kinds.includes(d.kind));
}

function refreshRunForm() {
  const analysis = $("run-analysis").value;
  for (const fs of document.querySelectorAll("#run-form fieldset[data-analysis]")) {
    const on = fs.dataset.analysis === analysis;
    fs.hidden = !on;
    fs.disabled = !on;
  }
  const areaKinds = analysis === "allocate" ? ["areas", "points"] : ["areas"];
  const areaSets = datasetsOf(...areaKinds);
  // points: the areas are an optional study area (default: the convex hull of the points)
  const optionalAreas = analysis === "points";
  $("run-areas").required = !optionalAreas;
  fillSelect(
    $("run-areas"),
    [
      ...(optionalAreas ? [["", t("no_study_area")]] : []),
      ...areaSets.map((d) => [String(d.id), `#${d.id} ${d.name}`]),
    ],
    // an optional study area starts as none, and "none" stays chosen once chosen
    optionalAreas ? "" : String(areaSets.at(-1)?.id ?? ""),
  );
  const tables = datasetsOf("table");
  fillSelect(
    $("run-table"),
    [["", t("no_table")], ...tables.map((d) => [String(d.id), `#${d.id} ${d.name}`])],
    String(tables.at(-1)?.id ?? ""),
  );
  const areas = state.datasets.find((d) => String(d.id) === $("run-areas").value);
  const tableSet = state.datasets.find((d) => String(d.id) === $("run-table").value);
  const areaCols = columnsOf(areas);
  const tableCols = columnsOf(tableSet);
  const areaNames = areaCols.map((c) => c.name);
  fillSelect($("run-id-column"), areaNames.map((n) => [n, n]), guessKey(areaNames));
  fillSelect(
    $("run-table-key"),
    [["", t("same_key")], ...tableCols.map((c) => [c.name, c.name])],
    "",
  );
  const all = [...areaCols, ...tableCols.filter((c) => !areaNames.includes(c.name))];
  const numeric = all.filter((c) => NUMERIC_DTYPE.test(c.dtype)).map((c) => [c.name, c.name]);
  const text = all.filter((c) => !NUMERIC_DTYPE.test(c.dtype)).map((c) => c.name);
  fillSelect(
    $("run-name-column"),
    [["", t("none_option")], ...text.map((n) => [n, n])],
    text.find((n) => /_name$/.test(n)) ?? "",
  );
  fillSelect($("run-variable"), numeric, numeric.find(([n]) => /pct|rate|share/.test(n))?.[0]);
  fillSelect($("run-indicators"), numeric);
  fillSelect($("run-cases"), numeric);
  fillSelect($("run-population"), [["", t("none_option")], ...numeric]);
  fillSelect($("run-weight"), [["", t("none_option")], ...numeric]);
  const points = datasetsOf("points").map((d) => [String(d.id), `#${d.id} ${d.name}`]);
  fillSelect($("run-candidates"), [
    ["centroids", t("candidates_centroids")],
    ["grid", t("candidates_grid")],
    ...points,
  ]);
  fillSelect($("run-existing"), [["", t("none_option")], ...points]);
  refreshExplainRegions(areaCols, numeric);
  fillSelect($("run-pt-points"), points, points.at(-1)?.[0]);
  refreshSpacetimeForm(tables);
}

/** The explain and regions fields: columns of the areas (and table), the target areas. */
function refreshExplainRegions(areaCols, numeric) {
  fillSelect($("run-y"), numeric, numeric.find(([n]) => /pct|rate|share/.test(n))?.[0]);
  fillSelect($("run-x"), numeric);
  fillSelect($("run-attributes"), numeric);
  fillSelect($("run-floor-column"), numeric, numeric.find(([n]) => /household|pop/.test(n))?.[0]);
  fillSelect($("run-extensive"), numeric);
  fillSelect($("run-intensive"), numeric);
  const targets = datasetsOf("areas").filter((d) => String(d.id) !== $("run-areas").value);
  fillSelect($("run-target"), targets.map((d) => [String(d.id), `#${d.id} ${d.name}`]), String(targets.at(-1)?.id ?? ""));
  const target = state.datasets.find((d) => String(d.id) === $("run-target").value);
  const targetNames = columnsOf(target).map((c) => c.name);
  fillSelect($("run-target-id"), targetNames.map((n) => [n, n]), guessKey(targetNames));
  const method = $("run-regions-method").value;
  for (const div of document.querySelectorAll("#fs-regions [data-methods]")) {
    div.hidden = !div.dataset.methods.split(" ").includes(method);
  }
}

function selectedValues(id) {
  return [...$(id).selectedOptions].map((o) => o.value);
}

/** The fields of an explain run (`dongne explain`) or a regions run (`dongne regions`). */
function explainRegionsBody(analysis) {
  const v = (id) => $(id).value.trim();
  if (analysis === "explain") {
    return {
      model: v("run-explain-model"),
      y: v("run-y"),
      x: selectedValues("run-x").filter((n) => n !== v("run-y")),
      weights: v("run-explain-weights"),
      alpha: Number(v("run-explain-alpha")),
      missing: $("run-explain-drop").checked ? "drop" : "raise",
    };
  }
  const method = v("run-regions-method");
  const body = { method };
  if (["maxp", "skater", "azp", "ward", "spectral"].includes(method)) body.attributes = selectedValues("run-attributes");
  if (method === "maxp") Object.assign(body, { floor_column: v("run-floor-column"), floor: Number(v("run-floor")) });
  if (["skater", "azp", "ward", "spectral"].includes(method)) body.n_regions = Number(v("run-n-regions"));
  if (method === "typology") {
    Object.assign(body, { indicators: selectedValues("run-attributes"), typology_method: v("run-typology-method") });
    if (v("run-k")) body.k = Number(v("run-k"));
  }
  if (method === "interpolate") {
    Object.assign(body, {
      target: Number(v("run-target")),
      target_id: v("run-target-id"),
      extensive: selectedValues("run-extensive"),
      intensive: selectedValues("run-intensive"),
    });
  }
  return body;
}

/** The counts table of a space-time run and its columns (area code, time, count). */
function refreshSpacetimeForm(tables) {
  fillSelect(
    $("run-st-counts"),
    tables.map((d) => [String(d.id), `#${d.id} ${d.name}`]),
    String(tables.at(-1)?.id ?? ""),
  );
  const counts = state.datasets.find((d) => String(d.id) === $("run-st-counts").value);
  const cols = columnsOf(counts);
  const names = cols.map((c) => c.name);
  fillSelect($("run-st-area"), names.map((n) => [n, n]), guessKey(names));
  fillSelect($("run-st-time"), names.map((n) => [n, n]), names.find((n) => /date|time|day|week|month|year/i.test(n)));
  const numeric = cols.filter((c) => NUMERIC_DTYPE.test(c.dtype)).map((c) => [c.name, c.name]);
  const events = $("run-st-source").value === "events";
  fillSelect(
    $("run-st-value"),
    [...(events ? [["", t("st_one_per_row")]] : []), ...numeric],
    numeric.find(([n]) => /count|cases|n$/i.test(n))?.[0],
  );
}

function runBody() {
  const v = (id) => $(id).value.trim();
  const num = (id) => Number($(id).value);
  const analysis = v("run-analysis");
  const body = { analysis, areas: num("run-areas"), seed: num("run-seed") };
  if (v("run-table")) {
    body.table = num("run-table");
    if (v("run-table-key")) body.table_key = v("run-table-key");
  }
  if (v("run-id-column")) body.id_column = v("run-id-column");
  if (v("run-name-column") && analysis !== "allocate") body.name_column = v("run-name-column");
  if (analysis === "detect") {
    const methods = [...document.querySelectorAll("#fs-detect input[name=methods]:checked")].map((el) => el.value);
    Object.assign(body, {
      variable: v("run-variable"),
      methods,
      weights: v("run-weights"),
      // blank = "auto": enough permutations for the correction to be able to find something
      permutations: v("run-permutations") ? num("run-permutations") : "auto",
      correction: v("run-correction"),
      alpha: num("run-alpha"),
      missing: "label",
    });
    if (methods.includes("index")) {
      const chosen = [...$("run-indicators").selectedOptions].map((o) => o.value);
      body.indicators = Object.fromEntries((chosen.length ? chosen : [body.variable]).map((c) => [c, "+"]));
    }
  } else if (analysis === "explain" || analysis === "regions") {
    delete body.name_column;
    Object.assign(body, explainRegionsBody(analysis));
  } else if (analysis === "scan") {
    Object.assign(body, { cases: v("run-cases"), scan: v("run-scan-side"), replications: num("run-replications") });
    if (v("run-population")) body.population = v("run-population");
  } else if (analysis === "spacetime") {
    const source = v("run-st-source");
    const counts = num("run-st-counts");
    if (body.table === counts) delete body.table; // the counts are not joined to the areas
    Object.assign(body, {
      [source]: counts,
      area: v("run-st-area"),
      time: v("run-st-time"),
      freq: v("run-st-freq") || null,
      methods: [...document.querySelectorAll("#fs-spacetime input[name=st_methods]:checked")].map((el) => el.value),
      scan_analysis: v("run-st-analysis"),
      max_steps: num("run-st-max-steps"),
      max_pop: num("run-st-max-pop"),
      replications: num("run-st-replications"),
      k: num("run-st-k"),
      classes: num("run-st-classes"),
      markov_permutations: num("run-st-markov-permutations"),
      now: "none",
    });
    if (v("run-st-value")) body[source === "events" ? "count" : "value"] = v("run-st-value");
  } else if (analysis === "points") {
    delete body.table;
    delete body.table_key;
    if (!v("run-areas")) {
      delete body.areas;
      delete body.id_column;
    }
    const eps = v("run-pt-eps");
    Object.assign(body, {
      points: num("run-pt-points"),
      methods: [...document.querySelectorAll("#fs-points input[name=pt_methods]:checked")].map((el) => el.value),
      eps: eps ? eps.split(",").map(Number) : null,
      min_pts: num("run-pt-min-pts"),
      replications: num("run-pt-replications"),
      bandwidth: v("run-pt-bandwidth"),
    });
  } else {
    const candidates = v("run-candidates");
    Object.assign(body, {
      model: v("run-model"),
      candidates: /^\d+$/.test(candidates) ? Number(candidates) : candidates,
      p: num("run-p"),
      radius: v("run-radius") || null,
    });
    if (v("run-existing")) body.existing = num("run-existing");
    if (v("run-weight")) body.weight = v("run-weight");
  }
  return body;
}

async function checkMatch() {
  const out = $("match-report");
  try {
    const report = await api(`workspaces/${state.workspace}/match`, {
      method: "POST",
      json: {
        areas: Number($("run-areas").value),
        table: Number($("run-table").value),
        key: $("run-id-column").value,
        table_key: $("run-table-key").value || null,
      },
    });
    out.textContent = lang() === "ko" ? report.summary_ko : report.summary_en;
    out.hidden = false;
  } catch (err) {
    showError(err);
  }
}

async function startRun(event) {
  event.preventDefault();
  try {
    const run = await api(`workspaces/${state.workspace}/runs`, { method: "POST", json: runBody() });
    setStatus(t("run_started", { id: run.id }), "ok");
    watchRun(run);
    await loadRuns();
  } catch (err) {
    showError(err);
  }
}

function showProgress(run) {
  $("run-state").hidden = false;
  $("progress").value = run.progress;
  $("progress").setAttribute("aria-valuetext", `${Math.round(run.progress * 100)} %`);
  $("progress-message").textContent = `#${run.id} ${t(`run_status_${run.status}`)} · ${Math.round(run.progress * 100)} % · ${progressText(run.message)}`;
  $("cancel-button").disabled = !["queued", "running"].includes(run.status);
}

function watchRun(run) {
  clearTimeout(state.polling);
  state.activeRun = run;
  showProgress(run);
  if (!["queued", "running"].includes(run.status)) return;
  state.polling = setTimeout(async () => {
    try {
      const next = await api(`runs/${run.id}`);
      if (!["queued", "running"].includes(next.status)) {
        showProgress(next);
        state.activeRun = next;
        setStatus(t("run_finished", { id: next.id, status: t(`run_status_${next.status}`) }), next.status === "done" ? "ok" : "error");
        if (next.status === "failed") setStatus(`${t("run_finished", { id: next.id, status: t("run_status_failed") })} ${next.message}`, "error");
        await loadRuns();
        if (next.status === "done") await showRun(next);
        return;
      }
      watchRun(next);
    } catch (err) {
      showError(err);
    }
  }, POLL_MS);
}

async function cancelRun() {
  const run = state.activeRun;
  if (!run) return;
  try {
    const next = await api(`runs/${run.id}/cancel`, { method: "POST" });
    showProgress(next);
  } catch (err) {
    showError(err);
  }
}

// ------------------------------------------------------------------ runs

async function loadRuns() {
  if (!state.workspace) return;
  state.runs = await api(`workspaces/${state.workspace}/runs`);
  renderRuns();
}

function runTitle(run) {
  const p = run.parameters;
  return [p.variable, p.cases, p.y, p.model, p.method].filter(Boolean).join(", ");
}

function renderRuns() {
  const list = $("run-list");
  if (!state.runs.length) {
    const li = document.createElement("li");
    li.textContent = t("no_runs");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...state.runs.map((run) => {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = runTitle(run) || run.analysis;
      const meta = document.createElement("span");
      meta.className = "meta";
      meta.textContent = t("run_meta", { id: run.id, analysis: run.analysis, status: t(`run_status_${run.status}`) });
      li.append(title, meta);
      if (run.status === "done") {
        const show = document.createElement("button");
        show.type = "button";
        show.className = "secondary";
        show.textContent = t("show_results");
        show.setAttribute("aria-label", t("show_results_label", { id: run.id }));
        show.addEventListener("click", () => showRun(run));
        li.append(show);
      }
      return li;
    }),
  );
}

async function showRun(run) {
  setStatus(t("loading"));
  try {
    const main = run.analysis === "points" ? ["density", "clusters", "ellipse"] : ["areas"];
    const layer = main.find((name) => run.layers.includes(name)) ?? run.layers[0];
    const gj = await api(`runs/${run.id}/result`, { query: { format: "geojson", layer } });
    // space-time: the area x step series behind the time slider (absent when too large)
    const series = run.files.includes("series.json") ? await api(`runs/${run.id}/files/series.json`) : null;
    // points: the significant clusters drawn over the density grid
    const outlines =
      run.analysis === "points" && layer !== "clusters" && run.layers.includes("clusters")
        ? (await api(`runs/${run.id}/result`, { query: { format: "geojson", layer: "clusters" } })).features
        : [];
    const points = [];
    if (run.layers.includes("sites")) {
      const sites = await api(`runs/${run.id}/result`, { query: { format: "geojson", layer: "sites" } });
      points.push({ kind: "new", features: sites.features });
    }
    if (run.parameters.existing) {
      const existing = await api(`datasets/${run.parameters.existing}/download`, { query: { format: "geojson" } });
      points.push({ kind: "existing", features: existing.features });
    }
    const names = Object.keys(gj.features[0]?.properties ?? {});
    setLayer({
      title: `#${run.id} ${run.analysis}${runTitle(run) ? `: ${runTitle(run)}` : ""}`,
      features: gj.features,
      key: { density: "cell", clusters: "cluster" }[layer] ?? run.parameters.target_id ?? run.parameters.id_column ?? guessKey(names),
      name: run.parameters.target_name ?? run.parameters.name_column ?? null,
      run,
      points,
      series,
      outlines,
    });
    setStatus("");
  } catch (err) {
    showError(err);
  }
}

// ------------------------------------------------------------------ the layer on the map

/** The views of a layer: the time slider's first where the run has a series. */
function viewsOf(layer) {
  const views = availableViews(layer.features);
  // a neighbourhood-change run alone: who moved up or down comes first
  const methods = layer.run?.parameters?.methods ?? [];
  if (views.includes("markov") && methods.length === 1 && methods[0] === "markov") {
    return ["markov", ...(layer.series ? ["timestep"] : []), ...views.filter((v) => v !== "markov")];
  }
  return [...(layer.series ? ["timestep"] : []), ...views];
}

function setLayer(layer) {
  state.layer = layer;
  state.selected = null;
  const views = viewsOf(layer);
  const numeric = numericColumns(layer.features);
  state.options.view = views[0];
  const p = layer.run?.parameters ?? {};
  const moved = [...(p.intensive ?? []), ...(p.extensive ?? [])];
  const preferred = [p.variable, p.cases, "coverage_after", p.weight, "index", "residual", ...moved].find((n) => numeric.includes(n));
  state.options.column = viewColumn(views[0]) ?? preferred ?? numeric.find((n) => !/year|code|_id$/i.test(n)) ?? numeric[0] ?? null;
  $("map-empty").hidden = layer.features.length > 0;
  map.setAreas(layer.features, (f) => String(f.properties[layer.key]));
  map.setPoints(layer.points ?? []);
  map.setOutlines(layer.outlines ?? [], "point-cluster");
  setTimeControl(layer.series);
  $("filter").value = "";
  $("significant-only").checked = false;
  fillViewControls();
  renderFindings();
  renderSites();
  render();
  renderDetails($("details-body"), null);
  document.querySelector(".map-area").scrollIntoView({ block: "nearest" });
}

/** Show the time slider for a space-time series (at its last step: surveillance looks at now). */
function setTimeControl(series) {
  $("time-control").hidden = !series;
  if (!series) return;
  const slider = $("time-step");
  slider.max = String(series.steps.length - 1);
  state.options.step = series.steps.length - 1;
  slider.value = String(state.options.step);
  const measures = seriesMeasures(series);
  if (!measures.includes(state.options.measure)) state.options.measure = measures[0];
  fillTimeMeasure();
  showStep();
}

function fillTimeMeasure() {
  const series = state.layer?.series;
  if (!series) return;
  fillSelect($("time-measure"), seriesMeasures(series).map((m) => [m, m === "value" ? `${t("measure_value")}: ${series.value_name}` : t(`measure_${m}`)]), state.options.measure);
  $("time-measure").value = state.options.measure;
}

function showStep() {
  const series = state.layer?.series;
  if (!series) return;
  const text = t("time_step_text", { label: series.steps[state.options.step], i: state.options.step + 1, n: series.steps.length });
  $("time-step-text").textContent = text;
  $("time-step").setAttribute("aria-valuetext", text);
}

function fillViewControls() {
  const layer = state.layer;
  if (!layer) return;
  const views = viewsOf(layer);
  fillSelect($("view"), views.map((v) => [v, viewLabel(v)]), state.options.view);
  $("view").value = state.options.view;
  fillSelect($("column"), numericColumns(layer.features).map((n) => [n, columnLabel(n)]), state.options.column);
  if (state.options.column) $("column").value = state.options.column;
  const valueView = state.options.view === "value" || state.options.view === "timestep";
  $("scheme").disabled = !valueView;
  $("classes").disabled = !valueView;
  const sig =
    significanceColumn(state.options.view, layer.features) || ["coverage", "timestep"].includes(state.options.view);
  $("significant-only").disabled = !sig;
  if (!sig) $("significant-only").checked = false;
}

function keyOf(f) {
  return String(f.properties[state.layer.key]);
}

function render() {
  const layer = state.layer;
  if (!layer) return;
  const timestep = state.options.view === "timestep" && layer.series;
  const { styles, legend } = timestep
    ? styleTimeStep(layer.features, keyOf, layer.series, state.options, state.palettes)
    : styleLayer(layer.features, keyOf, state.options, state.palettes);
  state.styled = styles;
  const query = $("filter").value.trim().toLowerCase();
  const sigOnly = $("significant-only").checked;
  const props0 = layer.features[0]?.properties ?? {};
  const nameCol = nameColumn(props0, layer.name);
  const rows = [];
  for (const f of layer.features) {
    const key = keyOf(f);
    const style = styles.get(key);
    const name = nameCol ? (f.properties[nameCol] ?? "") : "";
    const haystack = `${name} ${key} ${style.category ?? ""} ${style.categoryText ?? ""}`.toLowerCase();
    style.shown = (!query || haystack.includes(query)) && (!sigOnly || style.significant);
    const valueText = state.options.column ? formatNumber(f.properties[state.options.column]) : "";
    const what = timestep
      ? `${layer.series.steps[state.options.step]} ${formatNumber(style.value)}${style.cluster ? `, ${t("step_in_cluster", { n: style.cluster })}` : ""}`
      : `${state.options.column ?? ""} ${valueText}`;
    style.label = `${name ? `${name} (${key})` : key}: ${what}${style.categoryText ? `, ${style.categoryText}` : ""}`;
    if (style.shown) rows.push({ key, name, feature: f, style });
  }
  map.restyle((key) => styles.get(key));
  map.select(rows.some((r) => r.key === state.selected) ? state.selected : null);
  renderLegend(legend);
  const pCol = pValueColumn(state.options.view, layer.features);
  table.render(rows, {
    valueColumn: state.options.column,
    categoryColumn: state.options.view === "value" ? null : (categoryColumn(state.options.view) ?? "coverage"),
    pColumn: pCol,
    selected: state.selected,
  });
  $("table-caption").textContent = t("table_caption", { title: layer.title });
  $("table-count").textContent = t("table_count", { shown: rows.length, total: layer.features.length });
  $("map-subtitle").textContent = `— ${layer.title}`;
}

function swatch(colour, shape = "rect") {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("width", "18");
  svg.setAttribute("height", "14");
  svg.setAttribute("aria-hidden", "true");
  svg.classList.add("swatch");
  const el = document.createElementNS(SVG, shape === "circle" ? "circle" : "rect");
  if (shape === "circle") {
    el.setAttribute("cx", "9");
    el.setAttribute("cy", "7");
    el.setAttribute("r", "5");
  } else {
    el.setAttribute("x", "1");
    el.setAttribute("y", "1");
    el.setAttribute("width", "16");
    el.setAttribute("height", "12");
  }
  el.setAttribute("fill", colour);
  el.setAttribute("stroke", "#5f6570");
  svg.append(el);
  return svg;
}

function renderLegend(entries) {
  const items = entries.map(({ colour, text, count, category, ring }) => {
    const li = document.createElement("li");
    if (category) li.dataset.category = category;
    const label = document.createElement("span");
    label.textContent = `${text} (${count})`;
    const mark = swatch(colour);
    if (ring) mark.firstChild.setAttribute("class", `swatch-${ring}`);
    li.append(mark, label);
    return li;
  });
  const outlines = state.layer.outlines ?? [];
  if (outlines.length) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = `${t("point_cluster")} (${outlines.length})`;
    const mark = swatch("none");
    mark.firstChild.setAttribute("class", "swatch-point-cluster");
    li.append(mark, label);
    items.push(li);
  }
  for (const { kind } of state.layer.points ?? []) {
    const li = document.createElement("li");
    const label = document.createElement("span");
    label.textContent = t(kind === "new" ? "new_sites" : "existing_sites");
    li.append(swatch(kind === "new" ? "#6a00a8" : "#333333", kind === "new" ? "circle" : "rect"), label);
    items.push(li);
  }
  $("legend-items").replaceChildren(...items);
  const series = state.options.view === "timestep" ? state.layer.series : null;
  const title = series
    ? `${state.options.measure === "value" ? series.value_name : t(`measure_${state.options.measure}`)}, ${series.steps[state.options.step]}`
    : state.options.view === "value"
      ? columnLabel(state.options.column)
      : viewLabel(state.options.view);
  $("legend-h").textContent = `${t("legend_title")}: ${title ?? ""}`;
}

function renderFindings() {
  const run = state.layer?.run;
  $("findings").hidden = !run?.summary;
  if (!run?.summary) return;
  $("findings-text").replaceChildren(
    ...splitSummary(run.summary).map((text) => {
      const p = document.createElement("p");
      p.textContent = text;
      return p;
    }),
  );
  $("findings-full").textContent = run.summary;
}

function renderSites() {
  const sites = (state.layer?.points ?? []).find((p) => p.kind === "new");
  $("sites").hidden = !sites;
  if (!sites) return;
  $("site-list").replaceChildren(
    ...sites.features.map((f) => {
      const li = document.createElement("li");
      li.textContent = t("site_item", { id: f.properties.site_id, demand: formatNumber(f.properties.demand_served, 1) });
      return li;
    }),
  );
}

function selectArea(key, { from }) {
  state.selected = key;
  map.select(key);
  table.select(key, { scroll: from !== "table" });
  const f = state.layer.features.find((feature) => keyOf(feature) === key);
  renderDetails($("details-body"), f, {
    style: state.styled.get(key),
    key: state.layer.key,
    name: nameColumn(f.properties, state.layer.name),
    column: state.options.column,
  });
  if (from === "table") map.focusArea(key);
}

// ------------------------------------------------------------------ shared models

async function loadModels() {
  const ws = state.workspace;
  if (!ws) return;
  let models = [];
  try {
    models = await api("models", { query: { workspace: ws } });
  } catch (err) {
    showError(err); // the model registry is optional: datasets and runs still load
  }
  if (state.workspace !== ws) return; // the user switched workspace meanwhile
  state.models = models;
  renderModels();
}

function renderModels() {
  const list = $("model-list");
  if (!state.models.length) {
    const li = document.createElement("li");
    li.textContent = t("no_models");
    list.replaceChildren(li);
    return;
  }
  list.replaceChildren(
    ...state.models.map((m) => {
      const li = document.createElement("li");
      const title = document.createElement("strong");
      title.textContent = m.name;
      const meta = document.createElement("span");
      meta.className = "meta";
      const aliases = Object.keys(m.aliases).sort();
      meta.textContent = t("model_meta", {
        version: m.latest_version,
        aliases: aliases.length ? ` (${aliases.join(", ")})` : "",
        owner: m.owner ?? "?",
      });
      const open = document.createElement("button");
      open.type = "button";
      open.className = "secondary";
      open.textContent = t("open_card");
      open.setAttribute("aria-label", t("open_card_label", { name: m.name }));
      open.addEventListener("click", () => openCard(m).catch(showError));
      li.append(title, meta, open);
      return li;
    }),
  );
}

/** Open the model card in a new tab through a short-lived signed link (a plain link
 *  cannot carry the token). */
async function openCard(model) {
  // open the tab inside the click (popup blockers allow that), then point it at the card
  const tab = window.open("", "_blank");
  if (tab) tab.opener = null;
  try {
    const link = await api(`models/${encodeURIComponent(model.name)}/card-link`, {
      method: "POST",
      json: { workspace: state.workspace, lang: lang() },
    });
    if (tab) tab.location.href = apiUrl(link.url).href;
    else window.location.assign(apiUrl(link.url).href);
  } catch (err) {
    tab?.close();
    throw err;
  }
}

// ------------------------------------------------------------------ language

function applyLanguage(code) {
  setLang(code);
  const other = lang() === "en" ? "ko" : "en";
  const button = $("lang");
  button.textContent = t("lang_switch");
  button.lang = other;
  button.setAttribute("aria-label", t("lang_switch_label"));
  if (state.me) {
    $("who").textContent = t("signed_in_as", { name: state.me.user.name });
    $("role").textContent = state.role ? t("role_is", { role: t(`role_${state.role}`) }) : "";
    renderDatasets();
    renderRuns();
    renderModels();
    refreshRunForm();
    if (state.activeRun) showProgress(state.activeRun);
  }
  if (state.layer) {
    fillTimeMeasure();
    showStep();
    fillViewControls();
    renderFindings();
    renderSites();
    render();
    if (state.selected) selectArea(state.selected, { from: "language" });
  }
  if (!state.selected) renderDetails($("details-body"), null);
}

// ------------------------------------------------------------------ wiring

function bind() {
  $("signin-form").addEventListener("submit", (event) => {
    event.preventDefault();
    signIn($("token").value.trim());
  });
  $("sign-out").addEventListener("click", signOut);
  $("lang").addEventListener("click", () => applyLanguage(lang() === "en" ? "ko" : "en"));
  $("workspace").addEventListener("change", (e) => chooseWorkspace(e.target.value).catch(showError));
  $("upload-kind").addEventListener("change", (e) => {
    $("upload-xy").hidden = e.target.value !== "points";
  });
  $("upload-form").addEventListener("submit", upload);
  for (const id of ["run-analysis", "run-areas", "run-table", "run-st-counts", "run-st-source"]) {
    $(id).addEventListener("change", refreshRunForm);
  }
  for (const id of ["run-regions-method", "run-target"]) $(id).addEventListener("change", refreshRunForm);
  $("time-step").addEventListener("input", (e) => {
    state.options.step = Number(e.target.value);
    if (state.options.view !== "timestep") {
      state.options.view = "timestep";
      fillViewControls();
    }
    showStep();
    render();
  });
  $("time-measure").addEventListener("change", (e) => {
    state.options.measure = e.target.value;
    render();
  });
  $("match-button").addEventListener("click", checkMatch);
  $("run-form").addEventListener("submit", startRun);
  $("cancel-button").addEventListener("click", cancelRun);
  $("view").addEventListener("change", (e) => {
    state.options.view = e.target.value;
    state.options.column = viewColumn(e.target.value) ?? state.options.column;
    fillViewControls();
    render();
  });
  $("column").addEventListener("change", (e) => {
    state.options.column = e.target.value;
    render();
  });
  $("scheme").addEventListener("change", (e) => {
    state.options.scheme = e.target.value;
    render();
  });
  $("classes").addEventListener("change", (e) => {
    state.options.k = Number(e.target.value);
    render();
  });
  $("filter").addEventListener("input", render);
  $("significant-only").addEventListener("change", render);
  $("zoom-in").addEventListener("click", () => map.zoomBy(1.5));
  $("zoom-out").addEventListener("click", () => map.zoomBy(1 / 1.5));
  $("zoom-reset").addEventListener("click", () => map.reset());
}

async function start() {
  bind();
  applyLanguage(lang());
  translate();
  try {
    state.palettes = await (await fetch("palettes.json")).json();
    setCategoryTexts(state.palettes);
  } catch (err) {
    showError(err);
  }
  const token = storedToken();
  if (token) await signIn(token);
  document.body.dataset.ready = "true";
}

start();
