"""Monte Carlo speed: 1,000 histories of a 100,000-GPU, 90-day job on one core.

Run: ``python benchmarks/bench_reliability.py`` (pin one core with
``OMP_NUM_THREADS=1 taskset -c 0`` to measure one core). Target: under 10 s.
"""

from __future__ import annotations

import time

from machine_info import machine
import numpy as np

from colossus import reliability as rel
from colossus.spec import lookup

NUM_GPUS = 100_000
DAYS = 90.0
RUNS = 1000
TARGET_S = 10.0


def main() -> None:
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    rate = rel.tokens_per_s_from_mfu(model, gpu, num_gpus=NUM_GPUS, mfu=0.4)
    an = rel.analyse(rel.JobInput(model=model, num_gpus=NUM_GPUS, gpus_per_server=8,
                                  fabric=rel.default_fabric(), tokens_per_s=rate,
                                  train_tokens=rate * DAYS * 86400.0))
    start = time.perf_counter()
    mc = rel.simulate_job(an, num_runs=RUNS, rng=np.random.default_rng(0))
    elapsed_s = time.perf_counter() - start
    print(f"machine: {machine()}")
    print(f"job: {NUM_GPUS:,} GPUs, {DAYS:g} failure-free days, MTTI {an.mtti_s / 60:.1f} min,"
          f" {an.num_spares} spares, ETTR {an.goodput.ettr:.3f}")
    print(f"monte carlo: {RUNS:,} histories, {mc.interruptions.max():,} max interruptions,"
          f" finish P50 {mc.quantile_s(0.5) / 86400:.1f} days (closed form {an.goodput.expected_finish_s / 86400:.1f})")
    print(f"time: {elapsed_s:.2f} s (target < {TARGET_S:g} s): {'OK' if elapsed_s < TARGET_S else 'TOO SLOW'}")


if __name__ == "__main__":
    main()
