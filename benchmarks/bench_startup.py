"""Start-up time of the command line, beside Python's own.

Run: ``python benchmarks/bench_startup.py [--runs N]``. Target (issue 15):
``colossus --help`` under 0.3 s median on a quiet machine. Prints the median
and the spread of N runs of ``python -c pass``, ``python -c "import colossus"``,
``colossus --help``, ``colossus show --catalog`` (a command that loads
the specs and the catalog) and ``colossus estimate`` of one published run (the
performance model and its error table, not the forecast's engine), each a fresh
process, and what ``import colossus.cli`` leaves out (the heavy modules load
where a command needs them).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import statistics
import subprocess
import sys
import tempfile
import time

from machine_info import machine

TARGET_S = 0.3
RUNS_FILE = Path(__file__).resolve().parents[2] / "shared" / "validation" / "training_runs.yaml"
HEAVY = ("numpy", "scipy", "pydantic", "plotly", "duckdb", "pandas", "pyarrow", "fastapi", "ray", "yaml")
CLI = [sys.executable, "-c", "from colossus.cli import entry; entry()"]


def timed(argv: list[str], runs: int) -> list[float]:
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        out.append(time.perf_counter() - t0)
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=11)
    args = ap.parse_args()
    print(machine())
    cases = {
        "python -c pass": [sys.executable, "-c", "pass"],
        "python -c 'import colossus'": [sys.executable, "-c", "import colossus"],
        "colossus --help": [*CLI, "--help"],
        "colossus show --catalog": [*CLI, "show", "--catalog"],
    }
    one_run = _one_published_run()
    if one_run is not None:
        cases["colossus estimate (one run)"] = [*CLI, "estimate", str(one_run)]
    for name, argv in cases.items():
        times = timed(argv, args.runs)
        print(f"{name:30s} median {statistics.median(times):.3f} s   min {min(times):.3f}   max {max(times):.3f}")
    probe = f"import sys, colossus.cli; print(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    loaded = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout.strip()
    print(f"heavy modules loaded by 'import colossus.cli': {loaded or 'none'} (of {', '.join(HEAVY)})")
    print(f"target: colossus --help median under {TARGET_S} s on a quiet machine")


def _one_published_run() -> Path | None:
    """The first run of the shared validation file, alone in a temporary file (None without the file)."""
    if not RUNS_FILE.exists():
        return None
    import yaml  # noqa: PLC0415

    runs = yaml.safe_load(RUNS_FILE.read_text())
    path = Path(tempfile.mkdtemp()) / "one_run.yaml"
    path.write_text(yaml.safe_dump(runs[:1], sort_keys=False))
    return path


if __name__ == "__main__":
    main()
