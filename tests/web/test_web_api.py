"""The dashboard's JSON API through an HTTP client: every endpoint, its 404 and 422 paths, a real short run."""

from __future__ import annotations

import json
from pathlib import Path
import re
from typing import Any

from fastapi.testclient import TestClient
import pytest
from web_helpers import TEST_HOSTS, wait_for_job, write_sweep_store

from colossus.report import NAMES
from colossus.web import create_app

MEMPHIS = "/api/scenarios/colossus-memphis"


def _detail(response: Any) -> list[dict[str, Any]]:
    body = response.json()
    assert isinstance(body["detail"], list), body
    return body["detail"]


# --- scenarios and catalog ----------------------------------------------------------------------


def test_catalog_lists_the_names_the_knobs_accept(client: TestClient):
    cat = client.get("/api/catalog").json()
    assert "h100-sxm5-80gb" in cat["gpus"] and "h200-sxm-141gb" in cat["gpus"]
    assert "grok-1-314b" in cat["models"]
    assert "gas-recip-2500kw" in cat["generators"] and cat["batteries"]


def test_scenarios_listed_with_the_default_and_broken_files_explained(client: TestClient):
    items = {s["name"]: s for s in client.get("/api/scenarios").json()}
    assert {"colossus-memphis", "colossus-200k", "broken", "fails-in-sim"} <= set(items)
    assert items["colossus-memphis"]["default"] and not items["colossus-200k"]["default"]
    assert items["colossus-memphis"]["error"] is None and "100,000" in items["colossus-memphis"]["description"]
    assert "broken.yaml" in items["broken"]["error"] and "line" in items["broken"]["error"]


def test_scenario_detail_has_the_knobs_to_prefill_the_form(client: TestClient):
    doc = client.get(MEMPHIS).json()
    knobs = doc["knobs"]
    assert knobs["pools"] == [
        {"name": "h100-phase1", "gpu": "h100-sxm5-80gb", "num_gpus": 100000, "gpus_per_server": 8}]
    assert knobs["jobs"][0] | {"model": "grok-1-314b"} == knobs["jobs"][0]
    assert knobs["jobs"][0]["checkpoint_interval_min"] == 30 and knobs["jobs"][0]["num_gpus"] == 20000
    assert knobs["jobs"][0]["moe"] is True and knobs["jobs"][0]["expert_routing"] == "balanced"  # (none stated)
    assert knobs["grid_interim_mw"] == 8 and knobs["grid_contract_start_day"] is None
    assert knobs["generators"] == [{"unit": "gas-recip-2500kw", "count": 14}] and knobs["batteries"] == []
    assert knobs["days"] == 150 and knobs["seed"] == 20240722
    assert doc["document"]["name"] == "colossus-memphis"


def test_invalid_scenario_file_is_a_409_naming_the_file(client: TestClient):
    """The request is valid; the scenario file on the server is not: a conflict, with no server path."""
    response = client.get("/api/scenarios/broken")
    assert response.status_code == 409
    assert _detail(response)[0]["msg"].startswith("broken.yaml: ")


@pytest.mark.parametrize("method, path", [
    ("GET", "/api/scenarios/nope"),
    ("POST", "/api/scenarios/nope/estimate"),
    ("POST", "/api/scenarios/nope/plan"),
    ("POST", "/api/scenarios/nope/power"),
    ("POST", "/api/scenarios/nope/reliability"),
    ("POST", "/api/scenarios/nope/simulate"),
    ("GET", "/api/runs/nope"),
    ("GET", "/api/runs/nope/figures"),
    ("GET", "/api/runs/nope/timeseries"),
    ("GET", "/api/runs/nope/events"),
    ("GET", "/api/runs/nope/report"),
    ("GET", "/api/compare?run=nope"),
    ("GET", "/api/sweeps/nope"),
    ("GET", "/api/sweeps/nope/plots/simulate"),
    ("GET", "/api/jobs/0123456789ab"),
    ("DELETE", "/api/jobs/0123456789ab"),
    ("GET", "/api/nothing-here"),
    ("GET", "/static/secret.txt"),
])
def test_unknown_names_are_404(client: TestClient, method: str, path: str):
    response = client.request(method, path, json={} if method == "POST" else None)
    assert response.status_code == 404, response.text
    assert "Traceback" not in response.text


@pytest.mark.parametrize("path", [
    "/api/scenarios/..",
    "/api/scenarios/%2e%2e",
    "/api/scenarios/..%2Fscenarios%2Fcolossus-memphis",
    "/api/scenarios/%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/api/scenarios/%2Fetc%2Fpasswd",
    "/api/scenarios/.hidden",
    "/api/scenarios/colossus-memphis.yaml%00",
    "/api/runs/..",
    "/api/runs/%2e%2e%2f%2e%2e",
    "/api/runs/..%5C..%5Cwindows",
    "/api/runs/%2Fetc",
    "/api/runs/.colossus-tmp/figures",
    "/api/runs/..%2F..%2Fscenarios/report",
    "/api/sweeps/%2e%2e",
    "/api/sweeps/..%2F../plots/x",
    "/static/..%2F..%2Fapp.py",
    "/static/%2e%2e%2fapi.py",
])
def test_traversal_attempts_never_reach_a_file(client: TestClient, path: str):
    response = client.get(path)
    assert response.status_code in (404, 422), (path, response.status_code)
    assert "root:" not in response.text and "import" not in response.text


def test_a_scenario_linked_from_outside_the_folder_is_unknown(tmp_path: Path):
    scenarios, outside = tmp_path / "scenarios", tmp_path / "outside"
    scenarios.mkdir()
    outside.mkdir()
    (outside / "secret.yaml").write_text("name: secret\n", encoding="utf-8")
    (scenarios / "escape.yaml").symlink_to(outside / "secret.yaml")
    (tmp_path / "runs").mkdir()
    (outside / "run").mkdir()
    (outside / "run" / "summary.json").write_text("{}", encoding="utf-8")
    (tmp_path / "runs" / "escape").symlink_to(outside / "run")
    with TestClient(create_app(scenarios, tmp_path / "runs", allowed_hosts=TEST_HOSTS)) as c:
        assert c.get("/api/scenarios").json() == []
        assert c.get("/api/scenarios/escape").status_code == 404
        assert c.get("/api/runs").json() == []
        assert c.get("/api/runs/escape").status_code == 404


# --- quick analyses -------------------------------------------------------------------------------


def test_estimate_every_job(client: TestClient):
    response = client.post(f"{MEMPHIS}/estimate", json={})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["kind"] == "estimate" and body["scenario"] == "colossus-memphis"
    job = body["result"]["jobs"][0]
    assert job["job"] == "grok2" and job["planned"] and 0 < job["estimate"]["mfu"] < 1
    assert job["time_to_train_s"] == pytest.approx(job["train_tokens"] / job["tokens_per_s"])


def test_plan_lists_the_best_layouts(client: TestClient):
    body = client.post(f"{MEMPHIS}/plan", json={"job": "grok2"}).json()
    result = body["result"]
    assert result["gpus"] == 20000 and result["gpu"] == "h100-sxm5-80gb"
    steps = [e["step_time_s"] for e in result["best"]]
    assert 1 <= len(steps) <= 10 and steps == sorted(steps)
    assert result["why_best"]


def test_plan_of_an_unknown_job_is_a_409(client: TestClient):
    response = client.post(f"{MEMPHIS}/plan", json={"job": "grok9"})
    assert response.status_code == 409
    assert "grok9" in _detail(response)[0]["msg"] and "grok2" in _detail(response)[0]["msg"]


def test_power_with_supply_and_overrides(client: TestClient):
    base = client.post(f"{MEMPHIS}/power", json={}).json()["result"]
    assert base["supply"]["firm_w"] == pytest.approx(8e6 + 14 * 2.5e6)
    more = client.post(f"{MEMPHIS}/power", json={"overrides": {
        "grid_interim_mw": 100, "generators": {"gas-recip-2500kw": 0, "gas-turbine-titan130": 2},
        "batteries": {"megapack2-xl-2h": 10}}}).json()["result"]
    units = {f["unit"]: f["count"] for f in more["supply"]["generators"]}
    assert units == {"gas-recip-2500kw": 0, "gas-turbine-titan130": 2}
    assert more["supply"]["battery_power_w"] > 0 and more["supply"]["firm_w"] > base["supply"]["firm_w"]
    capped = client.post(f"{MEMPHIS}/power", json={"supply_mw": 20}).json()["result"]
    assert capped["deficit"]["supply_w"] == pytest.approx(20e6)
    assert capped["deficit"]["throughput_kept_frac"] < 1


def test_reliability_with_monte_carlo_and_a_deadline(client: TestClient):
    response = client.post(f"{MEMPHIS}/reliability", json={
        "runs": 50, "deadline_days": 200, "overrides": {"jobs": {"grok2": {"checkpoint_interval_min": 60}}}})
    assert response.status_code == 200, response.text
    doc = response.json()["result"]
    assert doc["job"] == "grok2" and doc["checkpoint"]["interval_s"] == pytest.approx(3600)
    assert doc["monte_carlo"]["runs"] == 50 and 0 <= doc["monte_carlo"]["p_by_deadline"] <= 1
    assert doc["throughput"]["source"].startswith("perf model")


def test_a_fixed_layout_is_released_when_the_gpu_count_changes(client: TestClient, web_dirs: tuple[Path, Path]):
    scenarios, _ = web_dirs
    text = (scenarios / "colossus-memphis.yaml").read_text(encoding="utf-8")
    fixed = text.replace("layout: null  # the planner chooses the parallel layout",
                         "layout: {tp: 8, pp: 8, dp: 312, cp: 1, ep: 1, micro_batch: 1, global_batch: 3744}")
    fixed = fixed.replace("num_gpus: 20000  #", "num_gpus: 19968  #").replace("name: colossus-memphis", "name: fixed")
    (scenarios / "fixed-layout.yaml").write_text(fixed, encoding="utf-8")
    try:
        body = {"overrides": {"jobs": {"grok2": {"num_gpus": 16384}}}}
        response = client.post("/api/scenarios/fixed-layout/estimate", json=body)
        assert response.status_code == 200, response.text
        body = response.json()
        assert any("planner chooses" in n for n in body["notes"])
        assert body["result"]["jobs"][0]["planned"]
    finally:
        (scenarios / "fixed-layout.yaml").unlink()


# --- bad bodies -----------------------------------------------------------------------------------


@pytest.mark.parametrize("overrides, loc, words", [
    ({"pools": {"h100-phase1": {"num_gpus": 1001}}}, ["body", "overrides", "pools", "h100-phase1", "num_gpus"],
     ["whole servers", "cluster.pools[0]"]),
    ({"pools": {"h100-phase1": {"gpu": "h999"}}}, ["body", "overrides", "pools", "h100-phase1", "gpu"],
     ["unknown GPU"]),
    ({"pools": {"h100-phase1": {"num_gpus": 8000}}}, ["body", "overrides", "pools"], ["needs 20000 GPUs"]),
    ({"pools": {"nope": {"num_gpus": 8}}}, ["body", "overrides", "pools", "nope"], ["no pool 'nope'", "h100-phase1"]),
    ({"jobs": {"grok2": {"model": "gpt-x"}}}, ["body", "overrides", "jobs", "grok2", "model"], ["did you mean"]),
    ({"jobs": {"grok2": {"num_gpus": 200000}}}, ["body", "overrides", "jobs", "grok2", "num_gpus"], ["has 100000"]),
    ({"jobs": {"grok9": {"num_gpus": 8}}}, ["body", "overrides", "jobs", "grok9"], ["no job 'grok9'"]),
    ({"generators": {"gas-steam-9000": 2}}, ["body", "overrides", "generators", "gas-steam-9000"],
     ["unknown generator"]),
    ({"batteries": {"lead-acid": 1}}, ["body", "overrides", "batteries", "lead-acid"], ["unknown battery"]),
])
def test_override_the_scenario_rejects_is_a_409_naming_the_field(client: TestClient, overrides: dict[str, Any],
                                                                 loc: list[str], words: list[str]):
    """A schema-valid request that the scenario rejects conflicts with it (409); the shape is FastAPI's 422's."""
    for kind in ("estimate", "simulate"):
        response = client.post(f"{MEMPHIS}/{kind}", json={"overrides": overrides})
        assert response.status_code == 409, response.text
        detail = _detail(response)[0]
        assert detail["loc"] == loc and detail["type"] == "spec_error"
        assert "colossus-memphis.yaml (with overrides)" in detail["msg"]
        for word in words:
            assert word in detail["msg"]


@pytest.mark.parametrize("body, field", [
    ({"overrides": {"days": 0}}, "days"),
    ({"overrides": {"days": 10000}}, "days"),
    ({"overrides": {"generators": {"gas-recip-2500kw": -1}}}, "generators"),
    ({"overrides": {"pools": {"h100-phase1": {"num_gpus": -8}}}}, "num_gpus"),
    ({"overrides": {"grid_interim_mw": "lots"}}, "grid_interim_mw"),
    ({"overrides": {"seed": -1}}, "seed"),
    ({"overrides": {"gpus": 5}}, "gpus"),
    ({"overrides": [], "x": 1}, "overrides"),
])
def test_malformed_body_is_fastapis_422(client: TestClient, body: Any, field: str):
    response = client.post(f"{MEMPHIS}/simulate", json=body)
    assert response.status_code == 422, response.text
    assert any(field in map(str, d["loc"]) for d in _detail(response)), response.json()


def test_a_body_is_required_and_must_be_json(client: TestClient):
    assert client.post(f"{MEMPHIS}/simulate").status_code == 422
    response = client.post(f"{MEMPHIS}/simulate", content=b'{"overrides": {}}', headers={"Content-Type": "text/plain"})
    assert response.status_code == 422


# --- background simulation and stored runs -------------------------------------------------------


def test_simulate_runs_in_the_background_with_progress(short_run: dict[str, Any]):
    assert re.fullmatch(r"colossus-memphis-\d{8}-\d{6}(-\d+)?", short_run["run_id"])
    seen = short_run["progress_seen"]
    assert seen == sorted(seen) and all(0 <= f <= 1 for f in seen) and seen[-1] == 1
    assert short_run["summary"]["days"] == 2 and short_run["summary"]["scenario"] == "colossus-memphis"
    assert short_run["finished_s"] >= short_run["started_s"] >= short_run["created_s"]


def test_simulate_answers_202_with_a_location(client: TestClient):
    response = client.post(f"{MEMPHIS}/simulate", json={"overrides": {"days": 1, "seed": 7}})
    assert response.status_code == 202
    job = response.json()
    assert response.headers["location"] == f"/api/jobs/{job['id']}"
    assert job["status"] in ("queued", "running") and job["days"] == 1
    final, _ = wait_for_job(client, job["id"])
    assert final["status"] == "done" and final["summary"]["seed"] == 7
    listed = {j["id"]: j for j in client.get("/api/jobs").json()}
    assert listed[job["id"]]["summary"] is None and listed[job["id"]]["status"] == "done"


def test_a_run_that_fails_in_the_simulation_is_a_failed_job_with_one_line(client: TestClient):
    response = client.post("/api/scenarios/fails-in-sim/simulate", json={"overrides": {"days": 1}})
    assert response.status_code == 202
    job, _ = wait_for_job(client, response.json()["id"])
    assert job["status"] == "failed" and job["run_id"] is None
    assert "no-such-trace.json" in job["message"] and "\n" not in job["message"]
    assert "Traceback" not in job["message"]


def test_stored_runs_are_listed_and_read(client: TestClient, short_run: dict[str, Any], web_dirs: tuple[Path, Path]):
    run_id = short_run["run_id"]
    runs = {r["id"]: r for r in client.get("/api/runs").json()}
    assert runs[run_id]["scenario"] == "colossus-memphis" and runs[run_id]["days"] == 2
    assert runs[run_id]["has_report"] and runs[run_id]["overrides"] == {"days": 2.0}
    detail = client.get(f"/api/runs/{run_id}").json()
    assert detail["summary"]["days"] == 2 and detail["request"]["scenario"] == "colossus-memphis"
    labels = [label for label, _ in detail["headline"]]
    assert "energy used" in labels and "peak demand" in labels
    assert {t["name"] for t in detail["tables"]} >= {"jobs", "energy", "failures"}
    stored = json.loads((web_dirs[1] / run_id / "request.json").read_text())
    assert stored["overrides"] == {"days": 2.0} and stored["document"]["simulation"]["days"] == 2


def test_figures_are_the_reports_as_plotly_json(client: TestClient, short_run: dict[str, Any]):
    response = client.get(f"/api/runs/{short_run['run_id']}/figures", params={"max_points": 200})
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    body = response.json()
    assert body["names"] and set(body["names"]) <= set(NAMES) and "power_by_source" in body["names"]
    for name in body["names"]:
        assert body["figures"][name]["data"] and "layout" in body["figures"][name] and body["captions"][name]


def test_timeseries_columns_thinned(client: TestClient, short_run: dict[str, Any]):
    url = f"/api/runs/{short_run['run_id']}/timeseries"
    body = client.get(url, params={"columns": ["demand_w", "gpus_busy"], "max_points": 100}).json()
    assert set(body["columns"]) == {"time_s", "demand_w", "gpus_busy"}
    assert body["num_samples"] > 2000 and body["num_points"] <= 100
    assert all(len(v) == body["num_points"] for v in body["columns"].values())
    assert body["columns"]["time_s"][-1] == pytest.approx(2 * 86400)
    everything = client.get(url, params={"max_points": 10}).json()
    assert set(everything["columns"]) == set(everything["available"]) - {n for n in everything["available"] if not n}
    bad = client.get(url, params={"columns": ["no_such_w"]})
    assert bad.status_code == 404 and "no_such_w" in bad.json()["detail"]
    assert client.get(url, params={"max_points": 1}).status_code == 422


def test_events_are_paginated_and_filtered(client: TestClient, short_run: dict[str, Any]):
    url = f"/api/runs/{short_run['run_id']}/events"
    first = client.get(url, params={"limit": 5}).json()
    assert first["total"] > 5 and len(first["events"]) == 5
    second = client.get(url, params={"limit": 5, "offset": 5}).json()
    times = [e["time_s"] for e in first["events"] + second["events"]]
    assert times == sorted(times) and first["events"] != second["events"]
    builds = client.get(url, params={"kind": "build", "limit": 1000}).json()
    assert builds["total"] >= 1 and {e["kind"] for e in builds["events"]} == {"build"}
    assert client.get(url, params={"kind": "no-such-kind"}).json()["total"] == 0
    assert client.get(url, params={"limit": 0}).status_code == 422
    assert client.get(url, params={"limit": 5000}).status_code == 422


def test_report_is_served_as_html(client: TestClient, short_run: dict[str, Any]):
    response = client.get(f"/api/runs/{short_run['run_id']}/report")
    assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
    assert "colossus report: colossus-memphis" in response.text


def test_compare_runs_side_by_side(client: TestClient, short_run: dict[str, Any]):
    other = client.post(f"{MEMPHIS}/simulate", json={"overrides": {"days": 1, "generators": {"gas-recip-2500kw": 28}}})
    other_job, _ = wait_for_job(client, other.json()["id"])
    ids = [short_run["run_id"], other_job["run_id"]]
    body = client.get("/api/compare", params={"run": ids}).json()
    assert [r["id"] for r in body["runs"]] == ids
    keys = {m["key"] for m in body["metrics"]}
    assert {"energy_used_j", "peak_demand_w", "co2_kg", "deficit_s", "job:grok2:progress_frac"} <= keys
    a, b = body["runs"]
    assert a["values"]["period_s"] == 2 * 86400 and b["values"]["period_s"] == 86400  # SI, shown in days
    assert b["overrides"] == {"days": 1.0, "generators": {"gas-recip-2500kw": 28}}
    energy = next(m for m in body["metrics"] if m["key"] == "energy_used_j")
    assert energy["unit"] == "J" and energy["display_unit"] == "MWh"
    assert client.get("/api/compare", params={"run": [ids[0], "nope"]}).status_code == 404
    assert client.get("/api/compare", params={"run": ["../x"]}).status_code == 422
    assert client.get("/api/compare").status_code == 422
    assert client.get("/api/compare", params={"run": [f"r{i}" for i in range(9)]}).status_code == 422


def test_an_unreadable_run_is_a_409_not_a_traceback(client: TestClient, web_dirs: tuple[Path, Path]):
    bad = web_dirs[1] / "half-a-run"
    bad.mkdir()
    (bad / "summary.json").write_text('{"scenario": "x", "days": 1, "seed": 1}', encoding="utf-8")
    try:
        assert client.get("/api/runs/half-a-run").status_code == 200  # the summary alone is readable
        for part in ("figures", "timeseries", "events"):
            response = client.get(f"/api/runs/half-a-run/{part}")
            assert response.status_code == 409, (part, response.text)
            assert "cannot be read" in response.json()["detail"] and "Traceback" not in response.text
        assert client.get("/api/runs/half-a-run/report").status_code == 404
        (bad / "summary.json").write_text("not json", encoding="utf-8")
        assert "half-a-run" not in {r["id"] for r in client.get("/api/runs").json()}
        assert client.get("/api/runs/half-a-run").status_code == 409
    finally:
        for path in bad.iterdir():
            path.unlink()
        bad.rmdir()


def test_unknown_and_malformed_job_ids(client: TestClient):
    assert client.get("/api/jobs/0123456789ab").status_code == 404
    assert client.get("/api/jobs/not-a-job").status_code == 422
    assert client.get("/api/jobs/%2e%2e").status_code == 422


# --- the bounded queue ----------------------------------------------------------------------------


def test_concurrency_bound_queue_429_and_cancel(web_dirs: tuple[Path, Path], tmp_path: Path):
    """One worker and one waiting place: the third request is refused; the queued one can be cancelled."""
    app = create_app(web_dirs[0], tmp_path / "runs", max_concurrent=1, max_queued=1, allowed_hosts=TEST_HOSTS)
    with TestClient(app) as c:
        long = {"overrides": {"days": 300}}
        first = c.post(f"{MEMPHIS}/simulate", json=long).json()
        second = c.post(f"{MEMPHIS}/simulate", json=long).json()
        assert first["status"] == "running" and second["status"] == "queued"
        third = c.post(f"{MEMPHIS}/simulate", json=long)
        assert third.status_code == 429 and third.headers["retry-after"] == "10"
        assert "running" in third.json()["detail"]
        cancelled = c.delete(f"/api/jobs/{second['id']}")
        assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
        assert c.delete(f"/api/jobs/{first['id']}").status_code == 409
        assert c.delete(f"/api/jobs/{second['id']}").status_code == 409
        assert c.post(f"{MEMPHIS}/simulate", json=long).status_code == 202  # the freed place is taken again
    # leaving the client shut the app down: the running simulations were stopped, not waited for
    assert app.state.web.jobs.get(first["id"]).status.value == "cancelled"


# --- sweeps ---------------------------------------------------------------------------------------


def test_sweeps_are_listed_and_read(tmp_path: Path, web_dirs: tuple[Path, Path]):
    runs = tmp_path / "runs"
    write_sweep_store(runs / "sweep-colossus-memphis")
    (runs / "not-a-sweep").mkdir()
    (runs / "not-a-sweep" / "sweep.duckdb").write_bytes(b"garbage, not a database")
    with TestClient(create_app(web_dirs[0], runs, allowed_hosts=TEST_HOSTS)) as c:
        items = {s["id"]: s for s in c.get("/api/sweeps").json()}
        good = items["sweep-colossus-memphis"]
        assert good["rows"] == 3 and good["kinds"] == ["estimate"] and good["plots"] == ["estimate"]
        assert good["scenarios"] == ["colossus-memphis"] and good["error"] is None
        assert items["not-a-sweep"]["error"] and items["not-a-sweep"]["rows"] is None
        body = c.get("/api/sweeps/sweep-colossus-memphis", params={"limit": 2}).json()
        assert body["total"] == 3 and len(body["rows"]) == 2
        assert "power.supply.generators[0].count" in body["columns"]
        assert c.get("/api/sweeps/sweep-colossus-memphis", params={"offset": 2}).json()["rows"][0][0] == "h2"
        plot = c.get("/api/sweeps/sweep-colossus-memphis/plots/estimate")
        assert plot.status_code == 200 and plot.text == "<html>plot</html>"
        assert c.get("/api/sweeps/not-a-sweep").status_code == 409
        assert c.get("/api/runs").json() == []  # a sweep folder is not a run


def test_a_store_written_by_colossus_sweep_is_read(tmp_path: Path, web_dirs: tuple[Path, Path]):
    sweep = pytest.importorskip("colossus.sweep", reason="the sweep package is not in this checkout")
    with sweep.RunStore(tmp_path / "runs" / "sw" / "sweep.duckdb") as store:
        store.insert({"content_hash": "abc", "seed": 3, "kind": "simulate", "days": 2.0, "scenario": "s",
                      "error": None, "wall_s": 1.0, "x.count": 4, "out_frac": 0.5})
    with TestClient(create_app(web_dirs[0], tmp_path / "runs", allowed_hosts=TEST_HOSTS)) as c:
        assert c.get("/api/sweeps").json()[0]["rows"] == 1
        body = c.get("/api/sweeps/sw").json()
        row = dict(zip(body["columns"], body["rows"][0]))
        assert row["x.count"] == 4 and row["out_frac"] == 0.5 and row["seed"] == 3


# --- the page, static files and guards ------------------------------------------------------------


def test_page_and_local_plotly(client: TestClient):
    page = client.get("/")
    assert page.status_code == 200 and "/static/plotly.min.js" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'self'" in csp and "script-src 'self'" in csp
    js = client.get("/static/plotly.min.js")
    assert js.status_code == 200 and js.headers["content-type"].startswith("text/javascript")
    assert len(js.content) > 1_000_000 and b"plotly" in js.content[:2000].lower()
    for name in ("app.js", "app.css"):
        assert client.get(f"/static/{name}").status_code == 200
    for text in (page.text, client.get("/static/app.js").text, client.get("/static/app.css").text):
        assert not re.search(r"https?://", text), "the page must load nothing from elsewhere"


def test_openapi_spec_without_cdn_docs(client: TestClient):
    spec = client.get("/openapi.json").json()
    assert spec["info"]["title"] == "colossus dashboard"
    assert "/api/scenarios/{name}/simulate" in spec["paths"] and "/api/compare" in spec["paths"]
    assert "Overrides" in spec["components"]["schemas"]
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404


def test_foreign_host_and_cross_origin_writes_are_refused(client: TestClient):
    assert client.get("/api/scenarios", headers={"Host": "evil.example"}).status_code == 400
    assert client.get("/api/scenarios", headers={"Host": "127.0.0.1:8000"}).status_code == 200
    cross = client.post(f"{MEMPHIS}/estimate", json={}, headers={"Origin": "http://evil.example"})
    assert cross.status_code == 403
    assert client.post(f"{MEMPHIS}/estimate", json={}, headers={"Origin": "null"}).status_code == 403
    assert client.post(f"{MEMPHIS}/estimate", json={}, headers={"Sec-Fetch-Site": "cross-site"}).status_code == 403
    same = client.post(f"{MEMPHIS}/estimate", json={}, headers={"Origin": "http://testserver"})
    assert same.status_code == 200
    assert client.get("/api/catalog").headers["x-content-type-options"] == "nosniff"


def test_oversized_bodies_are_refused(client: TestClient):
    huge = {"overrides": {"pools": {f"p{i}": {"num_gpus": 8} for i in range(5000)}}}
    assert client.post(f"{MEMPHIS}/estimate", json=huge).status_code == 413
    many = {"overrides": {"generators": {f"g{i}": 1 for i in range(65)}}}
    response = client.post(f"{MEMPHIS}/estimate", json=many)
    assert response.status_code == 422 and _detail(response)[0]["type"] == "too_long"


def test_default_hosts_are_loopback_only(web_dirs: tuple[Path, Path], tmp_path: Path):
    with TestClient(create_app(web_dirs[0], tmp_path / "runs"), base_url="http://127.0.0.1:8000") as c:
        assert c.get("/api/catalog").status_code == 200
        assert c.get("/api/catalog", headers={"Host": "localhost:8000"}).status_code == 200
        assert c.get("/api/catalog", headers={"Host": "[::1]:8000"}).status_code == 200
        assert c.get("/api/catalog", headers={"Host": "attacker.example:8000"}).status_code == 400


def test_analyses_answer_in_si_as_the_cli_json_does(client: TestClient):
    """The page and the CLI read one document: SI with the unit in every key (no MWh, tonnes or per-day)."""
    power = client.post(f"{MEMPHIS}/power", json={}).json()["result"]
    per_day = power["environment"]["per_day"]
    assert "energy_j" in per_day and "energy_mwh" not in per_day and "co2_kg" in per_day
    reliability = client.post(f"{MEMPHIS}/reliability", json={}).json()["result"]
    assert "interruptions_per_s" in reliability and "interruptions_per_day" not in reliability


def test_the_fleet_and_its_failure_rate_are_knobs(client: TestClient):
    """The failure-rate fleet (issue 12's catalog fleets) and its multiplier change the reliability answer."""
    cat = client.get("/api/catalog").json()
    assert "llama3-h100" in cat["fleets"] and len(cat["fleets"]) >= 5
    knobs = client.get(MEMPHIS).json()["knobs"]
    assert knobs["fleet"] in cat["fleets"] and knobs["failure_rate_scale"] == pytest.approx(1.0)
    base = client.post(f"{MEMPHIS}/reliability", json={}).json()["result"]
    other = next(f for f in cat["fleets"] if f != knobs["fleet"])
    moved = client.post(f"{MEMPHIS}/reliability", json={"overrides": {"fleet": other}}).json()["result"]
    doubled = client.post(f"{MEMPHIS}/reliability", json={"overrides": {"failure_rate_scale": 2.0}}).json()["result"]
    assert moved["mtti_s"] != pytest.approx(base["mtti_s"], rel=0.01)
    assert doubled["mtti_s"] == pytest.approx(base["mtti_s"] / 2, rel=0.05)
    bad = client.post(f"{MEMPHIS}/reliability", json={"overrides": {"fleet": "nope"}})
    assert bad.status_code == 409, bad.text  # a scenario the override makes invalid, as for any other knob
    detail = bad.json()["detail"][0]
    assert detail["loc"] == ["body", "overrides", "fleet"] and "unknown fleet 'nope'" in detail["msg"]
