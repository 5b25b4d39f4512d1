"""Byte-identity of simulation outputs across a refactor: record the hashes, change the code, compare.

    python tests/sim/identity_check.py record FILE.json   # before
    python tests/sim/identity_check.py compare FILE.json  # after: exit 1 on any difference

Simulates each shipped scenario for a few seeds (short periods, so it takes a
minute) through ``colossus.api.simulate(out=...)`` and hashes the Parquet
files and ``summary.json`` (the DuckDB file is not byte-stable by design, see
docs/architecture.md). Not a test of the suite: a behaviour change that is
meant (a new model) changes the hashes too; this guards a change that is
meant to change nothing.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
import sys
import tempfile

ROOT = Path(__file__).resolve().parents[2]
CASES = (
    ("colossus-memphis.yaml", 1, 30.0),
    ("colossus-memphis.yaml", 7, 30.0),
    ("colossus-memphis.yaml", 20240722, 150.0),
    ("colossus-200k.yaml", 1, 20.0),
    ("colossus-200k.yaml", 3, 20.0),
    ("colossus-memphis-2025.yaml", 2, 20.0),
)
FILES = ("timeseries.parquet", "events.parquet", "jobs.parquet", "summary.json")


def hashes() -> dict[str, str]:
    from colossus import api

    out: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for name, seed, days in CASES:
            folder = Path(tmp) / "run"  # one path for every case: the summary records it
            api.simulate(ROOT / "scenarios" / name, seed=seed, days=days, out=folder, report=False)
            for f in FILES:
                out[f"{name}:{seed}:{days}:{f}"] = hashlib.sha256((folder / f).read_bytes()).hexdigest()
            for f in folder.iterdir():
                f.unlink()
            folder.rmdir()
    return out


def main(argv: list[str]) -> int:
    mode, path = argv
    now = hashes()
    if mode == "record":
        Path(path).write_text(json.dumps(now, indent=1, sort_keys=True), encoding="utf-8")
        print(f"recorded {len(now)} hashes")
        return 0
    before = json.loads(Path(path).read_text(encoding="utf-8"))
    differ = sorted(k for k in before if before[k] != now.get(k))
    print(f"{len(before) - len(differ)} of {len(before)} identical" + (f"; differ: {differ}" if differ else ""))
    return 1 if differ else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
