"""Speed and accuracy of the training performance model.

Prints: the machine; the time of one ``estimate`` (median over the published runs, in-process,
warm, evaluated and cold; target < 1 ms);
layouts explored and wall time of ``plan`` for Llama 3 405B on 16,384 H100 with a
16M-token batch (target < 1 s) and what it recommends; the in-sample error on
shared/validation/training_runs.yaml; and the leave-one-family-out error (every
fitted constant refitted without each family, that family predicted), per family; and the refit of
the dropless-routing constant on its published pairs, in sample and with each pair left out.

Run: ``python benchmarks/bench_perf.py [path/to/training_runs.yaml]``
"""

from __future__ import annotations

import os
from pathlib import Path
import statistics
import sys
import time
import warnings

from machine_info import machine

from colossus.errors import ColossusError
from colossus.perf import cross_validate, estimate, plan, validate_runs
from colossus.perf.assumptions import default_assumptions
from colossus.perf.estimate import estimate_many, prepared
from colossus.perf.routing import CONSTANT, fit_expert_load_cv
from colossus.spec import load_runs, lookup

DEFAULT_RUNS = Path(__file__).resolve().parents[2] / "shared" / "validation" / "training_runs.yaml"


def bench_plan() -> None:
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    plan(model, gpu, num_gpus=1024, global_batch_tokens=2**22)  # warm imports and caches
    # the binary 16Mi tokens (2,048 sequences of 8k) and the decimal '16M' (1,953.1 sequences, a
    # target each layout rounds to a multiple of its dp x micro-batch)
    for label, tokens in (("16Mi-token", 16 * 2**20), ("16M-token (decimal)", 16e6)):
        times = []
        for _ in range(5):
            start = time.perf_counter()
            result = plan(model, gpu, num_gpus=16384, global_batch_tokens=tokens)
            times.append(time.perf_counter() - start)
        best = result.best[0]
        print(f"plan llama3-405b on 16384 x h100, {label} batch, {result.software.profile}: {result.num_candidates}"
              f" candidates, {result.num_explored} valid, {result.num_fitting} fit; median of 5:"
              f" {statistics.median(times) * 1e3:.0f} ms (target < 1000 ms)")
        print(f"  best: {best.layout.label} -> {best.tflops_per_gpu:.0f} TFLOP/s/GPU, MFU {best.mfu:.1%}"
              " (Meta measured 38-43% BF16 MFU on TP8 PP16: Llama 3 paper, Table 4)")


def bench_estimate(runs) -> None:
    """Median wall and CPU time of one ``estimate``, over every published run.

    warm: the same run object again (its stack, candidate layouts, context and, all of them frozen, the
    evaluated model are remembered by identity: what is left is building the ``Estimate``); evaluated:
    the same, with the remembered evaluation dropped first, so the model itself runs (what a run asked
    once under new assumptions costs); cold: a fresh copy of each run (nothing about it remembered);
    batched: ``estimate_many`` over all runs in one vectorised pass, per run. Machine load moves these
    figures: the machine line and the load average are printed with them.
    """
    ok = []
    for run in runs:
        try:
            estimate(run)
            ok.append(run)
        except ColossusError:
            pass
    assumptions = default_assumptions()

    def median_ms(forget: bool) -> tuple[float, float]:
        wall, cpu = [], []
        for _ in range(20):
            for run in ok:
                if forget:
                    prepared(run, assumptions).memo.clear()
                w, c = time.perf_counter(), time.process_time()
                estimate(run)
                cpu.append(time.process_time() - c)
                wall.append(time.perf_counter() - w)
        return statistics.median(wall) * 1e3, statistics.median(cpu) * 1e3

    warm, warm_cpu = median_ms(False)
    evaluated, evaluated_cpu = median_ms(True)
    cold = []
    for run in ok:
        fresh = run.model_copy(deep=True)
        w = time.perf_counter()
        estimate(fresh)
        cold.append(time.perf_counter() - w)
    start = time.perf_counter()
    estimate_many(ok)
    batched = (time.perf_counter() - start) / len(ok)
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"estimate over {len(ok)} runs (target < 1 ms), load average {load:.1f}: warm median {warm:.3f} ms"
          f" (CPU {warm_cpu:.3f} ms); evaluated median {evaluated:.2f} ms (CPU {evaluated_cpu:.2f} ms);"
          f" cold median {statistics.median(cold) * 1e3:.2f} ms; estimate_many {batched * 1e3:.2f} ms per run")


def bench_accuracy(runs) -> None:
    full = validate_runs(runs)
    print(f"validation, all {len(full.cases)} runs (shipped constants, in-sample): MAPE {full.mape:.1%},"
          f" max |error| {full.max_abs_error:.1%} ({full.worst.id}),"
          f" {sum(1 for c in full.cases if c.fits is False)} not fitting in memory")
    start = time.perf_counter()
    crossed = cross_validate(runs)
    print(f"leave-one-family-out ({time.perf_counter() - start:.0f} s): MAPE {crossed.cv_mape:.1%},"
          f" mean of family MAPEs {crossed.mean_family_mape:.1%}; refit in-sample MAPE {crossed.in_sample.mape:.1%}")
    for fam in crossed.families:
        print(f"  {fam.family:14s} n={fam.n:2d}  left-out mean {fam.cv_mean_error:+6.1%}  MAPE {fam.cv_mape:5.1%}")
    for kind in crossed.by_kind():
        print(f"  {kind['kind']:5s} runs n={kind['n']:2d} ({kind['families']} families): in-sample MAPE"
              f" {kind['in_sample_mape']:.1%}, left out {kind['cv_mape']:.1%}")
    for name, item in crossed.fit.as_dict().items():
        print(f"  fitted {name} = {item['value']:.4g} (fitted on {len(item['fitted_on'])} runs)")
    routing = fit_expert_load_cv(runs)
    worst_in = max(map(abs, routing.errors()))
    worst_out = max(map(abs, routing.errors("left_out")))
    print(f"dropless routing: {CONSTANT} refits {routing.value:.3f} on {len(routing.ids)} forced/dropless pairs of"
          f" one table; dropless throughput error in-sample max {worst_in:.1%}, each pair left out max"
          f" {worst_out:.1%}")


def main(argv: list[str]) -> int:
    warnings.simplefilter("ignore")
    path = Path(argv[1]) if len(argv) > 1 else DEFAULT_RUNS
    print(f"machine: {machine()}")
    bench_plan()
    if not path.is_file():
        print(f"no validation file at {path}; skipping estimate and accuracy")
        return 0
    runs = load_runs(path)
    bench_estimate(runs)
    bench_accuracy(runs)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
