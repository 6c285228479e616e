"""Report section for scan-statistic runs (``dongne scan``, the demo): clusters and their test.

Registered with :func:`~dongne.report.sections.register_section` under ``scan_clusters.csv``
(written by :func:`dongne.detect.workflow.run_scan`). Importing this module registers the
section (:mod:`dongne.report.document` does so).
"""

from __future__ import annotations

from dongne.report.run import AnalysisRun
from dongne.report.sections import (
    Figure,
    Method,
    ReportSection,
    Table,
    _format,
    _name_columns,
    register_section,
)

_SCAN_REFERENCES = (
    "Kulldorff, M. & Nagarwalla, N. (1995). Spatial disease clusters: detection and "
    "inference. Statistics in Medicine 14:799–810.",
    "Kulldorff, M. (1997). A spatial scan statistic. Communications in Statistics — Theory "
    "and Methods 26(6):1481–1496.",
)


@register_section("scan", anchors=("scan_clusters.csv",))
def _scan_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    clusters_file = f"{prefix}scan_clusters.csv"
    section = ReportSection(
        title=("Spatial scan for clusters (Kulldorff)", "공간 스캔 통계 (쿨도르프)"),
        files={clusters_file},
    )
    if run.has(f"{prefix}scan_map.png"):
        section.figures.append(
            Figure(
                f"{prefix}scan_map.png",
                ("Most likely and secondary clusters", "가장 유력한 군집과 2차 군집"),
            )
        )
        section.files.add(f"{prefix}scan_map.png")
    per_area = None
    for ext in (".csv", ".gpkg"):
        if run.has(f"{prefix}scan{ext}"):
            section.files.add(f"{prefix}scan{ext}")
            per_area = per_area or f"{prefix}scan{ext}"
    if per_area is None and not prefix:
        per_area = next(
            (f for f in run.ending_with(".csv") if "scan_label" in run.columns(f)), None
        )
    names: dict[str, str] = {}
    if per_area is not None:
        areas = run.read_table(per_area)
        label_cols = _name_columns(areas.columns)
        if label_cols:
            names = dict(
                zip(
                    areas.iloc[:, 0],
                    areas[label_cols].agg(" ".join, axis=1),
                    strict=True,
                )
            )
    clusters = run.read_table(clusters_file)
    if "centre" in clusters and names:
        clusters["centre"] = [f"{names[c]} ({c})" if c in names else c for c in clusters["centre"]]
    cols = [
        c
        for c in (
            "cluster",
            "kind",
            "direction",
            "centre",
            "n_areas",
            "radius",
            "cases",
            "expected",
            "observed_expected",
            "relative_risk",
            "llr",
            "p_value",
            "significant",
        )
        if c in clusters
    ]
    section.tables.append(
        Table(
            ("Scan clusters", "스캔 군집"),
            _format(
                clusters[cols],
                {
                    "n_areas": "int",
                    "radius": "int",
                    "cases": "int",
                    "expected": "f1",
                    "observed_expected": "f2",
                    "relative_risk": "f2",
                    "llr": "f2",
                    "p_value": "p",
                },
            ),
            clusters_file,
            (
                "radius in the unit of the coordinate system (metres for projected data); "
                "members of each cluster are listed in the file.",
                "반경은 좌표계 단위(투영 좌표는 미터)입니다. 군집별 구성 지역은 파일에 있습니다.",
            ),
        )
    )
    params = run.parameters(clusters_file)
    inner = params.get("params", {}) if isinstance(params.get("params"), dict) else {}
    recorded = {**inner, **{k: v for k, v in params.items() if k != "params"}}
    references = _SCAN_REFERENCES
    if inner.get("gumbel"):
        references += (
            "Abrams, A. M., Kleinman, K. & Kulldorff, M. (2010). Gumbel based p-value "
            "approximations for spatial scan statistics. International Journal of Health "
            "Geographics 9:61.",
        )
    section.methods.append(
        Method(
            ("Kulldorff circular spatial scan", "쿨도르프 원형 공간 스캔"),
            (
                "Circles around every area grow through the nearest areas; the window with "
                "the largest likelihood ratio is the most likely cluster, tested against "
                "Monte Carlo replications of the data under no clustering.",
                "각 지역을 중심으로 원을 넓혀 가며 우도비가 가장 큰 창을 가장 유력한 군집으로 "
                "찾고, 군집이 없다는 가정의 몬테카를로 반복과 비교해 검정합니다.",
            ),
            recorded,
            clusters_file,
            references,
        )
    )
    return section
