"""Report sections for point-pattern runs (``dongne points dbscan|ripley|kde``).

Registered with :func:`~dongne.report.sections.register_section` under the files that
:mod:`dongne.points.workflow` writes: ``points_clusters.csv`` (significant DBSCAN+),
``ellipse.gpkg`` (Ripley's functions, nearest-neighbour index, quadrat test, ellipse) and
``kde_grid.gpkg`` (kernel density). Importing this module registers them
(:mod:`dongne.report.document` does so).
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

#: Rows of the cluster table shown in the report (the file has them all).
_SHOWN = 20

#: Functions of ``dongne points ripley`` by the stem of their files (``l_envelope.csv``).
_FUNCTIONS = {
    "k": ("Ripley's K", "리플리 K"),
    "l": ("Besag's L", "베사그 L"),
    "g": ("G (nearest-neighbour distances)", "G (최근린 거리)"),
    "f": ("F (empty-space distances)", "F (빈 공간 거리)"),
    "j": ("J = (1 − G) / (1 − F)", "J = (1 − G) / (1 − F)"),
    "cross_k": ("Cross-K (second type around the first)", "교차 K (두 유형)"),
}


@register_section("points_dbscan", anchors=("points_clusters.csv",))
def _dbscan_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    source = f"{prefix}clusters.csv"
    if not run.has(source):
        return None
    section = ReportSection(
        ("Significant density clusters of points (DBSCAN+)", "점의 유의한 밀도 군집 (DBSCAN+)"),
        files={source, f"{prefix}points_clusters.csv"},
    )
    for extra in ("clusters.gpkg", "cluster_areas.csv"):
        if run.has(f"{prefix}{extra}"):
            section.files.add(f"{prefix}{extra}")
    _figures(run, section, prefix, (
        ("clusters_map.png", ("Significant clusters and their footprints",
                              "유의한 군집과 그 범위")),
    ))  # fmt: skip
    clusters = run.read_table(source)
    cols = [c for c in ("cluster", "eps", "min_pts", "points", "core_points", "expected",
                        "ratio", "llr", "p_value") if c in clusters]  # fmt: skip
    shown = clusters.head(_SHOWN)
    more = (f" The first {_SHOWN} of {len(clusters):,} clusters; all are in the file.",
            f" {len(clusters):,}개 군집 중 처음 {_SHOWN}개; 전체는 파일에 있습니다.")  # fmt: skip
    more = more if len(clusters) > _SHOWN else ("", "")
    section.tables.append(Table(
        ("Clusters", "군집"),
        _format(shown[cols], {"eps": "f0", "points": "int", "core_points": "int",
                              "expected": "f1", "ratio": "f2", "llr": "f2", "p_value": "p"}),
        source,
        ("eps: radius (m); ratio: points / expected under the null; p: family-wise over all "
         "clusters and scales." + more[0],
         "eps: 반경(m); ratio: 귀무가설 기대값 대비 점 수; p: 모든 군집·척도에 대한 "
         "가족별 유의확률." + more[1]),
    ))  # fmt: skip
    areas_file = f"{prefix}cluster_areas.csv"
    if run.has(areas_file):
        touched = run.read_table(areas_file)
        first = set(shown["cluster"])
        top = touched[touched["cluster"].isin(first)].groupby("cluster", sort=False).head(3)
        keep = [c for c in top.columns if c != "overlap_share"] + ["overlap_share"]
        section.tables.append(Table(
            ("Areas each cluster touches most (top 3; clusters above)",
         "군집별 주요 지역 (상위 3곳; 위 표의 군집)"),
            _format(top[[c for c in keep if c in top]],
                    {"points": "int", "overlap_share": "pct"}),
            areas_file,
            ("overlap_share: share of the area inside the cluster's footprint.",
             "overlap_share: 지역 면적 중 군집 범위 안의 비율."),
        ))  # fmt: skip
    section.methods.append(_method(
        run, source, ("Significant DBSCAN+", "유의한 DBSCAN+"),
        ("DBSCAN clusters of any shape at several radii, each tested by Monte Carlo against "
         "points placed at random over the study area (or in proportion to a population); "
         "the test is family-wise over all clusters and scales.",
         "여러 반경에서 모양에 제약이 없는 DBSCAN 군집을 찾고, 연구 지역에 무작위로(또는 "
         "인구에 비례해) 흩뿌린 점과 몬테카를로로 비교해 검정합니다. 모든 군집·척도에 대한 "
         "가족별 검정입니다."),
        ("Xie, Y. & Shekhar, S. (2019). Significant DBSCAN towards statistically robust "
         "clustering. SSTD '19, 31–40.",
         "Xie, Y., Shekhar, S. & Li, Y. (2022). Statistically-robust clustering techniques "
         "for mapping spatial hotspots: a survey. ACM Computing Surveys 55(2).",
         "Ester, M., Kriegel, H.-P., Sander, J. & Xu, X. (1996). A density-based algorithm "
         "for discovering clusters in large spatial databases with noise. KDD-96, 226–231."),
    ))  # fmt: skip
    return section


def _envelope_rows(table: pd.DataFrame) -> tuple[str, str, int, int]:
    """Distances where the observed function lies above and below the envelope."""
    r = _num(table["r"])
    outside = table["outside"].astype(str)

    def span(side: str) -> str:
        hit = r[outside == side]
        return f"{hit.min():,.0f}–{hit.max():,.0f} m" if len(hit) else "–"

    return (
        span("above"),
        span("below"),
        int((outside == "above").sum()),
        int((outside == "below").sum()),
    )


@register_section("points_ripley", anchors=("ellipse.gpkg",))
def _ripley_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    ellipse = f"{prefix}ellipse.gpkg"
    section = ReportSection(
        ("Point pattern: distance functions and envelopes", "점 패턴: 거리 함수와 포락선"),
        files={ellipse},
    )
    rows, first = [], None
    for stem, title in _FUNCTIONS.items():
        table_file = f"{prefix}{stem}_envelope.csv"
        if not run.has(table_file):
            continue
        first = first or table_file
        section.files.add(table_file)
        _figures(run, section, prefix, (
            (f"{stem}_envelope.png", (f"{title[0]}: observed and simulation envelope",
                                      f"{title[1]}: 관측값과 모의실험 포락선")),
        ))  # fmt: skip
        above, below, n_above, n_below = _envelope_rows(run.read_table(table_file))
        params = run.parameters(table_file)
        rows.append({
            "function": title[0], "함수": title[1], "null": params.get("null", ""),
            "replications": params.get("replications", ""),
            "above envelope (clustering)": above, "below envelope (regularity)": below,
            "distances above": n_above, "distances below": n_below,
        })  # fmt: skip
    if rows:
        section.tables.append(Table(
            ("Where the observed function leaves the envelope", "관측 함수가 포락선을 벗어난 거리"),
            pd.DataFrame(rows).astype(str),
            ", ".join(f"{prefix}{s}_envelope.csv" for s in _FUNCTIONS
                      if run.has(f"{prefix}{s}_envelope.csv")),
            ("above: more neighbours than the null allows (clustering) at those distances; "
             "below: fewer (regularity). The nearest-neighbour index and quadrat test are in "
             "the findings.",
             "위: 그 거리에서 귀무가설보다 이웃이 많음(군집); 아래: 적음(규칙적). 최근린 지수와 "
             "방형구 검정은 주요 결과에 있습니다."),
        ))  # fmt: skip
    ell = run.read_table(ellipse)
    section.tables.append(Table(
        ("Standard deviational ellipse", "표준편차 타원"),
        _format(ell[[c for c in ("major_m", "minor_m", "angle_rad") if c in ell]],
                {"major_m": "f0", "minor_m": "f0", "angle_rad": "f3"}),
        ellipse,
    ))  # fmt: skip
    section.methods.append(_method(
        run, first or ellipse,
        ("Ripley's functions, nearest-neighbour index, quadrat test",
         "리플리 함수, 최근린 지수, 방형구 검정"),
        ("Second-order (K, L), nearest-neighbour (G), empty-space (F) and J functions with "
         "border correction, compared with the envelope of simulated patterns under the null; "
         "Clark–Evans nearest-neighbour index, chi-square quadrat test and CrimeStat's "
         "standard deviational ellipse.",
         "경계 보정한 2차(K, L), 최근린(G), 빈 공간(F), J 함수를 귀무가설 아래 모의 패턴의 "
         "포락선과 비교합니다. 클라크–에번스 최근린 지수, 카이제곱 방형구 검정, CrimeStat의 "
         "표준편차 타원도 계산합니다."),
        ("Ripley, B. D. (1977). Modelling spatial patterns. JRSS B 39(2):172–212.",
         "Baddeley, A., Rubak, E. & Turner, R. (2015). Spatial Point Patterns: Methodology "
         "and Applications with R. CRC Press.",
         "Clark, P. J. & Evans, F. C. (1954). Distance to nearest neighbor as a measure of "
         "spatial relationships in populations. Ecology 35(4):445–453."),
    ))  # fmt: skip
    return section


@register_section("points_kde", anchors=("kde_grid.gpkg",))
def _kde_section(run: AnalysisRun, prefix: str) -> ReportSection | None:
    grid = f"{prefix}kde_grid.gpkg"
    section = ReportSection(("Kernel density of points", "점의 커널 밀도"), files={grid})
    _figures(run, section, prefix, (
        ("kde_map.png", ("Kernel density (or log relative risk)",
                         "커널 밀도 (또는 로그 상대위험)")),
    ))  # fmt: skip
    params = run.parameters(grid)
    rows = [(k, params[k]) for k in ("method", "bandwidth_rule", "bandwidth_m", "points",
                                     "replications", "alpha") if k in params]  # fmt: skip
    if rows:
        frame = pd.DataFrame(rows, columns=["parameter", "value"])
        frame["value"] = [f"{v:,.1f}" if isinstance(v, float) else str(v) for v in frame["value"]]
        section.tables.append(Table(("Surface", "밀도 면"), frame, grid))
    section.methods.append(_method(
        run, grid, ("Kernel density estimation", "커널 밀도 추정"),
        ("A Gaussian kernel density of the points on a grid over the study area, with the "
         "bandwidth by Scott's or Silverman's rule or by likelihood cross-validation; with "
         "controls, the log relative risk of cases to controls and its Monte Carlo tolerance "
         "contour.",
         "연구 지역 격자에서 점의 가우스 커널 밀도를 구합니다. 대역폭은 스콧·실버먼 규칙 또는 "
         "우도 교차검증으로 정합니다. 대조 점이 있으면 사례 대 대조의 로그 상대위험과 "
         "몬테카를로 허용 등고선을 그립니다."),
        ("Silverman, B. W. (1986). Density Estimation for Statistics and Data Analysis. "
         "Chapman & Hall.",
         "Kelsall, J. E. & Diggle, P. J. (1995). Kernel estimation of relative risk. "
         "Bernoulli 1(1/2):3–16."),
    ))  # fmt: skip
    return section
