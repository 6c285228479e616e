"""Report section for vulnerable-area runs (``dongne detect``, the demo): maps, tables, methods.

Registered with :func:`~dongne.report.sections.register_section` under the files that
:func:`dongne.detect.workflow.run_detect` writes (``global_moran.csv``, ``detect.csv`` and the
LISA, Gi, Gi*, index and rank-stability maps). Importing this module registers the section
(:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    Text,
    _format,
    _name_columns,
    _num,
    register_section,
)

_DETECT_MAPS: tuple[tuple[str, Text], ...] = (
    ("lisa_map.png", ("Local Moran's I clusters (LISA)", "국지적 모란 I 군집 (LISA)")),
    ("gi_map.png", ("Getis-Ord Gi hot and cold spots", "게티스-오드 Gi 핫스팟·콜드스팟")),
    ("gistar_map.png", ("Getis-Ord Gi* hot and cold spots", "게티스-오드 Gi* 핫스팟·콜드스팟")),
    ("index_map.png", ("Vulnerability index", "취약성 지수")),
    (
        "rank_stability_map.png",
        ("Rank stability: probability of being in the top k", "순위 안정성: 상위 k위 안에 들 확률"),
    ),
)


_LOCAL_TESTS: tuple[tuple[str, Text, tuple[str, ...]], ...] = (
    (
        "lisa",
        ("Local Moran's I (LISA)", "국지적 모란 I (LISA)"),
        (
            "Anselin, L. (1995). Local indicators of spatial association — LISA. Geographical "
            "Analysis 27(2):93–115.",
            "Sokal, R. R., Oden, N. L. & Thomson, B. A. (1998). Local spatial autocorrelation "
            "in a biological model. Geographical Analysis 30(4):331–354.",
        ),
    ),
    (
        "gi",
        ("Getis-Ord Gi", "게티스-오드 Gi"),
        (
            "Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of "
            "distance statistics. Geographical Analysis 24(3):189–206.",
        ),
    ),
    (
        "gistar",
        ("Getis-Ord Gi*", "게티스-오드 Gi*"),
        (
            "Getis, A. & Ord, J. K. (1992). The analysis of spatial association by use of "
            "distance statistics. Geographical Analysis 24(3):189–206.",
            "Ord, J. K. & Getis, A. (1995). Local spatial autocorrelation statistics. "
            "Geographical Analysis 27(4):286–306.",
        ),
    ),
)


_CORRECTION_REFERENCES = {
    "fdr_bh": "Benjamini, Y. & Hochberg, Y. (1995). Controlling the false discovery rate. "
    "JRSS B 57(1):289–300.",
    "fdr_by": "Benjamini, Y. & Yekutieli, D. (2001). The control of the false discovery rate "
    "in multiple testing under dependency. Annals of Statistics 29(4):1165–1188.",
}


_LABEL_ORDER = (
    "HH",
    "LL",
    "HL",
    "LH",
    "hot spot 99%",
    "hot spot 95%",
    "hot spot 90%",
    "cold spot 99%",
    "cold spot 95%",
    "cold spot 90%",
    "not significant",
    "island",
    "undefined",
)


def _detect_table_of(run: AnalysisRun, prefix: str) -> str | None:
    """The per-area detect table: ``{prefix}detect.csv``, else a CSV carrying detect columns."""
    for ext in (".csv", ".gpkg"):
        if run.has(f"{prefix}detect{ext}"):
            return f"{prefix}detect{ext}"
    if prefix:
        return None
    for name in run.ending_with(".csv"):
        cols = set(run.columns(name))
        if cols & {"lisa_label", "gi_label", "gistar_label", "index_rank"}:
            return name
    return None


@register_section(
    "detect",
    anchors=("global_moran.csv", "detect.csv", *(m for m, _ in _DETECT_MAPS)),
)
def _detect_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    section = ReportSection(
        title=("Clusters, hot spots and vulnerability", "군집·핫스팟·취약성 분석")
    )
    for name, caption in _DETECT_MAPS:
        if run.has(prefix + name):
            section.figures.append(Figure(prefix + name, caption))
            section.files.add(prefix + name)
    moran_file = f"{prefix}global_moran.csv"
    variable = None
    if run.has(moran_file):
        section.files.add(moran_file)
        m = run.read_table(moran_file)
        params = run.parameters(moran_file)
        variable = params.get("variable")
        shown = m[
            [c for c in ("variable", "n", "moran_i", "expected", "z_randomisation") if c in m]
            + [c for c in ("p_randomisation", "permutations", "p_value", "alternative") if c in m]
        ]
        shown = _format(
            shown,
            {
                "n": "int",
                "moran_i": "f4",
                "expected": "f4",
                "z_randomisation": "f2",
                "p_randomisation": "p",
                "permutations": "int",
                "p_value": "p",
            },
        )
        section.tables.append(
            Table(
                ("Global Moran's I", "전역 모란 I"),
                shown,
                moran_file,
                (
                    "I > E[I] means similar values cluster in space; p_value is the "
                    "permutation p-value.",
                    "I가 기대값보다 크면 비슷한 값이 공간적으로 모여 있다는 뜻입니다. "
                    "p_value는 순열검정 p값입니다.",
                ),
            )
        )
        weights = params.get("weights", {})
        section.methods.append(
            Method(
                ("Global Moran's I", "전역 모란 I"),
                (
                    "Is the variable clustered at all? Moran's I compares each area's value "
                    "with its neighbours' (spatial weights), tested by random permutations.",
                    "변수가 공간적으로 모여 있는지 검정합니다. 각 지역 값과 이웃(공간가중치) 값의 "
                    "유사성을 순열검정으로 평가합니다.",
                ),
                {
                    k: params[k]
                    for k in (
                        "variable",
                        "n_areas",
                        "n_computed",
                        "permutations",
                        "alternative",
                        "seed",
                    )
                    if k in params
                }
                | ({"weights": weights} if weights else {}),
                moran_file,
                (
                    "Moran, P. A. P. (1950). Notes on continuous stochastic phenomena. "
                    "Biometrika 37:17–23.",
                    "Cliff, A. D. & Ord, J. K. (1981). Spatial Processes: Models and "
                    "Applications. Pion.",
                ),
            )
        )
    per_area = _detect_table_of(run, prefix)
    if per_area is not None:
        section.files.add(per_area)
        twin = per_area.rsplit(".", 1)[0] + ".gpkg"
        if run.has(twin):
            section.files.add(twin)
        frame = run.read_table(per_area)
        params = run.parameters(per_area)
        variable = params.get("variable", variable)
        _detect_tables(section, frame, per_area, params, variable)
    if not section.figures and not section.tables:
        return None
    return section


def _detect_tables(
    section: ReportSection,
    frame: pd.DataFrame,
    source: str,
    params: Mapping[str, Any],
    variable: str | None,
) -> None:
    """The detect section's tables and method notes: areas per class, top areas, the index.

    It is long because it adds the section's tables in the order they are read, one block per
    table; splitting it would scatter one page over several functions.
    """
    counts = {}
    for key, (en, ko), references in _LOCAL_TESTS:
        column = f"{key}_label"
        if column not in frame:
            continue
        tally = frame[column].replace("", "undefined").value_counts()
        order = [lab for lab in _LABEL_ORDER if lab in tally.index]
        order += sorted(set(tally.index) - set(order))
        counts[en] = tally.reindex(order)
        test = next((t for t in frame.get(f"{key}_test", []) if t), "")
        recorded = {
            k: params[k]
            for k in ("variable", "permutations", "alternative", "correction", "alpha", "seed")
            if k in params
        }
        if variable and "variable" not in recorded:
            recorded["variable"] = variable
        if test:
            recorded["test (as recorded per area)"] = test
        correction = str(params.get("correction", test))
        refs = references + tuple(
            ref for code, ref in _CORRECTION_REFERENCES.items() if code in correction
        )
        section.methods.append(
            Method(
                (en, ko),
                (
                    "Which areas, with their neighbours, form clusters of high or low values "
                    "beyond chance? Conditional permutations give a pseudo p-value per area, "
                    "adjusted for testing every area.",
                    "어떤 지역이 이웃과 함께 우연 이상으로 높은(또는 낮은) 값의 군집을 이루는지 "
                    "봅니다. 조건부 순열로 지역별 p값을 구하고 다중검정을 보정합니다.",
                ),
                recorded,
                source,
                refs,
            )
        )
    if counts:
        table = pd.DataFrame(
            [
                {"test": test, "label": str(label), "areas": str(int(n))}
                for test, tally in counts.items()
                for label, n in tally.items()
            ]
        )
        section.tables.append(
            Table(
                ("Areas per significance class", "유의성 범주별 지역 수"),
                table,
                source,
                (
                    "Labels after the multiple-testing correction recorded in Methods.",
                    "방법 절에 기록된 다중검정 보정을 적용한 뒤의 분류입니다.",
                ),
            )
        )
    id_col = frame.columns[0]
    names = _name_columns(frame.columns)
    if "index_rank" in frame:
        ranked = frame.assign(_rank=_num(frame["index_rank"])).sort_values(
            ["_rank", id_col], kind="stable"
        )
        top_k = next((c for c in frame if c.startswith("index_p_top_")), None)
        cols = [id_col, *names]
        cols += [c for c in (variable, "index", "index_rank", "index_rank_low") if c in frame]
        cols += [c for c in ("index_rank_high", top_k) if c]
        shown = _format(
            ranked.head(10)[cols],
            {variable or "": "f2", "index": "f3", "index_rank": "int", top_k or "": "pct"},
        )
        section.tables.append(
            Table(
                (
                    "Most vulnerable areas (index rank 1 = most vulnerable)",
                    "가장 취약한 지역 (지수 1위 = 가장 취약)",
                ),
                shown,
                source,
                (
                    "index_rank_low–high: central 90% of ranks when weights, normalisation and "
                    "aggregation vary; index_p_top_k: share of draws in the top k.",
                    "index_rank_low–high: 가중치·정규화·결합 방법을 바꿨을 때 순위의 가운데 90% "
                    "구간; index_p_top_k: 상위 k위 안에 든 비율.",
                ),
            )
        )
        section.methods.append(
            Method(
                ("Vulnerability index and rank stability", "취약성 지수와 순위 안정성"),
                (
                    "Indicators are turned into percentiles (higher = more vulnerable) and "
                    "summed; rank stability repeats the ranking over random weights, "
                    "normalisations and aggregations.",
                    "지표를 백분위(높을수록 취약)로 바꾸어 더합니다. 순위 안정성은 가중치·정규화·"
                    "결합 방법을 무작위로 바꿔 순위를 반복 계산합니다.",
                ),
                {k: params[k] for k in ("methods", "seed") if k in params}
                | ({"top k column": top_k} if top_k else {}),
                source,
                (
                    "Flanagan, B. E., Gregory, E. W., Hallisey, E. J., Heitgerd, J. L. & Lewis, "
                    "B. (2011). A social vulnerability index for disaster management. Journal of "
                    "Homeland Security and Emergency Management 8(1).",
                    "Saisana, M., Saltelli, A. & Tarantola, S. (2005). Uncertainty and "
                    "sensitivity analysis techniques as tools for the quality assessment of "
                    "composite indicators. JRSS A 168(2):307–323.",
                ),
            )
        )
    elif variable and variable in frame:
        ranked = frame.assign(_v=_num(frame[variable])).sort_values(
            ["_v", id_col], ascending=[False, True], kind="stable"
        )
        cols = [id_col, *names, variable]
        cols += [f"{k}_label" for k, _, _ in _LOCAL_TESTS if f"{k}_label" in frame]
        section.tables.append(
            Table(
                (f"Highest ten areas by {variable}", f"{variable} 상위 10개 지역"),
                _format(ranked.head(10)[cols], {variable: "f2"}),
                source,
            )
        )
