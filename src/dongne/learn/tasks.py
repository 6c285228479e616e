"""Learning tasks with a known shift: a seeded synthetic one and a real one on Seoul's dongs.

:func:`seoul_basement_task` — predict each dong's share of semi-basement (반지하) households
(2010 census) from density, facility and location features, training on the 14 gu north of
the Han river (강북) and deploying on the 11 gu south of it (강남).

:func:`synthetic_shift_task` — three regions with known covariate shift and concept shift,
where a misspecified model trained on two regions degrades on the third.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from dongne import __version__
from dongne._deprecate import renamed
from dongne._vocab import resolve_rng
from dongne.errors import DataError
from dongne.io.crs import KOREA_METRIC_CRS

__all__ = [
    "GANGBUK_GU",
    "GANGNAM_GU",
    "SEOUL_FEATURES",
    "LearningTask",
    "seoul_basement_task",
    "synthetic_shift_task",
]

#: The 14 gu north of the Han river (강북), by KOSTAT 2013 gu code.
GANGBUK_GU: dict[str, str] = {
    "11010": "종로구", "11020": "중구", "11030": "용산구", "11040": "성동구",
    "11050": "광진구", "11060": "동대문구", "11070": "중랑구", "11080": "성북구",
    "11090": "강북구", "11100": "도봉구", "11110": "노원구", "11120": "은평구",
    "11130": "서대문구", "11140": "마포구",
}  # fmt: skip

#: The 11 gu south of the Han river (강남), by KOSTAT 2013 gu code.
GANGNAM_GU: dict[str, str] = {
    "11150": "양천구", "11160": "강서구", "11170": "구로구", "11180": "금천구",
    "11190": "영등포구", "11200": "동작구", "11210": "관악구", "11220": "서초구",
    "11230": "강남구", "11240": "송파구", "11250": "강동구",
}  # fmt: skip

#: Features of :func:`seoul_basement_task` and how each is computed.
SEOUL_FEATURES: dict[str, str] = {
    "log_household_density": "ln(households per km², 2010 census)",
    "log_area_km2": "ln(dong area, km²)",
    "shelters_per_10k_households": "heat shelters 2023 per 10,000 households (2010)",
    "shelter_capacity_per_household": "heat-shelter capacity 2023 (persons) per household",
    "senior_center_shelter_share": "share of heat shelters that are senior centres (0 if none)",
    "log_cctv_per_km2": "ln(1 + safety-CCTV cameras 2023 per km²)",
    "cctv_per_1k_households": "safety-CCTV cameras 2023 per 1,000 households",
    "easting_km": "x of the dong centroid, EPSG:5179, km from Seoul City Hall",
    "northing_km": "y of the dong centroid, EPSG:5179, km from Seoul City Hall",
    "dist_city_hall_km": "distance of the dong centroid from Seoul City Hall, km",
    "gu_pop_65plus_pct": "population aged 65+ in the dong's gu, % (2010 census)",
    "gu_livelihood_per_100_households": "livelihood-benefit households per 100 households, gu",
}

# Seoul City Hall (서울특별시청), longitude/latitude WGS 84.
_CITY_HALL = (126.9780, 37.5665)


@dataclass
class LearningTask:
    """Features, target, groups and locations of a prediction task across two domains.

    Attributes
    ----------
    X : DataFrame
        Features, one row per unit.
    y : Series
        Target.
    groups : Series
        Group of each unit (gu, region) for grouped CV and worst-group reports.
    domain : Series
        ``"source"`` (train) or ``"target"`` (deploy).
    coords : ndarray of shape (n, 2)
        Locations in metres (EPSG:5179 for Seoul).
    exposure : Series
        Converts the target into a need count: need = y × exposure (households / 100 for a
        percentage share; 1 for the synthetic task).
    features : dict
        Description of every column of ``X``.
    areas : GeoDataFrame or None
        The polygons (Seoul), for maps.
    description : str
    provenance : dict
    """

    X: pd.DataFrame
    y: pd.Series
    groups: pd.Series
    domain: pd.Series
    coords: np.ndarray
    exposure: pd.Series
    features: dict[str, str]
    areas: gpd.GeoDataFrame | None = None
    description: str = ""
    provenance: dict = field(default_factory=dict)

    @property
    def source(self) -> np.ndarray:
        """Boolean mask of the source rows."""
        return (self.domain == "source").to_numpy()

    @property
    def target(self) -> np.ndarray:
        """Boolean mask of the target rows."""
        return (self.domain == "target").to_numpy()

    def need(self, y: Any = None, rows: Any = None) -> np.ndarray:
        """Need counts (allocation demand) = max(y, 0) × ``exposure``.

        ``y`` defaults to the true target; ``rows`` (a boolean mask, e.g. ``task.target``)
        selects the units that ``y`` belongs to.
        """
        keep = np.ones(len(self.y), dtype=bool) if rows is None else np.asarray(rows, dtype=bool)
        values = self.y.to_numpy()[keep] if y is None else np.asarray(y, dtype=float)
        return np.clip(values, 0.0, None) * self.exposure.to_numpy()[keep]


def seoul_basement_task(source: str = "north") -> LearningTask:
    """Predict the semi-basement household share of Seoul's 423 dongs, north → south.

    Target: ``basement_household_pct`` (2010 census, % of households living in (semi-)
    basements). Features: :data:`SEOUL_FEATURES` (density, heat-shelter and CCTV supply,
    location, two gu-level context indicators). No gu-level basement indicator is used (it
    would leak the target). The source is the 14 gu of :data:`GANGBUK_GU` (222 dongs) and
    the target the 11 gu of :data:`GANGNAM_GU` (201 dongs), or the reverse with
    ``source="south"``.

    Every dong is kept: a missing or non-finite feature raises :class:`DataError` instead of
    dropping rows. The years differ (2010 census, 2013 boundaries, 2018 gu welfare, 2023
    facilities; see :func:`dongne.datasets.attribution`): this is a demonstration task.

    Parameters
    ----------
    source : {"north", "south"}

    Examples
    --------
    >>> task = seoul_basement_task()
    >>> task.X.shape, int(task.source.sum()), int(task.target.sum())
    ((423, 12), 222, 201)
    """
    from dongne.datasets import seoul_dongs, seoul_gu
    from dongne.detect.inference import check_choice

    check_choice("source", source, ("north", "south"))
    dongs = seoul_dongs()
    gu = seoul_gu().drop(columns="geometry").set_index("gu_code")
    metric = dongs.to_crs(KOREA_METRIC_CRS)
    centre = gpd.GeoSeries(gpd.points_from_xy([_CITY_HALL[0]], [_CITY_HALL[1]]), crs=4326)
    cx, cy = centre.to_crs(KOREA_METRIC_CRS).get_coordinates().to_numpy()[0]
    xy = metric.geometry.centroid.get_coordinates().to_numpy()
    hh = dongs["households"].to_numpy(dtype=float)
    area = dongs["area_km2"].to_numpy(dtype=float)
    shelters = dongs["heat_shelters_2023"].to_numpy(dtype=float)
    cams = dongs["cctv_cameras_2023"].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        X = pd.DataFrame(
            {
                "log_household_density": np.log(hh / area),
                "log_area_km2": np.log(area),
                "shelters_per_10k_households": 1e4 * shelters / hh,
                "shelter_capacity_per_household": dongs["heat_shelter_capacity_2023"].to_numpy(
                    float
                )
                / hh,
                "senior_center_shelter_share": np.where(
                    shelters > 0,
                    dongs["heat_shelters_senior_center_2023"].to_numpy(float) / shelters,
                    0.0,
                ),
                "log_cctv_per_km2": np.log1p(cams / area),
                "cctv_per_1k_households": 1e3 * cams / hh,
                "easting_km": (xy[:, 0] - cx) / 1e3,
                "northing_km": (xy[:, 1] - cy) / 1e3,
                "dist_city_hall_km": np.hypot(xy[:, 0] - cx, xy[:, 1] - cy) / 1e3,
                "gu_pop_65plus_pct": dongs["gu_code"].map(gu["pop_65plus_pct"]).to_numpy(float),
                "gu_livelihood_per_100_households": dongs["gu_code"]
                .map(gu["livelihood_recipient_households_per_100_households"])
                .to_numpy(float),
            },
            index=pd.Index(dongs["dong_code"].to_numpy(), name="dong_code"),
        )
    bad = ~np.isfinite(X.to_numpy(dtype=float))
    if bad.any():
        rows, cols = np.nonzero(bad)
        raise DataError(
            f"Features {sorted({X.columns[c] for c in cols})} are missing or infinite for dongs "
            f"{X.index[np.unique(rows)][:10].tolist()}. Fix: check the bundled data "
            "(households and area must be positive)."
        )
    north = dongs["gu_code"].isin(list(GANGBUK_GU)).to_numpy()
    south = dongs["gu_code"].isin(list(GANGNAM_GU)).to_numpy()
    if not (north | south).all():
        raise DataError(
            f"Dongs {dongs.loc[~(north | south), 'dong_code'].tolist()} belong to no known gu."
        )
    is_source = north if source == "north" else south
    y = pd.Series(dongs["basement_household_pct"].to_numpy(float), index=X.index, name="y")
    return LearningTask(
        X=X,
        y=y,
        groups=pd.Series(dongs["gu_name_en"].to_numpy(), index=X.index, name="gu"),
        domain=pd.Series(np.where(is_source, "source", "target"), index=X.index, name="domain"),
        coords=xy,
        exposure=pd.Series(hh / 100.0, index=X.index, name="households_per_100"),
        features=dict(SEOUL_FEATURES),
        areas=dongs,
        description=(
            "Seoul dongs: semi-basement household share (%, 2010 census), trained on the "
            f"{'north (강북, 14 gu)' if source == 'north' else 'south (강남, 11 gu)'} and "
            f"applied to the {'south (강남, 11 gu)' if source == 'north' else 'north (강북, 14 gu)'}"  # noqa: E501
        ),
        provenance={"task": "seoul_basement", "source": source, "dongne_version": __version__},
    )


@renamed(seed="rng")
def synthetic_shift_task(
    n_a: int = 400,
    n_b: int = 60,
    n_c: int = 200,
    *,
    concept_shift: float = 0.3,
    rng: int | np.random.Generator | None = None,
) -> LearningTask:
    r"""Three regions with known covariate and concept shift; A and B train, C is held out.

    Regions are side-by-side strips (A: x ∈ [0, 10] km, B: [10, 14] km, C: [14, 24] km;
    y ∈ [0, 10] km; 30 % of the units crowd into the band y ∈ [6, 9] km, the rest are spread
    uniformly). Features: x₁ = μ_r + sin(2π·y_coord / 10 km) + N(0, 0.3²), with μ_A = 0,
    μ_B = 1.5, μ_C = 2.5 (covariate shift; within a region x₁ is low in the crowded band and
    high in the sparse one), and x₂ ~ N(0, 1). Outcome

    .. math:: y = 3 + x_1 + 0.8\, x_1^2 + 0.5\, x_2 + c_r + \varepsilon,
              \quad \varepsilon \sim N(0, 0.3^2),

    with c_A = c_B = 0 and c_C = ``concept_shift`` (concept shift). A linear model in
    (x₁, x₂) is misspecified: fitted mostly on region A it underestimates the curvature, so
    it errs most in the small region B and in the held-out region C — the setting where
    group reweighting and importance weighting help (Shimodaira 2000). Because it flattens
    the contrast between the sparse high-need and the crowded low-need units, it also
    misleads an allocation that trades one off against the other. ``exposure`` is 1
    (need = y).

    Examples
    --------
    >>> task = synthetic_shift_task(rng=0)
    >>> task.groups.value_counts().sort_index().to_dict()
    {'A': 400, 'B': 60, 'C': 200}
    """
    seed = resolve_rng(rng)
    rng = np.random.default_rng(seed)
    spec = (("A", n_a, 0.0, 10.0, 0.0, 0.0), ("B", n_b, 10.0, 14.0, 1.5, 0.0),
            ("C", n_c, 14.0, 24.0, 2.5, concept_shift))  # fmt: skip
    parts = []
    for name, n, x0, x1, mu, shift in spec:
        ex = rng.uniform(x0, x1, n)
        dense = rng.random(n) < 0.3
        ny = np.where(dense, rng.uniform(6.0, 9.0, n), rng.uniform(0.0, 10.0, n))
        f1 = mu + np.sin(2 * np.pi * ny / 10.0) + rng.normal(0.0, 0.3, n)
        f2 = rng.normal(0.0, 1.0, n)
        y = 3 + f1 + 0.8 * f1**2 + 0.5 * f2 + shift + rng.normal(0.0, 0.3, n)
        parts.append(pd.DataFrame({"group": name, "x1": f1, "x2": f2, "y": y,
                                   "ex": ex * 1e3, "ny": ny * 1e3}))  # fmt: skip
    df = pd.concat(parts, ignore_index=True)
    return LearningTask(
        X=df[["x1", "x2"]],
        y=df["y"],
        groups=df["group"],
        domain=pd.Series(np.where(df["group"] == "C", "target", "source"), name="domain"),
        coords=df[["ex", "ny"]].to_numpy(),
        exposure=pd.Series(np.ones(len(df)), name="exposure"),
        features={
            "x1": "shifted covariate (mean 0 / 1.5 / 2.5 in A / B / C)",
            "x2": "unshifted covariate",
        },
        description=f"synthetic regional shift (seed {seed}, concept shift {concept_shift})",
        provenance={
            "task": "synthetic_shift",
            "n": [n_a, n_b, n_c],
            "concept_shift": concept_shift,
            "seed": seed,
            "dongne_version": __version__,
        },
    )
