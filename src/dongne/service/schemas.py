"""Request and response bodies of the web service API (pydantic models, shown in OpenAPI)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AllocateRequest",
    "AuditEventOut",
    "DatasetOut",
    "DetectRequest",
    "ErrorOut",
    "ExplainRequest",
    "HealthOut",
    "InvitationOut",
    "MatchReportOut",
    "MatchRequest",
    "MeOut",
    "MemberIn",
    "MemberOut",
    "NewTokenOut",
    "NewUserOut",
    "OfferOut",
    "PointsRequest",
    "RegionsRequest",
    "RunOut",
    "RunRequest",
    "ScanRequest",
    "SentInvitationOut",
    "ShareIn",
    "ShareOut",
    "SpacetimeRequest",
    "TokenIn",
    "TokenOut",
    "UserIn",
    "UserOut",
    "WorkspaceIn",
    "WorkspaceOut",
]


def _as_utc(value: datetime) -> datetime:
    """SQLite hands back naive datetimes; every stored time is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


UtcDatetime = Annotated[datetime, AfterValidator(_as_utc)]
Role = Literal["owner", "editor", "viewer"]
Slug = Annotated[str, Field(pattern=r"^[a-z0-9][a-z0-9_-]{1,62}$", examples=["seoul-institute"])]
UserName = Annotated[str, Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$", examples=["kim"])]
Column = Annotated[str, Field(min_length=1, max_length=200)]
#: A dataset id: a positive 32-bit integer, as stored (larger values would reach the driver).
DatasetId = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _Out(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class ErrorOut(BaseModel):
    """Every error: one plain message naming what is wrong and how to fix it."""

    detail: str


class HealthOut(BaseModel):
    status: Literal["ok"]
    version: str
    database: str


class UserOut(_Out):
    id: int
    name: str
    is_admin: bool
    created_at: UtcDatetime


class UserIn(BaseModel):
    name: UserName
    admin: bool = False


class NewUserOut(BaseModel):
    user: UserOut
    token: str = Field(description="API token of the new user; shown only this once.")


class TokenIn(BaseModel):
    label: str = Field("", max_length=100)


class TokenOut(_Out):
    id: int
    label: str
    created_at: UtcDatetime


class NewTokenOut(TokenOut):
    token: str = Field(description="The secret; shown only this once, stored hashed.")


class WorkspaceIn(BaseModel):
    slug: Slug
    name: str = Field(min_length=1, max_length=200)


class WorkspaceOut(_Out):
    id: int
    slug: str
    name: str
    role: Role = Field(description="Your role in this workspace.")
    created_at: UtcDatetime


class MeOut(BaseModel):
    user: UserOut
    workspaces: list[WorkspaceOut]


class MemberIn(BaseModel):
    role: Role


class MemberOut(BaseModel):
    user: str
    role: Role
    status: Literal["member", "invited"] = Field(
        default="member",
        description="'invited': an invitation waits for the user to accept (sent only if "
        "such a user exists; the answer is the same either way)",
    )


class InvitationOut(BaseModel):
    """An invitation to a workspace, as its invited user sees it."""

    workspace: str
    workspace_name: str
    role: Role
    invited_by: str | None
    created_at: UtcDatetime


class SentInvitationOut(BaseModel):
    """An invitation as the owners of the inviting workspace see it: the name they invited.

    Listed the same whether or not a user of that name exists, and whether or not the user
    declined; it leaves the list when the user accepts (and appears among the members) or
    an owner withdraws it.
    """

    user: str
    role: Role
    invited_by: str | None
    created_at: UtcDatetime


class DatasetOut(BaseModel):
    id: int
    workspace: str = Field(description="Slug of the workspace that owns the dataset.")
    kind: Literal["areas", "table", "points"]
    name: str
    filename: str
    size_bytes: int
    sha256: str
    options: dict[str, Any] = Field(description="Reader options given at upload.")
    summary: dict[str, Any] = Field(
        description="What the reader found: rows, columns (dtype, missing), CRS, bounds in "
        "WGS84, encoding and how it was detected, repairs, warnings."
    )
    shared: bool = Field(description="True when you see it through a share (read-only).")
    shared_with: list[str] = Field(
        description="Workspaces it is shared with (listed for members of the owner only)."
    )
    created_by: str | None
    created_at: UtcDatetime


class ShareIn(BaseModel):
    workspace: Slug


class ShareOut(BaseModel):
    dataset_id: int
    workspace: str
    created_by: str | None
    created_at: UtcDatetime


class OfferOut(BaseModel):
    """A dataset offered to a workspace; it is shared once an owner there accepts."""

    dataset_id: int
    workspace: str
    status: Literal["offered"] = "offered"
    name: str | None = Field(default=None, description="shown to the receiving workspace")
    kind: str | None = None
    from_workspace: str | None = None
    offered_by: str | None = None
    created_at: UtcDatetime | None = None


class MatchRequest(BaseModel):
    """Join a table dataset to an areas dataset by code and report what matched."""

    areas: DatasetId
    table: DatasetId
    key: Column = Field(description="Code column of the areas.")
    table_key: Column | None = Field(None, description="Code column of the table (default: key).")


class MatchReportOut(BaseModel):
    """:class:`dongne.io.MatchReport` as JSON, plus its plain-language ``summary``."""

    dongne_version: str
    areas_source: str
    table_source: str
    areas_key: str
    table_key: str
    n_areas: int
    n_table_rows: int
    matched_areas: int
    matched_rows: int
    complete: bool
    normalisation: list[str]
    code_systems: dict[str, str]
    crosswalk: dict[str, Any] | None
    unmatched_areas: list[dict[str, Any]]
    unmatched_rows: list[dict[str, Any]]
    duplicates: list[dict[str, Any]]
    combined: list[dict[str, Any]]
    name_mismatches: list[dict[str, Any]]
    hints: list[str]
    summary: str = Field(description="Plain-language summary in English and Korean.")
    summary_en: str = Field(description="The summary in English only.")
    summary_ko: str = Field(description="The summary in Korean only (the dashboard's 한국어).")


class _AreasInput(BaseModel):
    model_config = ConfigDict(extra="forbid")

    areas: DatasetId = Field(description="Id of an areas dataset of the workspace (own or shared).")
    table: DatasetId | None = Field(
        None, description="Id of a table dataset joined to the areas by id_column first."
    )
    id_column: Column | None = Field(None, description="Code column of the areas.")
    table_key: Column | None = Field(None, description="Code column of the table.")
    seed: int = Field(0, ge=0, description="Random seed: same seed, same numbers.")

    @model_validator(mode="after")
    def _join_needs_key(self) -> _AreasInput:
        if self.table is not None and self.id_column is None:
            raise ValueError("joining a table needs id_column (the code column of the areas)")
        return self


class DetectRequest(_AreasInput):
    """Moran's I, LISA, Getis-Ord Gi/Gi* and the vulnerability index (``dongne detect``)."""

    analysis: Literal["detect"]
    id_column: Column
    variable: Column = Field(description="The variable to analyse.")
    methods: list[Literal["moran", "lisa", "gi", "gistar", "index"]] = Field(
        default=["moran", "lisa", "gistar"], min_length=1
    )
    indicators: dict[str, Literal["+", "-"]] | None = Field(
        None, description="Index indicators: column -> '+' (higher is more vulnerable) or '-'."
    )
    weights: str = Field(
        "queen", pattern=r"^((queen|rook)(:\d+(\.\d+)?)?|knn:\d+|band:\d+(\.\d+)?)$"
    )
    permutations: Annotated[int, Field(ge=1, le=99_999)] | Literal["auto"] = Field(
        "auto",
        description="Conditional permutations, or 'auto': the smallest of 999, 9,999, 19,999, "
        "49,999, 99,999 whose smallest p-value can survive the correction (see run_detect).",
    )
    alternative: Literal["two-sided", "greater", "less", "directed"] = "two-sided"
    correction: Literal["fdr_bh", "fdr_by", "bonferroni", "geoda_fdr", "none"] = "fdr_bh"
    alpha: float = Field(0.05, gt=0, lt=1)
    missing: Literal["raise", "drop", "label"] = "raise"
    group_column: Column | None = None
    name_column: Column | None = None
    top_k: int = Field(20, ge=1)


class ScanRequest(_AreasInput):
    """Kulldorff's spatial scan statistic (``dongne scan``)."""

    analysis: Literal["scan"]
    id_column: Column
    cases: Column
    population: Column | None = None
    controls: Column | None = None
    expected: Column | None = None
    model: Literal["poisson", "bernoulli"] = "poisson"
    max_population_share: float = Field(0.5, gt=0, le=0.5)
    max_radius: float | None = Field(None, gt=0, description="Largest window radius (metres).")
    scan: Literal["high", "low", "both"] = "high"
    replications: int = Field(999, ge=1, le=99_999)
    missing: Literal["raise", "drop"] = "raise"
    name_column: Column | None = None


class AllocateRequest(_AreasInput):
    """Facility location (``dongne allocate``); ``areas`` are the demand (areas or points)."""

    analysis: Literal["allocate"]
    model: Literal["mclp", "lscp", "pmedian", "pcenter"] = "mclp"
    candidates: DatasetId | Literal["centroids", "grid"] = Field(
        "grid", description="Id of a points dataset, or 'centroids' / 'grid'."
    )
    existing: DatasetId | None = Field(
        None, description="Id of a points dataset of existing sites."
    )
    p: int | None = Field(None, ge=1)
    radius: str | None = Field(None, examples=["500m", "10min"])
    weight: Column | None = None
    candidate_id: Column | None = None
    existing_id: Column | None = None
    equity_by: Column | None = None
    min_share: float | None = Field(None, ge=0, le=1)
    objective: Literal["coverage", "maxmin"] = "coverage"
    method: Literal["auto", "exact", "heuristic"] = "auto"
    time_limit: float | None = Field(None, gt=0)
    grid_spacing: str = "500m"
    pareto: int = Field(0, ge=0, le=20)
    speed_kmh: float = Field(4.0, gt=0)
    demand_method: Literal["grid", "points", "centroid"] | None = Field(
        None,
        description="How demand areas become demand points: 'grid' (default: spread by area "
        "over a grid of demand_spacing), 'points' (default with demand_points: over those "
        "points, by demand_points_weight), 'centroid' (one point per area, all-or-nothing).",
    )
    demand_spacing: str = Field("100m", examples=["100m"])
    demand_points: DatasetId | None = Field(
        None, description="Id of a points dataset saying where demand lies inside the areas."
    )
    demand_points_weight: Column | None = None
    existing_filter: str | None = Field(
        None,
        max_length=500,
        examples=["status == 'open'"],
        description="Rule the existing sites must satisfy (a pandas query); the rows left "
        "out are counted in the summary.",
    )
    outside: Literal["drop", "keep", "raise"] = Field(
        "drop",
        description="Existing sites and candidate points outside the study area: left out "
        "(counted in the summary), kept, or an error.",
    )


_WEIGHTS_SPEC = r"^((queen|rook)(:\d+(\.\d+)?)?|knn:\d+|band:\d+(\.\d+)?)$"


class ExplainRequest(_AreasInput):
    """Spatial regression, spatial models, GWR and MGWR (``dongne explain``).

    The fields are the command's: ``model`` its first argument, ``y``, ``x`` (a list),
    ``weights``, ``missing``, ``robust``, ``gm_variant`` (``--gm-variant``), ``kernel``,
    ``fixed``, ``criterion``, ``alpha``, ``impact_replications`` (``--impact-replications``),
    ``seed``.
    """

    analysis: Literal["explain"]
    id_column: Column
    model: Literal[
        "ols", "slx", "lag", "gm_lag", "error", "gm_error", "durbin", "gwr", "mgwr"
    ] = "ols"
    gm_variant: Literal["kp", "het", "hom"] = Field(
        "kp", description="gm_error: Kelejian-Prucha, heteroskedasticity-robust or homoskedastic."
    )
    y: Column = Field(description="The variable to explain.")
    x: list[Column] = Field(min_length=1, max_length=50, description="Covariates.")
    weights: str = Field(
        "queen",
        pattern=_WEIGHTS_SPEC,
        description="Weights of the spatial models and diagnostics (row-standardised).",
    )
    missing: Literal["raise", "drop"] = "raise"
    robust: Literal["none", "white"] = Field("none", description="OLS standard errors.")
    kernel: Literal["bisquare", "gaussian"] = "bisquare"
    fixed: bool = Field(
        False, description="GWR/MGWR: fixed bandwidth in metres (default adaptive, neighbours)."
    )
    criterion: Literal["AICc", "CV"] = "AICc"
    alpha: float = Field(0.05, gt=0, lt=1)
    impact_replications: int = Field(
        1000, ge=0, le=100_000, description="Draws for the impacts' simulated inference."
    )
    label: str | None = Field(None, max_length=200, description="Readable name of y.")

    @model_validator(mode="after")
    def _y_not_in_x(self) -> ExplainRequest:
        if self.y in self.x:
            raise ValueError(f"x must not contain y ({self.y!r}): remove it from x")
        if len(set(self.x)) != len(self.x):
            raise ValueError("x names a column twice: list each covariate once")
        return self


_REGION_FIELDS = {
    "maxp": ("attributes", "floor_column", "floor"),
    "skater": ("attributes", "n_regions"),
    "azp": ("attributes", "n_regions"),
    "ward": ("attributes", "n_regions"),
    "spectral": ("attributes", "n_regions"),
    "typology": ("indicators",),
    "interpolate": ("target", "target_id"),
}


class RegionsRequest(_AreasInput):
    """Regions, typologies and areal interpolation (``dongne regions``).

    ``method`` is the command's METHOD. ``maxp``/``skater``/``azp``/``ward`` build contiguous
    regions of ``areas`` similar in ``attributes`` (max-p needs ``floor_column`` and
    ``floor``; the others ``n_regions``); ``typology`` classifies them by ``indicators``
    (``typology_method`` is the command's ``--method``); ``interpolate`` moves ``columns`` of
    ``areas`` (the source; ``id_column`` is ``--source-id``) onto the areas dataset
    ``target`` (``target_id``).
    """

    analysis: Literal["regions"]
    id_column: Column
    method: Literal["maxp", "skater", "azp", "ward", "spectral", "typology", "interpolate"]
    attributes: list[Column] | None = Field(
        None, min_length=1, description="Attributes the regions are similar in (z-scored)."
    )
    floor_column: Column | None = Field(
        None, description="Column every region must reach floor in."
    )
    floor: float | None = Field(None, gt=0, examples=[20000])
    n_regions: int | None = Field(None, ge=1, description="Number of regions (skater, azp, ward).")
    iterations: int = Field(99, ge=1, le=10_000, description="Max-p constructions.")
    rounds: int = Field(10, ge=0, le=1000, description="Simulated-annealing rounds (max-p, azp).")
    attach_islands: bool = Field(
        False, description="Join areas without neighbours to their nearest area."
    )
    indicators: list[Column] | None = Field(
        None, min_length=1, description="Typology: indicator columns."
    )
    typology_method: Literal["kmeans", "gmm", "ward"] = "kmeans"
    k: int | None = Field(None, ge=2, le=50, description="Typology: number of types.")
    k_range: tuple[int, int] = Field(
        (2, 8), description="Typology: smallest and largest k tried when k is not given."
    )
    target: DatasetId | None = Field(
        None, description="Interpolate: id of the areas dataset the columns move to."
    )
    target_id: Column | None = Field(None, description="Interpolate: id column of target.")
    target_name: Column | None = None
    source_name: Column | None = Field(None, description="Interpolate: name column of areas.")
    columns: list[Column] = Field(
        [], description="Interpolate: columns to move (kind from column_kind)."
    )
    extensive: list[Column] = Field([], description="Interpolate: count columns (shared out).")
    intensive: list[Column] = Field([], description="Interpolate: rate/mean columns (averaged).")
    categorical: list[Column] = Field([], description="Interpolate: category columns.")
    column_kind: dict[Column, Literal["count", "rate", "mean", "text"]] = Field(
        {}, description="Interpolate: kind of a columns entry."
    )
    rate: list[Annotated[str, Field(max_length=300)]] = Field(
        [],
        examples=[["pop_pct=elderly/population*100"]],
        description="Interpolate: COL=NUM/DEN[*SCALE], recomputed from moved counts.",
    )
    map_column: Column | None = None

    @model_validator(mode="after")
    def _method_fields(self) -> RegionsRequest:
        absent = [f for f in _REGION_FIELDS[self.method] if getattr(self, f) is None]
        if absent:
            raise ValueError(
                f"method {self.method!r} needs {', '.join(absent)}: give "
                + " and ".join(f'"{f}"' for f in absent)
            )
        if self.method == "interpolate" and not (
            self.columns or self.extensive or self.intensive or self.categorical
        ):
            raise ValueError(
                'interpolate needs columns to move: give "columns" (with "column_kind"), '
                '"extensive", "intensive" or "categorical"'
            )
        lo, hi = self.k_range
        if not 2 <= lo <= hi:
            raise ValueError(f"k_range must be two numbers 2 <= lo <= hi, got [{lo}, {hi}]")
        return self


class SpacetimeRequest(_AreasInput):
    """Space-time scan, emerging hot spots and neighbourhood change (``dongne spacetime
    scan|emerging|markov``).

    ``areas`` are the polygons (joined to ``table`` by ``id_column`` when given, e.g. for a
    population), or for the scan alone a points dataset (a coordinates table, as SaTScan's);
    the counts come from ``events`` (one row per event or count, binned by ``freq``: the
    command's ``--events``) or ``long_table`` (one row per area and step: the
    command's ``--table``; named so because ``table`` is the table joined to the areas).
    ``markov`` takes the command's ``--classes`` as ``classes`` and its ``--permutations``
    as ``markov_permutations`` (``permutations`` is emerging's).
    """

    analysis: Literal["spacetime"]
    id_column: Column = Field(description="Code column of the areas (the command's --id).")
    events: DatasetId | None = Field(
        None, description="Id of a table dataset of events or counts (--events)."
    )
    long_table: DatasetId | None = Field(
        None, description="Id of a table dataset with one row per area and step (--table)."
    )
    methods: list[Literal["scan", "emerging", "markov"]] = Field(
        default=["scan", "emerging"],
        min_length=1,
        description="markov: neighbourhood change (spatial and LISA Markov, rank mobility).",
    )
    area: Column | None = Field(
        None, description="Area code column of events/long_table (default: id_column)."
    )
    time: Column = Field("date", description="Time column (dates or whole numbers).")
    count: Column | None = Field(None, description="Count column of events (default: one per row).")
    value: Column | None = Field(
        None, description="Value (or count) column of long_table; required with it."
    )
    freq: str | None = Field(
        None,
        max_length=20,
        pattern=r"^[A-Za-z0-9-]+$",
        examples=["D", "W-SUN", "MS", "YS"],
        description="Step length (pandas frequency); required with events.",
    )
    duplicates: Literal["raise", "sum"] = Field(
        "raise", description="Repeated (area, time) rows of long_table: an error or added up."
    )
    fill: float | Literal["missing"] | None = Field(
        None,
        description="Cells of long_table with no row: a number, or \"missing\" (default: 0 for "
        "counts; for values they are an error).",
    )
    now: str | None = Field(
        None,
        max_length=40,
        description="Latest allowed time (default: the clock); 'none' skips the check.",
    )
    last: int | None = Field(None, ge=1, description="Analyse only the last N steps.")
    model: Literal["permutation", "poisson"] = "permutation"
    population: Column | None = Field(
        None, description="Population column of the areas (or of table): Poisson model."
    )
    scan_analysis: Literal["prospective", "retrospective"] = Field(
        "prospective", description="The command's --analysis (prospective surveillance)."
    )
    max_pop: float = Field(
        0.1, gt=0, le=1, description="Largest circle as a share of the cases/population."
    )
    max_steps: int = Field(14, ge=1, description="Longest cluster in steps.")
    replications: int = Field(999, ge=0, le=99_999, description="Scan Monte Carlo runs.")
    k: int = Field(1, ge=0, le=50, description="Emerging: earlier steps in the neighbourhood.")
    permutations: int = Field(
        0, ge=0, le=99_999, description="Emerging: permutations per bin (0: normal p-values)."
    )
    correction: Literal["fdr_bh", "fdr_by", "bonferroni", "none"] = "fdr_bh"
    alpha: float = Field(0.05, gt=0, lt=1)
    classes: int = Field(
        4, ge=2, le=20, description="Markov: quantile classes of the values and of the lag."
    )
    markov_permutations: int = Field(
        999, ge=0, le=99_999, description="Markov: permutations of the spatial tau's p-value."
    )
    name_column: Column | None = None

    @model_validator(mode="after")
    def _one_source(self) -> SpacetimeRequest:
        if (self.events is None) == (self.long_table is None):
            raise ValueError(
                "give exactly one of 'events' (one row per event or count) and 'long_table' "
                "(one row per area and step)"
            )
        if self.events is not None and not self.freq:
            raise ValueError("'events' needs 'freq', the step length (e.g. \"D\", \"W-SUN\")")
        if self.long_table is not None and not self.value:
            raise ValueError("'long_table' needs 'value', its column of counts or values")
        if "markov" in self.methods and self.last == 1:
            raise ValueError(
                "'methods' with \"markov\" needs transitions between steps: give 'last' >= 2 "
                "(or leave it out for all steps)"
            )
        if "scan" in self.methods and self.model == "poisson" and not self.population:
            raise ValueError(
                "'model': \"poisson\" needs 'population' (a column of the areas), or use "
                "'model': \"permutation\""
            )
        return self


class PointsRequest(_AreasInput):
    """Point statistics (``dongne points dbscan|kde|ripley``) in one run.

    ``points`` is the point layer; ``areas`` the optional study area (default: the convex
    hull of the points). ``replications`` is ``points dbscan``'s; ``ripley_replications`` and
    ``kde_replications`` are the ``--replications`` of ``points ripley`` and ``points kde``.
    """

    analysis: Literal["points"]
    points: DatasetId = Field(description="Id of a points dataset (events or sites).")
    areas: DatasetId | None = Field(  # type: ignore[assignment]
        None, description="Id of an areas dataset: the study area (--areas)."
    )
    methods: list[Literal["dbscan", "kde", "ripley"]] = Field(
        default=["dbscan", "kde", "ripley"], min_length=1
    )
    filter: str | None = Field(
        None, max_length=500, examples=["kind == 'A'"], description="Keep only these points."
    )
    outside: Literal["drop", "keep", "raise"] = "drop"
    cell_size: float | None = Field(None, gt=0, description="Raster cell of the study area (m).")
    name_column: Column | None = None
    eps: list[Annotated[float, Field(gt=0)]] | None = Field(
        None, min_length=1, max_length=10, description="DBSCAN radii in metres, one per scale."
    )
    min_pts: int = Field(10, ge=2, le=10_000)
    alpha: float = Field(0.05, gt=0, lt=1)
    replications: int = Field(999, ge=1, le=99_999)
    prefer: Literal["largest", "strongest"] = "largest"
    background: DatasetId | None = Field(
        None, description="Id of an areas dataset with a population column: the null."
    )
    population: Column | None = Field(None, description="Population column of background.")
    functions: list[Literal["K", "L", "G", "F", "J", "cross-K"]] = Field(
        default=["L", "G"], min_length=1
    )
    other: DatasetId | None = Field(None, description="Id of a points dataset: cross-K's type.")
    edge_correction: Literal["border", "none"] = "border"
    ripley_replications: int = Field(99, ge=1, le=9_999)
    quadrats: int = Field(5, ge=1, le=100)
    bandwidth: Literal["scott", "silverman", "cv"] | Annotated[float, Field(gt=0)] = "scott"
    weights: Column | None = Field(None, description="Column of the points to weight by.")
    controls: DatasetId | None = Field(
        None, description="Id of a points dataset of controls: log relative risk."
    )
    kde_replications: int = Field(99, ge=1, le=9_999)
    kde_cells: int = Field(
        4000,
        ge=100,
        le=40_000,
        description="Most grid cells of the density layer (the cell grows to stay under it).",
    )

    @model_validator(mode="after")
    def _pairs(self) -> PointsRequest:
        if self.background is not None and not self.population:
            raise ValueError("'background' needs 'population', its population column")
        if self.population and self.background is None:
            raise ValueError("'population' needs 'background', the polygons that hold it")
        if "cross-K" in self.functions and self.other is None:
            raise ValueError("'functions' with \"cross-K\" needs 'other', the second point type")
        return self


RunRequest = Annotated[
    DetectRequest
    | ScanRequest
    | AllocateRequest
    | ExplainRequest
    | RegionsRequest
    | SpacetimeRequest
    | PointsRequest,
    Field(discriminator="analysis"),
]


class RunOut(BaseModel):
    id: int
    workspace: str
    analysis: Literal[
        "detect", "scan", "allocate", "explain", "regions", "spacetime", "points"
    ]
    parameters: dict[str, Any]
    status: Literal["queued", "running", "done", "failed", "cancelled"]
    progress: float = Field(ge=0, le=1)
    message: str = Field(description="What the run is doing, or why it failed.")
    summary: str = Field(description="Plain-language findings (English and Korean) when done.")
    layers: list[str] = Field(description="Result layers for /runs/{id}/result?layer=.")
    files: list[str] = Field(description="Output files for /runs/{id}/files/{name}.")
    cancel_requested: bool
    created_by: str | None
    created_at: UtcDatetime
    started_at: UtcDatetime | None
    finished_at: UtcDatetime | None
    heartbeat_at: UtcDatetime | None = Field(
        description="When the server last saw the run's worker process alive (while running)."
    )


class AuditEventOut(BaseModel):
    id: int
    user: str | None
    action: str
    target_type: str
    target_id: int | None
    detail: dict[str, Any]
    created_at: UtcDatetime
