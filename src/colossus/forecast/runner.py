"""Run a forecast: draws on the sweep backends, each stored as it finishes, resumed from the store.

``forecast(scenario, job=..., by_day=..., runs=..., seed=..., backend=...)``
is the whole use case. The order of work follows the sweep's, and reuses its
parts: the backends (``sweep.backends``: a process pool, Ray, or ``inline``
in this process) run tasks that name this module's ``run_draws``; the rows go
to a ``sweep.RunStore`` (one DuckDB table, one row per draw: the draw's
inputs beside its outputs) keyed by (hash of the scenario and the draw's
inputs, simulation seed, ``forecast``, simulated days). Draws already in the
store are not run again, so an interrupted forecast resumes, and one asked
for more runs simulates only the new draws.

**The simulated period.** A draw's history depends on its period (failures
are drawn for the whole period up front), so each draw's period is a function
of its *inputs* only, never of how it turned out: ``horizon.factor`` times its
expected finish (the build-out's earliest start with its drawn slip, plus the
closed-form run time with failures at its drawn throughput and failure rate,
``reliability``), at least the date asked about, at most ``horizon.cap_factor``
times the date. A draw that has not finished by the end of its period counts
as not finished by the date (its period reaches the date) and as finishing
after every draw that did. If fewer than 90% of the draws finish, and a
longer period would reach a late draw (it is not at the cap already), the
factor grows by ``horizon.extension_factor`` and the draws whose period grows
are simulated again (their shorter histories stay in the store), at most
``horizon.max_extensions`` times; a quantile among unfinished draws is then
reported as beyond the period. An explicit ``days`` gives every draw that
period (no extension).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date
import hashlib
import json
import math
from pathlib import Path
import time
from typing import Any

from colossus import units
from colossus.errors import ColossusError, InfeasibleError, SpecError
from colossus.forecast.answer import Forecast, Question, answer, tokens_grid
from colossus.forecast.sources import Draw, apply_draw, default, make_draws, sources
from colossus.spec import Scenario, load_scenario, validate
from colossus.spec.bounds import MAX_DAYS, MAX_SEED
from colossus.sweep.backends import make_backend, runner_of
from colossus.sweep.plan import Task, content_hash
from colossus.sweep.run import flatten_summary
from colossus.sweep.store import RunStore

#: The kind of a forecast's rows in the store.
KIND = "forecast"
#: The function the backends run for a draw.
RUNNER = "colossus.forecast.runner:run_draws"
#: Draws of one forecast: each is a facility simulation, and a row.
MAX_RUNS = 100_000
BACKENDS: tuple[str, ...] = ("local", "ray", "inline")

Progress = Callable[[int, int], None]
Stage = Callable[[float, int], None]


class ForecastInterrupted(KeyboardInterrupt):
    """A forecast stopped by Ctrl-C or SIGTERM after storing every draw that had finished."""

    def __init__(self, stored: int, store: str) -> None:
        self.stored = stored
        self.store = store
        super().__init__(f"interrupted: {stored} draws stored in {store}")


# --- one draw (in a worker) ---------------------------------------------------------------------


def draw_key(inputs: tuple[tuple[str, Any], ...]) -> str:
    """The draw's identity: sha256 of its inputs (the base scenario's hash among them)."""
    text = json.dumps([list(p) for p in inputs], separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


_BASE: dict[str, Scenario] = {}


def _base(document: Scenario | Mapping[str, Any], digest: str) -> Scenario:
    """The base scenario (validated once per process when it comes as a raw document)."""
    if isinstance(document, Scenario):
        return document
    if digest not in _BASE:
        _BASE.clear()
        _BASE[digest] = validate(Scenario, dict(document))
    return _BASE[digest]


def base_hash(scenario: Scenario) -> str:
    """The base scenario's identity: its content (catalog entries expanded) and which fields its file set.

    Both, because a field left out can mean "open" (a layout's recompute left to the planner) while a
    dump of the validated scenario writes its default.
    """
    given = json.dumps(scenario.model_dump(mode="json", exclude_unset=True), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256((content_hash(scenario) + given).encode("utf-8")).hexdigest()


def _outputs(result: Any, job: str, days: float) -> dict[str, Any]:
    import numpy as np  # noqa: PLC0415

    row = next(j for j in result.summary["jobs"] if j["name"] == job)
    finished, started = row.get("finished_at_s"), row.get("start_s")
    ts = result.timeseries
    grid = tokens_grid(days)
    tokens = np.interp(grid * units.DAY, ts["time_s"], ts[f"tokens:{job}"])
    site = {k: v for k, v in flatten_summary(result.summary).items() if k not in ("days", "seed", "scenario")}
    return {
        "finish_day": None if finished is None else float(finished) / units.DAY,
        "start_day": None if started is None else float(started) / units.DAY,
        "tokens_daily": json.dumps([float(t) for t in tokens]),
        "simulated_to_day": float(result.days),  # the job's finish, or the end of the period
        **site,
    }


def simulate_until_done(scenario: Scenario, job_name: str, *, seed: int, days: float,
                        base_dir: str | None) -> Any:
    """The facility simulation of one draw, stopped at the instant ``job_name`` finishes (or at ``days``).

    A draw needs nothing after its job has finished, and a simulation's cost grows with its period
    (about a fifth of a forecast's time went to simulating finished jobs). The history up to the stop is
    exactly the one the full period gives (failures and outages are drawn for the whole period up front),
    so the job's finish, start and tokens are the same; only the site-wide totals stored beside them
    cover the shorter period.

    It stops the engine by ending its period at the finish (``end_s`` and ``days``, read by the loop and
    by the summary), from a subclass that watches ``_finish``: the engine has no public stop condition.
    An engine without those falls back to the whole period (slower, the same answer); a test notices.
    """
    from colossus.sim import engine as sim_engine  # noqa: PLC0415 (the engine: only workers need it)

    base = Path(base_dir) if base_dir else None
    engine_cls = sim_engine.Engine
    if not all(hasattr(engine_cls, name) for name in ("_finish", "run")):
        return sim_engine.simulate(scenario, seed=seed, days=days, base_dir=base)

    class UntilDone(engine_cls):  # type: ignore[misc, valid-type]
        record_quiet_instants = False  # a draw reads its job's progress and the totals, not every repeated row

        def _finish(self, job: Any, t: float) -> None:
            super()._finish(job, t)
            if job.named and job.name == job_name and t < float(getattr(self, "end_s", math.inf)):
                self.end_s, self.days = t, t / units.DAY  # the loop ends after this instant's events

    return UntilDone(scenario, seed=seed, days=days, base_dir=base).run()


def run_draws(document: Scenario | Mapping[str, Any], seeds: tuple[int, ...], kind: str, days: float | None,
              inputs: tuple[tuple[str, Any], ...] = (), base_dir: str | None = None) -> list[dict[str, Any]]:
    """Simulate one draw per seed (a task holds one): the backends' unit of work, ``run_task``'s signature."""
    meta = dict(inputs)
    base = _base(document, str(meta["forecast.base_hash"]))
    values = {k.removeprefix("draw."): float(v) for k, v in meta.items()
              if k.startswith("draw.") and k != "draw.index"}
    assert days is not None
    rows = []
    for seed in seeds:
        start = time.perf_counter()
        job = str(meta["forecast.job"])
        scenario = apply_draw(base, job, values, days=days, fillers=bool(meta["forecast.fillers"]))
        try:
            result = simulate_until_done(scenario, job, seed=seed, days=days, base_dir=base_dir)
        except InfeasibleError as exc:
            outputs: dict[str, Any] = {"error": str(exc)}
        else:
            outputs = _outputs(result, job, days)
        error = outputs.pop("error", None) or outputs.get(f"{job}.error") or None
        rows.append({"content_hash": draw_key(inputs), "seed": int(seed), "kind": kind, "days": float(days),
                     "scenario": base.name, "error": error, **dict(inputs), **outputs,
                     "wall_s": time.perf_counter() - start})
    return rows


class InlineBackend:
    """Runs tasks one after the other in this process (a dashboard worker, tests, one core)."""

    name = "inline"

    def __init__(self) -> None:
        self.leftover: list[dict[str, Any]] = []

    def run(self, tasks: list[Task]) -> Iterator[dict[str, Any]]:
        self.leftover = []
        for task in tasks:
            yield from runner_of(task)(task.document, task.seeds, task.kind, task.days, task.inputs, task.base_dir)


# --- the question ----------------------------------------------------------------------------------


def by_day_of(by: float | int | str | date, start_date: date | None, *, option: str = "by") -> tuple[float, str | None]:
    """A day number, or an ISO date counted from ``start_date``: (day, the date as ISO or None)."""
    if isinstance(by, (int, float)) and not isinstance(by, bool):
        day, when = float(by), None
    else:
        text = by.isoformat() if isinstance(by, date) else str(by).strip()
        try:
            day, when = float(text), None
        except ValueError:
            try:
                when_date = date.fromisoformat(text)
            except ValueError:
                raise SpecError(f"{option}: '{text}' is neither a day number nor an ISO date (YYYY-MM-DD)") from None
            if start_date is None:
                raise SpecError(f"{option}: a date needs the scenario's start_date (the date of day 0), or give"
                                " a day number") from None
            day, when = float((when_date - start_date).days), when_date.isoformat()
    if not (math.isfinite(day) and 0 < day <= MAX_DAYS):
        raise SpecError(f"{option}: the date must fall after day 0 and by day {MAX_DAYS:g} (got day {day:g})")
    return day, when


def pick_job_name(scenario: Scenario, job: str | None) -> str:
    from colossus.reliability.scenario import pick_job  # noqa: PLC0415

    return pick_job(scenario, job).name


def _job_input(scenario: Scenario, job_name: str) -> Any:
    """The job as the reliability model sees it; an ``InfeasibleError`` if no layout of it fits its pool
    (every draw would wait for ever: a forecast says so at once instead)."""
    from colossus.perf.jobs import located_job_perf  # noqa: PLC0415
    from colossus.reliability.scenario import scenario_job_input  # noqa: PLC0415

    index, job = next((i, j) for i, j in enumerate(scenario.jobs) if j.name == job_name)
    located_job_perf(scenario.cluster, job, index)  # raises InfeasibleError (or SpecError) at jobs[index], naming why
    try:
        return scenario_job_input(scenario, job)[0]
    except ColossusError:
        return None


def nominal_finish_day(scenario: Scenario, job_name: str, base_input: Any = None) -> float | None:
    """The build-out's earliest start plus the closed-form run time with failures, as ``scenario`` sets
    them (its drawn throughput, the simulation's failure scaling); None if the closed form has no answer.

    ``base_input`` (the job's ``reliability.JobInput`` on the undrawn scenario) saves the perf estimate
    when many draws of one scenario are asked: a draw changes only what is scaled here.
    """
    from colossus import reliability as rel  # noqa: PLC0415
    from colossus.reliability.scenario import earliest_start_s  # noqa: PLC0415

    job = next(j for j in scenario.jobs if j.name == job_name)
    job_input = base_input if base_input is not None else _job_input(scenario, job_name)
    if job_input is None:
        return None
    try:
        start_s = max(earliest_start_s(scenario, job), job.start_day * units.DAY)
        job_input = replace(job_input, tokens_per_s=job_input.tokens_per_s * job.throughput_scale,
                            rate_scale=scenario.reliability.rate_scale * scenario.simulation.failures.rate_scale)
        run_s = rel.analyse(job_input).goodput.expected_finish_s
    except ColossusError:
        return None
    total = (start_s + run_s) / units.DAY
    return total if math.isfinite(total) else None


def horizon_of(by_day: float, nominal_day: float | None, factor: float) -> float:
    """A draw's simulated period: ``factor`` x its expected finish, at least the date, at most the cap.

    The cap (``horizon.cap_factor`` x the date) keeps a draw the closed form calls hopeless (or cannot
    answer) from simulating years: its finish is then reported as beyond the period.
    """
    cap = min(MAX_DAYS, by_day * float(default("horizon.cap_factor")))
    want = cap if nominal_day is None else nominal_day * factor
    return float(min(MAX_DAYS, math.ceil(min(cap, max(by_day, want)) * 100.0 - 1e-9) / 100.0))  # to 15 minutes


def scope(fillers: bool) -> dict[str, Any]:
    """What every draw includes, and what a forecast leaves out."""
    return {
        "includes": ["build-out and burn-in (with its slip)", "scheduler: priority, preemption, hot spares,"
                     " elastic restarts", "failures and repairs of the fleet (rates with their spread)",
                     "rack, leaf and feeder failure domains", "generator outages (availability with its doubt)",
                     "the grid contract date (with its slip)", "the power response (caps, parked jobs)",
                     "the performance model's measured error"],
        "leaves_out": [
            *([] if fillers else ["filler jobs (they rank below the named job; forecast.fillers: true adds them)"]),
            "a step-time error beyond the validation families' (a model or stack unlike any validated one)",
            "dependence between the sources (each is drawn on its own)",
            "changes of plan during the run (a new contract, a redesign)"],
        "times_count_from": "day 0 of the scenario",
    }


# --- the run ---------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Plan:
    document: Scenario
    base_hash: str
    job: str
    fillers: bool
    seed: int
    base_dir: str | None
    draws: tuple[Draw, ...]
    nominal: tuple[float | None, ...]  # each draw's closed-form expected finish, day

    def inputs(self, draw: Draw) -> tuple[tuple[str, Any], ...]:
        return (("forecast.base_hash", self.base_hash), ("forecast.job", self.job),
                ("forecast.fillers", self.fillers), ("forecast.seed", self.seed), *draw.inputs(),
                ("draw.nominal_finish_day", self.nominal[draw.index]))

    def keys(self, horizons: list[float]) -> list[tuple[str, int, str, float]]:
        return [(draw_key(self.inputs(d)), d.sim_seed, KIND, h) for d, h in zip(self.draws, horizons)]

    def tasks(self, horizons: list[float], skip: set[tuple[str, int, str, float]]) -> list[Task]:
        out = []
        for draw, h, key in zip(self.draws, horizons, self.keys(horizons)):
            if key not in skip:
                out.append(Task(self.document, (draw.sim_seed,), KIND, h, self.inputs(draw), self.base_dir,
                                runner=RUNNER))
        return out


def _backend(name: str, workers: int | None, address: str | None) -> Any:
    if name == "inline":
        return InlineBackend()
    if name not in BACKENDS:
        raise SpecError(f"backend: '{name}' is not one of {', '.join(BACKENDS)}")
    return make_backend(name, workers=workers, address=address)


def _run_pass(plan: _Plan, horizons: list[float], store: RunStore, backend: Any,
              progress: Progress | None) -> list[dict[str, Any]]:
    keys = plan.keys(horizons)
    tasks = plan.tasks(horizons, store.keys(KIND) & set(keys))
    expected = set(keys)
    stored = 0
    try:
        for row in backend.run(tasks):
            if (row["content_hash"], row["seed"], row["kind"], row["days"]) not in expected:
                raise RuntimeError("a draw came back with a key the forecast does not have")
            store.insert(row)
            stored += 1
            if progress:
                progress(stored, len(tasks))
    except KeyboardInterrupt:
        for row in getattr(backend, "leftover", ()):
            store.insert(row)
            stored += 1
        raise ForecastInterrupted(stored, str(store.path)) from None
    return store.rows(keys)


def _passes(plan: _Plan, db: RunStore, runner: Any, *, day: float, days: float | None, factor: float,
            extensions: int, progress: Progress | None,
            on_pass: Stage | None) -> tuple[list[dict[str, Any]], list[float], list[float]]:
    """Run the draws, lengthening the periods while too few finish; the rows, periods and factors tried."""
    wanted = float(default("horizon.finished_frac_wanted"))
    grow = float(default("horizon.extension_factor"))
    runs = len(plan.draws)
    tried: list[float] = []
    while True:
        horizons = [float(days)] * runs if days is not None else [horizon_of(day, n, factor) for n in plan.nominal]
        tried.append(factor)
        if on_pass:
            on_pass(max(horizons), len(plan.tasks(horizons, db.keys(KIND))))
        rows = _run_pass(plan, horizons, db, runner, progress)
        if all(r.get("error") for r in rows):
            raise ColossusError(f"job '{plan.job}': no draw could run it ({rows[0]['error']})")
        late = [i for i, r in enumerate(rows) if r.get("finish_day") is None and not r.get("error")]
        if runs - len(late) >= wanted * runs or extensions == 0:
            return rows, horizons, tried
        if all(horizon_of(day, plan.nominal[i], factor * grow) == horizons[i] for i in late):
            return rows, horizons, tried  # every late draw is at the cap already: a longer period cannot help
        extensions -= 1
        factor *= grow


def _resolve(scenario: Scenario | str | Path) -> tuple[Scenario, str | None]:
    if isinstance(scenario, Scenario):
        return scenario, None
    path = Path(scenario)
    return load_scenario(path), str(path.resolve().parent)


def forecast(
    scenario: Scenario | str | Path,
    *,
    job: str | None = None,
    by_day: float | str | date,
    runs: int = 64,
    seed: int | None = None,
    backend: str = "local",
    workers: int | None = None,
    address: str | None = None,
    days: float | None = None,
    store: str | Path | None = None,
    progress: Progress | None = None,
    on_pass: Stage | None = None,
    base_dir: str | None = None,
    start_date: date | None = None,
) -> Forecast:
    """Will ``job`` finish by ``by_day`` (a day, or an ISO date with the scenario's ``start_date``)?

    ``runs`` draws (``seed``: the scenario's unless given) on ``backend``
    (``local`` process pool, ``ray``, or ``inline`` in this process), stored
    in ``store`` (a DuckDB file, resumed; None: in memory). ``days`` fixes the
    simulated period. ``progress(done, total)`` after each draw,
    ``on_pass(longest_period_day, draws_to_run)`` before each pass.
    ``base_dir``: where the scenario's relative paths start (default: the
    file's folder); ``start_date``: the date of day 0 (default: the scenario's).
    """
    sc, file_dir = _resolve(scenario)
    base_dir = base_dir or file_dir
    name = pick_job_name(sc, job)
    if not (isinstance(runs, int) and not isinstance(runs, bool) and 1 <= runs <= MAX_RUNS):
        raise SpecError(f"runs: must be a whole number from 1 to {MAX_RUNS:,} (got {runs!r})")
    seed = sc.seed if seed is None else seed
    if not (isinstance(seed, int) and not isinstance(seed, bool) and 0 <= seed <= MAX_SEED):
        raise SpecError(f"seed: must be a whole number from 0 to {MAX_SEED} (got {seed!r})")
    start_date = start_date or sc.start_date
    day, when = by_day_of(by_day, start_date)
    if days is not None and not (math.isfinite(days) and day <= days <= MAX_DAYS):
        raise SpecError(f"days: the simulated period must reach the date (day {day:g}) and at most"
                        f" {MAX_DAYS:g} days (got {days!r})")
    runner = _backend(backend, workers, address)
    fillers = bool(sc.forecast.fillers if sc.forecast.fillers is not None else default("draws.fillers"))
    all_sources = sources(sc, name)
    draws = tuple(make_draws(all_sources, seed, runs))
    base_input = _job_input(sc, name)
    nominal = tuple(nominal_finish_day(apply_draw(sc, name, d.values, days=sc.simulation.days, fillers=False), name,
                                       base_input) for d in draws)
    plan = _Plan(sc, base_hash(sc), name, fillers, seed, base_dir, draws, nominal)  # the scenario itself travels
    factor = float(sc.forecast.horizon_factor if sc.forecast.horizon_factor is not None else default("horizon.factor"))
    extensions = 0 if days is not None else int(sc.forecast.max_extensions if sc.forecast.max_extensions is not None
                                                 else default("horizon.max_extensions"))
    with RunStore(store if store is not None else ":memory:") as db:
        rows, horizons, tried = _passes(plan, db, runner, day=day, days=days, factor=factor, extensions=extensions,
                                        progress=progress, on_pass=on_pass)
    job_spec = next(j for j in sc.jobs if j.name == name)
    question = Question(sc.name, name, day, when, start_date.isoformat() if start_date else None, seed,
                        fillers, job_spec.train_tokens, nominal_finish_day(sc, name, base_input), scope(fillers))
    return answer(question, rows, all_sources, horizons=horizons, factors_tried=tried,
                  store=None if store is None else str(store))


__all__ = ["BACKENDS", "ForecastInterrupted", "InlineBackend", "KIND", "MAX_RUNS", "RUNNER", "by_day_of", "draw_key",
           "forecast", "horizon_of", "nominal_finish_day", "run_draws", "scope"]
