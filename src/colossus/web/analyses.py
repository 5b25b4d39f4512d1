"""The quick analyses of a scenario (estimate, plan, power, reliability) as JSON documents.

Each is a pure function of a validated ``Scenario`` and takes about a second
(the layout search dominates), so the API runs them in the request; the
documents are the ones the CLI prints with ``--json``, so a number on the
page and one in a terminal agree. Infeasible jobs are answers, not errors,
in ``estimate`` (one entry per job says why); a request whose single job
cannot be planned raises ``InfeasibleError`` (the API answers 422).

Because they are pure functions of the scenario (DESIGN.md), ``AnalysisCache``
keeps the last answers keyed by the parts of the validated scenario each one
reads and the request's other parameters: pressing "Estimate" again, or after
changing a knob that the analysis does not read (generators, for an
estimate), answers at once.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
import threading
from typing import Any

from colossus import api, units
from colossus.errors import ColossusError, SpecError
from colossus.perf.jobs import job_perf, job_pool
from colossus.reliability.scenario import pick_job
from colossus.spec import JobSpec, Scenario


def _perf_doc(job: JobSpec, result: api.EstimateResult) -> dict[str, Any]:
    return {
        "job": job.name, "model": job.model.name, "pool": result.pool, "planned": result.planned,
        "layout": result.layout, "global_batch_tokens": result.global_batch_tokens,
        "tokens_per_s": result.tokens_per_s, "train_tokens": job.train_tokens,
        "time_to_train_s": result.time_to_train_s if result.tokens_per_s > 0 else None,
        "short_time_to_train_s": result.short_time_to_train_s if result.tokens_per_s > 0 else None,
        "long_time_to_train_s": result.long_time_to_train_s if result.tokens_per_s > 0 else None,
        "estimate": result.estimate.as_dict() if result.estimate is not None else {},
    }


def estimate_document(scenario: Scenario) -> dict[str, Any]:
    """Step time, MFU, memory and time to train of every job (its layout, or the planner's best)."""
    jobs = []
    for job in scenario.jobs:
        try:
            jobs.append(_perf_doc(job, api.estimate(scenario, job=job.name)))
        except ColossusError as exc:
            jobs.append({"job": job.name, "model": job.model.name, "error": str(exc)})
    return {"scenario": scenario.name, "jobs": jobs}


def plan_document(scenario: Scenario, job_name: str | None) -> dict[str, Any]:
    """The best layouts for one job (the planner's top ten), whatever layout the scenario fixed."""
    job = pick_job(scenario, job_name)
    free = job.model_copy(update={"layout": None})
    perf = job_perf(scenario.cluster, free)
    pool = job_pool(scenario.cluster, job)
    if perf.plan is None:  # cannot happen: a job without a layout is always planned
        raise ColossusError(f"job '{job.name}': the planner returned no plan")
    return {"job": job.name, "model": job.model.name, "gpus": job.num_gpus, "gpu": pool.gpu.name,
            "pool": pool.name, "global_batch_tokens": perf.global_batch_tokens, **perf.plan.as_dict()}


def power_analysis(scenario: Scenario, *, supply_mw: float | None, day: float, file: str) -> dict[str, Any]:
    """Demand, supply, the deficit response, swings and emissions (``colossus power --json``)."""
    supply_w = None if supply_mw is None else supply_mw * units.MW
    try:
        return dict(api.analyse_power(scenario, supply_w=supply_w, day=day).document)
    except SpecError as exc:
        raise (exc.located(file=file) if exc.file is None else exc) from None


def reliability_document(scenario: Scenario, *, job_name: str | None, runs: int,
                         deadline_days: float | None) -> dict[str, Any]:
    """Interruptions, checkpoint cost and interval, goodput and spares of one job (Monte Carlo if ``runs``)."""
    pick_job(scenario, job_name)  # an unknown job is named as the page expects
    deadline_s = None if deadline_days is None else deadline_days * units.DAY
    return dict(api.analyse_reliability(scenario, job=job_name, runs=runs, deadline_s=deadline_s).document)


#: The parts of a scenario each analysis reads (the rest cannot change its answer).
READS: dict[str, tuple[str, ...]] = {
    "estimate": ("name", "cluster", "jobs"),
    "plan": ("cluster", "jobs"),
    # the fleet and its scaling (reliability:), the build-out that sets the earliest start (simulation:)
    "reliability": ("cluster", "jobs", "storage", "seed", "reliability", "simulation"),
    "power": ("name", "cluster", "jobs", "power", "storage", "simulation"),
}


def cache_key(kind: str, scenario: Scenario, params: tuple[Any, ...]) -> tuple[Any, ...]:
    return (kind, scenario.model_dump_json(include=set(READS[kind])), params)


class AnalysisCache:
    """The last ``size`` analysis documents by key (see ``cache_key``); thread-safe."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._docs: OrderedDict[tuple[Any, ...], dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...], compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """The document stored under ``key``, else ``compute()``'s, stored."""
        with self._lock:
            if key in self._docs:
                self._docs.move_to_end(key)
                return self._docs[key]
        doc = compute()
        with self._lock:
            self._docs[key] = doc
            while len(self._docs) > self.size:
                self._docs.popitem(last=False)
        return doc
