"""The report's forecast section: figures from a forecast document, a deterministic self-contained file."""

from __future__ import annotations

import pytest

from colossus.forecast import forecast
from colossus.report.forecast import forecast_figures, render_forecast_report, write_forecast_report
from colossus.spec import Scenario, validate
from tests.forecast.forecast_helpers import tiny_doc


@pytest.fixture(scope="module")
def doc() -> dict:
    raw = tiny_doc(rate_scale=4.0, train_tokens=6e10)
    raw["forecast"] = {"step_time_error": "measured", "failure_rate_spread": "measured"}
    return forecast(validate(Scenario, raw), by_day=0.4, runs=10, seed=5, backend="inline").as_dict()


def test_figures(doc):
    figs = forecast_figures(doc)
    assert list(figs) == ["finish_distribution", "tornado", "progress_fan"]
    fan = figs["progress_fan"]
    assert [t.name for t in fan.data] == ["P90", "P10-P90", "P50"]
    assert list(fan.data[2].y) == doc["fan"]["tokens_p50"]
    tornado = figs["tornado"]
    assert set(tornado.data[0].y) == {d["label"] for d in doc["drivers"]}
    from colossus.report.figures import TRACE_KINDS
    assert {trace.type for fig in figs.values() for trace in fig.data} <= set(TRACE_KINDS)  # the template has them


def test_no_tornado_without_a_source_of_doubt(doc):
    quiet = {**doc, "drivers": []}
    assert "tornado" not in forecast_figures(quiet)


def test_report_is_deterministic_and_self_contained(doc, tmp_path):
    a = write_forecast_report(doc, tmp_path / "a.html").read_text()
    b = render_forecast_report(doc)
    assert a == b
    assert "cdn" not in a.lower().split("<body>")[1] and "Plotly.newPlot" in a
    for part in ('id="forecast"', 'id="table-drivers"', 'id="table-sources"', "fig-forecast-finish_distribution"):
        assert part in a
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.html"]  # no temporary file left


def test_a_name_is_text_not_markup(doc):
    html = render_forecast_report({**doc, "scenario": "<script>x</script>", "job": "j&b"})
    assert "<script>x</script>" not in html and "&lt;script&gt;" in html


def test_the_sources_table_says_which_kind_of_runs_the_step_time_error_comes_from(doc):
    step = next(s for s in doc["sources"] if s["name"] == "step_time")
    kind = step["distribution"]["model_kind"]  # the tiny scenario's job is dense or MoE: its kind's runs
    assert kind in ("dense", "MoE")
    assert f"{step['distribution']['cases']} {kind} validation runs of" in render_forecast_report(doc)
