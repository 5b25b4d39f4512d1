"""The real simulation's output goes through the store and the report: the contract holds end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from results_synthetic import assert_same_result

from colossus import load_scenario
from colossus.report import build_figures, render_report
from colossus.results import read_result, write_result
from colossus.results.tables import summary_json
from colossus.sim import SimResult, simulate

SCENARIO = Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml"


@pytest.fixture(scope="module")
def simulated() -> SimResult:
    return simulate(load_scenario(SCENARIO), seed=1, days=2.0)


def test_simulated_result_round_trips_and_reports(simulated: SimResult, tmp_path: Path):
    back = read_result(write_result(simulated, tmp_path / "run").root)
    assert_same_result(_strict(simulated), back)
    figures = build_figures(back)
    assert {"power_by_source", "power_by_use", "gpus_by_state", "deficit_response"} <= set(figures)
    assert ("job_progress" in figures) == any(c.startswith("tokens:") for c in back.timeseries)
    text = render_report(back)
    for job in back.summary.get("jobs", []):
        assert job["name"] in text


def _strict(result: SimResult) -> SimResult:
    """The result as the store gives it back: the summary through strict JSON (NaN as null)."""
    summary = json.loads(summary_json(result.summary, Path("summary.json")))
    return SimResult(result.scenario, result.seed, result.days, result.timeseries, result.events, result.jobs,
                     summary)
