"""How long a forecast takes, on this machine: the issue's command, the same again from the store, and a draw.

Prints the machine and its load, then:

* ``colossus forecast scenarios/colossus-memphis.yaml --job grok2 --by 40 --runs 64 --json`` in a fresh
  folder (the local process pool on every core): wall time, CPU time of this process and its workers,
  and the answer's key numbers;
* the same command again: every draw comes from the store, and the JSON must be byte-identical;
* one draw of the same scenario with and without the filler workload (``forecast.fillers``), simulated in
  this process: its time and the job's finish day, which is why the default leaves fillers out.

Run: ``python benchmarks/bench_forecast.py [--runs 64] [--skip-fillers]``
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
import resource
import subprocess
import sys
import tempfile
import time

from machine_info import machine

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "colossus-memphis.yaml"


def _cpu_s() -> float:
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def _command(runs: int, out: Path) -> list[str]:
    return [sys.executable, "-c", "from colossus.cli import entry; entry()", "forecast", str(SCENARIO), "--job",
            "grok2", "--by", "40", "--runs", str(runs), "--json", "--out", str(out)]


def _timed(cmd: list[str]) -> tuple[float, float, str]:
    cpu0, start = _cpu_s(), time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - start, _cpu_s() - cpu0, done.stdout


def _draw(fillers: bool) -> tuple[float, float | None]:
    from colossus.forecast.sources import NEUTRAL, apply_draw  # noqa: PLC0415
    from colossus.sim import simulate  # noqa: PLC0415
    from colossus.spec import load_scenario  # noqa: PLC0415

    scenario = apply_draw(load_scenario(SCENARIO), "grok2", NEUTRAL, days=52.0, fillers=fillers)
    start = time.perf_counter()
    result = simulate(scenario, seed=1, days=52.0, base_dir=SCENARIO.parent)
    finish = result.summary["jobs"][0]["finished_at_s"]
    return time.perf_counter() - start, None if finish is None else finish / 86400


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=64)
    parser.add_argument("--skip-fillers", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}; load average {', '.join(f'{x:.2f}' for x in os.getloadavg())}")
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "forecast"
        cmd = _command(args.runs, out)
        shown = " ".join(["colossus", *cmd[3:-2]])
        wall, cpu, first = _timed(cmd)
        doc = json.loads(first)
        print(f"{shown}: {wall:.1f} s wall, {cpu:.1f} s CPU (this process and its workers)")
        print(f"  P(finish by day 40) {doc['p_finish_by']:.3f}; finish day P10/P50/P90"
              f" {doc['finish_day_p10']:.1f} / {doc['finish_day_p50']:.1f} / {doc['finish_day_p90']:.1f};"
              f" {100 * doc['finished_frac']:.0f}% of draws finished, periods up to day {doc['horizon_day']:g}"
              f" (factors tried {doc['factors_tried']})")
        print("  drivers (P50 at P10 / P90): " + "; ".join(
            f"{d['name']} {d['p50_low_day'] or float('nan'):.1f} / {d['p50_high_day'] or float('nan'):.1f}"
            for d in doc["drivers"]))
        wall2, cpu2, second = _timed(cmd)
        print(f"  again (every draw from the store): {wall2:.1f} s wall, {cpu2:.1f} s CPU;"
              f" JSON identical: {second == first}")
    if not args.skip_fillers:
        for fillers in (False, True):
            wall, finish = _draw(fillers)
            print(f"one draw to day 52 {'with' if fillers else 'without'} fillers: {wall:.1f} s,"
                  f" grok2 finishes on day {finish if finish is None else round(finish, 2)}")


if __name__ == "__main__":
    main()
