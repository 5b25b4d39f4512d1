"""The JSON API under ``/api``: scenarios, quick analyses, background simulations, stored runs and sweeps.

Thin: each route checks a name against its folder (``Folders``), calls the
public API of the packages below, and returns a pydantic model. Errors are
turned into HTTP answers in ``app`` (``SpecError`` -> 422 naming the field,
``InfeasibleError`` -> 422, unreadable results -> 409), never a traceback.

The analyses and every file read are plain ``def`` routes: FastAPI runs them
in its thread pool, so a one-second layout search does not stall the event
loop; ``analysis_slots`` bounds how many run at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import logging
from pathlib import Path
import threading
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import StringConstraints

from colossus import catalog
from colossus.errors import ColossusError, SpecError
from colossus.reliability.fleets import default_fleet_name, fleet_names
from colossus.reliability.scenario import pick_job
from colossus.spec import ExpertRouting, JobSpec, Scenario, read_yaml, validate
from colossus.units import si_document
from colossus.web import analyses
from colossus.web import runs as stored
from colossus.web.folders import NAME_PATTERN, REPORT, Folders, scrub
from colossus.web.jobs import JobManager, NotCancellable, QueueFull
from colossus.web.jsonsafe import jsonable
from colossus.web.models import (
    Analysis,
    Catalog,
    Comparison,
    ErrorBody,
    EventPage,
    ForecastRequest,
    JobInfo,
    JobKind,
    JobKnob,
    Knobs,
    Overrides,
    PlanRequest,
    PoolKnob,
    PowerRequest,
    ReliabilityRequest,
    RunDetail,
    RunItem,
    ScenarioDetail,
    ScenarioItem,
    ScenarioRequest,
    Series,
    SimulateRequest,
    SweepItem,
    SweepRows,
    UnitCount,
)
from colossus.web.overrides import scenario_with

log = logging.getLogger(__name__)

JOB_ID_PATTERN = r"^[0-9a-f]{12}$"
#: The scenario the page opens with when the folder has it (DESIGN.md: the default scenario).
DEFAULT_SCENARIO = "colossus-memphis"
MAX_COMPARED = 8


@dataclass
class WebState:
    """What the routes share: the two folders, the simulation jobs, a bound on concurrent analyses."""

    folders: Folders
    jobs: JobManager
    analysis_slots: threading.BoundedSemaphore = field(default_factory=lambda: threading.BoundedSemaphore(4))
    cache: analyses.AnalysisCache = field(default_factory=analyses.AnalysisCache)


def web_state(request: Request) -> WebState:
    return request.app.state.web


State = Annotated[WebState, Depends(web_state)]
ScenarioName = Annotated[str, PathParam(pattern=NAME_PATTERN, description="scenario file name without .yaml",
                                        examples=["colossus-memphis"])]
RunId = Annotated[str, PathParam(pattern=NAME_PATTERN, description="a folder of the runs folder")]
SweepId = Annotated[str, PathParam(pattern=NAME_PATTERN, description="a sweep folder of the runs folder")]
JobId = Annotated[str, PathParam(pattern=JOB_ID_PATTERN)]

router = APIRouter(prefix="/api")

#: The statuses a route documents besides 200 and 422 (every answer the service gives is in the spec).
NOT_FOUND: dict[int | str, dict[str, Any]] = {404: {"model": ErrorBody, "description": "no such name"}}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"model": ErrorBody, "description": "a valid request the scenario or the stored result cannot answer:"
                                             " an override it rejects, an invalid scenario file, an infeasible"
                                             " job, a result that cannot be read"}}
BOTH = {**NOT_FOUND, **CONFLICT}


def _not_found(what: str, name: str) -> HTTPException:
    return HTTPException(404, f"no {what} '{name}'")


def _read(path: Path) -> Any:
    """The scenario file's YAML document; an error names the file by its name only (no server path)."""
    try:
        return read_yaml(path)
    except SpecError as exc:
        raise exc.located(file=path.name) from None


# --- scenarios -----------------------------------------------------------------------------


def _scenario_file(state: WebState, name: str) -> Path:
    path = state.folders.scenario_file(name)
    if path is None:
        raise _not_found("scenario", name)
    return path


def _load(state: WebState, name: str, overrides: Overrides) -> tuple[Scenario, list[str], dict[str, Any], Path]:
    """The scenario with overrides, validated; its notes, its edited document and its file."""
    path = _scenario_file(state, name)
    scenario, edited = scenario_with(_read(path), overrides, file=path.name)
    return scenario, edited.notes, edited.document, path


def _routing(job: JobSpec) -> str:
    """A job's MoE routing: what its software block states, else the benchmarks' forced balance."""
    stated = job.software.expert_routing if job.software is not None else None
    return (stated or ExpertRouting.BALANCED).value


def _knobs(s: Scenario) -> Knobs:
    supply = s.power.supply
    return Knobs(
        pools=[PoolKnob(name=p.name, gpu=p.gpu.name, num_gpus=p.num_gpus, gpus_per_server=p.server.gpus_per_server)
               for p in s.cluster.pools],
        jobs=[JobKnob(name=j.name, model=j.model.name, num_gpus=j.num_gpus, pool=j.pool,
                      checkpoint_interval_min=j.checkpoint.interval_min, fixed_layout=j.layout is not None,
                      moe=j.model.moe is not None, expert_routing=_routing(j))
              for j in s.jobs],
        grid_interim_mw=supply.grid.interim_mw, grid_contract_mw=supply.grid.contract_mw,
        grid_contract_start_day=supply.grid.contract_start_day,
        generators=[UnitCount(unit=f.label, count=f.count) for f in supply.generators],  # the fleet's name
        batteries=[UnitCount(unit=b.unit.name, count=b.count) for b in supply.batteries],
        fleet=s.reliability.fleet or default_fleet_name(), failure_rate_scale=s.reliability.rate_scale,
        days=s.simulation.days, seed=s.seed,
    )


@router.get("/catalog", response_model=Catalog, summary="Catalog names the knobs accept")
def get_catalog() -> Catalog:
    return Catalog(gpus=list(catalog.names("gpus")), models=list(catalog.names("models")),
                   generators=list(catalog.names("generators")), batteries=list(catalog.names("batteries")),
                   fleets=list(fleet_names()))


@router.get("/scenarios", response_model=list[ScenarioItem], summary="Scenario files in the scenarios folder")
def list_scenarios(state: State) -> list[ScenarioItem]:
    items = []
    for name in state.folders.scenario_names():
        path = state.folders.scenario_file(name)
        if path is None:
            continue
        try:
            scenario = validate(Scenario, _read(path), file=path.name)
        except ColossusError as exc:
            items.append(ScenarioItem(name=name, file=path.name, error=scrub(str(exc))))
        except Exception:  # a bug must not hide every other scenario: list this one as unusable
            log.exception("scenario %s cannot be listed", name)
            items.append(ScenarioItem(name=name, file=path.name, error="cannot be read (the server log has why)"))
        else:
            items.append(ScenarioItem(name=name, file=path.name, description=scenario.description.strip()))
    valid = [item for item in items if item.error is None]
    default = next((item for item in valid if item.name == DEFAULT_SCENARIO), valid[0] if valid else None)
    if default is not None:
        default.default = True
    return items


@router.get("/scenarios/{name}", response_model=ScenarioDetail, summary="One scenario: its knobs and document",
            responses=BOTH)
def get_scenario(name: ScenarioName, state: State) -> ScenarioDetail:
    path = _scenario_file(state, name)
    document = _read(path)
    scenario = validate(Scenario, document, file=path.name)
    return ScenarioDetail(name=name, file=path.name, description=scenario.description.strip(),
                          knobs=_knobs(scenario), document=jsonable(document))


def _analysis(state: WebState, name: str, kind: str, scenario: Scenario, notes: list[str], params: tuple[Any, ...],
              run: Any) -> Analysis:
    def compute() -> dict[str, Any]:
        with state.analysis_slots:  # SI with the unit in every key, as the CLI's JSON (units.si_document)
            return jsonable(si_document(run()))

    result = state.cache.get(analyses.cache_key(kind, scenario, params), compute)
    return Analysis(scenario=name, kind=kind, notes=notes, result=result)


@router.post("/scenarios/{name}/estimate", response_model=Analysis, summary="Performance of every job",
             responses=BOTH)
def estimate(name: ScenarioName, body: ScenarioRequest, state: State) -> Analysis:
    """Step time, MFU, memory and time to train of each job: its layout, or the planner's best (about 1 s)."""
    scenario, notes, _, _ = _load(state, name, body.overrides)
    return _analysis(state, name, "estimate", scenario, notes, (), lambda: analyses.estimate_document(scenario))


@router.post("/scenarios/{name}/plan", response_model=Analysis, summary="Best parallel layouts of one job",
             responses=BOTH)
def plan(name: ScenarioName, body: PlanRequest, state: State) -> Analysis:
    """The planner's ten best layouts for a job (default: the first), and why the best wins."""
    scenario, notes, _, _ = _load(state, name, body.overrides)
    return _analysis(state, name, "plan", scenario, notes, (body.job,),
                     lambda: analyses.plan_document(scenario, body.job))


@router.post("/scenarios/{name}/power", response_model=Analysis, summary="Power demand, supply and deficit",
             responses=BOTH)
def power(name: ScenarioName, body: PowerRequest, state: State) -> Analysis:
    """Demand bottom up, supply, the best response to a deficit, swings, energy and emissions."""
    scenario, notes, _, path = _load(state, name, body.overrides)
    return _analysis(state, name, "power", scenario, notes, (body.supply_mw, body.day, path.name),
                     lambda: analyses.power_analysis(scenario, supply_mw=body.supply_mw, day=body.day, file=path.name))


@router.post("/scenarios/{name}/reliability", response_model=Analysis, summary="Interruptions and goodput of a job",
             responses=BOTH)
def reliability(name: ScenarioName, body: ReliabilityRequest, state: State) -> Analysis:
    """Failure rates, checkpoint cost and interval, goodput (closed form; Monte Carlo with ``runs``), spares."""
    scenario, notes, _, _ = _load(state, name, body.overrides)
    return _analysis(state, name, "reliability", scenario, notes, (body.job, body.runs, body.deadline_days),
                     lambda: analyses.reliability_document(scenario, job_name=body.job, runs=body.runs,
                                                           deadline_days=body.deadline_days))


# --- simulations ---------------------------------------------------------------------------


def _run_id(scenario: str) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime())
    return f"{scenario[:96]}-{stamp}"


def _new_run_id(state: WebState, stem_name: str) -> str:
    """A run id no folder and no job has yet (two runs in the same second get distinct folders)."""
    stem = _run_id(stem_name)
    run_id = stem
    for n in range(2, 1000):
        if not (state.folders.runs / run_id).exists() and all(j.run_id != run_id for j in state.jobs.jobs()):
            break
        run_id = f"{stem}-{n}"
    return run_id


@router.post("/scenarios/{name}/simulate", response_model=JobInfo, status_code=202,
             summary="Start a simulation in the background",
             responses={202: {"description": "queued; poll GET /api/jobs/{id}"}, **BOTH,
                        429: {"model": ErrorBody,
                              "description": "every worker is busy and the queue is full; retry later"}})
def simulate(name: ScenarioName, body: SimulateRequest, state: State, response: Response) -> JobInfo:
    """Validate now (a bad override is a 422 at once), then simulate in a worker process.

    At most ``max_concurrent`` simulations run at once; further jobs wait in a
    queue of ``max_queued`` (status ``queued``); beyond that the answer is 429
    with ``Retry-After``. The results go to the runs folder under the job's
    ``run_id`` (results, ``report.html``, ``request.json``).
    """
    scenario, notes, document, path = _load(state, name, body.overrides)
    run_id = _new_run_id(state, name)
    out_dir = state.folders.new_run_dir(run_id)
    overrides = body.overrides.model_dump(mode="json", exclude_unset=True)
    request = {"scenario": name, "file": path.name, "overrides": overrides, "document": document}
    task = {"document": document, "file": path.name, "base_dir": str(path.parent), "out_dir": str(out_dir),
            "request": request}
    try:
        job = state.jobs.submit(scenario=name, days=scenario.simulation.days, run_id=run_id, task=task, notes=notes)
    except QueueFull as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "10"}) from None
    response.headers["Location"] = f"/api/jobs/{job.id}"
    return job.info()


@router.post("/scenarios/{name}/forecast", response_model=JobInfo, status_code=202,
             summary="Start a forecast in the background: will a job finish by a day",
             responses={202: {"description": "queued; poll GET /api/jobs/{id}"}, **BOTH,
                        429: {"model": ErrorBody,
                              "description": "every worker is busy and the queue is full; retry later"}})
def forecast(name: ScenarioName, body: ForecastRequest, state: State, response: Response) -> JobInfo:
    """Validate now, then run ``runs`` draws of the facility simulation in a worker process (as
    ``colossus forecast``); the job's summary is the answer (P(finish by the day), finish-day
    P10/P50/P90, tokens by the day, the drivers) with its figures. Queued like a simulation."""
    scenario, notes, document, path = _load(state, name, body.overrides)
    try:
        job = pick_job(scenario, body.job)
    except SpecError as exc:  # a 409 naming the field, as an override the scenario rejects
        raise exc.located(file=path.name) from None
    run_id = _new_run_id(state, f"{name}-forecast")
    out_dir = state.folders.new_run_dir(run_id)
    overrides = body.overrides.model_dump(mode="json", exclude_unset=True)
    request = {"scenario": name, "file": path.name, "overrides": overrides, "job": job.name, "by_day": body.by_day,
               "runs": body.runs, "seed": body.seed}
    task = {"document": document, "file": path.name, "base_dir": str(path.parent), "out_dir": str(out_dir),
            "request": request, "job": job.name, "by_day": body.by_day, "runs": body.runs, "seed": body.seed}
    try:
        queued = state.jobs.submit(scenario=name, days=body.by_day, run_id=run_id, task=task, notes=notes,
                                   kind=JobKind.FORECAST)
    except QueueFull as exc:
        raise HTTPException(429, str(exc), headers={"Retry-After": "10"}) from None
    response.headers["Location"] = f"/api/jobs/{queued.id}"
    return queued.info()


@router.get("/jobs", response_model=list[JobInfo], summary="Simulation jobs, newest first (without summaries)")
def list_jobs(state: State) -> list[JobInfo]:
    return [job.info(with_summary=False) for job in state.jobs.jobs()]


@router.get("/jobs/{job_id}", response_model=JobInfo, summary="Status, progress and, when done, the summary",
            responses=NOT_FOUND)
def get_job(job_id: JobId, state: State) -> JobInfo:
    job = state.jobs.get(job_id)
    if job is None:
        raise _not_found("job", job_id)
    return job.info()


@router.delete("/jobs/{job_id}", response_model=JobInfo, summary="Cancel a queued job",
               responses={**NOT_FOUND, 409: {"model": ErrorBody, "description": "the job runs or has ended"}})
def cancel_job(job_id: JobId, state: State) -> JobInfo:
    try:
        job = state.jobs.cancel(job_id)
    except NotCancellable as exc:
        raise HTTPException(409, str(exc)) from None
    if job is None:
        raise _not_found("job", job_id)
    return job.info()


# --- stored runs ---------------------------------------------------------------------------


def _run_dir(state: WebState, run_id: str) -> Path:
    path = state.folders.run_dir(run_id)
    if path is None:
        raise _not_found("run", run_id)
    return path


@router.get("/runs", response_model=list[RunItem], summary="Stored runs (folders with a summary.json), newest first")
def list_runs(state: State) -> list[RunItem]:
    items = []
    for run_id in state.folders.run_ids():
        path = state.folders.run_dir(run_id)
        if path is None:
            continue
        try:
            items.append(stored.run_item(run_id, path))
        except ColossusError:
            continue  # a folder whose summary cannot be read is not listed as a run
    return sorted(items, key=lambda r: r.created_s, reverse=True)


@router.get("/runs/{run_id}", response_model=RunDetail, summary="A run's summary, key numbers and tables",
            responses=BOTH)
def get_run(run_id: RunId, state: State) -> RunDetail:
    return stored.run_detail(run_id, _run_dir(state, run_id))


@router.get("/runs/{run_id}/figures", summary="The report's figures as Plotly JSON",
            responses={**BOTH, 200: {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "names": {"type": "array", "items": {"type": "string"}},
                "captions": {"type": "object", "additionalProperties": {"type": "string"}},
                "figures": {"type": "object", "additionalProperties": {"type": "object"}}}}}}}})
def get_figures(run_id: RunId, state: State,
                max_points: Annotated[int, Query(ge=10, le=20_000, description="points per trace at most")] = 2000,
                ) -> Response:
    text = stored.figures_json(_run_dir(state, run_id), max_points)
    return Response(content=text, media_type="application/json")


@router.get("/runs/{run_id}/timeseries", response_model=Series, summary="Columns of the time series, thinned",
            responses=BOTH)
def get_timeseries(
    run_id: RunId, state: State,
    columns: Annotated[list[str] | None,
                       Query(max_length=64, description="columns (default: all); time_s always")] = None,
    max_points: Annotated[int, Query(ge=10, le=100_000, description="points per column at most")] = 2000,
) -> Series:
    try:
        return stored.series(run_id, _run_dir(state, run_id), columns, max_points)
    except ValueError as exc:  # a column the run does not have: not found in this run
        raise HTTPException(404, str(exc)) from None


@router.get("/runs/{run_id}/events", response_model=EventPage, summary="One page of the event log",
            responses=BOTH)
def get_events(
    run_id: RunId, state: State,
    offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    kind: Annotated[str | None, Query(max_length=64, description="only events of this kind")] = None,
    job: Annotated[str | None, Query(max_length=128, description="only events of this job")] = None,
) -> EventPage:
    return stored.events(run_id, _run_dir(state, run_id), offset=offset, limit=limit, kind=kind, job=job)


@router.get("/runs/{run_id}/report", response_class=FileResponse, summary="The run's self-contained HTML report",
            responses={**NOT_FOUND, 200: {"content": {"text/html": {}}}})
def get_report(run_id: RunId, state: State) -> FileResponse:
    path = state.folders.run_file(run_id, REPORT)
    if path is None:
        raise _not_found("report of run", run_id)
    return FileResponse(path, media_type="text/html")


@router.get("/compare", response_model=Comparison, summary="Key numbers of several runs side by side",
            responses=BOTH)
def compare(state: State, run: Annotated[list[Annotated[str, StringConstraints(pattern=NAME_PATTERN)]], Query(
        min_length=1, max_length=MAX_COMPARED, description="run ids, two or more to compare")]) -> Comparison:
    found = []
    for run_id in dict.fromkeys(run):
        found.append((run_id, _run_dir(state, run_id)))
    return stored.compare(found)


# --- sweeps --------------------------------------------------------------------------------


@router.get("/sweeps", response_model=list[SweepItem], summary="Sweep stores (colossus sweep) in the runs folder")
def list_sweeps(state: State) -> list[SweepItem]:
    items = []
    for sweep_id in state.folders.sweep_ids():
        store = state.folders.sweep_store(sweep_id)
        if store is not None:
            items.append(stored.sweep_item(sweep_id, store, list(state.folders.sweep_plots(sweep_id))))
    return items


@router.get("/sweeps/{sweep_id}", response_model=SweepRows, summary="One page of a sweep's table of runs",
            responses=BOTH)
def get_sweep(sweep_id: SweepId, state: State, offset: Annotated[int, Query(ge=0, le=10**9)] = 0,
              limit: Annotated[int, Query(ge=1, le=5000)] = 500) -> SweepRows:
    store = state.folders.sweep_store(sweep_id)
    if store is None:
        raise _not_found("sweep", sweep_id)
    return stored.sweep_rows(sweep_id, store, offset=offset, limit=limit)


@router.get("/sweeps/{sweep_id}/plots/{kind}", response_class=FileResponse, summary="A sweep's HTML plot",
            responses={**NOT_FOUND, 200: {"content": {"text/html": {}}}})
def get_sweep_plot(sweep_id: SweepId, kind: Annotated[str, PathParam(pattern=NAME_PATTERN)],
                   state: State) -> FileResponse:
    path = state.folders.sweep_plots(sweep_id).get(kind)
    if path is None:
        raise _not_found(f"{kind} plot of sweep", sweep_id)
    return FileResponse(path, media_type="text/html")
