// Class breaks for choropleth maps, the same as dongne.report.choropleth (maps.py):
// quantiles with linear interpolation (numpy.quantile), equal intervals between minimum and
// maximum, and natural breaks by Fisher's (1958) exact dynamic programme (Jenks 1977).
// Classes are upper-inclusive: a value v falls in the first class i with v <= edges[i + 1].

/** Quantile `q` (0–1) of the sorted numbers `ordered`, linear interpolation. */
function quantile(ordered, q) {
  const h = (ordered.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, ordered.length - 1);
  return ordered[lo] + (h - lo) * (ordered[hi] - ordered[lo]);
}

/** Upper bounds of the `k` classes of `ordered` minimising the within-class sum of squares. */
export function fisherJenks(ordered, k) {
  const n = ordered.length;
  if (k === 1) return [ordered[n - 1]];
  let mean = 0;
  for (const v of ordered) mean += v / n;
  // Prefix sums of centred values (centring limits cancellation in the variances).
  const s1 = new Float64Array(n + 1);
  const s2 = new Float64Array(n + 1);
  for (let i = 0; i < n; i++) {
    const c = ordered[i] - mean;
    s1[i + 1] = s1[i] + c;
    s2[i + 1] = s2[i] + c * c;
  }
  // cost[m]: least sum of squares of the first m values in the classes so far.
  let cost = new Float64Array(n + 1);
  for (let m = 0; m <= n; m++) cost[m] = s2[m] - (s1[m] * s1[m]) / Math.max(m, 1);
  const start = Array.from({ length: k + 1 }, () => new Int32Array(n + 1));
  for (let c = 2; c <= k; c++) {
    const next = new Float64Array(n + 1).fill(Infinity);
    const first = c < k ? c : n;
    for (let m = first; m <= n; m++) {
      let best = Infinity;
      let at = c - 1;
      for (let j = c - 1; j < m; j++) {
        const d1 = s1[m] - s1[j];
        const total = cost[j] + (s2[m] - s2[j]) - (d1 * d1) / (m - j);
        if (total < best) {
          best = total;
          at = j;
        }
      }
      next[m] = best;
      start[c][m] = at;
    }
    cost = next;
  }
  const uppers = [];
  let m = n;
  for (let c = k; c >= 1; c--) {
    uppers.push(ordered[m - 1]);
    m = start[c][m];
  }
  return uppers.reverse();
}

/**
 * Class edges (length classes + 1, increasing) of the finite numbers in `values`.
 * scheme: "quantiles" | "equal_interval" | "natural_breaks"; k: wanted number of classes.
 * Tied values can give fewer classes than k.
 */
export function classBreaks(values, scheme, k) {
  const ordered = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (ordered.length === 0) return [];
  const lo = ordered[0];
  const hi = ordered[ordered.length - 1];
  let edges;
  if (scheme === "quantiles") {
    edges = Array.from({ length: k + 1 }, (_, i) => quantile(ordered, i / k));
  } else if (scheme === "equal_interval") {
    const step = (hi - lo) / k;
    edges = Array.from({ length: k + 1 }, (_, i) => (i === k ? hi : lo + i * step));
  } else if (scheme === "natural_breaks") {
    const distinct = new Set(ordered).size;
    edges = [lo, ...fisherJenks(ordered, Math.min(k, distinct))];
  } else {
    throw new Error(`unknown classification scheme ${scheme}`);
  }
  const uppers = [...new Set(edges.slice(1))].sort((a, b) => a - b);
  return [lo, ...uppers];
}

/** Class (0 = lowest) of `value` for `edges`; -1 for a missing value. */
export function classOf(value, edges) {
  if (!Number.isFinite(value)) return -1;
  let i = 0;
  while (i < edges.length - 2 && edges[i + 1] < value) i++;
  return i;
}

/** Fewest decimals (0–4) that show the edges exactly or at least keep them distinct. */
export function decimals(edges) {
  const scale = Math.max(1, ...edges.map(Math.abs));
  for (let d = 0; d < 5; d++) {
    const f = 10 ** d;
    const rounded = edges.map((e) => Math.round(e * f) / f);
    if (rounded.every((r, i) => Math.abs(r - edges[i]) <= 1e-9 * scale)) return d;
    if (d >= 1 && rounded.every((r, i) => i === 0 || r > rounded[i - 1])) return d;
  }
  return 4;
}
