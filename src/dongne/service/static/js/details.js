// The details panel: every attribute of the chosen area, statistics first.

import { columnLabel, formatNumber, t, valueText } from "./i18n.js";

const STATISTIC = /^(lisa_|gistar_|gi_|scan_|index|coverage_|distance_|demand$)/;

function list(entries) {
  const dl = document.createElement("dl");
  for (const [name, value] of entries) {
    const dt = document.createElement("dt");
    dt.textContent = columnLabel(name);
    if (dt.textContent !== name) dt.title = name;
    const dd = document.createElement("dd");
    // Years and codes are shown as they are, without digit grouping.
    const plain = typeof value !== "number" || /year|code|_id$/i.test(name);
    dd.textContent = value == null ? "—" : plain ? String(valueText(name, value)) : formatNumber(value);
    dl.append(dt, dd);
  }
  return dl;
}

function section(title, entries) {
  if (!entries.length) return [];
  const h = document.createElement("h3");
  h.textContent = title;
  return [h, list(entries)];
}

/**
 * Show `feature` in `container` (a hint when null). context: {style, key, name, column}:
 * the area's map style, its key and name columns and the column mapped.
 */
export function renderDetails(container, feature, context = {}) {
  if (!feature) {
    const p = document.createElement("p");
    p.className = "hint";
    p.textContent = t("details_empty");
    container.replaceChildren(p);
    return;
  }
  const props = feature.properties;
  const title = document.createElement("p");
  const strong = document.createElement("strong");
  strong.className = "area-name";
  strong.textContent = context.name ? `${props[context.name]} (${props[context.key]})` : String(props[context.key]);
  title.append(strong);
  const parts = [title];
  if (context.style?.categoryText) {
    const badge = document.createElement("p");
    badge.className = "badge";
    badge.textContent = `${t("details_category")}: ${context.style.categoryText}`;
    parts.push(badge);
  }
  const entries = Object.entries(props);
  const stats = entries.filter(([n]) => STATISTIC.test(n));
  const numbers = entries.filter(([n, v]) => !STATISTIC.test(n) && typeof v === "number");
  const other = entries.filter(([n, v]) => !STATISTIC.test(n) && typeof v !== "number");
  const first = ([a]) => (a === context.column ? -1 : 0);
  numbers.sort((a, b) => first(a) - first(b));
  parts.push(
    ...section(t("details_statistics"), stats),
    ...section(t("details_indicators"), numbers),
    ...section(t("details_other"), other),
  );
  container.replaceChildren(...parts);
}
