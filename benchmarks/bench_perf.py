"""Speed and accuracy of the training performance model.

Prints: the machine; layouts explored and wall time of ``plan`` for Llama 3 405B
on 16,384 H100 (target < 2 s on one core); the time of one ``estimate`` (target
< 5 ms); MAPE and worst error on shared/validation/training_runs.yaml; and the
held-out check: shared parameters refitted on every other run of each family,
error reported on the other half.

Run: ``python benchmarks/bench_perf.py [path/to/training_runs.yaml]``
"""

from __future__ import annotations

from pathlib import Path
import sys
import time

from colossus.perf import estimate, family_split, fit, plan, validate_runs
from colossus.spec import load_runs, lookup
from machine_info import machine

DEFAULT_RUNS = Path(__file__).resolve().parents[2] / "shared" / "validation" / "training_runs.yaml"


def bench_plan() -> None:
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    plan(model, gpu, num_gpus=1024, global_batch_tokens=2**22)  # warm imports and caches
    times = []
    for _ in range(5):
        start = time.perf_counter()
        result = plan(model, gpu, num_gpus=16384, global_batch_tokens=16 * 2**20)
        times.append(time.perf_counter() - start)
    best = result.best[0]
    print(f"plan llama3-405b on 16384 x h100, 16M-token batch: {result.num_candidates} candidates,"
          f" {result.num_explored} valid layouts explored, {result.num_fitting} fit;"
          f" best of 5: {min(times) * 1e3:.0f} ms (target < 2000 ms)")
    print(f"  best: {best.layout.model_dump(mode='json')} -> {best.tflops_per_gpu:.0f} TFLOP/s/GPU, MFU {best.mfu:.1%}")


def bench_estimate(runs) -> None:
    estimate(runs[0])
    start = time.perf_counter()
    count = 0
    for _ in range(5):
        for run in runs:
            estimate(run)
            count += 1
    per = (time.perf_counter() - start) / count
    print(f"estimate: {per * 1e3:.2f} ms per run over {count} estimates (target < 5 ms)")


def bench_accuracy(runs) -> None:
    full = validate_runs(runs)
    print(f"validation, all {len(full.cases)} runs (shipped assumptions): MAPE {full.mape:.1%},"
          f" max |error| {full.max_abs_error:.1%} ({full.worst.id})")
    calibration, held_out = family_split(runs)
    fitted = fit(calibration)
    held = validate_runs(held_out, assumptions=fitted.assumptions)
    values = ", ".join(f"{k.split('.', 1)[1]}={v:.3f}" for k, v in fitted.values.items())
    print(f"held-out check: fitted on {len(calibration)} runs ({values}):"
          f" calibration MAPE {fitted.calibration.mape:.1%} / max {fitted.calibration.max_abs_error:.1%};"
          f" held-out {len(held_out)} runs MAPE {held.mape:.1%} / max {held.max_abs_error:.1%}")


def main(argv: list[str]) -> int:
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
