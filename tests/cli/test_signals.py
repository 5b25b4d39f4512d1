"""Real signals at ten evenly spread moments of ``colossus simulate``: a complete result or nothing, never a traceback.

The runs are forked by ``signal_driver.py`` (one process that imports colossus
once, so each run starts at once and the moments fall in the simulation and
the writing of results, DuckDB and report). SIGINT and SIGTERM alternate. A
run killed with SIGKILL while it writes leaves its temporary folder; the next
run to that folder must remove it. Interrupting a new run to a folder that
holds a result keeps the old result whole.
"""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

import pytest

DRIVER = Path(__file__).resolve().parent / "signal_driver.py"
MOMENTS = 10


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> dict:
    work = tmp_path_factory.mktemp("signals")
    done = subprocess.run([sys.executable, str(DRIVER), str(work), str(MOMENTS)], capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.slow
def test_every_moment_leaves_a_complete_result_or_nothing(report: dict):
    assert report["reference_code"] == 0
    assert len(report["runs"]) == MOMENTS
    for run in report["runs"]:
        expected = {"SIGINT": 130, "SIGTERM": 143}[run["signal"]]
        assert run["code"] in (0, expected), run
        assert run["state"] in ("absent", "complete"), run
        assert run["leftovers"] == [], run  # the interrupted run cleaned up after itself
        assert "Traceback" not in run["stderr"], run["stderr"]
        if run["code"] != 0:
            lines = [line for line in run["stderr"].splitlines() if line.strip()]
            assert len(lines) == 1 and lines[0].startswith("interrupted:"), run["stderr"]


@pytest.mark.slow
def test_an_interrupted_rewrite_keeps_the_old_result(report: dict):
    kept = report["kept"]
    assert kept["code"] in (0, 130) and kept["state"] == "complete" and kept["leftovers"] == []
    assert kept["same"] or kept["code"] == 0  # untouched, unless the new run finished first


@pytest.mark.slow
def test_the_next_run_cleans_up_after_a_killed_one(report: dict):
    killed, after = report["killed"], report["next"]
    assert killed["code"] == -9 and killed["state"] == "absent"
    assert any(name.startswith(".killed.tmp-") for name in killed["leftovers"]), killed
    assert after["code"] == 0 and after["state"] == "complete" and after["leftovers"] == []
