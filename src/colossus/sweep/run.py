"""``run_one``: one run of a sweep, as one flat row. The unit every backend ships.

A row is a flat ``column -> scalar`` mapping so that it goes into one DuckDB
table as is: the key (``content_hash``, ``seed``, ``kind``, ``days``), the
scenario name, the varied inputs (column = resolved path), the outputs, an
``error`` column, and ``wall_s``, the only column that differs between two
runs of the same inputs (it is left out when rows are compared).

Outputs per named job ``J`` (columns ``J.<metric>``):

* estimate: ``tokens_per_s`` (whole job), ``tokens_per_s_per_gpu``,
  ``step_time_s``, ``mfu``, ``layout`` (label), ``time_to_train_days``
  (train_tokens at that rate, no failures), ``error`` (why it is infeasible).
* simulate: every scalar of the job's summary (``finished_at_s``, ``goodput``,
  ``tokens_trained``, ``progress_frac``, ...) and ``finished_at_days``;
  site-wide scalars by their summary key (``deficit_hours``,
  ``throughput_lost_to_deficit_frac``), nested ones joined with a dot
  (``energy_j_by_source.grid``, ``emissions.co2_kg``, ``failures.count``).

An ``InfeasibleError`` (a job that fits no layout) is an expected outcome:
it is recorded in ``error`` and the row is stored like any other.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
import math
from pathlib import Path
import time
from typing import Any

from colossus import units
from colossus.errors import InfeasibleError
from colossus.perf.jobs import job_perf
from colossus.spec import Scenario, validate
from colossus.sweep.plan import ESTIMATE_DAYS, content_hash
from colossus.sweep.values import Value

#: Estimates depend on the scenario only, not on the seed: a process keeps the
#: last few so the seeds of one point (one task, see ``SweepPlan.tasks``) cost
#: one estimate. Bounded so a long sweep does not grow memory.
_ESTIMATE_CACHE: OrderedDict[str, dict[str, Any]] = OrderedDict()
_ESTIMATE_CACHE_SIZE = 64

#: Columns that identify a run; the store's key.
KEY_COLUMNS: tuple[str, ...] = ("content_hash", "seed", "kind", "days")
#: Columns that are not outputs of the model: left out when rows are compared.
VOLATILE_COLUMNS: tuple[str, ...] = ("wall_s",)


def _scalar(value: Any) -> Value:
    """numpy scalars to Python; NaN to None (NULL), so equal runs give equal rows."""
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and math.isnan(value):
        return None
    return value


def _estimate_job(scenario: Scenario, index: int) -> dict[str, Any]:
    job = scenario.jobs[index]
    try:
        perf = job_perf(scenario.cluster, job)
    except InfeasibleError as exc:
        return {f"{job.name}.error": str(exc)}
    est = perf.estimate
    return {
        f"{job.name}.tokens_per_s": perf.tokens_per_s,
        f"{job.name}.tokens_per_s_per_gpu": est.tokens_per_s_per_gpu,
        f"{job.name}.step_time_s": est.step_time_s,
        f"{job.name}.mfu": est.mfu,
        f"{job.name}.layout": est.layout_label,
        f"{job.name}.time_to_train_days": job.train_tokens / perf.tokens_per_s / units.DAY,
        f"{job.name}.error": None,
    }


def estimate_outputs(scenario: Scenario, digest: str | None = None) -> dict[str, Any]:
    """Per named job: rate, step time, MFU, layout, time to train; or why it is infeasible."""
    digest = digest or content_hash(scenario)
    if digest in _ESTIMATE_CACHE:
        _ESTIMATE_CACHE.move_to_end(digest)
        return dict(_ESTIMATE_CACHE[digest])
    out: dict[str, Any] = {}
    for index in range(len(scenario.jobs)):
        out.update(_estimate_job(scenario, index))
    _ESTIMATE_CACHE[digest] = out
    if len(_ESTIMATE_CACHE) > _ESTIMATE_CACHE_SIZE:
        _ESTIMATE_CACHE.popitem(last=False)
    return dict(out)


def flatten_summary(summary: Mapping[str, Any]) -> dict[str, Value]:
    """A simulation summary as flat columns: jobs by name, nested mappings joined with dots."""
    out: dict[str, Value] = {}
    for job in summary.get("jobs", []):
        name = job["name"]
        for key, value in job.items():
            if key != "name" and not isinstance(value, (Mapping, list, tuple)):
                out[f"{name}.{key}"] = _scalar(value)
        finished = _scalar(job.get("finished_at_s"))
        out[f"{name}.finished_at_days"] = finished / units.DAY if isinstance(finished, (int, float)) else None

    def walk(prefix: str, node: Any) -> None:
        if isinstance(node, Mapping):
            for key, value in node.items():
                walk(f"{prefix}.{key}" if prefix else str(key), value)
        elif not isinstance(node, (list, tuple)):
            out[prefix] = _scalar(node)

    walk("", {k: v for k, v in summary.items() if k != "jobs"})
    return out


def simulate_outputs(scenario: Scenario, seed: int, days: float | None, base_dir: str | None) -> dict[str, Any]:
    """Summary outputs of one simulated history (imported here: ``sim`` is optional for estimates)."""
    from colossus.sim import simulate  # noqa: PLC0415 (lazy: the simulation is not needed by estimates)

    try:
        result = simulate(scenario, seed=seed, days=days, base_dir=Path(base_dir) if base_dir else None)
    except InfeasibleError as exc:
        return {"error": str(exc)}
    return flatten_summary(result.summary)


def run_one(
    doc_or_scenario: Mapping[str, Any] | Scenario,
    seed: int,
    kind: str,
    days: float | None = None,
    *,
    inputs: tuple[tuple[str, Value], ...] | Mapping[str, Value] = (),
    base_dir: str | None = None,
) -> dict[str, Value]:
    """Run one scenario (a raw document or a validated ``Scenario``) and return its row.

    Pure: the same arguments give the same row (``wall_s`` aside), in any
    process. ``days`` is the simulated period (None: the scenario's own);
    estimates ignore it and the seed.
    """
    start = time.perf_counter()
    scenario = doc_or_scenario if isinstance(doc_or_scenario, Scenario) else validate(Scenario, dict(doc_or_scenario))
    digest = content_hash(scenario)
    if kind == "estimate":
        outputs, key_days = estimate_outputs(scenario, digest), ESTIMATE_DAYS
    elif kind == "simulate":
        key_days = float(days if days is not None else scenario.simulation.days)
        outputs = simulate_outputs(scenario, seed, key_days, base_dir)
    else:
        raise ValueError(f"unknown run kind '{kind}'")
    job_errors = [str(v) for k, v in outputs.items() if k.endswith(".error") and v]
    error = outputs.pop("error", None) or ("; ".join(job_errors) or None)
    row: dict[str, Value] = {
        "content_hash": digest, "seed": int(seed), "kind": kind, "days": key_days,
        "scenario": scenario.name, "error": error,
    }
    row.update(dict(inputs))
    row.update(outputs)
    row["wall_s"] = time.perf_counter() - start
    return row


def run_task(
    doc_or_scenario: Mapping[str, Any] | Scenario,
    seeds: tuple[int, ...],
    kind: str,
    days: float | None = None,
    inputs: tuple[tuple[str, Value], ...] = (),
    base_dir: str | None = None,
) -> list[dict[str, Value]]:
    """``run_one`` for each seed of one point; the scenario is validated once."""
    scenario = doc_or_scenario if isinstance(doc_or_scenario, Scenario) else validate(Scenario, dict(doc_or_scenario))
    return [run_one(scenario, seed, kind, days, inputs=inputs, base_dir=base_dir) for seed in seeds]
