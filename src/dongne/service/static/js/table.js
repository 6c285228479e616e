// The results table: one row per area shown on the map (the map's text alternative). The
// filter above it decides which areas both show; a row's name button selects the area.

import { columnLabel, formatNumber, t } from "./i18n.js";

export class ResultsTable {
  /** table: the <table> element; onSelect(key) when a row's name is chosen. */
  constructor(table, { onSelect }) {
    this.table = table;
    this.onSelect = onSelect;
    this.sort = null; // {field, descending}
    this.last = null;
  }

  /**
   * rows: [{key, name, feature, style}] in map order; options: valueColumn, categoryColumn
   * (null for a choropleth), pColumn, selected (key).
   */
  render(rows, options) {
    this.last = { rows, options };
    const fields = [
      { id: "name", text: t("col_name"), get: (r) => r.name || r.key },
      { id: "key", text: t("col_id"), get: (r) => r.key },
    ];
    if (options.valueColumn) {
      fields.push({
        id: "value",
        text: columnLabel(options.valueColumn),
        numeric: true,
        get: (r) => r.feature.properties[options.valueColumn],
      });
    }
    if (options.categoryColumn) {
      fields.push({ id: "category", text: t("col_category"), get: (r) => r.style.categoryText ?? "" });
    }
    if (options.pColumn) {
      fields.push({
        id: "p",
        text: `${t("col_p")} (${columnLabel(options.pColumn)})`,
        numeric: true,
        get: (r) => r.feature.properties[options.pColumn],
      });
    }
    this.fields = fields;
    if (this.sort && !fields.some((f) => f.id === this.sort.field)) this.sort = null;
    const sorted = [...rows];
    if (this.sort) {
      const field = fields.find((f) => f.id === this.sort.field);
      const sign = this.sort.descending ? -1 : 1;
      sorted.sort((a, b) => {
        const x = field.get(a);
        const y = field.get(b);
        if (x == null || Number.isNaN(x)) return 1;
        if (y == null || Number.isNaN(y)) return -1;
        return sign * (field.numeric ? x - y : String(x).localeCompare(String(y)));
      });
    }
    const head = document.createElement("tr");
    for (const field of fields) {
      const th = document.createElement("th");
      th.scope = "col";
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = field.text;
      if (this.sort?.field === field.id) {
        th.setAttribute("aria-sort", this.sort.descending ? "descending" : "ascending");
        button.textContent += this.sort.descending ? " ▼" : " ▲";
      }
      button.addEventListener("click", () => {
        const descending = this.sort?.field === field.id ? !this.sort.descending : field.numeric === true;
        this.sort = { field: field.id, descending };
        this.render(this.last.rows, this.last.options);
        this.table.querySelector(`thead th:nth-child(${fields.indexOf(field) + 1}) button`).focus();
      });
      th.append(button);
      head.append(th);
    }
    this.table.tHead.replaceChildren(head);
    const body = this.table.tBodies[0];
    body.replaceChildren(
      ...sorted.map((r) => {
        const tr = document.createElement("tr");
        tr.dataset.key = r.key;
        if (r.style.category) tr.dataset.category = r.style.category;
        if (r.key === options.selected) tr.classList.add("selected");
        fields.forEach((field, i) => {
          const cell = document.createElement(i === 0 ? "th" : "td");
          if (i === 0) {
            cell.scope = "row";
            const button = document.createElement("button");
            button.type = "button";
            button.className = "link";
            button.textContent = field.get(r);
            button.addEventListener("click", () => this.onSelect(r.key));
            cell.append(button);
          } else {
            const v = field.get(r);
            cell.textContent = field.numeric ? formatNumber(v) : v;
            if (field.numeric) cell.className = "num";
          }
          tr.append(cell);
        });
        return tr;
      }),
    );
  }

  /** Mark the row of `key` (and scroll it into view when asked). */
  select(key, { scroll }) {
    for (const tr of this.table.tBodies[0].rows) {
      const on = tr.dataset.key === key;
      tr.classList.toggle("selected", on);
      if (on && scroll) tr.scrollIntoView({ block: "nearest" });
    }
  }
}
