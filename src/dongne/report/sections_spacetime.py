"""Report sections for space-time runs (``dongne spacetime scan|emerging|markov``).

Registered with :func:`~dongne.report.sections.register_section` under the tables that
:mod:`dongne.spacetime.workflow` writes: ``spacetime_clusters.csv``,
``emerging_categories.csv`` and ``markov_tests.csv``. Importing this module registers them
(:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    _format,
    register_section,
)


def _figures(run: AnalysisRun, section: ReportSection, prefix: str, figures) -> None:
    for name, caption in figures:
        if run.has(f"{prefix}{name}"):
            section.figures.append(Figure(f"{prefix}{name}", caption))
            section.files.add(f"{prefix}{name}")


def _method(run: AnalysisRun, source: str, title, description, references) -> Method:
    params = run.parameters(source)
    inner = params.get("parameters", {}) if isinstance(params.get("parameters"), dict) else {}
    recorded = {**inner, **{k: v for k, v in params.items() if k != "parameters"}}
    return Method(title, description, recorded, source, references)


@register_section("spacetime_scan", anchors=("spacetime_clusters.csv",))
def _scan_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}spacetime_clusters.csv"
    section = ReportSection(("Space-time scan", "시공간 스캔 통계"), files={source})
    _figures(run, section, prefix, (
        ("spacetime_scan_map.png", ("Clusters and their time spans", "군집과 기간")),
        ("spacetime_sparklines.png", ("Cases vs expected inside each cluster",
                                      "군집 안 사례와 기대값")),
        ("spacetime_cases_by_step.png", ("Cases by step", "시점별 사례")),
    ))  # fmt: skip
    clusters = run.read_table(source)
    cols = [c for c in ("cluster", "centre", "n_areas", "start", "end", "cases", "expected",
                        "observed_expected", "llr", "p_value", "recurrence_steps")
            if c in clusters]  # fmt: skip
    section.tables.append(
        Table(
            ("Space-time clusters", "시공간 군집"),
            _format(
                clusters[cols],
                {
                    "n_areas": "int",
                    "cases": "int",
                    "expected": "f2",
                    "observed_expected": "f2",
                    "llr": "f2",
                    "p_value": "p",
                    "recurrence_steps": "f1",
                },
            ),
            source,
            (
                "members of each cluster are listed in the file.",
                "군집별 구성 지역은 파일에 있습니다.",
            ),
        )
    )
    section.methods.append(_method(
        run, source, ("Space-time scan statistic", "시공간 스캔 통계"),
        ("Cylinders (a circle of areas × an interval of steps) are scanned for more cases "
         "than expected; the most likely one is tested against Monte Carlo replications.",
         "지역의 원 × 기간의 원통마다 기대보다 많은 사례를 찾고, 가장 유력한 원통을 "
         "몬테카를로 반복과 비교해 검정합니다."),
        ("Kulldorff, M. (2001). Prospective time periodic geographical disease surveillance "
         "using a scan statistic. JRSS A 164(1):61–72.",
         "Kulldorff, M. et al. (2005). A space-time permutation scan statistic for disease "
         "outbreak detection. PLoS Medicine 2(3):e59."),
    ))  # fmt: skip
    return section


@register_section("emerging", anchors=("emerging_categories.csv",))
def _emerging_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}emerging_categories.csv"
    section = ReportSection(("Emerging hot spots", "신흥 핫스팟"), files={source})
    _figures(run, section, prefix, (
        ("emerging_map.png", ("Emerging hot spot categories", "신흥 핫스팟 유형")),
        ("emerging_gi_by_step.png", ("Gi* z by step", "시점별 Gi* z")),
    ))  # fmt: skip
    table = run.read_table(source)
    counts = table.groupby(["category", "category_ko"]).size().reset_index(name="areas")
    section.tables.append(
        Table(("Areas per category", "유형별 지역 수"), counts.astype(str), source)
    )
    section.methods.append(_method(
        run, source, ("Emerging hot spot analysis", "신흥 핫스팟 분석"),
        ("Gi* of every area and step over space-time neighbours, the Mann–Kendall trend of "
         "each area's series, and the 17 categories of ArcGIS's emerging hot spot analysis.",
         "지역·시점마다 시공간 이웃의 Gi*, 지역별 추세(맨-켄달)와 ArcGIS의 17개 유형."),
        ("Getis, A. & Ord, J. K. (1992). Geographical Analysis 24(3):189–206.",
         "Esri, ArcGIS Pro: How Emerging Hot Spot Analysis works."),
    ))  # fmt: skip
    return section


@register_section("markov", anchors=("markov_tests.csv",))
def _markov_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}markov_tests.csv"
    section = ReportSection(("Neighbourhood change", "동네 변화 (마르코프)"), files={source})
    _figures(run, section, prefix, (
        ("markov_classes_by_step.png", ("Quantile class by period", "시점별 분위")),
    ))  # fmt: skip
    tests = run.read_table(source)
    section.tables.append(
        Table(("Tests", "검정"), _format(tests, {"statistic": "f2", "p_value": "p"}), source)
    )
    section.methods.append(_method(
        run,
        source,
        ("Spatial Markov chains and rank mobility", "공간 마르코프 연쇄와 순위 이동성"),
        ("Transitions between quantile classes, overall and by the class of the neighbours, "
         "with homogeneity tests; Moran quadrant moves; Kendall's and spatial tau.",
         "분위 간 이동(전체, 이웃 분위별)과 동질성 검정, 모란 사분면 이동, 켄달·공간 타우."),
        ("Rey, S. J. (2001). Geographical Analysis 33(3):195–214.",
         "Bickenbach, F. & Bode, E. (2003). International Regional Science Review 26(3).",
         "Rey, S. J. (2004). Spatial dependence in the evolution of regional income "
         "distributions."),
    ))  # fmt: skip
    return section
