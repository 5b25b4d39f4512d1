"""A full disk at every stage of writing a result: one error line, exit 2, and nothing half-written left.

Needs a small file system to fill: ``disk_driver.py`` runs in a private
mount namespace (``unshare -Urm``) and mounts tmpfs file systems of a few
sizes, so that the disk is full while the Parquet files, the DuckDB file or
the report are written; on a machine that does not allow user namespaces the
test is skipped, saying why.
"""

from __future__ import annotations

import json
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

DRIVER = Path(__file__).resolve().parent / "disk_driver.py"


def _can_mount_tmpfs() -> str | None:
    """None if a private tmpfs can be mounted here, else why not."""
    if shutil.which("unshare") is None or shutil.which("mount") is None:
        return "no unshare or mount command on this machine"
    try:
        probe = subprocess.run(["unshare", "-Urm", "sh", "-c", "mount -t tmpfs -o size=4k tmpfs /mnt"],
                               capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unshare failed: {exc}"
    if probe.returncode != 0:
        return f"user namespaces or tmpfs mounts are not allowed here ({probe.stderr.strip()[:120]})"
    return None


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    reason = _can_mount_tmpfs()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("disk")
    done = subprocess.run(["unshare", "-Urm", sys.executable, str(DRIVER), str(work)], capture_output=True,
                          text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
@pytest.mark.parametrize("size", ["4k", "64k", "1600k", "4m"])
def test_a_full_disk_is_one_line_and_leaves_nothing(report: dict, size: str):
    run = report[size]
    assert run["escaped"] is None and "Traceback" not in run["stderr"], run
    assert run["code"] == 2, run
    lines = [line for line in run["stderr"].splitlines() if line.strip()]
    assert len(lines) == 1 and "No space left on device" in lines[0], run["stderr"]
    assert run["files"] is None and run["leftovers"] == [], run  # no result, no temporary folder, no lock


@pytest.mark.slow
def test_room_for_one_result_and_a_failed_rewrite_keeps_it(report: dict):
    assert report["10m"]["code"] == 0 and report["10m"]["complete"]
    again = report["rewrite-10m"]
    assert again["code"] == 2 and "No space left on device" in again["stderr"]
    assert again["complete"] and again["same"] and again["leftovers"] == []
