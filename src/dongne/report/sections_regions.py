"""Report sections for ``dongne regions`` runs: regions, neighbourhood types, interpolation.

Registered with :func:`~dongne.report.sections.register_section` under the files that
:mod:`dongne.regions.workflow` writes: ``regions_table.csv`` (max-p, SKATER, AZP, Ward),
``model_selection.csv`` with ``profiles.csv`` (typology) and ``interpolated.csv`` with
``changes.csv`` (areal interpolation and the change table of two vintages). Importing this
module registers them (:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

import pandas as pd

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    ReportSection,
    Table,
    _format,
    _num,
    register_section,
)
from dongne.report.sections_spacetime import _figures, _method

_REGION_METHODS = {
    "max-p": ("Max-p regions", "Max-p 권역"),
    "skater": ("SKATER regions", "SKATER 권역"),
    "azp": ("AZP regions", "AZP 권역"),
    "ward": ("Ward regions with contiguity", "인접 조건 워드 권역"),
}


def _claim(run: AnalysisRun, section: ReportSection, prefix: str, names) -> None:
    for name in names:
        if run.has(f"{prefix}{name}"):
            section.files.add(f"{prefix}{name}")


@register_section("regions", anchors=("regions_table.csv",))
def _regions_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}regions_table.csv"
    params = run.parameters(source)
    method = str(params.get("method", "")).lower()
    title = next((v for k, v in _REGION_METHODS.items() if method.startswith(k)),
                 ("Contiguous regions", "인접 권역"))  # fmt: skip
    section = ReportSection(title, files={source})
    _claim(run, section, prefix, ("regions.csv", "regions.gpkg"))
    _figures(run, section, prefix, (
        ("regions_map.png", ("Regions (numbers as in the table)", "권역 (번호는 표와 같음)")),
    ))  # fmt: skip
    table = run.read_table(source)
    floor = params.get("floor_column")
    shown = table.rename(columns={"floor_total": f"floor_total ({floor})"} if floor else {})
    section.tables.append(Table(
        ("Regions: size, floor and homogeneity", "권역: 크기, 하한, 동질성"),
        _format(shown, {"areas": "int", "area_km2": "f2", "isoperimetric_quotient": "f2",
                        "convex_hull_ratio": "f2", "parts": "int",
                        f"floor_total ({floor})": "int", "within_ss": "f2"}),
        source,
        ("within_ss: within-region sum of squares of the standardised attributes (lower is "
         "more alike); isoperimetric quotient: 1 for a disc; parts > 1: areas meeting only at "
         "a corner.",
         "within_ss: 표준화한 속성의 권역 내 제곱합(낮을수록 비슷함); 등주비: 원이면 1; "
         "parts > 1: 꼭짓점으로만 맞닿은 구역 포함."),
    ))  # fmt: skip
    totals = pd.DataFrame({
        "regions": [len(table)],
        "areas": [int(_num(table["areas"]).sum())],
        "within_ss (total)": [f"{_num(table['within_ss']).sum():,.2f}"],
    }).astype(str)  # fmt: skip
    section.tables.append(Table(("Overall", "전체"), totals, source))
    section.methods.append(_method(
        run, source, title,
        ("Contiguous regions (queen contiguity) that are as alike as possible in the "
         "standardised attributes: max-p finds as many regions as a floor on an extensive "
         "variable allows; SKATER prunes a minimum spanning tree; AZP improves a zoning by "
         "local search (simulated annealing); Ward merges neighbours with the least increase "
         "in within-region variance.",
         "표준화한 속성이 최대한 비슷한 인접(퀸) 권역을 만듭니다. max-p는 하한을 채우는 "
         "범위에서 권역 수를 최대로, SKATER는 최소신장트리를 잘라서, AZP는 지역 탐색(모의 "
         "담금질)으로, 워드는 권역 내 분산이 가장 적게 느는 이웃끼리 합쳐서 만듭니다."),
        ("Duque, J. C., Anselin, L. & Rey, S. J. (2012). The max-p-regions problem. Journal "
         "of Regional Science 52(3):397–419.",
         "Assunção, R. M., Neves, M. C., Câmara, G. & da Costa Freitas, C. (2006). Efficient "
         "regionalization techniques for socio-economic geographical units using minimum "
         "spanning trees. IJGIS 20(7):797–811.",
         "Openshaw, S. & Rao, L. (1995). Algorithms for reengineering 1991 census geography. "
         "Environment and Planning A 27(3):425–446.",
         "Feng, X., Rey, S. J. & Wei, R. (2022). The max-p-compact-regions problem. "
         "Transactions in GIS 26(2):717–734."),
    ))  # fmt: skip
    return section


@register_section("typology", anchors=("model_selection.csv",))
def _typology_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    selection = f"{prefix}model_selection.csv"
    profiles_file = f"{prefix}profiles.csv"
    if not run.has(profiles_file):
        return None
    section = ReportSection(("Neighbourhood types", "동네 유형"), files={selection, profiles_file})
    _claim(run, section, prefix, ("types.csv", "types.gpkg"))
    _figures(run, section, prefix, (
        ("types_map.png", ("Neighbourhood types", "동네 유형")),
        ("profiles.png", ("Type profiles: mean z-score of each indicator",
                          "유형 프로필: 지표별 평균 z점수")),
    ))  # fmt: skip
    profiles = run.read_table(profiles_file)
    names_file = f"{prefix}types.csv"
    if run.has(names_file):
        types = run.read_table(names_file)
        if {"type", "type_name", "type_name_ko"} <= set(types.columns):
            names = types.drop_duplicates("type").set_index("type")
            profiles.insert(1, "name", profiles["type"].map(names["type_name"]).fillna(""))
            profiles.insert(2, "이름", profiles["type"].map(names["type_name_ko"]).fillna(""))
    indicators = [c for c in profiles.columns if c not in ("type", "name", "이름", "areas")]
    section.tables.append(Table(
        ("Type profiles (mean z-score)", "유형 프로필 (평균 z점수)"),
        _format(profiles, {"areas": "int", **dict.fromkeys(indicators, "f2")}),
        profiles_file,
        ("0 is the city mean; +1 one standard deviation above it. Names are suggested from "
         "the profile.", "0은 도시 평균, +1은 평균보다 1 표준편차 높음. 이름은 프로필에서 제안한 "
         "것입니다."),
    ))  # fmt: skip
    scores = run.read_table(selection)
    section.tables.append(Table(
        ("Number of types", "유형 수 선택"),
        _format(scores, {c: "f3" for c in scores.columns if c not in ("k", "chosen")}),
        selection,
    ))  # fmt: skip
    section.methods.append(_method(
        run, profiles_file, ("Neighbourhood typology", "동네 유형 분류"),
        ("Indicators are standardised (z-scores) and the areas classified by k-means, a "
         "Gaussian mixture or Ward's clustering; the number of types is chosen by silhouette "
         "(k-means, Ward) or BIC (mixture) unless given, and each type named from its profile.",
         "지표를 표준화(z점수)한 뒤 k-평균, 가우스 혼합 또는 워드 군집으로 지역을 분류합니다. "
         "유형 수는 따로 주지 않으면 실루엣(k-평균, 워드) 또는 BIC(혼합)로 고르고, 유형마다 "
         "프로필에서 이름을 제안합니다."),
        ("Singleton, A. D. & Spielman, S. E. (2014). The past, present, and future of "
         "geodemographic research in the United States and United Kingdom. The Professional "
         "Geographer 66(4):558–567.",
         "Rousseeuw, P. J. (1987). Silhouettes: a graphical aid to the interpretation and "
         "validation of cluster analysis. J. Comput. Appl. Math. 20:53–65."),
    ))  # fmt: skip
    return section


@register_section("interpolate", anchors=("interpolated.csv",))
def _interpolate_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}interpolated.csv"
    section = ReportSection(
        ("Moving data to other boundaries (areal interpolation)", "다른 경계로 옮기기 (면적 보간)"),
        files={source},
    )
    _claim(run, section, prefix, ("interpolated.gpkg", "links.csv"))
    _figures(run, section, prefix, (
        ("interpolated_map.png", ("A moved column on the target areas", "대상 지역으로 옮긴 값")),
        ("changes_map.png", ("Boundary changes read from the geometry", "경계로 판정한 변화")),
    ))  # fmt: skip
    params = run.parameters(source)
    kinds = params.get("kinds", {}) or {}
    if kinds:
        frame = run.read_table(source)
        rows = []
        for column, kind in kinds.items():
            missing = pd.Series([], dtype=float)
            values = _num(frame[column].astype(str)) if column in frame else missing
            rows.append({
                "column": column, "kind": kind,
                "target areas": f"{int(values.notna().sum()):,}",
                "total": f"{values.sum():,.1f}" if str(kind) == "extensive" else "–",
                "mean": f"{values.mean():,.3f}" if len(values) else "–",
            })  # fmt: skip
        section.tables.append(Table(
            ("Columns moved", "옮긴 열"), pd.DataFrame(rows).astype(str), source,
            ("extensive (counts): shared out by area share, totals kept; intensive (rates): "
             "area-weighted means; rate formulas: recomputed from the moved counts.",
             "extensive(개수): 면적 비율로 나눠 합계 보존; intensive(비율): 면적 가중 평균; "
             "비율 공식: 옮긴 개수로 다시 계산."),
        ))  # fmt: skip
    changes_file = f"{prefix}changes.csv"
    if run.has(changes_file):
        section.files.add(changes_file)
        changes = run.read_table(changes_file)
        counts = changes["relation"].value_counts().rename_axis("relation")
        counts = counts.reset_index(name="areas")
        section.tables.append(Table(
            ("Change table of the two vintages", "두 시점 경계의 변화"), counts.astype(str),
            changes_file,
            ("one row per old area in the file: split, merged, renamed, boundary change or "
             "unchanged, with the share kept.",
             "파일에는 이전 구역마다 한 행: 분할, 통합, 명칭 변경, 경계 변경, 변화 없음과 "
             "유지 비율."),
        ))  # fmt: skip
        changed = changes[changes["relation"] != "unchanged"].head(20)
        if len(changed):
            cols = [c for c in ("old_code", "old_name", "relation", "new_codes", "new_names",
                                "share_kept") if c in changed]  # fmt: skip
            section.tables.append(Table(
                ("Changed areas (first 20)", "변화한 구역 (처음 20곳)"),
                _format(changed[cols], {"share_kept": "pct"}), changes_file,
            ))  # fmt: skip
    section.methods.append(_method(
        run, source, ("Areal interpolation", "면적 보간"),
        ("The two boundary sets are overlaid once; counts are shared out in proportion to the "
         "overlapping area (or population, dasymetric), rates and means are averaged with "
         "area weights, and the change of every old area (split, merge, rename, boundary "
         "change) is read from the overlap shares.",
         "두 경계를 한 번 중첩하고, 개수는 겹친 면적(또는 인구, 대시메트릭) 비율로 나누고, "
         "비율과 평균은 면적 가중 평균합니다. 이전 구역마다 분할·통합·명칭 변경·경계 변경을 "
         "겹친 비율로 판정합니다."),
        ("Goodchild, M. F. & Lam, N. S.-N. (1980). Areal interpolation: a variant of the "
         "traditional spatial problem. Geo-Processing 1:297–312.",
         "Knaap, E., Wolf, L. J., Rey, S. J. et al. tobler: areal interpolation in Python "
         "(PySAL)."),
    ))  # fmt: skip
    return section
