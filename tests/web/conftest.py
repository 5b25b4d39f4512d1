"""Fixtures of the web tests: one app per module over a copy of the scenarios, and one finished short run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
import pytest
from web_helpers import TEST_HOSTS, make_scenarios, wait_for_job

from colossus.web import create_app


@pytest.fixture(scope="module")
def web_dirs(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("web")
    return make_scenarios(root / "scenarios"), root / "runs"


@pytest.fixture(scope="module")
def client(web_dirs: tuple[Path, Path]) -> Iterator[TestClient]:
    """The app with one simulation worker (CI has two cores), its lifespan running."""
    scenarios, runs = web_dirs
    app = create_app(scenarios, runs, max_concurrent=1, allowed_hosts=TEST_HOSTS)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def short_run(client: TestClient) -> dict[str, Any]:
    """A 2-day simulation of the default scenario, run through the API; its final job state."""
    response = client.post("/api/scenarios/colossus-memphis/simulate", json={"overrides": {"days": 2}})
    assert response.status_code == 202, response.text
    job, seen = wait_for_job(client, response.json()["id"])
    assert job["status"] == "done", job
    job["progress_seen"] = seen
    return job
