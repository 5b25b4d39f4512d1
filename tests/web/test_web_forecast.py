"""The dashboard's forecast: a background job like a simulation, whose summary is the forecast's answer."""

from __future__ import annotations

from pathlib import Path

from fastapi.testclient import TestClient
import pytest
from web_helpers import wait_for_job
import yaml

from tests.forecast.forecast_helpers import tiny_doc


@pytest.fixture(scope="module")
def tiny_name(web_dirs: tuple[Path, Path]) -> str:
    """A small scenario with the measured doubts on, beside the shipped ones (read on demand by the app)."""
    doc = tiny_doc(rate_scale=4.0, train_tokens=6e10)
    doc.update({"name": "forecast-tiny",
                "forecast": {"step_time_error": "measured", "failure_rate_spread": "measured"}})
    (web_dirs[0] / "forecast-tiny.yaml").write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return "forecast-tiny"


def test_a_forecast_runs_in_the_background(client: TestClient, tiny_name: str, web_dirs: tuple[Path, Path]):
    response = client.post(f"/api/scenarios/{tiny_name}/forecast", json={"by_day": 0.4, "runs": 6, "seed": 2})
    assert response.status_code == 202, response.text
    job = response.json()
    assert job["kind"] == "forecast" and response.headers["location"] == f"/api/jobs/{job['id']}"
    final, seen = wait_for_job(client, job["id"])
    assert final["status"] == "done", final
    assert seen == sorted(seen) and seen[-1] == 1
    doc = final["summary"]
    for key in ("p_finish_by", "finish_day_p10", "finish_day_p50", "finish_day_p90", "runs", "drivers"):
        assert key in doc
    assert doc["runs"] == 6 and doc["seed"] == 2 and doc["job"] == "grok2"
    assert set(doc["figures"]) >= {"finish_distribution", "progress_fan"} and doc["captions"]["progress_fan"]
    assert doc["store"] == f"{final['run_id']}/draws.duckdb"  # relative: no server path in an answer
    folder = web_dirs[1] / final["run_id"]
    assert sorted(p.name for p in folder.iterdir()) == ["draws.duckdb", "forecast.json", "report.html", "request.json"]
    assert final["run_id"] not in {r["id"] for r in client.get("/api/runs").json()}  # not a simulation's run


@pytest.mark.parametrize(("body", "status", "text"), [
    ({"runs": 4}, 422, "by_day"),
    ({"by_day": 0, "runs": 4}, 422, "by_day"),
    ({"by_day": 1, "runs": 0}, 422, "runs"),
    ({"by_day": 1, "runs": 100000}, 422, "runs"),
    ({"by_day": True}, 422, "by_day"),
    ({"by_day": 1, "job": "nope"}, 409, "no job 'nope'"),
])
def test_a_bad_forecast_request_is_refused_at_once(client: TestClient, tiny_name: str, body, status, text):
    response = client.post(f"/api/scenarios/{tiny_name}/forecast", json=body)
    assert response.status_code == status, response.text
    assert text in response.text


def test_an_unknown_scenario_is_404(client: TestClient):
    assert client.post("/api/scenarios/no-such/forecast", json={"by_day": 1}).status_code == 404
