"""The bundled Seoul data pack: real boundaries, indicators and facility points, offline.

Every loader reads files shipped inside the package (``dongne/datasets/data``), so it works
from an installed wheel with no network. Sources, licences and caveats are in
``data/README.md`` (:func:`attribution` returns it). In short: boundaries are KOSTAT 2013
census boundaries (423 dongs, 25 gu); dong indicators are from the 2010 census; gu indicators
from 2015–2018; heat shelters and CCTV from Seoul Open Data, 2023. The years differ — this is
a demonstration pack, not a consistent snapshot.
"""

from __future__ import annotations

import shutil
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import geopandas as gpd
import pandas as pd

from dongne.errors import DataError
from dongne.io.areas import read_areas
from dongne.io.atomic import atomic_path
from dongne.io.join import join_by_code
from dongne.io.points import read_points
from dongne.io.tables import read_table

__all__ = [
    "CATALOGUE",
    "BundledDataset",
    "attribution",
    "catalogue",
    "data_path",
    "export",
    "seoul_cctv",
    "seoul_dong_crosswalk_2010_2013",
    "seoul_dong_indicators_2010",
    "seoul_dongs",
    "seoul_dongs_2021",
    "seoul_dongs_2022",
    "seoul_fatal_accidents",
    "seoul_gu",
    "seoul_heat_shelters",
]


def data_path(name: str) -> Path:
    """Path of a bundled file, e.g. ``data_path("raw/seoul_basic.csv")``.

    Raises :class:`DataError` listing the bundled files when ``name`` does not exist.
    """
    root = Path(str(files("dongne.datasets") / "data"))
    path = root / name
    if not path.is_file():
        names = sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())
        raise DataError(f"No bundled file {name!r}. Bundled files: {', '.join(names)}.")
    return path


@dataclass(frozen=True)
class BundledDataset:
    """One bundled file: its name for ``dongne datasets``, what it holds, source and licence.

    The full provenance (processing, checks, caveats) is in the data pack's README
    (:func:`attribution`), section ``readme_section``.
    """

    name: str
    file: str
    what: str
    source: str
    licence: str
    readme_section: str

    @property
    def path(self) -> Path:
        """Where the file lies in this installation."""
        return data_path(self.file)


_KOSTAT_BOUNDARIES = "KOSTAT/SGIS census boundaries 2013 via southkorea/seoul-maps"
_CENSUS_2010 = "KOSTAT 2010 census, compiled by 한국도시연구소 (clamWell/undrerground_households)"
_SEOUL_OPEN_DATA = "Seoul Open Data Plaza (서울 열린데이터 광장) via statgarten/datatoys"
_KOGL = "KOGL Type 1 (공공누리 제1유형, attribution); repository CC0"
_NONE_STATED = "none stated; figures are KOSTAT census statistics (cite KOSTAT)"

#: Every bundled file a command-line user may want, in the order ``dongne datasets`` lists.
CATALOGUE: tuple[BundledDataset, ...] = (
    BundledDataset("seoul-dong-2013", "seoul_dong_2013.geojson",
                   "423 administrative dong boundaries, EPSG:4326 (dong_code, names, gu)",
                   _KOSTAT_BOUNDARIES, "Apache-2.0 (repository); cite KOSTAT/SGIS", "1"),
    BundledDataset("seoul-dong-2021", "seoul_dong_2021.geojson",
                   "425 administrative dong boundaries of 2021-04-01, EPSG:4326 (another vintage)",
                   "KOSTAT/SGIS via vuski/admdongkor ver20210401 (raqoon886/Local_HangJeongDong)",
                   "KOGL Type 1 (SGIS attribution); vuski/admdongkor adds no restriction",
                   "9"),
    BundledDataset("seoul-dong-2022", "seoul_dong_2022.geojson",
                   "426 administrative dong boundaries from 2022-12-23, EPSG:4326 (vintage)",
                   "MOIS road-name address map (TL_SCCO_GEMD) via gaba-tope/Visualizations",
                   "MOIS public address data, attribution to 행정안전부; repository MIT",
                   "9b"),
    BundledDataset("seoul-vote-2022-president", "seoul_vote_2022_president_dong.csv",
                   "2022 presidential election by dong, 2022-03 codes (426 rows)",
                   "National Election Commission via vuski/admdongkor ver20220309",
                   "public election results (NEC); no licence restriction stated", "10"),
    BundledDataset("seoul-gu-2013", "seoul_gu_2013.geojson",
                   "25 gu boundaries, EPSG:4326 (gu_code, gu_code_mois, names)",
                   _KOSTAT_BOUNDARIES, "Apache-2.0 (repository); cite KOSTAT/SGIS", "1"),
    BundledDataset("seoul-dong-census-2010", "seoul_dong_indicators_census2010.csv",
                   "households and basement households per dong, 2010 codes (424 rows)",
                   _CENSUS_2010, _NONE_STATED, "2"),
    BundledDataset("seoul-dong-crosswalk-2010-2013", "seoul_dong_code_crosswalk_2010_2013.csv",
                   "2010 dong codes -> 2013 boundary codes (same 416, renamed 6, merged 2)",
                   "dongne (from the KOSTAT code lists)", "BSD-3-Clause (dongne)", "3"),
    BundledDataset("seoul-gu-indicators", "seoul_gu_indicators.csv",
                   "gu vulnerability indicators 2015-2018 (25 rows)",
                   "Seoul basic statistics via clamWell/undrerground_households", _NONE_STATED,
                   "4"),
    BundledDataset("seoul-gu-population-2010", "seoul_gu_population_census2010.csv",
                   "gu population by broad age group, 2010 census (25 rows)",
                   "KOSIS DT_1IN0001 via southkorea/southkorea-population",
                   "CC BY 3.0 (Team POPONG); data from KOSIS", "5"),
    BundledDataset("seoul-heat-shelters-2023", "seoul_heat_shelters_2023.csv",
                   "heat/cooling shelters (무더위쉼터) with lon/lat, 2023 (4,133 rows)",
                   _SEOUL_OPEN_DATA + " (OA-21065)", _KOGL, "6"),
    BundledDataset("seoul-cctv-2023", "seoul_cctv_2023.csv",
                   "safety CCTV sites with lat/lon, 2023 (83,734 rows)",
                   _SEOUL_OPEN_DATA, _KOGL, "7"),
    BundledDataset("seoul-fatal-accidents-2020", "seoul_fatal_accidents_2020.csv",
                   "fatal road accidents with UTM-K and lon/lat, 2020 (218 rows)",
                   "KoROAD (도로교통공단) 사망교통사고정보, data.go.kr 15070340, via "
                   "statgarten/datatoys", "data.go.kr: no restriction listed (이용허락범위 "
                   "제한 없음); repository CC0", "11"),
    BundledDataset("seoul-dong-facilities-2023", "seoul_dong_facility_counts_2023.csv",
                   "heat shelters and CCTV counted per 2013 dong (derived, 423 rows)",
                   "dongne, from seoul-heat-shelters-2023 and seoul-cctv-2023", _KOGL, "8"),
    BundledDataset("raw-seoul-basic", "raw/seoul_basic.csv",
                   "gu indicators as published, CP949/EUC-KR (25 rows)",
                   "clamWell/undrerground_households R/seoul_basic.csv", _NONE_STATED, "4"),
    BundledDataset("raw-kosis-population-2010", "raw/kosis_census2010_population_by_gu_age.csv",
                   "KOSIS download as published, CP949 with 2 title lines (7,728 rows)",
                   "KOSIS via southkorea/southkorea-population",
                   "CC BY 3.0 (Team POPONG); data from KOSIS", "5"),
)  # fmt: skip


def catalogue() -> pd.DataFrame:
    """The bundled files as a table: name, path in this installation, what, source, licence."""
    return pd.DataFrame(
        [
            {"name": d.name, "path": str(d.path), "what": d.what, "source": d.source,
             "licence": d.licence, "readme_section": d.readme_section}
            for d in CATALOGUE
        ]
    )  # fmt: skip


def export(name: str, directory: str | Path) -> Path:
    """Copy the bundled file ``name`` (see :data:`CATALOGUE`) and the data README into
    ``directory``; returns the copied file's path. Existing files are not overwritten.

    Raises
    ------
    DataError
        When ``name`` is not in the catalogue (the message lists the names) or a file of the
        same name exists in ``directory``.
    """
    by_name = {d.name: d for d in CATALOGUE}
    if name not in by_name:
        raise DataError(
            f"No bundled dataset {name!r}. Fix: use one of {', '.join(by_name)} "
            "(listed by 'dongne datasets')."
        )
    target_dir = Path(directory)
    target_dir.mkdir(parents=True, exist_ok=True)
    source = by_name[name].path
    target = target_dir / source.name
    if target.exists():
        raise DataError(f"{target} exists already. Fix: choose another DIR or remove it.")
    with atomic_path(target) as tmp:  # a reader never sees half a file
        shutil.copyfile(source, tmp)
    readme = target_dir / "README_dongne_data.md"
    if not readme.exists():
        with atomic_path(readme) as tmp:
            shutil.copyfile(data_path("README.md"), tmp)
    return target


def attribution() -> str:
    """The data pack's README: sources, licences, processing and caveats."""
    return data_path("README.md").read_text(encoding="utf-8")


def seoul_dong_indicators_2010() -> pd.DataFrame:
    """Households and basement households per dong, 2010 census (424 rows, 2010 codes)."""
    return read_table(data_path("seoul_dong_indicators_census2010.csv"))


def seoul_dong_crosswalk_2010_2013() -> pd.DataFrame:
    """2010 → 2013 dong codes (424 rows; relation ``same`` 416, ``renamed`` 6, ``merged`` 2)."""
    return read_table(data_path("seoul_dong_code_crosswalk_2010_2013.csv"))


def seoul_dongs(indicators: bool = True, crosswalk: bool = True) -> gpd.GeoDataFrame:
    """Seoul's 423 administrative dongs (KOSTAT 2013 boundaries, EPSG:4326) with indicators.

    Parameters
    ----------
    indicators : bool
        Join the 2010-census household indicators and the 2023 facility counts.
    crosswalk : bool
        Translate the 2010 dong codes to the 2013 boundaries first (6 renamed dongs take their
        2010 values; 혜화동 and 명륜3가동 are summed into the 2013 혜화동, whose
        ``basement_household_pct`` is recomputed from the summed counts). Without it, 7
        polygons have no 2010 values and 8 table rows are reported as unmatched.

    Returns
    -------
    GeoDataFrame
        Columns ``dong_code``, ``dong_name``, ``dong_name_en``, ``gu_code``, ``gu_name``,
        ``gu_name_en``, ``gu_code_mois``, ``base_year``, ``area_km2``, and with indicators
        ``dong_name_2010``, ``households``, ``basement_households``,
        ``basement_household_pct`` (2010) and ``heat_shelters_2023``,
        ``heat_shelters_senior_center_2023``, ``heat_shelter_capacity_2023``,
        ``cctv_sites_2023``, ``cctv_cameras_2023``. The match reports of both joins are in
        ``attrs["dongne"]["match_reports"]``.

    Examples
    --------
    >>> dongs = seoul_dongs()
    >>> len(dongs), int(dongs["households"].sum())
    (423, 3504297)
    """
    dongs = read_areas(data_path("seoul_dong_2013.geojson"))
    if not indicators:
        return dongs
    census = seoul_dong_indicators_2010()[
        ["dong_code", "dong_name", "households", "basement_households", "basement_household_pct"]
    ].rename(columns={"dong_name": "dong_name_2010"})
    census.attrs = {"dongne": {"source": str(data_path("seoul_dong_indicators_census2010.csv"))}}
    if crosswalk:
        joined, _ = join_by_code(
            dongs,
            census,
            key="dong_code",
            crosswalk=seoul_dong_crosswalk_2010_2013(),
            crosswalk_from="dong_code_2010",
            crosswalk_to="dong_code_2013",
            combine={"households": "sum", "basement_households": "sum"},
        )
        redo = joined["basement_household_pct"].isna() & joined["households"].gt(0)
        joined.loc[redo, "basement_household_pct"] = (
            100 * joined.loc[redo, "basement_households"] / joined.loc[redo, "households"]
        ).round(2)
    else:
        joined, _ = join_by_code(dongs, census, key="dong_code")
    counts = read_table(data_path("seoul_dong_facility_counts_2023.csv"))
    counts = counts.drop(columns=["dong_name", "gu_name"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        joined, _ = join_by_code(joined, counts, key="dong_code", strict=True)
    return joined


def seoul_dongs_2021() -> gpd.GeoDataFrame:
    """Seoul's 425 administrative dongs on 2021-04-01 (EPSG:4326): another vintage of the 2013
    boundaries, for interpolation and code history (``dongne.regions``).

    Columns ``dong_code`` (KOSTAT 7 digits, as in 2013), ``dong_name``, ``gu_code``,
    ``gu_name``, ``adm_code_mois`` (10-digit MOIS code), ``base_date``, ``area_km2``. Source,
    licence and processing: README section 9.
    """
    return read_areas(data_path("seoul_dong_2021.geojson"))


def seoul_dongs_2022() -> gpd.GeoDataFrame:
    """Seoul's 426 administrative dongs as in force from 2022-12-23 (EPSG:4326): the vintage
    after the 2021-07 split of 강일동 (→ 강일동 + 상일제2동, 상일동 → 상일제1동) and the
    2022-12 rename of 일원2동 to 개포3동.

    Same columns as :func:`seoul_dongs_2021` plus ``dong_name_mois`` (the MOIS spelling,
    e.g. 창신제1동 for KOSTAT's 창신1동). ``dong_code`` is KOSTAT's 7-digit code where the
    2022-03 code table has it; 개포3동, created after that table, keeps its 10-digit MOIS code.
    The boundaries come from the MOIS road-name address map, not SGIS: along the Han they
    share out the river differently from the 2013 and 2021 files. Source, licence and
    processing: README section 9b.
    """
    return read_areas(data_path("seoul_dong_2022.geojson"))


def seoul_gu(indicators: bool = True) -> gpd.GeoDataFrame:
    """Seoul's 25 gu (KOSTAT 2013 boundaries, EPSG:4326), with 2010–2018 indicators.

    With ``indicators``, joins ``seoul_gu_indicators.csv`` (2015 census basement housing,
    2018 welfare figures, 2017 public rental housing) and ``seoul_gu_population_census2010.csv``
    (population by broad age group); see :func:`attribution` for definitions and caveats.

    Examples
    --------
    >>> gu = seoul_gu()
    >>> len(gu), int(gu["basement_households_2015"].sum())
    (25, 228467)
    """
    gu = read_areas(data_path("seoul_gu_2013.geojson"))
    if not indicators:
        return gu
    ind = read_table(data_path("seoul_gu_indicators.csv")).drop(columns=["gu_code_mois", "gu_name"])
    pop = read_table(data_path("seoul_gu_population_census2010.csv")).drop(
        columns=["gu_name", "year"]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        gu, _ = join_by_code(gu, ind, key="gu_code", strict=True)
        gu, _ = join_by_code(gu, pop, key="gu_code", strict=True)
    return gu


def seoul_heat_shelters() -> gpd.GeoDataFrame:
    """Seoul's 4,133 heat/cooling shelters (무더위쉼터), 2023 season, as points (EPSG:4326).

    All published records are kept, including 15 with doubtful coordinates flagged in
    ``coord_check`` (``outside_seoul`` 11, ``gu_mismatch_with_address`` 4).
    """
    return read_points(data_path("seoul_heat_shelters_2023.csv"), x="lon", y="lat", crs=4326)


def seoul_cctv() -> gpd.GeoDataFrame:
    """Seoul's 83,734 safety-CCTV sites (안심이 CCTV), 2023, as points (EPSG:4326)."""
    return read_points(data_path("seoul_cctv_2023.csv"), x="lon", y="lat", crs=4326)


def seoul_fatal_accidents() -> gpd.GeoDataFrame:
    """Seoul's 218 fatal road accidents of 2020 (KoROAD), as points in UTM-K (EPSG:5179).

    One row per accident: deaths and injuries, gu, accident class and type (e.g. 차대사람 /
    횡단중: a pedestrian crossing), the offender's violation, road type, vehicle and victim.
    The published ``lon``/``lat`` columns are kept; they agree with the UTM-K coordinates to
    within 5 mm.
    """
    return read_points(
        data_path("seoul_fatal_accidents_2020.csv"), x="x_utmk", y="y_utmk", crs=5179
    )
