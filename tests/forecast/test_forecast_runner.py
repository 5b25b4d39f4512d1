"""The forecast as a use case: determinism, resume, more runs, the simulated period, the answer's keys."""

from __future__ import annotations

from datetime import date
import json
import math

import duckdb
import pytest

from colossus.errors import SpecError
from colossus.forecast import Forecast, forecast
from colossus.forecast import runner as runner_module
from colossus.forecast.runner import KIND, ForecastInterrupted, InlineBackend, by_day_of, horizon_of
from colossus.spec import Scenario, validate
from tests.forecast.forecast_helpers import tiny_doc

REQUIRED = ("p_finish_by", "finish_day_p10", "finish_day_p50", "finish_day_p90", "runs", "drivers",
            "expected_tokens_by", "by_day", "seed")


def doubtful(**forecast_block) -> Scenario:
    """The tiny scenario with the measured doubts on (step time, fleet spread) and failures that matter."""
    doc = tiny_doc(rate_scale=4.0, train_tokens=6e10)
    doc["forecast"] = {"step_time_error": "measured", "failure_rate_spread": "measured", **forecast_block}
    return validate(Scenario, doc)


def run(scenario: Scenario, **kwargs) -> Forecast:
    kwargs.setdefault("by_day", 0.4)
    kwargs.setdefault("runs", 10)
    kwargs.setdefault("seed", 3)
    return forecast(scenario, backend="inline", **kwargs)


def test_same_seed_same_answer_and_another_seed_another():
    sc = doubtful()
    a, b = run(sc), run(sc)
    assert a.to_json() == b.to_json()
    assert run(sc, seed=4).finish_days != a.finish_days


def test_json_has_the_keys_a_planner_reads():
    result = run(doubtful())
    doc = json.loads(result.to_json())
    assert all(k in doc for k in REQUIRED)
    assert doc["runs"] == 10 and len(doc["finish_days"]) == 10 and 0 <= doc["p_finish_by"] <= 1
    assert doc["finish_day_p10"] <= doc["finish_day_p50"] <= doc["finish_day_p90"]
    assert {d["name"] for d in doc["drivers"]} <= {"step_time", "failure_rates"}
    for d in doc["drivers"]:
        assert {"name", "p50_low_day", "p50_high_day"} <= set(d)
    assert doc["fan"]["day"][0] == 0.0 and len(doc["fan"]["tokens_p50"]) == len(doc["fan"]["day"])
    assert doc["fan"]["tokens_p10"][-1] <= doc["fan"]["tokens_p50"][-1] <= doc["fan"]["tokens_p90"][-1]
    assert 0 < doc["expected_tokens_by"] <= doc["train_tokens"]


def test_the_store_resumes_and_more_runs_reuse_the_stored(tmp_path):
    sc = doubtful()
    store = tmp_path / "draws.duckdb"
    todo: list[int] = []
    first = run(sc, runs=4, store=store, on_pass=lambda _h, n: todo.append(n))
    again = run(sc, runs=4, store=store, on_pass=lambda _h, n: todo.append(n))
    more = run(sc, runs=7, store=store, on_pass=lambda _h, n: todo.append(n))
    assert todo == [4, 0, 3]
    assert first.to_json() == again.to_json()
    assert more.finish_days[:4] == first.finish_days
    with duckdb.connect(str(store), read_only=True) as con:
        rows = con.execute(f"SELECT \"draw.index\", \"draw.step_time.throughput_scale\", finish_day, seed FROM runs"
                           f" WHERE kind = '{KIND}' ORDER BY \"draw.index\"").fetchall()
    assert [r[0] for r in rows] == list(range(7))  # every draw's inputs beside its outputs
    assert all(r[1] > 0 and r[3] >= 0 for r in rows)


def test_an_interrupted_forecast_keeps_what_finished(tmp_path, monkeypatch):
    sc = doubtful()
    store = tmp_path / "draws.duckdb"

    class Stops(InlineBackend):
        def run(self, tasks):
            for i, row in enumerate(super().run(tasks)):
                if i == 2:
                    raise KeyboardInterrupt
                yield row

    monkeypatch.setattr(runner_module, "_backend", lambda *a: Stops())
    with pytest.raises(ForecastInterrupted) as stop:
        run(sc, runs=5, store=store)
    assert stop.value.stored == 2
    monkeypatch.undo()
    todo: list[int] = []
    resumed = run(sc, runs=5, store=store, on_pass=lambda _h, n: todo.append(n))
    fresh = run(sc, runs=5).to_json().replace('"store": null', f'"store": {json.dumps(str(store))}')
    assert todo == [3] and resumed.to_json() == fresh


def test_draws_that_do_not_finish_are_not_finished_by_the_date():
    sc = doubtful()
    result = run(sc, by_day=0.05, days=0.1)  # a period far too short for the job
    assert result.p_finish_by == 0.0 and result.finished_frac == 0.0
    assert result.finish_day_p10 is None and result.finish_day_p50 is None and result.finish_day_p90 is None
    assert 0 < result.expected_tokens_by < result.train_tokens
    assert result.horizon_day == 0.1 and result.factors_tried == (result.horizon_factor,)


def test_a_short_period_is_extended_for_every_draw(monkeypatch):
    """A period too short for most draws grows by half, for every draw, until enough finish.

    A period of 1.0 x each draw's expected finish leaves about half the draws late, but how many is chance (and
    a date past most expected finishes sets the period instead), so the date is early and the expected finishes
    are halved here: the first pass leaves most draws late whatever the draws.
    """
    expected = runner_module.nominal_finish_day
    monkeypatch.setattr(runner_module, "nominal_finish_day",
                        lambda *a: None if (day := expected(*a)) is None else day / 2)
    sc = doubtful(horizon_factor=1.0)
    passes: list[float] = []
    result = run(sc, by_day=0.1, on_pass=lambda h, _n: passes.append(h))
    assert result.factors_tried[0] == 1.0 and len(result.factors_tried) == len(passes) >= 2
    assert result.factors_tried[1] == pytest.approx(1.5)
    assert result.finished_frac >= 0.9 or len(passes) == 3


def test_horizon_of_a_draw():
    assert horizon_of(40.0, 39.0, 1.3) == 50.7  # 1.3 x its expected finish, rounded up to a hundredth of a day
    assert horizon_of(40.0, 39.001, 1.3) == 50.71
    assert horizon_of(40.0, 10.0, 1.3) == 40.0  # at least the date
    assert horizon_of(40.0, 1000.0, 1.3) == 160.0  # at most 4 x the date
    assert horizon_of(40.0, None, 1.3) == 160.0  # no closed form: the cap


def test_the_date_is_a_day_or_an_iso_date():
    assert by_day_of(40, None) == (40.0, None)
    assert by_day_of("12.5", None) == (12.5, None)
    assert by_day_of("2024-12-31", date(2024, 5, 2)) == (243.0, "2024-12-31")
    with pytest.raises(SpecError, match="start_date"):
        by_day_of("2024-12-31", None)
    with pytest.raises(SpecError, match="neither a day number nor an ISO date"):
        by_day_of("soon", None)
    for bad in (0, -3, 1e9, math.nan):
        with pytest.raises(SpecError, match="after day 0"):
            by_day_of(bad, None)
    with pytest.raises(SpecError, match="after day 0"):
        by_day_of("2024-01-01", date(2024, 5, 2))  # before day 0


def test_a_scenario_start_date_dates_the_answer():
    doc = tiny_doc(rate_scale=0.0)
    doc["start_date"] = "2024-05-02"
    result = forecast(validate(Scenario, doc), by_day="2024-05-03", runs=2, backend="inline")
    assert result.by_day == 1.0 and result.by_date == "2024-05-03" and result.start_date == "2024-05-02"
    assert result.p_finish_by == 1.0 and result.finish_day_p50 == result.finish_day_p10  # no failures: one answer


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"job": "nope"}, "no job 'nope'"),
    ({"runs": 0}, "runs"),
    ({"runs": True}, "runs"),
    ({"seed": -1}, "seed"),
    ({"days": 0.1, "by_day": 0.4}, "reach the date"),
    ({"backend": "cloud"}, "backend"),
])
def test_bad_requests_are_spec_errors(kwargs, match):
    with pytest.raises(SpecError, match=match):
        forecast(doubtful(), **{"by_day": 0.4, "runs": 2, "backend": "inline", **kwargs})


@pytest.mark.slow
def test_the_process_pool_gives_the_same_answer_as_one_process():
    sc = doubtful()
    inline = run(sc, runs=4)
    pooled = forecast(sc, by_day=0.4, runs=4, seed=3, backend="local", workers=2)
    assert pooled.to_json() == inline.to_json()


def test_a_draw_stops_when_its_job_finishes():
    """A draw is simulated to its job's finish, not to the end of its period: the same history, less time.

    (The engine has no public stop condition; ``simulate_until_done`` ends its period at the finish. If
    this fails after a change of ``sim.engine``, the forecast is still right but slower: re-point it.)
    """
    from colossus.forecast.runner import simulate_until_done
    from colossus.sim import simulate

    sc = doubtful()
    full = simulate(sc, seed=9, days=2.0)
    short = simulate_until_done(sc, "grok2", seed=9, days=2.0, base_dir=None)
    finish = full.summary["jobs"][0]["finished_at_s"]
    assert finish is not None and short.summary["jobs"][0]["finished_at_s"] == finish
    assert short.days == pytest.approx(finish / 86400) and short.days < 1.0 < full.days
    assert short.summary["jobs"][0]["interruptions"] == full.summary["jobs"][0]["interruptions"]


def test_a_draw_skips_the_rows_of_quiet_instants_and_keeps_its_answer():
    """A draw records no telemetry row at an instant that changed nothing (a rejected failure candidate):
    its job's finish, progress and the run's energy are the full recording's."""
    from colossus.forecast.runner import simulate_until_done
    from colossus.sim import engine as sim_engine

    sc = doubtful()
    short = simulate_until_done(sc, "grok2", seed=9, days=2.0, base_dir=None)

    class Everything(sim_engine.Engine):
        def _finish(self, job, t):
            super()._finish(job, t)
            if job.named and t < self.end_s:
                self.end_s, self.days = t, t / 86400

    full = Everything(sc, seed=9, days=2.0).run()
    a, b = short.summary["jobs"][0], full.summary["jobs"][0]
    assert a["finished_at_s"] == b["finished_at_s"] and a["tokens_trained"] == b["tokens_trained"]
    assert a["energy_j"] == pytest.approx(b["energy_j"], rel=1e-9)
    assert short.summary["energy_j"]["used"] == pytest.approx(full.summary["energy_j"]["used"], rel=1e-9)


def test_a_job_that_fits_no_layout_is_said_at_once():
    from colossus.errors import InfeasibleError

    doc = tiny_doc()
    doc["jobs"][0].update({"model": "llama3-405b", "num_gpus": 8, "layout": None})
    with pytest.raises(InfeasibleError):
        forecast(validate(Scenario, doc), by_day=1, runs=2, backend="inline")


def test_no_extension_when_the_late_draws_are_at_the_cap():
    """A job that cannot finish by 4 x the date: a longer period is not allowed, so one pass only."""
    sc = doubtful()
    passes: list[float] = []
    result = run(sc, by_day=0.02, runs=4, on_pass=lambda h, _n: passes.append(h))
    assert len(passes) == 1 and result.finished_frac == 0.0 and result.horizon_day == pytest.approx(0.08)
