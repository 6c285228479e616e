"""Kernel density surfaces inside the study area, with bandwidth selection and relative risk.

``λ̂(s) = Σ_j w_j φ_h(s − x_j)`` with the isotropic Gaussian kernel φ_h (points per m²; no edge
correction). Bandwidths:

* ``"scott"`` — ``σ n^(−1/6)`` with σ the root mean of the two coordinate variances (Scott
  1992, eq. 6.42 in two dimensions; Silverman's rule is the same number in two dimensions);
* ``"cv"`` — likelihood cross-validation: the h of a geometric grid that maximises the
  leave-one-out log-likelihood ``Σ_i log f̂_{−i}(x_i)`` (Silverman 1986, §3.4.4);
* a number of metres.

The relative-risk surface of cases against controls is ``log(f̂_cases / f̂_controls)`` with one
bandwidth for both (Kelsall & Diggle 1995); its tolerance contours come from Monte Carlo
random relabelling of the pooled points: a cell is significant when the observed log risk is
above that of all but a share ``alpha`` of the relabelled patterns (Hazelton & Davies 2009).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyproj
import shapely

from dongne import __version__
from dongne._optional import import_optional
from dongne._validation import check_probability
from dongne._vocab import Lang, bilingual, in_process_only, pick_language, resolve_rng
from dongne.errors import SpecificationError
from dongne.io.atomic import atomic_path
from dongne.points._kernels import gaussian_density
from dongne.points.pattern import PointPattern

__all__ = ["BANDWIDTHS", "DensitySurface", "kernel_density", "relative_risk", "select_bandwidth"]

BANDWIDTHS = ("scott", "silverman", "cv")


def select_bandwidth(xy: np.ndarray, method: str | float = "scott") -> float:
    """Bandwidth in metres by Scott's/Silverman's rule, likelihood CV, or as given."""
    xy = np.asarray(xy, dtype=float)
    if isinstance(method, int | float) and not isinstance(method, bool):
        if not (np.isfinite(method) and method > 0):
            raise SpecificationError(f"bandwidth must be positive metres. Got {method!r}.")
        return float(method)
    if method not in BANDWIDTHS:
        raise SpecificationError(
            f"The 'bandwidth' parameter must be one of 'scott', 'silverman', 'cv' or metres. "
            f"Got {method!r} instead. Fix: pass bandwidth='scott'."
        )
    sigma = float(np.sqrt(xy.var(axis=0, ddof=1).mean()))
    rule = sigma * len(xy) ** (-1 / 6)
    if method != "cv":
        return rule
    grid = rule * np.geomspace(0.05, 2.0, 25)
    n = len(xy)
    ones = np.ones(n)
    scores = []
    for h in grid:
        f = gaussian_density(xy[:, 0], xy[:, 1], xy[:, 0], xy[:, 1], ones, h)
        loo = (f - 1.0 / (2 * np.pi * h * h)) / (n - 1)
        scores.append(np.log(np.maximum(loo, 1e-300)).sum())
    return float(grid[int(np.argmax(scores))])


@dataclass(frozen=True, eq=False)
class DensitySurface:
    """A surface on the raster of a study area: density (points/m²) or log relative risk.

    ``density`` and ``inside`` have shape (ny, nx), row 0 at the bottom (``origin`` is the
    lower-left corner); ``significant`` (relative risk only) marks cells inside the
    tolerance contour.
    """

    density: np.ndarray
    inside: np.ndarray
    origin: tuple[float, float]
    cell_size: float
    bandwidth: float
    method: str
    crs: Any
    significant: np.ndarray | None = None
    provenance_: dict = field(default_factory=dict)

    def to_geodataframe(self) -> gpd.GeoDataFrame:
        """The cells inside the study area as squares with their value (per km² for density)."""
        rows, cols = np.nonzero(self.inside)
        x0, y0 = self.origin
        h = self.cell_size
        boxes = shapely.box(x0 + cols * h, y0 + rows * h, x0 + (cols + 1) * h, y0 + (rows + 1) * h)
        data = {"row": rows, "column": cols}
        if self.significant is None:
            data["density_per_km2"] = self.density[rows, cols] * 1e6
        else:
            data["log_relative_risk"] = self.density[rows, cols]
            data["significant"] = self.significant[rows, cols]
        return gpd.GeoDataFrame(data, geometry=boxes, crs=self.crs)

    def to_geotiff(self, path: Any) -> Path:
        """Write the surface as a GeoTIFF (atomically; needs the ``raster`` extra).

        North-up, one pixel per cell, the CRS and the affine transform of the grid (upper-left
        corner ``(x0, y0 + ny × cell)``, pixel ``cell × −cell``), float64 with NaN as nodata
        outside the study area. Density: one band, points per km² (the values of
        :meth:`to_geodataframe`); relative risk: band 1 the log relative risk, band 2 the
        tolerance contour (1 inside, 0 outside it). Band descriptions name them; the
        provenance goes into the file's tags. Returns ``path``.
        """
        rasterio = import_optional(
            "rasterio", "raster", "GeoTIFF surfaces", alternative="or write to_geodataframe()"
        )
        ny, nx = self.inside.shape
        x0, y0 = self.origin
        h = self.cell_size
        if self.significant is None:
            bands = {"density_per_km2": self.density * 1e6}
        else:
            bands = {
                "log_relative_risk": self.density,
                "significant": self.significant.astype(float),
            }
        stack = np.stack([np.where(self.inside, v, np.nan)[::-1] for v in bands.values()])
        profile = {
            "driver": "GTiff",
            "width": nx,
            "height": ny,
            "count": len(bands),
            "dtype": "float64",
            "nodata": np.nan,
            "crs": None if self.crs is None else pyproj.CRS.from_user_input(self.crs).to_wkt(),
            "transform": rasterio.Affine(h, 0.0, x0, 0.0, -h, y0 + ny * h),
            "compress": "deflate",
        }
        target = Path(path)
        with atomic_path(target) as tmp, rasterio.open(tmp, "w", **profile) as dst:
            dst.write(stack)
            for i, name in enumerate(bands, start=1):
                dst.set_band_description(i, name)
            dst.update_tags(**{k: str(v) for k, v in self.provenance_.items()})
        return target

    def to_frame(self) -> pd.DataFrame:
        """The cells as a table (no geometry)."""
        return pd.DataFrame(self.to_geodataframe().drop(columns="geometry"))

    @bilingual
    def summary(self, lang: Lang = "both") -> str:
        """The surface in plain English or Korean."""
        values = self.density[self.inside]
        if self.significant is None:
            peak = values.max() * 1e6
            en = (
                f"Kernel density with a {self.bandwidth:.0f} m bandwidth ({self.method}): "
                f"peak {peak:.1f} points per km², mean {values.mean() * 1e6:.1f}."
            )
            ko = (
                f"커널 밀도(띠폭 {self.bandwidth:.0f} m, {self.method}): 최고 km²당 {peak:.1f}개, "
                f"평균 {values.mean() * 1e6:.1f}개."
            )
            return pick_language(lang, en, ko)
        share = self.significant[self.inside].mean()
        en = (
            f"Relative risk of cases vs controls ({self.bandwidth:.0f} m bandwidth): "
            f"{share:.1%} of the study area lies inside the tolerance contour (risk higher "
            f"than random labelling explains at alpha = {self.provenance_['alpha']:g})."
        )
        ko = (
            f"사례 대 대조 상대위험(띠폭 {self.bandwidth:.0f} m): 분석 지역의 {share:.1%}가 허용 "
            f"등고선 안(무작위 표지 교환보다 위험이 높음, 유의수준 {self.provenance_['alpha']:g})."
        )
        return pick_language(lang, en, ko)

    def plot(self, areas: gpd.GeoDataFrame | None = None, path: Any = None, **options: Any):
        """Draw it (:func:`dongne.points.plots.density_map`)."""
        from dongne.points.plots import density_map

        return density_map(self, areas=areas, path=path, **options)


def _grid(pattern: PointPattern, h: float, cell_size: float | None):
    size = max(pattern.cell_size, h / 3) if cell_size is None else float(cell_size)
    x0, y0, x1, y1 = pattern.window.bounds
    nx, ny = int(np.ceil((x1 - x0) / size)), int(np.ceil((y1 - y0) / size))
    gx, gy = np.meshgrid(x0 + (np.arange(nx) + 0.5) * size, y0 + (np.arange(ny) + 0.5) * size)
    inside = shapely.contains_xy(pattern.window, gx.ravel(), gy.ravel()).reshape(ny, nx)
    return gx.ravel(), gy.ravel(), inside, (x0, y0), size


def kernel_density(
    pattern: PointPattern,
    *,
    bandwidth: str | float = "scott",
    weights: str | None = None,
    cell_size: float | None = None,
) -> DensitySurface:
    """Gaussian kernel density of ``pattern`` on a grid inside its study area.

    ``weights`` names a column of the points (e.g. the number of cameras per site).
    ``cell_size`` defaults to a third of the bandwidth (at least the pattern's raster cell).
    """
    xy = pattern.xy
    h = select_bandwidth(xy, bandwidth)
    w = np.ones(len(xy))
    if weights is not None:
        if weights not in pattern.points.columns:
            raise SpecificationError(
                f"No column {weights!r} in the points. Fix: pass weights= one of "
                f"{', '.join(map(str, pattern.points.columns))}."
            )
        w = pd.to_numeric(pattern.points[weights], errors="coerce").fillna(0).to_numpy(float)
    gx, gy, inside, origin, size = _grid(pattern, h, cell_size)
    dens = gaussian_density(gx, gy, xy[:, 0], xy[:, 1], w, h).reshape(inside.shape)
    method = bandwidth if isinstance(bandwidth, str) else "given"
    return DensitySurface(
        dens,
        inside,
        origin,
        size,
        h,
        method,
        pattern.crs,
        provenance_={
            "method": "Gaussian kernel density",
            "bandwidth_m": h,
            "bandwidth_rule": method,
            "weights": weights,
            "points": pattern.n,
            "dongne_version": __version__,
        },
    )


def relative_risk(
    cases: PointPattern,
    controls: PointPattern,
    *,
    bandwidth: str | float = "scott",
    alpha: float = 0.05,
    replications: int = 99,
    rng: int | np.random.Generator | None = None,
    scheduler: Any = None,
    cell_size: float | None = None,
) -> DensitySurface:
    """Log relative-risk surface of ``cases`` against ``controls`` with Monte Carlo tolerance
    contours (random relabelling of the pooled points, seeded by ``rng``).

    The bandwidth is chosen on the pooled points; densities are normalised to integrate to one
    over the plane before the ratio is taken; cells where the control density is below 1e-12
    of its peak are left out.
    """
    check_probability("alpha", alpha)
    in_process_only(scheduler, "points.relative_risk")
    seed = resolve_rng(rng)
    a, b = cases.xy, controls.xy
    pooled = np.vstack([a, b])
    h = select_bandwidth(pooled, bandwidth)
    gx, gy, inside, origin, size = _grid(cases, h, cell_size)

    def log_rr(is_case: np.ndarray) -> np.ndarray:
        pa, pb = pooled[is_case], pooled[~is_case]
        fa = gaussian_density(gx, gy, pa[:, 0], pa[:, 1], np.ones(len(pa)), h) / len(pa)
        fb = gaussian_density(gx, gy, pb[:, 0], pb[:, 1], np.ones(len(pb)), h) / len(pb)
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.log(fa / fb)

    labels = np.arange(len(pooled)) < len(a)
    observed = log_rr(labels)
    exceed = np.zeros(len(observed))
    for r in range(replications):
        perm = np.random.default_rng([seed, r]).permutation(labels)
        exceed += log_rr(perm) >= observed
    p = (1 + exceed) / (replications + 1)
    valid = inside & np.isfinite(observed).reshape(inside.shape)
    sig = (p <= alpha).reshape(inside.shape) & valid
    prov = {
        "method": "log relative risk (Kelsall & Diggle 1995), random relabelling",
        "bandwidth_m": h,
        "alpha": alpha,
        "replications": replications,
        "seed": seed,
        "cases": len(a),
        "controls": len(b),
        "dongne_version": __version__,
    }
    return DensitySurface(
        observed.reshape(inside.shape),
        valid,
        origin,
        size,
        h,
        bandwidth if isinstance(bandwidth, str) else "given",
        cases.crs,
        sig,
        prov,
    )
