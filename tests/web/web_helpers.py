"""Helpers of the web tests: scenario folders to serve, a client, waiting for a background job."""

from __future__ import annotations

from pathlib import Path
import shutil
import time
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
REPO_SCENARIOS = REPO / "scenarios"
#: The Host name of Starlette's and schemathesis' test clients.
TEST_HOSTS = ("testserver", "127.0.0.1", "localhost")


def make_scenarios(folder: Path) -> Path:
    """The repository's scenarios, plus one broken file and one that validates but fails when simulated."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in REPO_SCENARIOS.glob("*.yaml"):
        shutil.copy(path, folder / path.name)
    (folder / "broken.yaml").write_text("name: broken\ncluster: [1, 2\n", encoding="utf-8")
    doc = yaml.safe_load((REPO_SCENARIOS / "colossus-memphis.yaml").read_text(encoding="utf-8"))
    doc["name"] = "fails-in-sim"
    doc["simulation"]["workload"]["trace"] = "no-such-trace.json"  # valid spec, missing file: fails in the worker
    (folder / "fails-in-sim.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return folder


def wait_for_job(client: Any, job_id: str, *, timeout_s: float = 180.0) -> tuple[dict[str, Any], list[float]]:
    """Poll a job until it ends; its last state and the progress seen on the way."""
    seen: list[float] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        response = client.get(f"/api/jobs/{job_id}")
        assert response.status_code == 200, response.text
        job = response.json()
        seen.append(job["progress_frac"])
        if job["status"] in ("done", "failed", "cancelled"):
            return job, seen
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} did not end within {timeout_s} s (last: {job})")


def write_sweep_store(folder: Path) -> None:
    """A sweep store as ``colossus sweep`` writes it (``colossus.sweep.store``): table ``runs``, a row per run."""
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect(str(folder / "sweep.duckdb"))
    con.execute('CREATE TABLE runs (content_hash VARCHAR NOT NULL, seed BIGINT NOT NULL, kind VARCHAR NOT NULL,'
                ' days DOUBLE NOT NULL, scenario VARCHAR NOT NULL, error VARCHAR, wall_s DOUBLE,'
                ' "power.supply.generators[0].count" BIGINT, "grok2.tokens_per_s" DOUBLE,'
                ' PRIMARY KEY (content_hash, seed, kind, days))')
    for i, count in enumerate((0, 14, 28)):
        con.execute("INSERT INTO runs VALUES (?, 1, 'estimate', 0, 'colossus-memphis', ?, 0.5, ?, ?)",
                    [f"h{i}", "infeasible" if count == 0 else None, count, None if count == 0 else 1e6 * count])
    con.close()
    (folder / "sweep-estimate.html").write_text("<html>plot</html>", encoding="utf-8")


def write_simulate_sweep_store(folder: Path) -> None:
    """A simulate sweep in which no job finished and the progress column holds no value (an older store):
    the page's default plot must still show points, not an empty frame."""
    import duckdb

    folder.mkdir(parents=True)
    con = duckdb.connect(str(folder / "sweep.duckdb"))
    con.execute('CREATE TABLE runs (content_hash VARCHAR NOT NULL, seed BIGINT NOT NULL, kind VARCHAR NOT NULL,'
                ' days DOUBLE NOT NULL, scenario VARCHAR NOT NULL, error VARCHAR, wall_s DOUBLE,'
                ' "power.supply.generators[0].count" BIGINT, "grok2.finished_at_days" DOUBLE,'
                ' "grok2.progress_frac" DOUBLE, "grok2.tokens_trained" DOUBLE,'
                ' PRIMARY KEY (content_hash, seed, kind, days))')
    for i, count in enumerate((0, 14, 28)):
        for seed in (1, 2):
            con.execute(
                "INSERT INTO runs VALUES (?, ?, 'simulate', 30, 'colossus-memphis', NULL, 2.0, ?, NULL, NULL, ?)",
                [f"s{i}", seed, count, 1e9 * count + seed],
            )
    con.close()
