"""Report section for allocation runs (``dongne allocate``, the demo): new sites and coverage.

Registered with :func:`~dongne.report.sections.register_section` under ``new_sites.csv``
(written by :func:`dongne.allocate.run_allocate`). Importing this module registers the section
(:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

import pandas as pd

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    _format,
    _num,
    register_section,
)

_ALLOCATE_REFERENCES = {
    "MCLP": (
        "Church, R. & ReVelle, C. (1974). The maximal covering location problem. Papers of "
        "the Regional Science Association 32:101–118.",
    ),
    "LSCP": (
        "Toregas, C., Swain, R., ReVelle, C. & Bergman, L. (1971). The location of emergency "
        "service facilities. Operations Research 19(6):1363–1373.",
    ),
    "p-median": (
        "Hakimi, S. L. (1964). Optimum locations of switching centers and the absolute "
        "centers and medians of a graph. Operations Research 12(3):450–459.",
        "ReVelle, C. S. & Swain, R. W. (1970). Central facilities location. Geographical "
        "Analysis 2(1):30–42.",
    ),
    "p-center": (
        "Hakimi, S. L. (1964). Operations Research 12(3):450–459.",
        "Minieka, E. (1970). The m-center problem. SIAM Review 12(1):138–139.",
    ),
}


@register_section("allocate", anchors=("new_sites.csv",))
def _allocate_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    sites_file = f"{prefix}new_sites.csv"
    section = ReportSection(
        title=("Facility allocation", "시설 입지 배치"),
        files={
            f"{prefix}{name}"
            for name in ("new_sites.csv", "new_sites.gpkg", "demand.gpkg", "assignment.csv")
            if run.has(f"{prefix}{name}")
        },
    )
    for name, caption in (
        ("map_before.png", ("Before: existing facilities", "배치 전: 기존 시설")),
        ("map_after.png", ("After: with the new sites", "배치 후: 신규 입지 포함")),
        ("pareto.png", ("Efficiency against equity", "효율성과 형평성")),
    ):
        if run.has(prefix + name):
            section.figures.append(Figure(prefix + name, caption))
            section.files.add(prefix + name)
    params = run.parameters(sites_file)
    groups_file = f"{prefix}groups.csv"
    if run.has(groups_file):
        section.files.add(groups_file)
        section.tables.append(_coverage_table(run.read_table(groups_file), groups_file))
    sites = run.read_table(sites_file)
    cols = [c for c in ("site_id", "demand_units", "demand_served", "lon", "lat") if c in sites]
    section.tables.append(
        Table(
            ("New sites", "신규 입지"),
            _format(sites[cols], {"demand_units": "int", "demand_served": "int"}),
            sites_file,
        )
    )
    pareto_file = f"{prefix}pareto.csv"
    if run.has(pareto_file):
        section.files.add(pareto_file)
        pareto = run.read_table(pareto_file)
        cols = [
            c
            for c in (
                "objective",
                "min_share",
                "coverage",
                "worst_group",
                "worst_group_coverage",
                "gini_access",
                "status",
                "pareto",
            )
            if c in pareto
        ]
        section.tables.append(
            Table(
                ("Efficiency–equity trade-off", "효율성–형평성 상충"),
                _format(
                    pareto[cols],
                    {
                        "min_share": "pct",
                        "coverage": "pct",
                        "worst_group_coverage": "pct",
                        "gini_access": "f3",
                    },
                ),
                pareto_file,
            )
        )
    model = str(params.get("model", ""))
    model_refs = next((refs for key, refs in _ALLOCATE_REFERENCES.items() if key in model), ())
    references = (
        *model_refs,
        "Daskin, M. S. (2013). Network and Discrete Location, 2nd ed. Wiley.",
    )
    section.methods.append(
        Method(
            (model or "Location model", model or "입지 모형"),
            (
                "New sites are chosen among the candidates, keeping existing facilities open, "
                "by an exact integer program (HiGHS) or a heuristic with its gap to a bound.",
                "기존 시설을 유지한 채 후보지 중 신규 입지를 고릅니다. 정수계획(HiGHS)으로 정확히 "
                "풀거나, 하한과의 격차를 보고하는 휴리스틱으로 풉니다.",
            ),
            params,
            sites_file,
            references,
        )
    )
    return section


def _coverage_table(groups: pd.DataFrame, source: str) -> Table:
    g = groups.copy()
    demand = _num(g["demand"])
    total = pd.DataFrame(
        {
            "group": ["All / 전체"],
            "units": [str(int(_num(g["units"]).sum()))] if "units" in g else [""],
            "demand": [str(demand.sum())],
            **{
                share: [str(_num(g[covered]).sum() / demand.sum())]
                for share, covered in (
                    ("coverage_before", "covered_before"),
                    ("coverage", "covered"),
                )
                if covered in g
            },
            **{
                col: [str((_num(g[col]) * demand).sum() / demand.sum())]
                for col in ("mean_access_before", "mean_access")
                if col in g
            },
        }
    )
    g = pd.concat([g, total], ignore_index=True).fillna("")
    if "coverage_before" in g and "coverage" in g:
        g["change_points"] = (100 * (_num(g["coverage"]) - _num(g["coverage_before"]))).map(
            lambda v: "–" if pd.isna(v) else f"{v:+.1f}"
        )
    cols = [
        c
        for c in (
            "group",
            "units",
            "demand",
            "coverage_before",
            "coverage",
            "change_points",
            "mean_access_before",
            "mean_access",
        )
        if c in g
    ]
    return Table(
        ("Coverage before and after, per group", "그룹별 배치 전후 커버율"),
        _format(
            g[cols],
            {
                "units": "int",
                "demand": "int",
                "coverage_before": "pct",
                "coverage": "pct",
                "mean_access_before": "int",
                "mean_access": "int",
            },
        ),
        source,
        (
            "Coverage: share of the weighted demand within the service radius; change in "
            "percentage points; mean access: weighted mean distance to the nearest open site.",
            "커버율: 서비스 반경 안에 있는 가중 수요의 비율; 변화는 %p; 평균 접근거리: 가장 "
            "가까운 시설까지의 가중 평균 거리.",
        ),
    )
