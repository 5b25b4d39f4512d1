"""Fill the disk at each stage of writing a result: run inside ``unshare -Urm`` (a private mount namespace).

``python disk_driver.py WORK`` mounts small tmpfs file systems under WORK
(sizes chosen so the disk is full while the Parquet files, the DuckDB file,
the report, or the swap of an old result are written), runs ``colossus
simulate`` in-process into each, and prints what each left, as JSON.
"""

from __future__ import annotations

import contextlib
import io
import json
from pathlib import Path
import subprocess
import sys

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from hostile_helpers import tiny_doc, write_yaml  # noqa: E402

from colossus.cli import main  # noqa: E402
from colossus.results.paths import FILES, REPORT  # noqa: E402

#: tmpfs sizes: full during the Parquet files, the DuckDB file, the report; then room for one result.
SIZES = ("4k", "64k", "1600k", "4m", "10m")


def simulate(scenario: Path, out: Path) -> dict[str, object]:
    err = io.StringIO()
    escaped = None
    code = None
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        try:
            code = main(["simulate", str(scenario), "--days", "0.5", "--json", "--out", str(out)])
        except BaseException as exc:  # noqa: BLE001 (counted as a traceback by the test)
            escaped = repr(exc)
    names = sorted(p.name for p in out.iterdir()) if out.is_dir() else None
    return {"code": code, "stderr": err.getvalue(), "escaped": escaped, "files": names,
            "complete": names is not None and set(FILES) | {REPORT} <= set(names),
            "leftovers": sorted(p.name for p in out.parent.iterdir() if p.name != out.name)}


def main_driver(work: Path) -> dict[str, object]:
    scenario = write_yaml(work / "tiny.yaml", tiny_doc())
    report: dict[str, object] = {}
    for size in SIZES:
        disk = work / f"disk-{size}"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(disk)], check=True)
        report[size] = simulate(scenario, disk / "run")
    # A second result to the same folder on a disk with room for one: the old result must survive.
    disk = work / "disk-10m"
    before = (disk / "run" / "summary.json").read_bytes() if (disk / "run" / "summary.json").exists() else None
    again = simulate(scenario, disk / "run")
    again["same"] = before is not None and (disk / "run" / "summary.json").read_bytes() == before
    report["rewrite-10m"] = again
    return report


if __name__ == "__main__":
    print(json.dumps(main_driver(Path(sys.argv[1]))))
