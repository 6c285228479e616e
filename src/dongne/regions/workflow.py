"""The regions workflows behind ``dongne regions``: interpolate, regionalise, typology.

Each writes a run folder: a GeoPackage and a CSV (UTF-8 with BOM) with provenance, maps,
and ``summary.txt`` in English and Korean. Nothing here is specific to a city; the Seoul
defaults live in :mod:`dongne.demo.regions`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import geopandas as gpd
import pandas as pd

from dongne.errors import SpecificationError
from dongne.io.atomic import atomic_write_text
from dongne.io.write import write_layer, write_provenance, write_table
from dongne.regions.interpolate import interpolate
from dongne.regions.quality import region_measures
from dongne.regions.regionalise import AZP, MaxP, Skater, SpectralRegions, WardRegions
from dongne.regions.typology import Typology
from dongne.regions.vintages import change_table
from dongne.weights import queen

__all__ = ["REGION_METHODS", "RegionsOutputs", "run_interpolate", "run_regions", "run_typology"]

#: The regionalisation methods of :func:`run_regions`.
REGION_METHODS = ("maxp", "skater", "azp", "ward", "spectral")


@dataclass
class RegionsOutputs:
    """What a regions workflow computed and wrote."""

    frame: gpd.GeoDataFrame
    result: Any
    files: dict[str, Path] = field(default_factory=dict)
    summary: str = ""
    result_changes: Any = None


def run_interpolate(
    source: gpd.GeoDataFrame,
    target: gpd.GeoDataFrame,
    out_dir: str | Path,
    *,
    source_id: str,
    target_id: str,
    columns: Sequence[str] = (),
    extensive: Sequence[str] = (),
    intensive: Sequence[str] = (),
    categorical: Sequence[str] = (),
    kinds: Mapping[str, str] | None = None,
    rates: Sequence[str] = (),
    population: gpd.GeoDataFrame | None = None,
    population_column: str | None = None,
    source_name: str | None = None,
    target_name: str | None = None,
    map_column: str | None = None,
    source_label: str = "source",
) -> RegionsOutputs:
    """Move ``source``'s columns onto ``target`` and derive the change table between them.

    Writes ``interpolated.gpkg``/``.csv`` (target areas with the moved columns),
    ``changes.csv`` (one row per source area: split, merged, renamed, …), ``links.csv`` (the
    pieces that link them, with shares), ``interpolated_map.png`` (``map_column``, by default
    the first rate or column), ``changes_map.png`` (the relation of each source area) and
    ``summary.txt``.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = interpolate(
        source, target, columns=columns, extensive=extensive, intensive=intensive,
        categorical=categorical, kinds=kinds, rates=list(rates) or None,
        source_id=source_id, target_id=target_id, population=population,
        population_column=population_column,
    )  # fmt: skip
    changes = change_table(
        source, target, old_id=source_id, new_id=target_id, old_name=source_name,
        new_name=target_name, overlay=result.overlay,
    )  # fmt: skip
    frame = result.frame
    if target_name and target_name in target.columns and target_name not in frame.columns:
        frame.insert(1, target_name, target[target_name].to_numpy())
    frame.attrs = source.attrs
    params = {**result.parameters, "kinds": result.kinds, "source": source_label}
    files = {
        "geopackage": write_layer(frame, out / "interpolated.gpkg", layer="areas", **params),
        "csv": write_table(frame, out / "interpolated.csv", **params),
        "changes": write_table(changes.relations, out / "changes.csv", **changes.parameters),
        "links": write_table(changes.links, out / "links.csv", **changes.parameters),
    }
    column = map_column or next(
        (c for c, k in result.kinds.items() if k != "extensive" and c in frame), None
    ) or next(iter(result.kinds))  # fmt: skip
    files["map"] = _save_map(result.plot(column, path=out / "interpolated_map.png"),
                             out / "interpolated_map.png", frame, column=column)  # fmt: skip
    files["changes_map"] = _changes_map(source, source_id, changes, out / "changes_map.png")
    summary = result.summary("en") + "\n\n" + changes.summary("en")
    summary += "\n\n" + result.summary("ko") + "\n\n" + changes.summary("ko")
    files["summary"] = atomic_write_text(out / "summary.txt", summary + "\n")
    return RegionsOutputs(frame, result, files, summary, changes)


def _save_map(_figure: Any, path: Path, frame: pd.DataFrame, **parameters: Any) -> Path:
    """Close a drawn map and write its provenance."""
    import matplotlib.pyplot as plt

    plt.close("all")
    write_provenance(path, frame, **parameters)
    return path


def _changes_map(
    source: gpd.GeoDataFrame, source_id: str, changes: Any, path: Path
) -> Path:  # fmt: skip
    figure = changes.plot(source, id_column=source_id, path=path)
    return _save_map(figure, path, source, method="change table")


def _standardise(frame: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    x = frame[list(columns)].astype(float)
    sd = x.std(ddof=0).replace(0, 1.0)
    return (x - x.mean()) / sd


def run_regions(
    areas: gpd.GeoDataFrame,
    id_column: str,
    attributes: Sequence[str],
    out_dir: str | Path,
    *,
    method: str = "maxp",
    floor_column: str | None = None,
    floor: float | None = None,
    n_regions: int | None = None,
    iterations: int = 99,
    rounds: int = 10,
    rng: int | None = 0,
    attach_islands: bool = False,
    label: str = "",
) -> RegionsOutputs:
    """Build contiguous regions of ``areas`` (queen contiguity) on standardised ``attributes``.

    ``method="maxp"`` needs ``floor_column`` and ``floor``; ``"skater"``, ``"azp"``,
    ``"ward"`` and ``"spectral"`` need ``n_regions`` (SKATER also honours a floor). Writes
    ``regions.gpkg``/``.csv`` (each area's region), ``regions_table.csv`` (per region: areas,
    floor total, within-region sum of squares, area, isoperimetric quotient, convex hull
    ratio, parts), ``regions_map.png`` and ``summary.txt``. ``attach_islands`` joins areas
    without neighbours to their nearest area (:meth:`SpatialWeights.attach_islands`).
    """
    if method not in REGION_METHODS:
        raise SpecificationError(
            f"method must be one of {', '.join(REGION_METHODS)}, got {method!r}. Fix: "
            "method='maxp'."
        )
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    keyed = areas.set_index(areas[id_column].to_numpy())
    w = queen(keyed)
    if attach_islands and len(w.islands):
        w = w.attach_islands(keyed)
    x = _standardise(keyed, attributes)
    floor_values = keyed[floor_column].astype(float) if floor_column else None
    model = _region_model(method, floor, floor_values, n_regions, iterations, rounds, rng)
    if isinstance(model, MaxP | Skater):
        model.fit(x, w, floor_values=floor_values)
    else:
        model.fit(x, w)
    frame = areas.copy()
    frame["region"] = frame[id_column].map(model.labels_).to_numpy()
    table = region_measures(
        frame, frame["region"].to_numpy(), x.loc[frame[id_column]].to_numpy(),
        floor_values=None if floor_values is None else floor_values.loc[frame[id_column]],
    )  # fmt: skip
    params = {**model.provenance_, "attributes": list(attributes), "floor_column": floor_column}
    files = {
        "geopackage": write_layer(frame, out / "regions.gpkg", layer="areas", **params),
        "csv": write_table(frame, out / "regions.csv", **params),
        "table": write_table(table, out / "regions_table.csv", **params),
    }
    files["map"] = _save_map(model.plot(frame, id_column=id_column, path=out / "regions_map.png"),
                             out / "regions_map.png", frame, **params)  # fmt: skip
    summary = _regions_summary(model, table, floor_column, label)
    files["summary"] = atomic_write_text(out / "summary.txt", summary + "\n")
    from dongne.regions._plots import hex_colours, region_colours

    frame["region_colour"] = hex_colours(region_colours(frame["region"]))  # as the map draws them
    return RegionsOutputs(frame, model, files, summary)


def _region_model(
    method: str,
    floor: float | None,
    floor_values: pd.Series | None,
    n_regions: int | None,
    iterations: int,
    rounds: int,
    rng: int | None,
) -> Any:
    if method == "maxp":
        if floor is None or floor_values is None:
            raise SpecificationError(
                "max-p needs a floor: the column that must reach it in every region and the "
                "value. Fix: floor_column='households' and floor=20000."
            )
        return MaxP(floor, iterations=iterations, rounds=rounds, rng=rng)
    if n_regions is None:
        raise SpecificationError(f"{method} needs the number of regions. Fix: n_regions=10.")
    if method == "skater":
        return Skater(n_regions, floor=floor or 0.0)
    if method == "azp":
        return AZP(n_regions, rounds=rounds, rng=rng)
    if method == "spectral":
        return SpectralRegions(n_regions, rng=rng)
    return WardRegions(n_regions)


def _regions_summary(model: Any, table: pd.DataFrame, floor_column: str | None, label: str) -> str:
    ipq = table["isoperimetric_quotient"].median()
    en = model.summary("en")
    ko = model.summary("ko")
    if label:
        en, ko = f"{label}: {en}", f"{label}: {ko}"
    if floor_column and "floor_total" in table:
        lo = table["floor_total"].min()
        en += f" Every region has at least {lo:,.0f} {floor_column}."
        ko += f" 모든 권역의 {floor_column} 합계가 {lo:,.0f} 이상입니다."
    corner = int((table["parts"] > 1).sum())
    en += (
        f" Median isoperimetric quotient {ipq:.2f} (1 = a disc); {corner} region(s) hold "
        "areas that meet only at a corner (queen contiguity)."
    )
    ko += (f" 등주비 중앙값 {ipq:.2f} (1 = 원); 꼭짓점으로만 맞닿은 구역을 포함한 권역 "
           f"{corner}개 (퀸 인접).")  # fmt: skip
    return en + "\n\n" + ko


def run_typology(
    areas: gpd.GeoDataFrame,
    id_column: str,
    indicators: Sequence[str],
    out_dir: str | Path,
    *,
    method: str = "kmeans",
    k: int | None = None,
    k_range: tuple[int, int] = (2, 8),
    rng: int | None = 0,
    label: str = "",
) -> RegionsOutputs:
    """Classify ``areas`` into neighbourhood types from ``indicators``.

    Writes ``types.gpkg``/``.csv`` (each area's type and suggested name), ``profiles.csv``
    (mean z-score per indicator and type), ``model_selection.csv`` (silhouette, BIC per k),
    ``types_map.png``, ``profiles.png`` and ``summary.txt``.
    """
    from dongne.report.maps import category_map

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    X = areas.set_index(areas[id_column].to_numpy())[list(indicators)]
    model = Typology(method, k=k, k_range=k_range, rng=rng).fit(X)  # type: ignore[arg-type]
    frame = areas.copy()
    types = frame[id_column].map(model.labels_)
    frame["type"] = types.to_numpy()
    frame["type_name"] = types.map(lambda t: model.names_[t][0]).to_numpy()
    frame["type_name_ko"] = types.map(lambda t: model.names_[t][1]).to_numpy()
    params = {**model.provenance_}
    files = {
        "geopackage": write_layer(frame, out / "types.gpkg", layer="areas", **params),
        "csv": write_table(frame, out / "types.csv", **params),
        "profiles": write_table(model.profiles_.reset_index(), out / "profiles.csv", **params),
        "selection": write_table(model.scores_, out / "model_selection.csv", **params),
    }
    from dongne.regions._plots import hex_colours, palette

    colours = palette(model.k_)
    frame["type_label"] = types.map(lambda t: f"{t}: {model.names_[t][1]}").to_numpy()
    cats = {f"{t}: {model.names_[t][1]}": colours[t - 1] for t in range(1, model.k_ + 1)}
    figure = category_map(frame, "type_label", title="동네 유형 · Neighbourhood types",
                          categories=cats, path=out / "types_map.png")  # fmt: skip
    files["map"] = _save_map(figure, out / "types_map.png", frame, **params)
    files["profiles_chart"] = _save_map(model.plot(path=out / "profiles.png"),
                                        out / "profiles.png", frame, **params)  # fmt: skip
    summary = _both_languages(model, label)
    files["summary"] = atomic_write_text(out / "summary.txt", summary + "\n")
    frame["type_colour"] = hex_colours([colours[t - 1] for t in types])  # as the map draws them
    return RegionsOutputs(frame, model, files, summary)


def _both_languages(model: Any, label: str) -> str:
    """The model's summary in both languages, headed by ``label``."""
    text = model.summary("both")
    return f"{label}\n\n{text}" if label else text
