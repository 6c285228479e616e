// The map: area boundaries drawn as SVG paths (they are the base map; no tiles), projected
// with spherical Web Mercator and fitted to the frame. Mouse wheel, drag, arrow keys and
// +/- pan and zoom; every shown area is a focusable button (Tab, Enter, Space).

const SVG = "http://www.w3.org/2000/svg";
const WIDTH = 1000;
const MIN_ZOOM = 1;
const MAX_ZOOM = 60;
const PAN_STEP = 80; // viewBox units per arrow key press
// Columns naming the larger unit an area belongs to (gu of a dong), outlined and named on the
// map at every zoom; the first one the areas have is used.
const GROUP_COLUMNS = ["gu_name", "sigungu_name", "district_name", "gu", "sigungu", "district"];
const GROUP_FONT = 13; // screen pixels, whatever the zoom

/** Spherical Web Mercator (EPSG:3857 up to a scale factor), y growing southwards as in SVG. */
function mercator(lon, lat) {
  const clamped = Math.max(-85, Math.min(85, lat));
  return [(lon * Math.PI) / 180, -Math.log(Math.tan(Math.PI / 4 + (clamped * Math.PI) / 360))];
}

function polygons(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Polygon") return [geometry.coordinates];
  if (geometry.type === "MultiPolygon") return geometry.coordinates;
  return [];
}

function pointsOf(geometry) {
  if (!geometry) return [];
  if (geometry.type === "Point") return [geometry.coordinates];
  if (geometry.type === "MultiPoint") return geometry.coordinates;
  return [];
}

export class AreaMap {
  /**
   * svg: the <svg> element with #viewport > #areas, #highlight, #points groups.
   * onActivate(key, viaKeyboard): an area was clicked, or Enter/Space pressed on it.
   */
  constructor(svg, { onActivate }) {
    this.svg = svg;
    this.viewport = svg.querySelector("#viewport");
    this.areas = svg.querySelector("#areas");
    this.highlight = svg.querySelector("#highlight");
    this.groups = svg.querySelector("#groups");
    this.points = svg.querySelector("#points");
    this.overlay = svg.querySelector("#overlay");
    this.onActivate = onActivate;
    this.paths = new Map();
    this.height = 700;
    this.view = { k: 1, x: 0, y: 0 };
    this.selectedRing = null;
    this.focusRings = [];
    this.drag = null;
    this.project = null;
    this.#bind();
  }

  /** Draw `features` (GeoJSON, EPSG:4326); `keyOf(feature)` gives each area's key. */
  setAreas(features, keyOf) {
    const box = this.svg.getBoundingClientRect();
    this.height = Math.round((WIDTH * (box.height || 700)) / (box.width || WIDTH));
    this.svg.setAttribute("viewBox", `0 0 ${WIDTH} ${this.height}`);
    let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const f of features) {
      for (const poly of polygons(f.geometry)) {
        for (const [lon, lat] of poly[0]) {
          const [x, y] = mercator(lon, lat);
          x0 = Math.min(x0, x);
          y0 = Math.min(y0, y);
          x1 = Math.max(x1, x);
          y1 = Math.max(y1, y);
        }
      }
    }
    const pad = 16;
    const s = Math.min((WIDTH - 2 * pad) / (x1 - x0 || 1), (this.height - 2 * pad) / (y1 - y0 || 1));
    const ox = (WIDTH - s * (x1 - x0)) / 2;
    const oy = (this.height - s * (y1 - y0)) / 2;
    this.project = (lon, lat) => {
      const [x, y] = mercator(lon, lat);
      return [ox + s * (x - x0), oy + s * (y - y0)];
    };
    this.areas.replaceChildren();
    this.highlight.replaceChildren();
    this.points.replaceChildren();
    this.overlay?.replaceChildren();
    this.paths.clear();
    features.forEach((f, i) => {
      const d = [];
      for (const poly of polygons(f.geometry)) {
        for (const ring of poly) {
          const pts = ring.map(([lon, lat]) => this.project(lon, lat));
          d.push(`M${pts.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`).join("L")}Z`);
        }
      }
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("id", `area-${i}`);
      path.setAttribute("d", d.join(""));
      path.setAttribute("fill-rule", "evenodd");
      path.setAttribute("class", "area");
      path.setAttribute("role", "button");
      path.setAttribute("tabindex", "0");
      path.dataset.key = keyOf(f);
      this.areas.append(path);
      this.paths.set(path.dataset.key, path);
    });
    this.#drawGroups(features);
    this.reset();
  }

  /**
   * Outline the larger units (gu) and write their names: an edge of an area is a unit
   * boundary when no area of the same unit shares it (adjacent areas share their vertices).
   */
  #drawGroups(features) {
    this.groups.replaceChildren();
    const props = features[0]?.properties ?? {};
    const column = GROUP_COLUMNS.find((c) => c in props);
    if (!column) return;
    const edges = new Map();
    const centres = new Map();
    for (const f of features) {
      const group = f.properties[column];
      if (group == null) continue;
      for (const poly of polygons(f.geometry)) {
        const pts = poly[0].map(([lon, lat]) => this.project(lon, lat));
        let [x0, y0, x1, y1] = [Infinity, Infinity, -Infinity, -Infinity];
        for (let i = 0; i + 1 < pts.length; i += 1) {
          const [a, b] = [pts[i], pts[i + 1]];
          const ka = `${a[0].toFixed(2)},${a[1].toFixed(2)}`;
          const kb = `${b[0].toFixed(2)},${b[1].toFixed(2)}`;
          if (ka === kb) continue;
          const key = ka < kb ? `${ka}|${kb}` : `${kb}|${ka}`;
          const seen = edges.get(key);
          if (!seen) edges.set(key, { group, a, b, shared: false });
          else if (seen.group === group) seen.shared = true;
          [x0, y0] = [Math.min(x0, a[0]), Math.min(y0, a[1])];
          [x1, y1] = [Math.max(x1, a[0]), Math.max(y1, a[1])];
        }
        const weight = (x1 - x0) * (y1 - y0);
        if (!(weight > 0)) continue;
        const c = centres.get(group) ?? { x: 0, y: 0, w: 0 };
        centres.set(group, { x: c.x + weight * (x0 + x1) / 2, y: c.y + weight * (y0 + y1) / 2, w: c.w + weight });
      }
    }
    const d = [];
    for (const { a, b, shared } of edges.values()) {
      if (!shared) d.push(`M${a[0].toFixed(2)} ${a[1].toFixed(2)}L${b[0].toFixed(2)} ${b[1].toFixed(2)}`);
    }
    const outline = document.createElementNS(SVG, "path");
    outline.setAttribute("class", "group-outline");
    outline.setAttribute("d", d.join(""));
    this.groups.append(outline);
    for (const [group, c] of centres) {
      const text = document.createElementNS(SVG, "text");
      text.setAttribute("class", "group-label");
      text.setAttribute("x", (c.x / c.w).toFixed(2));
      text.setAttribute("y", (c.y / c.w).toFixed(2));
      text.textContent = String(group);
      this.groups.append(text);
    }
  }

  /**
   * Colour and label the areas. `styleOf(key)` returns {fill, category, label, shown}; areas
   * not shown are drawn pale, without their colour, and leave the tab order.
   */
  restyle(styleOf) {
    for (const [key, path] of this.paths) {
      const style = styleOf(key);
      const classes = ["area"];
      if (!style.shown) {
        classes.push("muted");
        path.removeAttribute("fill");
        path.setAttribute("tabindex", "-1");
        path.setAttribute("aria-hidden", "true");
        delete path.dataset.category;
      } else {
        if (style.category) {
          classes.push(`cat-${style.category.replace(/[^A-Za-z0-9]+/g, "-").replace(/-$/, "")}`);
          path.dataset.category = style.category;
        } else {
          delete path.dataset.category;
        }
        if (style.ring) classes.push(style.ring); // e.g. "in-cluster": a space-time cluster
        path.setAttribute("fill", style.fill);
        path.setAttribute("tabindex", "0");
        path.removeAttribute("aria-hidden");
      }
      path.setAttribute("class", classes.join(" "));
      path.setAttribute("aria-label", style.label);
    }
  }

  /** Outline the area `key` (or nothing for null). */
  select(key) {
    this.selectedRing?.remove();
    this.selectedRing = null;
    const path = key == null ? null : this.paths.get(key);
    if (!path) return;
    this.selectedRing = this.#ring(path, "selected-ring");
    this.reveal(path);
  }

  /**
   * Outlines drawn over the areas (not interactive): `features` (GeoJSON polygons, EPSG:4326)
   * with the class `className`, e.g. the significant point clusters over a density grid.
   */
  setOutlines(features, className) {
    this.overlay.replaceChildren();
    if (!this.project) return;
    for (const f of features) {
      const d = [];
      for (const poly of polygons(f.geometry)) {
        for (const ring of poly) {
          const pts = ring.map(([lon, lat]) => this.project(lon, lat));
          d.push(`M${pts.map(([x, y]) => `${x.toFixed(2)} ${y.toFixed(2)}`).join("L")}Z`);
        }
      }
      const path = document.createElementNS(SVG, "path");
      path.setAttribute("d", d.join(""));
      path.setAttribute("fill-rule", "evenodd");
      path.setAttribute("class", className);
      this.overlay.append(path);
    }
  }

  /** Point symbols: layers of {features, kind: "existing" | "new"} in EPSG:4326. */
  setPoints(layers) {
    this.points.replaceChildren();
    if (!this.project) return;
    for (const { features, kind } of layers) {
      for (const f of features) {
        for (const [lon, lat] of pointsOf(f.geometry)) {
          const [x, y] = this.project(lon, lat);
          const el = document.createElementNS(SVG, kind === "new" ? "circle" : "rect");
          el.setAttribute("class", kind === "new" ? "site-new" : "site-existing");
          el.dataset.x = x;
          el.dataset.y = y;
          this.points.append(el);
        }
      }
    }
    this.#apply();
  }

  focusArea(key) {
    this.paths.get(key)?.focus();
  }

  zoomBy(factor, cx = WIDTH / 2, cy = this.height / 2) {
    const k = Math.max(MIN_ZOOM, Math.min(MAX_ZOOM, this.view.k * factor));
    const ratio = k / this.view.k;
    this.view = { k, x: cx - (cx - this.view.x) * ratio, y: cy - (cy - this.view.y) * ratio };
    this.#apply();
  }

  panBy(dx, dy) {
    this.view = { ...this.view, x: this.view.x + dx, y: this.view.y + dy };
    this.#apply();
  }

  reset() {
    this.view = { k: 1, x: 0, y: 0 };
    this.#apply();
  }

  /** Pan so that `path` is in view when it lies outside it (e.g. reached with Tab). */
  reveal(path) {
    const b = path.getBBox();
    const { k, x, y } = this.view;
    const cx = (b.x + b.width / 2) * k + x;
    const cy = (b.y + b.height / 2) * k + y;
    if (cx < 0 || cx > WIDTH || cy < 0 || cy > this.height) {
      this.panBy(WIDTH / 2 - cx, this.height / 2 - cy);
    }
  }

  #apply() {
    const { k, x, y } = this.view;
    this.viewport.setAttribute("transform", `translate(${x.toFixed(2)} ${y.toFixed(2)}) scale(${k})`);
    // Unit names keep their size on screen whatever the zoom.
    for (const el of this.groups.querySelectorAll("text")) {
      el.setAttribute("font-size", (GROUP_FONT / k).toFixed(3));
      el.setAttribute("stroke-width", (3 / k).toFixed(3));
    }
    // Point symbols keep their size on screen whatever the zoom.
    const r = 4.5 / k;
    for (const el of this.points.children) {
      const px = Number(el.dataset.x);
      const py = Number(el.dataset.y);
      if (el.tagName === "circle") {
        el.setAttribute("cx", px);
        el.setAttribute("cy", py);
        el.setAttribute("r", r * 1.3);
      } else {
        el.setAttribute("x", px - r / 2);
        el.setAttribute("y", py - r / 2);
        el.setAttribute("width", r);
        el.setAttribute("height", r);
      }
    }
  }

  /** An outline drawn over `path` (a copy of its shape: a <use> would clone its tab stop). */
  #ring(path, className) {
    const ring = document.createElementNS(SVG, "path");
    ring.setAttribute("d", path.getAttribute("d"));
    ring.setAttribute("fill-rule", "evenodd");
    ring.setAttribute("class", className);
    this.highlight.append(ring);
    return ring;
  }

  /** viewBox coordinates of a mouse event. */
  #point(event) {
    const box = this.svg.getBoundingClientRect();
    const scale = Math.max(WIDTH / box.width, this.height / box.height);
    const offX = (box.width * scale - WIDTH) / 2;
    const offY = (box.height * scale - this.height) / 2;
    return [(event.clientX - box.left) * scale - offX, (event.clientY - box.top) * scale - offY];
  }

  #bind() {
    const svg = this.svg;
    svg.addEventListener(
      "wheel",
      (event) => {
        if (!this.project) return;
        event.preventDefault();
        const [cx, cy] = this.#point(event);
        this.zoomBy(Math.exp(-event.deltaY * 0.0015), cx, cy);
      },
      { passive: false },
    );
    svg.addEventListener("pointerdown", (event) => {
      if (event.button !== 0) return;
      this.drag = { start: this.#point(event), view: { ...this.view }, moved: false, id: event.pointerId };
    });
    svg.addEventListener("pointermove", (event) => {
      if (!this.drag) return;
      const [px, py] = this.#point(event);
      const dx = px - this.drag.start[0];
      const dy = py - this.drag.start[1];
      if (!this.drag.moved && Math.hypot(dx, dy) < 4) return;
      if (!this.drag.moved) {
        this.drag.moved = true;
        svg.setPointerCapture(this.drag.id);
        svg.classList.add("dragging");
      }
      this.view = { ...this.drag.view, x: this.drag.view.x + dx, y: this.drag.view.y + dy };
      this.#apply();
    });
    const endDrag = () => {
      if (this.drag?.moved) {
        svg.classList.remove("dragging");
        this.suppressClick = true;
        setTimeout(() => {
          this.suppressClick = false;
        }, 0);
      }
      this.drag = null;
    };
    svg.addEventListener("pointerup", endDrag);
    svg.addEventListener("pointercancel", endDrag);
    this.areas.addEventListener("click", (event) => {
      const path = event.target.closest("path.area");
      if (!path || this.suppressClick || path.classList.contains("muted")) return;
      this.onActivate(path.dataset.key, false);
    });
    svg.addEventListener("keydown", (event) => {
      const path = event.target.closest?.("path.area");
      const keys = {
        ArrowLeft: () => this.panBy(PAN_STEP, 0),
        ArrowRight: () => this.panBy(-PAN_STEP, 0),
        ArrowUp: () => this.panBy(0, PAN_STEP),
        ArrowDown: () => this.panBy(0, -PAN_STEP),
        "+": () => this.zoomBy(1.5),
        "=": () => this.zoomBy(1.5),
        "-": () => this.zoomBy(1 / 1.5),
        _: () => this.zoomBy(1 / 1.5),
        0: () => this.reset(),
      };
      if (keys[event.key]) {
        event.preventDefault();
        keys[event.key]();
      } else if (path && (event.key === "Enter" || event.key === " ")) {
        event.preventDefault();
        this.onActivate(path.dataset.key, true);
      }
    });
    // Focus listeners sit on the <svg> (focusable anyway): Chromium makes an SVG element with
    // focus listeners focusable, which would add a stray tab stop.
    svg.addEventListener("focusin", (event) => {
      const path = event.target.closest("path.area");
      if (!path) return;
      this.reveal(path);
      if (!path.matches(":focus-visible")) return;
      this.focusRings = [this.#ring(path, "focus-ring"), this.#ring(path, "focus-ring-inner")];
    });
    svg.addEventListener("focusout", () => {
      for (const ring of this.focusRings) ring.remove();
      this.focusRings = [];
    });
  }
}
