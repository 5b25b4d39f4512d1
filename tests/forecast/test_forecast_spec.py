"""The scenario's forecast: block, start_date and a job's throughput_scale: defaults and bad input."""

from __future__ import annotations

import pytest

from colossus.errors import SpecError
from colossus.forecast.sources import default, sources
from colossus.spec import Scenario, validate
from tests.forecast.forecast_helpers import tiny_doc


def _with(**fields) -> dict:
    doc = tiny_doc()
    doc.update(fields)
    return doc


def test_without_a_block_every_doubt_takes_the_catalog_default():
    doc = tiny_doc()
    doc.pop("forecast")
    doc["simulation"]["buildout"] = [{"pool": "h100-phase1", "start_day": 0, "ramp_days": 10}]
    sc = validate(Scenario, doc)
    assert sc.forecast.step_time_error == "measured" and sc.forecast.buildout.slip_days is None
    b = next(s for s in sources(sc) if s.name == "buildout")
    assert b.distribution["slip_days"]["high"] == default("buildout.slip_days.high")
    assert sc.start_date is None and sc.jobs[0].throughput_scale == 1.0


@pytest.mark.parametrize(("forecast", "message"), [
    ({"buildout": {"slip_days": {"low": 5, "mode": 1, "high": 9}}}, "low <= mode <= high"),
    ({"buildout": {"slip_day": {"low": 0, "mode": 0, "high": 1}}}, "did you mean 'slip_days'"),
    ({"supply": {"generator_outage_factor": {"low": -1, "mode": 1, "high": 2}}}, "must be >= 0"),
    ({"step_time_error": "guessed"}, "measured"),
    ({"horizon_factor": 0.5}, "must be >= 1"),
    ({"max_extensions": 9}, "max_extensions"),
])
def test_a_bad_block_names_its_field(forecast, message):
    with pytest.raises(SpecError, match=message) as err:
        validate(Scenario, _with(forecast=forecast), file="s.yaml")
    assert str(err.value).startswith("s.yaml: forecast.")


@pytest.mark.parametrize("value", [20240502, 1.5, True, "May 2nd"])
def test_start_date_is_an_iso_date(value):
    with pytest.raises(SpecError, match="start_date"):
        validate(Scenario, _with(start_date=value), file="s.yaml")


def test_start_date_and_throughput_scale_are_read():
    doc = _with(start_date="2024-05-02")
    doc["jobs"][0]["throughput_scale"] = 0.8
    sc = validate(Scenario, doc)
    assert sc.start_date.isoformat() == "2024-05-02" and sc.jobs[0].throughput_scale == 0.8
    for bad in (0, -1, 11, float("nan")):
        doc["jobs"][0]["throughput_scale"] = bad
        with pytest.raises(SpecError, match="throughput_scale"):
            validate(Scenario, doc)


def test_throughput_scale_scales_the_simulated_rate():
    from colossus.sim import simulate

    base = validate(Scenario, tiny_doc(rate_scale=0.0))
    doc = tiny_doc(rate_scale=0.0)
    doc["jobs"][0]["throughput_scale"] = 0.5
    half = validate(Scenario, doc)
    a = simulate(base, seed=1, days=2).summary["jobs"][0]
    b = simulate(half, seed=1, days=2).summary["jobs"][0]
    assert b["tokens_per_s"] == pytest.approx(0.5 * a["tokens_per_s"])
    assert b["finished_at_s"] > 1.9 * a["finished_at_s"] - 3600  # twice as long to train, less the fixed start
