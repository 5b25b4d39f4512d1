"""Runs per second of a sweep on the local process pool and on Ray, on this machine.

Prints the machine, then for each backend (all cores):

* estimate, distinct points: the default scenario with the Grok-2-scale job
  on 8,192..24,576 GPUs x two generator counts, one seed: every run plans a
  layout (the cold cost of an estimate sweep);
* estimate, 10 seeds per point: the same GPU counts (with 7 generators: new
  points), ten seeds each; the seeds of a point share one estimate (it does
  not depend on the seed);
* simulate: a short simulated sweep (7 days, five generator counts x four
  seeds), or a line saying it is skipped while ``colossus.sim.simulate``
  does not exist.

Wall times include starting the worker processes (the local pool is made
per sweep); Ray is started once, before, and its start-up time is printed
on its own. Planning (validating every point) is timed apart.

Run: ``python benchmarks/bench_sweep.py``
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
import tempfile
import time

from machine_info import machine

from colossus.sweep import LocalBackend, RayBackend, RunStore, plan_sweep, run_sweep

SCENARIO = Path(__file__).resolve().parents[1] / "scenarios" / "colossus-memphis.yaml"

SWEEPS = [
    (
        "estimate, distinct points",
        ["jobs.grok2.gpus=8192:24576:2048", "supply.generators.count=0,14"],
        1,
        "estimate",
        None,
    ),
    # 7 generators: points the first sweep did not have, so no worker holds their estimates yet
    (
        "estimate, 10 seeds per point",
        ["jobs.grok2.gpus=8192:24576:2048", "supply.generators.count=7"],
        10,
        "estimate",
        None,
    ),
    ("simulate, 7 days", ["supply.generators.count=0:28:7"], 4, "simulate", 7.0),
]


def simulation_missing() -> str | None:
    try:
        from colossus.sim import simulate  # noqa: F401, PLC0415
    except ImportError as exc:
        return str(exc)
    return None


def bench(label: str, backend, options: list[str], seeds: int, kind: str, days: float | None) -> None:
    start = time.perf_counter()
    plan = plan_sweep(SCENARIO, options, seeds=seeds, kind=kind, days=days)
    plan_s = time.perf_counter() - start
    with tempfile.TemporaryDirectory() as tmp, RunStore(Path(tmp) / "bench.duckdb") as store:
        outcome = run_sweep(plan, store, backend)
    print(
        f"  {backend.name:5s} {label}: {outcome.ran} runs ({len(plan.points)} points x {seeds} seeds)"
        f" in {outcome.wall_s:.1f} s = {outcome.runs_per_s:.2f} runs/s"
        f" ({len(plan.points) / outcome.wall_s:.2f} points/s); planning {plan_s:.2f} s; {outcome.num_errors} infeasible"
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING)
    cores = os.cpu_count() or 1
    print(f"machine: {machine()}")
    print(f"scenario: {SCENARIO.name}; workers: {cores} (all cores)")
    missing = simulation_missing()
    sweeps = [s for s in SWEEPS if s[3] != "simulate" or missing is None]
    for sweep in sweeps:
        bench(sweep[0], LocalBackend(workers=cores), *sweep[1:])
    import ray  # noqa: PLC0415 (only the Ray half needs it)

    start = time.perf_counter()
    ray.init(num_cpus=cores, include_dashboard=False, logging_level=logging.WARNING)
    print(f"  ray   start-up of a local instance: {time.perf_counter() - start:.1f} s (not in the figures below)")
    try:
        for sweep in sweeps:
            bench(sweep[0], RayBackend(workers=cores), *sweep[1:])
    finally:
        ray.shutdown()
    if missing is not None:
        print(f"  simulate sweep skipped: colossus.sim.simulate is not available ({missing})")


if __name__ == "__main__":
    main()
