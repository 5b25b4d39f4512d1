"""The public API: one function per question, each returning a typed, frozen result.

The command line, the dashboard and notebooks call these functions; they are
the one place that composes the models, the results store and the report for
a use case. Every result is a frozen dataclass whose fields end in their SI
unit (``step_time_s``, ``mean_demand_w``), with ``to_json()`` (one strict JSON
document, SI keys throughout) and ``to_pandas()`` (a table: one row, or one
row per item). The documents the CLI prints are in ``document``.

>>> import colossus as c
>>> r = c.simulate("scenarios/colossus-memphis.yaml", days=10, seed=1)  # doctest: +SKIP
>>> r.summary.jobs[0].name, r.timeseries.to_pandas().shape  # doctest: +SKIP

A scenario argument is a path to a YAML file or a ``Scenario`` already loaded.
Heavy modules load on first call, so ``import colossus`` stays instant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import date
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

from colossus import metrics, units
from colossus.errors import InfeasibleError, RunInterrupted, SpecError, did_you_mean

if TYPE_CHECKING:  # loaded on first call
    import pandas as pd

    from colossus.forecast.answer import Forecast
    from colossus.perf.assumptions import PerfAssumptions
    from colossus.perf.estimate import Estimate
    from colossus.sim.result import SimResult
    from colossus.spec import JobSpec, ModelSpec, RunSpec, Scenario
    from colossus.sweep import SweepOutcome

# --- results: the shared behaviour ----------------------------------------------------


def _jsonable(value: Any) -> Any:
    """Plain JSON values: numpy scalars and arrays to Python, NaN and infinities to None, tuples to lists."""
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Path):
        return str(value)
    return value


class _Result:
    """``to_dict`` / ``to_json`` / ``to_pandas`` for the frozen result dataclasses below."""

    #: Fields that hold model objects or whole documents, left out of rows and of ``to_dict``.
    _internal: tuple[str, ...] = ("document",)

    def _scalars(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in fields(self):  # type: ignore[arg-type]
            if f.name in self._internal or f.name.startswith("_"):
                continue
            value = getattr(self, f.name)
            if isinstance(value, _Result):
                continue
            if isinstance(value, (tuple, list)) and value and isinstance(value[0], _Result):
                out[f.name] = [v.to_dict() for v in value]
                continue
            out[f.name] = value
        return out

    def to_dict(self) -> dict[str, Any]:
        """The result's fields as plain JSON values (SI, the unit in every key)."""
        from colossus.units import si_document  # noqa: PLC0415

        return si_document(_jsonable(self._scalars()))  # type: ignore[return-value]

    def to_json(self, *, indent: int | None = 2) -> str:
        """One strict JSON document (sorted keys, SI units; NaN as null)."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True, allow_nan=False)

    def to_pandas(self) -> pd.DataFrame:
        """A one-row table of the scalar fields."""
        import pandas as pd  # noqa: PLC0415

        row = {k: v for k, v in self.to_dict().items() if not isinstance(v, (list, dict))}
        return pd.DataFrame([row])


@dataclass(frozen=True)
class Table(_Result):
    """A column table (``name -> numpy array``), as the results store writes it."""

    name: str
    columns: Mapping[str, Any] = field(repr=False)

    @property
    def num_rows(self) -> int:
        return 0 if not self.columns else int(len(next(iter(self.columns.values()))))

    def to_pandas(self) -> pd.DataFrame:
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame({k: list(v) if str(getattr(v, "dtype", "")) == "object" else v
                             for k, v in self.columns.items()})

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "columns": _jsonable(dict(self.columns))}


# --- load ---------------------------------------------------------------------------------


def load(path: str | Path) -> Scenario:
    """A scenario file, validated (``SpecError`` naming the file and field when it is not)."""
    from colossus.spec import load_scenario  # noqa: PLC0415

    return load_scenario(path)


def _scenario(scenario: str | Path | Scenario) -> tuple[Scenario, Path | None, str | None]:
    """(scenario, the folder its relative paths start from, the file name) of a path or a Scenario."""
    if isinstance(scenario, (str, Path)):
        return load(scenario), Path(scenario).parent, str(scenario)
    return scenario, None, None


def _job(spec: Scenario, name: str | None, *, file: str | None) -> JobSpec:
    """The job called ``name``, or the scenario's first (``SpecError`` naming the file and the choices)."""
    from colossus.reliability.scenario import pick_job  # noqa: PLC0415

    try:
        return pick_job(spec, name)
    except SpecError as exc:
        raise (exc.located(file=file) if file and exc.file is None else exc) from None


# --- estimate and plan ---------------------------------------------------------------------


@dataclass(frozen=True)
class EstimateResult(_Result):
    """How fast one job (or one measured run) trains, and in how long."""

    name: str  # the job's or the run's
    model: str
    gpu: str
    num_gpus: int
    layout: str
    planned: bool  # the planner chose the layout
    step_time_s: float
    mfu: float
    model_flop_per_s_per_gpu: float
    tokens_per_s_per_gpu: float
    tokens_per_s: float
    global_batch_tokens: float
    memory_per_gpu_bytes: float
    hbm_bytes: float
    fits: bool
    train_tokens: float
    time_to_train_s: float
    bound: str
    breakdown_s: Mapping[str, float]
    # the central 80% of where the throughput really lands, from the model's errors on published families
    # it was not fitted to (colossus.forecast.step_time.PredictionRange); the time to train inversely
    low_tokens_per_s: float
    high_tokens_per_s: float
    short_time_to_train_s: float
    long_time_to_train_s: float
    pool: str | None = None
    estimate: Estimate | None = field(default=None, repr=False, compare=False)
    _internal = ("document", "estimate")

    @classmethod
    def of(cls, est: Estimate, *, name: str, model: str, gpu: str, train_tokens: float, planned: bool,
           global_batch_tokens: float, pool: str | None = None) -> EstimateResult:
        from colossus.forecast.step_time import prediction_range  # noqa: PLC0415

        rate = est.tokens_per_s_per_gpu * est.num_gpus
        time_s = train_tokens / rate if rate > 0 else math.inf
        band = prediction_range(moe=est.moe)
        (low, high), (short, long) = band.throughput(rate), band.duration(time_s)
        return cls(name=name, model=model, gpu=gpu, num_gpus=est.num_gpus, layout=est.layout_label, planned=planned,
                   step_time_s=est.step_time_s, mfu=est.mfu,
                   model_flop_per_s_per_gpu=est.tflops_per_gpu * units.TFLOP_PER_S,
                   tokens_per_s_per_gpu=est.tokens_per_s_per_gpu, tokens_per_s=rate,
                   global_batch_tokens=global_batch_tokens, memory_per_gpu_bytes=est.memory_per_gpu_bytes,
                   hbm_bytes=est.hbm_bytes, fits=est.fits, train_tokens=train_tokens,
                   time_to_train_s=time_s, bound=est.bound, breakdown_s=dict(est.parts_s),
                   low_tokens_per_s=low, high_tokens_per_s=high, short_time_to_train_s=short,
                   long_time_to_train_s=long, pool=pool, estimate=est)


def estimate(source: str | Path | Scenario | RunSpec, *, job: str | None = None,
             train_tokens: float | None = None, assumptions: Mapping[str, Any] | None = None) -> EstimateResult:
    """Step time, MFU, memory and time to train of a scenario's job (default: its first) or of one run.

    ``source``: a scenario (file or ``Scenario``): the job as the simulation
    runs it (its pool, its layout or the planner's best, its batch); or a run
    (a ``RunSpec``, or a run file of the validation format holding one run).
    ``assumptions``: the performance model's named assumptions to change, by dotted path
    (``{"network.nccl.net_busbw_eff": 0.8}``; catalog/data/perf_*.toml names each with its source).
    """
    from colossus.spec import RunSpec as _RunSpec  # noqa: PLC0415

    perf_assumptions = _perf_assumptions(assumptions)
    if isinstance(source, _RunSpec) or (isinstance(source, (str, Path)) and _is_run_file(source)):
        return _estimate_run(source, train_tokens, perf_assumptions)
    from colossus.perf.jobs import located_job_perf  # noqa: PLC0415

    spec, _, file = _scenario(source)
    chosen = _job(spec, job, file=file)
    if assumptions:  # over the cluster's own performance_assumptions
        from colossus.perf.jobs import cluster_assumptions  # noqa: PLC0415

        perf_assumptions = _perf_assumptions(assumptions, cluster_assumptions(spec.cluster))
    try:  # (what the job's estimate cannot take, said at the job: jobs[i], its layout, its software)
        perf = located_job_perf(spec.cluster, chosen, spec.jobs.index(chosen), assumptions=perf_assumptions)
    except SpecError as exc:
        raise (exc.located(file=file) if file and exc.file is None else exc) from None
    except InfeasibleError as exc:
        raise InfeasibleError(f"{file}: {exc}" if file else str(exc)) from None
    pool = spec.cluster.pool(perf.pool)
    return EstimateResult.of(perf.estimate, name=chosen.name, model=chosen.model.name, gpu=pool.gpu.name,
                             train_tokens=train_tokens or chosen.train_tokens, planned=perf.planned,
                             global_batch_tokens=perf.global_batch_tokens, pool=perf.pool)


def _is_run_file(path: str | Path) -> bool:
    from colossus.spec import read_yaml  # noqa: PLC0415

    doc = read_yaml(path)
    return not (isinstance(doc, dict) and "cluster" in doc and "jobs" in doc) and not (
        isinstance(doc, dict) and "pools" in (doc.get("cluster") or {}))


def _perf_assumptions(overrides: Mapping[str, Any] | None,
                      base: PerfAssumptions | None = None) -> PerfAssumptions | None:
    """``base`` (default: the shipped performance assumptions) with ``overrides`` by dotted path (None: none)."""
    if not overrides:
        return base
    from colossus.perf.assumptions import default_assumptions  # noqa: PLC0415

    return (base or default_assumptions()).with_checked_overrides(dict(overrides))


def _estimate_run(source: str | Path | RunSpec, train_tokens: float | None,
                  assumptions: PerfAssumptions | None = None) -> EstimateResult:
    from colossus.perf import estimate as perf_estimate  # noqa: PLC0415
    from colossus.spec import load_runs  # noqa: PLC0415

    if isinstance(source, (str, Path)):
        runs = load_runs(source)
        if len(runs) != 1:
            raise SpecError(f"holds {len(runs)} runs; estimate one at a time (or use colossus estimate)",
                            file=str(source))
        run = runs[0]
    else:
        run = source
    est = perf_estimate(run, assumptions=assumptions)
    return EstimateResult.of(est, name=run.id, model=run.model.name, gpu=run.cluster.gpu.name,
                             train_tokens=train_tokens or 1e12, planned=False,
                             global_batch_tokens=run.layout.global_batch * run.model.seq_len)


@dataclass(frozen=True)
class PlanResult(_Result):
    """The fastest layouts of a model on a number of GPUs that fit in memory, best first."""

    model: str
    gpu: str
    num_gpus: int
    global_batch_tokens: float
    layouts: tuple[EstimateResult, ...]
    num_explored: int
    num_fitting: int
    why: str

    def to_pandas(self) -> pd.DataFrame:
        """One row per layout, best first."""
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame([{k: v for k, v in r.to_dict().items() if not isinstance(v, dict)}
                             for r in self.layouts])


def plan(model: str | Path | ModelSpec, *, gpus: int, gpu: str = "h100-sxm5-80gb",
         global_batch_tokens: float = 2**22, seq_len: int | None = None, gpus_per_server: int = 8,
         software: str | Mapping[str, Any] | None = None, power_limit_w: float | None = None,
         top: int = 10, assumptions: Mapping[str, Any] | None = None) -> PlanResult:
    """Search every valid layout of ``model`` (a preset, a model file or a ``ModelSpec``) on ``gpus`` GPUs.

    ``software``: a profile by name (``colossus show --catalog``), or a software block as a mapping (a
    ``profile`` and single fields over it, e.g. ``{"profile": "megatron-core-2025", "pipeline_schedule":
    "dualpipe"}``), the fields of a run's ``software:``. ``assumptions``: as for ``estimate``.
    """
    from colossus.perf import plan as perf_plan  # noqa: PLC0415
    from colossus.spec import ModelSpec as _ModelSpec  # noqa: PLC0415
    from colossus.spec import SoftwareSpec, load_model, lookup  # noqa: PLC0415

    spec = model if isinstance(model, _ModelSpec) else load_model(model)
    if seq_len is not None:
        spec = spec.model_copy(update={"seq_len": seq_len})
    if gpus % gpus_per_server:
        raise SpecError(f"gpus: {gpus} GPUs do not fill whole servers of {gpus_per_server}")
    sw = None
    if isinstance(software, str):
        lookup("software", software)
        sw = SoftwareSpec(profile=software)
    elif software is not None:
        from colossus.spec.loading import validate  # noqa: PLC0415

        sw = validate(SoftwareSpec, dict(software), file="software")
        if sw.profile is not None:
            lookup("software", sw.profile)
    found = perf_plan(spec, lookup("gpus", gpu), num_gpus=gpus, gpus_per_server=gpus_per_server,
                      global_batch_tokens=global_batch_tokens, software=sw, power_limit_w=power_limit_w, top=top,
                      assumptions=_perf_assumptions(assumptions))
    rows = tuple(EstimateResult.of(e, name=f"layout {i}", model=spec.name, gpu=gpu, train_tokens=1e12,
                                   planned=True, global_batch_tokens=e.layout.global_batch * spec.seq_len)
                 for i, e in enumerate(found.best, 1))
    return PlanResult(model=spec.name, gpu=gpu, num_gpus=gpus, global_batch_tokens=global_batch_tokens,
                      layouts=rows, num_explored=found.num_explored, num_fitting=found.num_fitting, why=found.why)


# --- power and reliability ------------------------------------------------------------------


@dataclass(frozen=True)
class PowerResult(_Result):
    """What the site draws, what the supply carries, the best response to a deficit, swings and cost."""

    scenario: str
    day: float
    gpus_training_w: float
    site_training_w: float
    site_nameplate_w: float
    site_idle_w: float
    firm_supply_w: float
    n_minus_1_supply_w: float
    supply_for_job_w: float
    deficit_strategy: str
    throughput_kept_frac: float
    gpu_cap_w: float | None
    co2_kg_per_day: float
    usd_per_day: float
    usd_per_gpu_hour: float | None
    document: Mapping[str, Any] = field(repr=False, compare=False)


def analyse_power(scenario: str | Path | Scenario, *, supply_w: float | None = None, day: float = 0.0) -> PowerResult:
    """Power demand bottom up, supply and its dispatch, the deficit response, swings, emissions and cost."""
    from colossus.power import analyse, power_document  # noqa: PLC0415

    spec, _, file = _scenario(scenario)
    doc = power_document(analyse(spec, supply_w=supply_w, day=day, file=file))
    demand, supply, deficit = doc["demand"], doc["supply"], doc["deficit"]
    per_day = doc["cost"]["per_day"]
    return PowerResult(
        scenario=spec.name, day=day, gpus_training_w=demand["gpus_w"], site_training_w=demand["site_w"],
        site_nameplate_w=demand["site_nameplate_w"], site_idle_w=demand["site_idle_w"],
        firm_supply_w=supply["firm_w"], n_minus_1_supply_w=supply["n_minus_1_w"],
        supply_for_job_w=deficit["supply_for_job_w"], deficit_strategy=str(deficit["strategy"]),
        throughput_kept_frac=deficit["throughput_kept_frac"], gpu_cap_w=deficit.get("gpu_cap_w"),
        co2_kg_per_day=doc["environment"]["per_day"]["co2_t"] * units.TONNE,
        usd_per_day=per_day["usd_total"], usd_per_gpu_hour=per_day.get("usd_per_gpu_hour"), document=doc)


@dataclass(frozen=True)
class ReliabilityResult(_Result):
    """Interruptions, checkpoint cost and interval, goodput and spares of one job; Monte Carlo if asked."""

    scenario: str
    job: str
    num_gpus: int
    interruptions_per_s: float
    mtti_s: float
    checkpoint_interval_s: float
    optimal_interval_s: float
    restart_s: float
    ettr_frac: float
    expected_finish_s: float
    spares_recommended: int
    finish_p50_s: float | None
    finish_p90_s: float | None
    p_by_deadline: float | None
    document: Mapping[str, Any] = field(repr=False, compare=False)


def analyse_reliability(scenario: str | Path | Scenario, *, job: str | None = None, runs: int = 0,
                        seed: int | None = None, deadline_s: float | None = None) -> ReliabilityResult:
    """The reliability model of a scenario's job (default: its first): closed form, Monte Carlo if ``runs``."""
    import numpy as np  # noqa: PLC0415

    from colossus import reliability as rel  # noqa: PLC0415
    from colossus.reliability.scenario import scenario_job_input, scope_document  # noqa: PLC0415

    spec, _, file = _scenario(scenario)
    chosen = _job(spec, job, file=file)
    job_input, source = scenario_job_input(spec, chosen)
    an = rel.analyse(job_input)
    rng = np.random.default_rng(spec.seed if seed is None else seed)
    mc = rel.simulate_job(an, num_runs=runs, rng=rng) if runs else None
    doc = rel.document(an, mc, deadline_s)
    doc["job"] = chosen.name
    doc["throughput"] = {"tokens_per_s": job_input.tokens_per_s, "source": source}
    doc["scope"] = scope_document(spec, chosen)
    c, g, m = doc["checkpoint"], doc["goodput"], doc.get("monte_carlo") or {}
    return ReliabilityResult(
        scenario=spec.name, job=chosen.name, num_gpus=int(doc["num_gpus"]),
        interruptions_per_s=doc["interruptions_per_day"] / units.DAY, mtti_s=doc["mtti_s"],
        checkpoint_interval_s=c["interval_s"], optimal_interval_s=c["optimal_interval_s"], restart_s=c["restart_s"],
        ettr_frac=g["ettr"], expected_finish_s=g["expected_finish_s"],
        spares_recommended=int(doc["spares"]["recommended"]), finish_p50_s=m.get("finish_s_p50"),
        finish_p90_s=m.get("finish_s_p90"), p_by_deadline=m.get("p_by_deadline"), document=doc)


# --- simulate --------------------------------------------------------------------------------


@dataclass(frozen=True)
class JobSummary(_Result):
    """One named job at the end of a run (``colossus.metrics.JOB_METRICS`` lists its key numbers)."""

    name: str
    num_gpus: int
    start_s: float | None
    finished_at_s: float | None  # None: not finished within the period
    progress_frac: float
    tokens_trained: float
    train_tokens: float
    goodput_frac: float | None
    restarts: int
    interruptions: int
    preemptions: int
    energy_j: float
    co2_kg: float
    layout: str | None


@dataclass(frozen=True)
class RunSummary(_Result):
    """What a simulation answers, typed: the named jobs and the site's key numbers (``colossus.metrics``).

    ``document`` is the whole summary as ``summary.json`` stores it (sections
    for the plant, cost, failures, fillers, swings); ``metrics()`` gives every
    registered key number in SI.
    """

    scenario: str
    seed: int
    period_s: float
    jobs: tuple[JobSummary, ...]
    energy_j_by_source: Mapping[str, float]
    deficit_s: float
    throughput_lost_to_deficit_frac: float
    mean_demand_w: float
    peak_demand_w: float
    co2_kg: float
    usd_total: float | None
    usd_per_gpu_hour: float | None
    usd_per_million_tokens: float | None
    failures: int
    report_path: str | None
    document: Mapping[str, Any] = field(repr=False, compare=False)

    @classmethod
    def from_document(cls, doc: Mapping[str, Any]) -> RunSummary:
        """The typed view of a summary document (``SimResult.summary``, ``summary.json``)."""
        value = {m.key: metrics.si_value(m, doc) for m in metrics.METRICS}
        jobs = tuple(JobSummary(
            name=j["name"], num_gpus=int(j["num_gpus"]), start_s=j.get("start_s"), finished_at_s=j.get("finished_at_s"),
            progress_frac=float(j["progress_frac"]), tokens_trained=float(j["tokens_trained"]),
            train_tokens=float(j["train_tokens"]), goodput_frac=j.get("goodput"), restarts=int(j["restarts"]),
            interruptions=int(j.get("interruptions", 0)), preemptions=int(j.get("preemptions", 0)),
            energy_j=float(j.get("energy_j") or 0.0), co2_kg=float(j.get("co2_kg") or 0.0), layout=j.get("layout"),
        ) for j in doc.get("jobs") or [])
        return cls(
            scenario=str(doc["scenario"]),
            seed=int(doc["seed"]),
            period_s=float(value["period_s"] or 0.0),
            jobs=jobs,
            energy_j_by_source=dict(doc.get("energy_j_by_source") or {}),
            deficit_s=float(value["deficit_s"] or 0.0),
            throughput_lost_to_deficit_frac=float(value["throughput_lost_to_deficit_frac"] or 0.0),
            mean_demand_w=float(value["mean_demand_w"] or 0.0),
            peak_demand_w=float(value["peak_demand_w"] or 0.0),
            co2_kg=float(value["co2_kg"] or 0.0),
            usd_total=value["usd_total"],
            usd_per_gpu_hour=value["usd_per_gpu_hour"],
            usd_per_million_tokens=value["usd_per_million_tokens"],
            failures=int(value["failures"] or 0),
            report_path=doc.get("report_path"),
            document=doc,
        )

    def metrics(self) -> dict[str, float | None]:
        """Every key number of ``colossus.metrics.METRICS``, in SI, by key."""
        return {m.key: metrics.si_value(m, self.document) for m in metrics.METRICS}

    def job(self, name: str) -> JobSummary:
        for j in self.jobs:
            if j.name == name:
                return j
        raise SpecError(f"no job '{name}' in this run{did_you_mean(name, [j.name for j in self.jobs])}")

    def to_pandas(self) -> pd.DataFrame:
        """One row per registered key number: key, label, SI value and unit."""
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame([{"key": m.key, "label": m.label, "value": metrics.si_value(m, self.document),
                              "unit": m.unit} for m in metrics.METRICS])


@dataclass(frozen=True)
class Simulation(_Result):
    """One simulated history: the summary, the time series, the event log and the job table."""

    scenario: str
    seed: int
    period_s: float
    summary: RunSummary
    timeseries: Table
    events: Table
    jobs: Table
    folder: Path | None  # where the results were stored, if they were
    result: SimResult = field(repr=False, compare=False)
    _internal = ("document", "result", "summary", "timeseries", "events", "jobs")

    def to_pandas(self) -> pd.DataFrame:
        """The time series (one row per telemetry sample)."""
        return self.timeseries.to_pandas()


def simulate(scenario: str | Path | Scenario, *, days: float | None = None, seed: int | None = None,
             out: str | Path | None = None, report: bool = True, progress: Callable[[float], None] | None = None,
             report_path: str | None = None, extras: Mapping[str, Callable[[Path], Any]] | None = None,
             option: str | None = None, base_dir: str | Path | None = None) -> Simulation:
    """Play a scenario out; with ``out``, store the results (and the report) there, atomically.

    The folder is claimed before the simulation starts (a second writer is
    refused at once) and appears only when complete. An interrupt while it is
    held raises ``RunInterrupted`` saying what the folder holds. ``base_dir``:
    where a ``Scenario`` object's relative paths (a workload trace) start
    (a file's own folder by default). ``report_path``, ``extras`` and
    ``option`` are for the shells: the path the summary records, more files
    written into the folder with it, the option that named ``out``.
    """
    from colossus.results import REPORT, claim_folder  # noqa: PLC0415
    from colossus.sim import simulate as run  # noqa: PLC0415
    from colossus.spec.bounds import telemetry_problem  # noqa: PLC0415

    spec, own_dir, file = _scenario(scenario)
    base_dir = Path(base_dir) if base_dir is not None else own_dir
    if days is not None:
        problem = telemetry_problem(days, spec.simulation.telemetry_interval_min)
        if problem:
            raise SpecError(problem, path=["days"])
    if out is None:
        return _simulation(_located(lambda: run(spec, seed=seed, days=days, progress=progress, base_dir=base_dir),
                                    file), None)
    out_dir = Path(out)
    # the report's writer (plotly) is loaded before the run, not after it: a Ctrl-C that lands in a module's
    # first import is reported by Python itself ("Exception ignored in ... _get_module_lock", a traceback)
    from colossus.report import write_report  # noqa: PLC0415

    with claim_folder(out_dir, option=option) as claim:
        try:
            result = _located(lambda: run(spec, seed=seed, days=days, progress=progress, base_dir=base_dir), file)
            writers = dict(extras or {})
            if report:
                result.summary["report_path"] = report_path or str(out_dir / REPORT)
                writers = {REPORT: lambda path: write_report(result, path), **writers}
            claim.write(result, extras=writers)
        except KeyboardInterrupt:
            if claim.written:
                left = "the result was complete and is in place"
            else:
                left = "the previous result there is kept" if claim.target.exists() else "nothing was written"
            raise RunInterrupted(out_dir, left) from None
    return _simulation(result, out_dir)


def _located(call: Callable[[], Any], file: str | None) -> Any:
    try:
        return call()
    except SpecError as exc:  # e.g. a workload trace that is missing: say which scenario named it
        raise (exc.located(file=file) if exc.file is None and file else exc) from None


def _simulation(result: SimResult, folder: Path | None) -> Simulation:
    return Simulation(scenario=result.scenario, seed=result.seed, period_s=result.days * units.DAY,
                      summary=RunSummary.from_document(result.summary),
                      timeseries=Table("timeseries", result.timeseries), events=Table("events", result.events),
                      jobs=Table("jobs", result.jobs), folder=folder, result=result)


def read_run(folder: str | Path) -> Simulation:
    """A stored run (``colossus simulate --out FOLDER``), as ``simulate`` returned it."""
    from colossus.results import read_result  # noqa: PLC0415

    return _simulation(read_result(Path(folder)), Path(folder))


# --- sweep -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class SweepResult(_Result):
    """Every run of a sweep: the varied inputs and the outputs, one row per run, and the store."""

    scenario: str
    kind: str
    num_runs: int
    ran: int
    skipped: int
    errors: int
    main_output: str | None
    store: Path
    rows: tuple[Mapping[str, Any], ...] = field(repr=False)
    outcome: SweepOutcome = field(repr=False, compare=False)
    _internal = ("document", "outcome", "rows")

    def to_pandas(self) -> pd.DataFrame:
        """One row per run: the key, the varied inputs, the outputs."""
        import pandas as pd  # noqa: PLC0415

        return pd.DataFrame([dict(r) for r in self.rows])


def sweep(scenario: str | Path, vary: Sequence[str], *, seeds: int = 1, kind: str = "auto", days: float | None = None,
          out: str | Path | None = None, backend: str = "local", workers: int | None = None,
          address: str | None = None, progress: Callable[[int, int], None] | None = None) -> SweepResult:
    """Run the cartesian product of ``vary`` (``PATH=VALUES``) times the seeds into one DuckDB store.

    ``kind``: ``auto`` (an estimate when only cluster and job fields vary,
    else a simulation), ``estimate`` or ``simulate``. An estimate is
    deterministic: one run per point, whatever ``seeds`` says. The store
    defaults to ``runs/sweep-<scenario>-<id>`` (one per sweep; the same sweep
    again resumes).
    """
    from colossus.results import check_out_dir, safe_name  # noqa: PLC0415
    from colossus.sweep import RunStore, make_backend, plan_sweep, run_sweep  # noqa: PLC0415

    planned = plan_sweep(scenario, list(vary), seeds=seeds, kind=kind, days=days)
    if planned.kind == "estimate" and seeds > 1:
        planned = plan_sweep(scenario, list(vary), seeds=1, kind="estimate", days=days)
    folder = Path(out) if out is not None else Path("runs") / f"sweep-{safe_name(planned.scenario)}-{planned.identity}"
    folder = check_out_dir(folder, kind="a sweep")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / SWEEP_STORE).is_file():
        raise SpecError(f"{folder} holds other files and no {SWEEP_STORE}; give a sweep a folder of its own")
    runner = make_backend(backend, workers=workers, address=address)
    with RunStore(folder / SWEEP_STORE) as store:
        outcome = run_sweep(planned, store, runner, progress=progress, plot_path=folder / f"sweep-{planned.kind}.html")
    return SweepResult(scenario=planned.scenario, kind=planned.kind, num_runs=planned.num_runs, ran=outcome.ran,
                       skipped=outcome.skipped, errors=outcome.num_errors, main_output=outcome.main,
                       store=folder / SWEEP_STORE, rows=tuple(outcome.rows), outcome=outcome)


#: The sweep's store in its folder (the dashboard looks for this name).
SWEEP_STORE = "sweep.duckdb"


# --- forecast (issue 13) ------------------------------------------------------------------------


def forecast(scenario: Scenario | str | Path, *, by_day: float | str | date, job: str | None = None, runs: int = 64,
             seed: int | None = None, backend: str = "local", **options: Any) -> Forecast:
    """Will ``job`` finish by ``by_day`` (a day, or an ISO date with the scenario's ``start_date``)?

    ``runs`` simulations with every source of doubt drawn anew (``colossus.forecast.forecast``, whose
    further keywords ``options`` passes on: ``days``, ``store``, ``workers``, ``address``, ``progress``,
    ``start_date``). The answer: ``p_finish_by``, ``finish_day_p10/p50/p90``, ``drivers``; ``to_json()``
    and ``to_pandas()`` (one row per draw) as every result here.
    """
    from colossus.forecast import forecast as run  # noqa: PLC0415 (the sweep machinery: only a forecast needs it)

    return run(scenario, job=job, by_day=by_day, runs=runs, seed=seed, backend=backend, **options)


__all__ = [
    "EstimateResult",
    "JobSummary",
    "PlanResult",
    "PowerResult",
    "ReliabilityResult",
    "RunSummary",
    "Simulation",
    "SweepResult",
    "Table",
    "analyse_power",
    "analyse_reliability",
    "estimate",
    "forecast",
    "load",
    "plan",
    "read_run",
    "simulate",
    "sweep",
]
