"""The detect workflow behind ``dongne detect`` and the demo: statistics, maps, tables, summary."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd

from dongne.detect.index import RankStability, VulnerabilityIndex
from dongne.detect.local import GetisOrd, LocalMoran
from dongne.detect.moran import GlobalMoran
from dongne.errors import DataError, DongneWarning, SpecificationError, format_rows
from dongne.io.atomic import atomic_write_text
from dongne.io.write import write_layer, write_table
from dongne.weights import SpatialWeights

__all__ = ["DETECT_METHODS", "DetectOutputs", "run_detect", "run_scan"]

DETECT_METHODS = ("moran", "lisa", "gi", "gistar", "index")
_LOCAL_COLUMNS = ("z_analytic", "p_value", "p_adjusted", "significant", "label", "test")


@dataclass
class DetectOutputs:
    """What :func:`run_detect` computed and wrote."""

    frame: gpd.GeoDataFrame
    results: dict[str, Any] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""


def run_detect(
    areas: gpd.GeoDataFrame,
    id_column: str,
    w: SpatialWeights,
    variable: str,
    out_dir: str | Path,
    *,
    methods: Sequence[str] = ("moran", "lisa", "gistar"),
    indicators: Mapping[str, str] | None = None,
    permutations: int = 999,
    alternative: str = "two-sided",
    correction: str = "fdr_bh",
    alpha: float = 0.05,
    rng: int | None = 0,
    missing: str = "raise",
    group_column: str | None = None,
    name_column: str | None = None,
    top_k: int = 20,
    boundaries: gpd.GeoDataFrame | None = None,
    prefix: str = "",
    write_tables: bool = True,
    progress: Callable[[str], None] | None = None,
    scheduler: Any = None,
) -> DetectOutputs:
    """Run the chosen detect methods on one variable and write maps, tables and a summary.

    Writes into ``out_dir`` one PNG map per local method (and index), the global Moran table
    and, with ``write_tables``, ``{prefix}detect.gpkg`` (layer ``areas`` with one column
    block per method), ``{prefix}detect.csv``, ``{prefix}summary.txt`` (English and Korean)
    and provenance files. ``scheduler`` runs the permutations in-process (None), in worker
    processes (``"processes"``) or on a Dask cluster (a ``Client`` or ``"tcp://host:port"``)
    with identical results (see :mod:`dongne.parallel`).
    """
    step = progress or (lambda _m: None)
    unknown = [m for m in methods if m not in DETECT_METHODS]
    if unknown:
        raise SpecificationError(
            f"The 'methods' parameter accepts {', '.join(DETECT_METHODS)}. Got {unknown}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keyed = areas.set_index(areas[id_column].astype(str), drop=False)
    keyed.index.name = None
    y = keyed[variable].rename(variable)
    groups = keyed[group_column] if group_column else None
    names = keyed[name_column] if name_column else None
    result = DetectOutputs(frame=keyed.copy())
    texts: list[str] = []
    common = {
        "permutations": permutations,
        "alternative": alternative,
        "rng": rng,
        "missing": missing,
        "scheduler": scheduler,
    }
    local_opts = {**common, "correction": correction, "alpha": alpha}
    note_boundaries = {"boundaries": boundaries} if boundaries is not None else {}

    if "moran" in methods:
        step("global Moran's I")
        m = GlobalMoran(**common).fit(y, w)
        result.results["moran"] = m
        texts.append(m.summary())
        result.files["moran_csv"] = write_table(
            m.to_frame(), out / f"{prefix}global_moran.csv", **m.provenance_
        )
    for key, estimator, cols in (
        (
            "lisa",
            LocalMoran(**local_opts),
            ("local_i", "quadrant", *_LOCAL_COLUMNS),
        ),
        (
            "gi",
            GetisOrd(star=False, **local_opts),
            ("g", *_LOCAL_COLUMNS),
        ),
        (
            "gistar",
            GetisOrd(star=True, **local_opts),
            ("g", *_LOCAL_COLUMNS),
        ),
    ):
        if key not in methods:
            continue
        step(
            {"lisa": "Local Moran's I (LISA)", "gi": "Getis-Ord Gi", "gistar": "Getis-Ord Gi*"}[key]
        )
        with warnings.catch_warnings():
            warnings.simplefilter("always", DongneWarning)
            fitted = estimator.fit(y, w)
        result.results[key] = fitted
        frame = fitted.to_frame()
        for c in cols:
            result.frame[f"{key}_{c}"] = frame[c].reindex(result.frame.index)
        texts.append(fitted.summary(names=names, groups=groups))
        mapped = fitted.plot(
            result.frame.reset_index(drop=True),
            id_column=id_column,
            path=out / f"{prefix}{key}_map.png",
            **note_boundaries,
        )
        result.files[f"{key}_map"] = mapped.path
    if "index" in methods:
        if not indicators:
            raise SpecificationError(
                "method 'index' needs indicators, e.g. {'basement_pct': '+', 'shelters': '-'} "
                "(on the command line: --indicator basement_pct:+ --indicator shelters:-)."
            )
        step("vulnerability index and rank stability")
        vi = VulnerabilityIndex(indicators, missing="drop" if missing != "raise" else "raise")
        vi.fit(keyed, id_column=id_column)
        rs = RankStability(
            indicators,
            top_k=min(top_k, len(keyed)),
            rng=rng,
            missing="drop" if missing != "raise" else "raise",
            scheduler=scheduler,
        )
        rs.fit(keyed, id_column=id_column)
        result.results["index"], result.results["rank_stability"] = vi, rs
        for c, s in (
            ("index", vi.scores_),
            ("index_rank", vi.ranks_),
            ("index_flags", vi.flags_["total"]),
            (f"index_p_top_{rs.top_k}", rs.top_k_probability_),
            ("index_rank_low", rs.rank_low_),
            ("index_rank_high", rs.rank_high_),
        ):
            result.frame[c] = s.reindex(result.frame[id_column].astype(str).to_numpy()).to_numpy()
        texts += [vi.summary(names=names), rs.summary(names=names)]
        plain = result.frame.reset_index(drop=True)
        result.files["index_map"] = vi.plot(
            plain, id_column=id_column, path=out / f"{prefix}index_map.png", **note_boundaries
        ).path
        result.files["stability_map"] = rs.plot(
            plain,
            id_column=id_column,
            path=out / f"{prefix}rank_stability_map.png",
            **note_boundaries,
        ).path
    result.summary = "\n\n".join(texts)
    frame = result.frame.reset_index(drop=True)
    frame.attrs = areas.attrs
    result.frame = frame
    if not write_tables:
        return result
    step("writing tables and summary")
    params = {
        "variable": variable,
        "methods": list(methods),
        "permutations": permutations,
        "alternative": alternative,
        "correction": correction,
        "alpha": alpha,
        "seed": rng,
    }
    result.files["geopackage"] = write_layer(
        frame, out / f"{prefix}detect.gpkg", layer="areas", **params
    )
    result.files["csv"] = write_table(frame, out / f"{prefix}detect.csv", **params)
    result.files["summary"] = atomic_write_text(out / f"{prefix}summary.txt", result.summary + "\n")
    return result


def run_scan(
    areas: gpd.GeoDataFrame,
    id_column: str,
    cases: str,
    out_dir: str | Path,
    *,
    population: str | None = None,
    controls: str | None = None,
    expected: str | None = None,
    model: str = "poisson",
    max_population_share: float = 0.5,
    max_radius: float | None = None,
    scan: str = "high",
    replications: int = 999,
    gumbel: bool = False,
    rng: int | None = 0,
    missing: str = "raise",
    name_column: str | None = None,
    boundaries: gpd.GeoDataFrame | None = None,
    prefix: str = "",
    write_tables: bool = True,
    progress: Callable[[int, int], None] | None = None,
    scheduler: Any = None,
) -> DetectOutputs:
    """Run a Kulldorff scan on ``areas`` and write the cluster map, tables and summary.

    Writes ``{prefix}scan_map.png``, ``{prefix}scan_clusters.csv`` (one row per cluster) and,
    with ``write_tables``, ``{prefix}scan.gpkg`` / ``.csv`` (one row per area with its
    cluster) and ``{prefix}scan_summary.txt``. ``missing="drop"`` leaves out areas whose
    counts are missing (they are named in the summary and labelled ``undefined``); the default
    ``"raise"`` lets the scan refuse them.
    """
    from dongne.detect.scan import ScanStatistic

    if missing not in ("raise", "drop"):
        raise SpecificationError(
            f"The 'missing' parameter must be 'raise' or 'drop'. Got {missing!r}."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    full = areas.set_index(areas[id_column].astype(str), drop=False)
    full.index.name = None
    needed = [c for c in (cases, population, controls, expected) if c]
    complete = full[needed].notna().all(axis=1)
    left_out = full.index[~complete]
    if missing == "raise" and len(left_out):
        gaps = [c for c in needed if full[c].isna().any()]
        raise DataError(
            f"{', '.join(gaps)} missing for {len(left_out)} area(s): {format_rows(left_out)}. "
            "Fix: fill the values, or pass missing='drop' to leave those areas out (they are "
            "named in the summary and labelled undefined on the map)."
        )
    keyed = full[complete] if missing == "drop" else full
    estimator = ScanStatistic(
        model=model,
        max_population_share=max_population_share,
        max_radius=max_radius,
        scan=scan,
        replications=replications,
        gumbel=gumbel,
        rng=rng,
        scheduler=scheduler,
    )
    fitted = estimator.fit(
        keyed[cases],
        keyed[population] if population else None,
        keyed,
        expected=keyed[expected] if expected else None,
        controls=keyed[controls] if controls else None,
        progress=progress,
    )
    result = DetectOutputs(frame=full.copy(), results={"scan": fitted})
    per_area = fitted.to_frame()
    for col in per_area.columns:
        result.frame[f"scan_{col}"] = per_area[col].reindex(result.frame.index).to_numpy()
    if len(left_out):
        result.frame.loc[left_out, "scan_label"] = "undefined"
    names = keyed[name_column] if name_column else None
    result.summary = fitted.summary(names=names)
    if len(left_out):
        result.summary += (
            f"\nLeft out for missing counts ({len(left_out)}): {', '.join(left_out)}."
            f"\n값이 없어 제외한 지역 {len(left_out)}곳: {', '.join(left_out)}."
        )
    plain = result.frame.reset_index(drop=True)
    extra = {"boundaries": boundaries} if boundaries is not None else {}
    result.files["scan_map"] = fitted.plot(
        plain, id_column=id_column, path=out / f"{prefix}scan_map.png", **extra
    ).path
    result.files["scan_clusters"] = write_table(
        fitted.clusters_, out / f"{prefix}scan_clusters.csv", **fitted.provenance_
    )
    plain.attrs = areas.attrs
    result.frame = plain
    if write_tables:
        result.files["scan_geopackage"] = write_layer(
            plain, out / f"{prefix}scan.gpkg", layer="areas", **fitted.provenance_
        )
        result.files["scan_csv"] = write_table(
            plain, out / f"{prefix}scan.csv", **fitted.provenance_
        )
        result.files["scan_summary"] = atomic_write_text(
            out / f"{prefix}scan_summary.txt", result.summary + "\n"
        )
    return result
