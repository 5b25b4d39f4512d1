"""Request and response bodies of the dashboard's API, as pydantic models (they make the OpenAPI spec).

Why explicit models and bounds: FastAPI validates every body against them
and answers a bad one with a 422 that names the field, before any model
runs; the bounds are also what a client (and schemathesis) reads from the
spec. The bounds are the scenario file's own (``spec.bounds``: the same
limit for a knob, a file and a CLI option), tightened where a server must
answer quickly (two years of simulated time, 2,000 Monte Carlo histories).
Bodies are strict: ``false`` is not a number, ``"5"`` not an integer, and
NaN or an infinity (``NaN``, ``1e400`` in JSON) is refused.

Quantities cross the API in SI units with the unit in the name, as in the
CLI's JSON documents, except the override knobs, which use the units the
scenario file uses for the same fields (``interim_mw``,
``checkpoint_interval_min``, ``days``): they are edits of that file.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from colossus.spec.bounds import (  # the limits scenario files obey (spec/bounds.py), shared
    MAX_GPUS,  # noqa: F401 (re-exported: the knobs' limits)
    MAX_MW,  # noqa: F401
    MAX_UNITS,  # noqa: F401
    CheckpointMinutes,
    Day,
    Days,
    GpuCount,
    Megawatts,
    RateScale,
    real,
    whole,
)
from colossus.spec.bounds import (
    UnitCount as FleetUnits,
)

#: Longest simulation the dashboard runs, days: a server's worker should not be held for hours
#: (the CLI accepts up to ``spec.bounds.MAX_DAYS``).
MAX_DAYS = 730.0
#: Largest seed a request may give: JSON numbers are exact integers only up to 2**53 (JavaScript's
#: Number.MAX_SAFE_INTEGER); a file or the CLI takes any non-negative 64-bit seed.
MAX_JSON_SEED = 2**53 - 1
#: Monte Carlo histories a reliability request may ask for (answered within the request, so kept small).
MAX_MC_RUNS = 2000
#: Entries in one override mapping (pools, jobs, generator or battery units).
MAX_ENTRIES = 64

Name = Annotated[str, Field(min_length=1, max_length=128)]


class _Body(BaseModel):
    """A request body: no unknown fields, no coercion (``false`` is not 0, ``"5"`` not 5), finite numbers."""

    model_config = ConfigDict(extra="forbid", strict=True, allow_inf_nan=False)


class PoolOverride(_Body):
    num_gpus: GpuCount | None = Field(None, description="GPUs in the pool (whole servers)")
    gpu: Name | None = Field(None, description="GPU type, a catalog name (GET /api/catalog)")


class JobOverride(_Body):
    model: Name | None = Field(None, description="model preset, a catalog name (GET /api/catalog)")
    num_gpus: GpuCount | None = Field(None, description="GPUs of the job")
    checkpoint_interval_min: CheckpointMinutes | None = Field(None, description="minutes between checkpoints")
    expert_routing: Literal["balanced", "dropless"] | None = Field(
        None, description="MoE routing: balanced (forced, as published benchmarks run) or dropless (as training"
        " routes: the busiest expert-parallel rank paces each layer); the job's software.expert_routing")


class Overrides(_Body):
    """The main knobs of a scenario; every field is optional and changes only what it names.

    They are applied to the scenario file's YAML document, which is then
    validated as a whole: a value the scenario rejects (a GPU count that
    does not fill whole servers, a job larger than its pool, an unknown
    catalog name) is a 422 naming the override and the scenario field.
    """

    pools: dict[Name, PoolOverride] = Field(default_factory=dict, max_length=MAX_ENTRIES,
                                            description="pool name -> changes")
    jobs: dict[Name, JobOverride] = Field(default_factory=dict, max_length=MAX_ENTRIES,
                                          description="job name -> changes")
    grid_interim_mw: Megawatts | None = Field(None, description="grid power before a contract, MW")
    grid_contract_mw: Megawatts | None = Field(None, description="contracted grid capacity, MW")
    grid_contract_start_day: Day | None = Field(
        None, description="day the grid contract starts; an explicit null: not signed")
    generators: dict[Name, FleetUnits] = Field(
        default_factory=dict, max_length=MAX_ENTRIES,
        description="generator unit (catalog name) -> count; a new unit adds a fleet")
    batteries: dict[Name, FleetUnits] = Field(
        default_factory=dict, max_length=MAX_ENTRIES,
        description="battery unit (catalog name) -> count; a new unit adds a bank")
    fleet: Name | None = Field(None, description="the fleet whose failure rates the hardware follows (a catalog"
                               " name, GET /api/catalog; the scenario's reliability.fleet)")
    failure_rate_scale: RateScale | None = Field(
        None, description="multiplier of every failure rate of the fleet (the scenario's reliability.rate_scale)")
    days: real(ge=1 / 24, le=MAX_DAYS) | None = Field(None, description="simulated days")  # type: ignore[valid-type]
    seed: whole(ge=0, le=MAX_JSON_SEED) | None = Field(  # type: ignore[valid-type]
        None, description="random seed of the run (files take any 64-bit seed; JSON numbers are exact to 2**53)")


class ScenarioRequest(_Body):
    overrides: Overrides = Field(default_factory=Overrides)


class PlanRequest(ScenarioRequest):
    job: Name | None = Field(None, description="job to plan (default: the scenario's first)")


class PowerRequest(ScenarioRequest):
    supply_mw: Megawatts | None = Field(None, description="supply available, MW (default: firm capacity)")
    day: Day = Field(0.0, description="day from the scenario start (grid contract status)")


class ReliabilityRequest(ScenarioRequest):
    job: Name | None = Field(None, description="job to analyse (default: the scenario's first)")
    runs: whole(ge=0, le=MAX_MC_RUNS) = Field(  # type: ignore[valid-type]
        0, description="Monte Carlo histories (0: closed form only)")
    deadline_days: Days | None = Field(None, description="P(finish by this day) with runs > 0")


class SimulateRequest(ScenarioRequest):
    pass


#: Draws a dashboard forecast may ask for (each a facility simulation in one worker process).
MAX_FORECAST_RUNS = 256


class ForecastRequest(ScenarioRequest):
    job: Name | None = Field(None, description="job to forecast (default: the scenario's first)")
    by_day: real(gt=0, le=MAX_DAYS) = Field(  # type: ignore[valid-type]
        description="the date asked about, days from the scenario's day 0")
    runs: whole(ge=1, le=MAX_FORECAST_RUNS) = Field(  # type: ignore[valid-type]
        32, description="draws of the facility simulation")
    seed: whole(ge=0, le=MAX_JSON_SEED) | None = Field(  # type: ignore[valid-type]
        None, description="seed of the draws (default: the scenario's)")


# --- responses ------------------------------------------------------------------------


class ErrorItem(BaseModel):
    loc: list[str | int] = Field(description="where: the body field, the override, or the scenario field")
    msg: str
    type: str
    input: Any = Field(None, description="the rejected value, when short")


class ErrorBody(BaseModel):
    """Every error answer: a message, or a list of located problems (the shape of FastAPI's 422)."""

    detail: str | list[ErrorItem]


class ScenarioItem(BaseModel):
    name: str
    file: str
    description: str | None = None
    error: str | None = Field(None, description="why the file is not a valid scenario, if it is not")
    default: bool = Field(False, description="the scenario the page opens with")


class PoolKnob(BaseModel):
    name: str
    gpu: str
    num_gpus: int
    gpus_per_server: int


class JobKnob(BaseModel):
    name: str
    model: str
    num_gpus: int
    pool: str | None
    checkpoint_interval_min: float
    fixed_layout: bool
    moe: bool  # the model routes tokens to experts (the routing knob applies)
    expert_routing: str  # balanced or dropless: the job's, balanced where it states none


class UnitCount(BaseModel):
    unit: str
    count: int


class Knobs(BaseModel):
    """The current values of everything ``Overrides`` can change, to pre-fill a form."""

    pools: list[PoolKnob]
    jobs: list[JobKnob]
    grid_interim_mw: float
    grid_contract_mw: float
    grid_contract_start_day: float | None
    generators: list[UnitCount]
    batteries: list[UnitCount]
    fleet: str
    failure_rate_scale: float
    days: float
    seed: int


class ScenarioDetail(BaseModel):
    name: str
    file: str
    description: str
    knobs: Knobs
    document: dict[str, Any] = Field(description="the scenario file as parsed YAML")


class Catalog(BaseModel):
    gpus: list[str]
    models: list[str]
    generators: list[str]
    batteries: list[str]
    fleets: list[str]


class Analysis(BaseModel):
    """An estimate, plan, power or reliability document (the CLI's ``--json`` form) and notes."""

    scenario: str
    kind: str
    notes: list[str] = Field(default_factory=list)
    result: dict[str, Any]


class JobStatus(StrEnum):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"
    CANCELLED = "cancelled"


class JobKind(StrEnum):
    SIMULATE = "simulate"
    FORECAST = "forecast"


class JobInfo(BaseModel):
    id: str
    kind: JobKind = Field(JobKind.SIMULATE, description="simulate: one history; forecast: many draws")
    scenario: str
    status: JobStatus
    progress_frac: float = Field(ge=0, le=1)
    phase: str = Field(description="what the job is doing now, in words")
    days: float
    created_s: float = Field(description="seconds since the epoch")
    started_s: float | None = None
    finished_s: float | None = None
    run_id: str | None = Field(None, description="the stored run, once done")
    message: str | None = Field(None, description="why it failed, in one line")
    notes: list[str] = Field(default_factory=list)
    summary: dict[str, Any] | None = Field(
        None, description="simulate: the run's summary; forecast: the forecast's answer with its figures")


class RunItem(BaseModel):
    id: str
    scenario: str | None
    seed: int | None
    days: float | None
    created_s: float = Field(description="when the results were written, seconds since the epoch")
    has_report: bool
    overrides: dict[str, Any] | None = None


class TableModel(BaseModel):
    name: str
    title: str
    header: list[str]
    rows: list[list[str]]
    numeric: list[bool]


class RunDetail(BaseModel):
    id: str
    summary: dict[str, Any]
    headline: list[tuple[str, str]]
    tables: list[TableModel]
    request: dict[str, Any] | None = None
    has_report: bool


class Series(BaseModel):
    run: str
    num_samples: int
    num_points: int
    columns: dict[str, list[float | None]]
    available: list[str]


class EventRow(BaseModel):
    time_s: float
    kind: str
    job: str
    detail: str
    value: float | None


class EventPage(BaseModel):
    run: str
    total: int
    offset: int
    limit: int
    events: list[EventRow]


class Metric(BaseModel):
    key: str
    label: str
    unit: str = Field(description="SI unit of the value")
    display_unit: str = Field(description="unit to show it in")
    display_scale: float = Field(description="multiply the value by this to show it in display_unit")


class ComparedRun(BaseModel):
    id: str
    scenario: str | None
    seed: int | None
    days: float | None
    overrides: dict[str, Any] | None
    values: dict[str, float | None]


class Comparison(BaseModel):
    metrics: list[Metric]
    runs: list[ComparedRun]


class SweepItem(BaseModel):
    id: str
    rows: int | None
    scenarios: list[str]
    kinds: list[str]
    plots: list[str]
    error: str | None = None


class SweepRows(BaseModel):
    id: str
    total: int
    offset: int
    limit: int
    columns: list[str]
    types: list[str]
    rows: list[list[Any]]
