"""The detect workflow behind ``dongne detect`` and the demo: statistics, maps, tables, summary."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import geopandas as gpd
import pandas as pd

from dongne.detect.index import RankStability, VulnerabilityIndex
from dongne.detect.inference import AUTO_PERMUTATIONS, auto_permutations, first_step_level
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
    permutations: int | Literal["auto"] = "auto",
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
    label: str | None = None,
    source: str | None = None,
) -> DetectOutputs:
    """Run the chosen detect methods on one variable and write maps, tables and a summary.

    Writes into ``out_dir`` one PNG map per local method (and index), the global Moran table
    and, with ``write_tables``, ``{prefix}detect.gpkg`` (layer ``areas`` with one column
    block per method), ``{prefix}detect.csv``, ``{prefix}summary.txt`` (English and Korean)
    and provenance files. ``scheduler`` runs the permutations in-process (None), in worker
    processes (``"processes"``) or on a Dask cluster (a ``Client`` or ``"tcp://host:port"``)
    with identical results (see :mod:`dongne.parallel`).

    ``permutations="auto"`` (the default) chooses R with
    :func:`dongne.detect.inference.auto_permutations`: for the local statistics the smallest
    of 999, 9,999, 19,999, 49,999 and 99,999 whose smallest attainable p-value survives
    ``correction`` over the areas with a value at ``alpha`` (19,999 for 416 areas, two-sided,
    FDR at 0.05), 999 for the global Moran's I (one test). The summary states the rule and
    the R used. An int uses that R for every method.
    ``label`` is the readable name of ``variable`` for map titles (default: the column name);
    ``source`` is the data source written under every map.
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
    global_r, local_r, chosen = _resolve_permutations(
        permutations, int(y.notna().sum()), alternative, correction, alpha
    )
    if chosen:
        texts.append(chosen)
    common = {"alternative": alternative, "rng": rng, "missing": missing, "scheduler": scheduler}
    local_opts = {**common, "permutations": local_r, "correction": correction, "alpha": alpha}
    index_opts: dict[str, Any] = {"source": source}
    if boundaries is not None:
        index_opts["boundaries"] = boundaries
    map_opts = {**index_opts, "label": label}

    if "moran" in methods:
        step("global Moran's I")
        m = GlobalMoran(permutations=global_r, **common).fit(y, w)
        result.results["moran"] = m
        texts.append(m.summary())
        result.files["moran_csv"] = write_table(
            m.to_frame(), out / f"{prefix}global_moran.csv", **m.provenance_
        )
    texts += _local_statistics(
        result, y, w, methods, local_opts, id_column, out, prefix, step,
        names=names, groups=groups, map_opts=map_opts,
    )  # fmt: skip
    if "index" in methods:
        if not indicators:
            raise SpecificationError(
                "method 'index' needs indicators, e.g. {'basement_pct': '+', 'shelters': '-'} "
                "(on the command line: --indicator basement_pct:+ --indicator shelters:-)."
            )
        step("vulnerability index and rank stability")
        texts += _index(
            result, keyed, id_column, indicators, out, prefix,
            top_k=top_k, rng=rng, missing=missing, scheduler=scheduler, names=names,
            index_opts=index_opts,
        )  # fmt: skip
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
        "permutations": local_r,
        "permutations_rule": "auto" if permutations == "auto" else "given",
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


def _local_statistics(
    result: DetectOutputs,
    y: pd.Series,
    w: SpatialWeights,
    methods: Sequence[str],
    local_opts: dict[str, Any],
    id_column: str,
    out: Path,
    prefix: str,
    step: Callable[[str], None],
    *,
    names: Any,
    groups: Any,
    map_opts: dict[str, Any],
) -> list[str]:
    """LISA, Gi and Gi* of :func:`run_detect` (those in ``methods``), into ``result``.

    Adds each fitted statistic, its per-area columns and its map to ``result`` and returns
    the summary paragraphs.
    """
    texts = []
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
            **map_opts,
        )
        result.files[f"{key}_map"] = mapped.path
    return texts


def _index(
    result: DetectOutputs,
    keyed: gpd.GeoDataFrame,
    id_column: str,
    indicators: Mapping[str, str],
    out: Path,
    prefix: str,
    *,
    top_k: int,
    rng: int | None,
    missing: str,
    scheduler: Any,
    names: Any,
    index_opts: dict[str, Any],
) -> list[str]:
    """Vulnerability index and rank stability of :func:`run_detect`, into ``result``.

    Adds both results, their per-area columns and maps to ``result`` and returns their
    summary paragraphs.
    """
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
    plain = result.frame.reset_index(drop=True)
    result.files["index_map"] = vi.plot(
        plain, id_column=id_column, path=out / f"{prefix}index_map.png", **index_opts
    ).path
    result.files["stability_map"] = rs.plot(
        plain,
        id_column=id_column,
        path=out / f"{prefix}rank_stability_map.png",
        **index_opts,
    ).path
    return [vi.summary(names=names), rs.summary(names=names)]


def _resolve_permutations(
    permutations: int | str, n_tests: int, alternative: str, correction: str, alpha: float
) -> tuple[int, int, str]:
    """(global R, local R, a summary paragraph saying how R was chosen — empty if given)."""
    if permutations != "auto":
        return permutations, permutations, ""  # type: ignore[return-value]
    local = auto_permutations(n_tests, alternative, correction, alpha)  # type: ignore[arg-type]
    level = first_step_level(n_tests, correction, alpha)  # type: ignore[arg-type]
    series = ", ".join(f"{r:,}" for r in AUTO_PERMUTATIONS)
    c = 2 if alternative == "two-sided" else 1
    floor = c / (local + 1)
    if floor <= level * (1 + 1e-12):
        rule = (
            f"the smallest of {series} whose smallest attainable {alternative} p-value, "
            f"{c}/(R + 1) = {floor:.3g}, reaches {level:.3g}, what {correction} over "
            f"{n_tests} areas at alpha {alpha} asks of the most significant area"
        )
        ko_why = "통과할 수 있는 가장 작은 값"
    else:
        rule = (
            f"the largest of {series}; even its smallest attainable {alternative} p-value, "
            f"{c}/(R + 1) = {floor:.3g}, misses {level:.3g}, what {correction} over "
            f"{n_tests} areas at alpha {alpha} asks of the most significant area"
        )
        ko_why = "통과하지 못하는 최대값(더 큰 순열 횟수 필요)"
    en = (
        f"Permutations chosen automatically: {local:,} for the local statistics — {rule} "
        "(Phipson & Smyth 2010; Benjamini & Hochberg 1995); 999 for the global Moran's I "
        "(one test). Pass permutations=R (--permutations R) to fix R."
    )
    ko = (
        f"순열 횟수 자동 선택: 국지 통계 {local:,}회 — {series} 중 최소 p값 "
        f"{c}/(R + 1) = {floor:.3g}이 {n_tests}개 지역의 다중검정 보정"
        f"({correction}, 유의수준 {alpha})을 {ko_why}; 전역 모란 I는 999회."
    )
    return 999, local, en + "\n" + ko


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
    label: str | None = None,
    source: str | None = None,
) -> DetectOutputs:
    """Run a Kulldorff scan on ``areas`` and write the cluster map, tables and summary.

    Writes ``{prefix}scan_map.png``, ``{prefix}scan_clusters.csv`` (one row per cluster) and,
    with ``write_tables``, ``{prefix}scan.gpkg`` / ``.csv`` (one row per area with its
    cluster) and ``{prefix}scan_summary.txt``. ``missing="drop"`` leaves out areas whose
    counts are missing (they are named in the summary and labelled ``undefined``); the default
    ``"raise"`` lets the scan refuse them. ``label`` is a readable name of the cases for the
    map title; ``source`` the data source written under the map.
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
    extra: dict[str, Any] = {"label": label, "source": source}
    if boundaries is not None:
        extra["boundaries"] = boundaries
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
