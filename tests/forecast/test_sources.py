"""Sources of doubt and draws: distributions, the quasi-random points, what a draw sets."""

from __future__ import annotations

import copy
import math

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus.forecast.sources import (
    NEUTRAL,
    SOURCES,
    Triangle,
    apply_draw,
    make_draws,
    sim_seed,
    sources,
    unit_points,
)
from colossus.forecast.step_time import ErrorCase, StepTimeError, shipped
from colossus.spec import Scenario, read_yaml, validate
from tests.conftest import SCENARIOS
from tests.forecast.forecast_helpers import tiny, tiny_doc


@pytest.fixture(scope="module")
def memphis() -> Scenario:
    return validate(Scenario, read_yaml(SCENARIOS / "colossus-memphis.yaml"))


def test_triangle_quantile_is_the_inverse_cdf():
    t = Triangle(0.0, 0.0, 21.0)
    assert t.quantile(0.0) == 0.0 and t.quantile(1.0) == pytest.approx(21.0)
    # F(x) = 1 - (21 - x)^2 / 21^2 on [0, 21]: the median solves (21 - x)^2 = 21^2 / 2
    assert t.quantile(0.5) == pytest.approx(21.0 * (1 - math.sqrt(0.5)))
    assert Triangle(5.0, 5.0, 5.0).quantile(0.3) == 5.0 and not Triangle(5.0, 5.0, 5.0).spread


@given(st.floats(0, 1), st.floats(0, 1))
def test_triangle_quantile_is_monotone_and_within_bounds(u, v):
    t = Triangle(0.9, 1.0, 1.3)
    a, b = sorted((u, v))
    assert 0.9 <= t.quantile(a) <= t.quantile(b) <= 1.3 + 1e-12


def test_points_extend_and_spread_evenly():
    a, b = unit_points(7, 50), unit_points(7, 200)
    assert np.array_equal(a, b[:50])  # more runs extend a forecast; they do not reshuffle it
    assert not np.array_equal(unit_points(8, 50), a)
    assert ((0 <= b) & (b < 1)).all()
    for k in range(len(SOURCES)):  # every fifth of every source gets its share (within two points)
        counts = np.histogram(b[:, k], bins=5, range=(0, 1))[0]
        assert counts.min() >= 40 - 2 and counts.max() <= 40 + 2


def test_draw_seeds_are_independent_of_the_count_and_distinct():
    seeds = [sim_seed(3, i) for i in range(1000)]
    assert len(set(seeds)) == 1000 and all(0 <= s < 2**63 for s in seeds)
    assert seeds[:10] == [sim_seed(3, i) for i in range(10)]


def test_memphis_sources_apply_where_the_scenario_has_them(memphis):
    by_name = {s.name: s for s in sources(memphis)}
    assert [s.name for s in sources(memphis)] == list(SOURCES)
    assert by_name["step_time"].active and by_name["failure_rates"].active and by_name["buildout"].active
    assert by_name["generators"].active
    assert not by_name["grid"].applies  # no contract date in the 2024 scenario
    assert by_name["grid"].at(0.9) == {"grid.slip_days": 0.0}
    # the fleet spread is the published fleets' (reliability.fleet_spread), lognormal with median 1
    f = by_name["failure_rates"]
    assert f.at(0.5)["failure_rates.multiplier"] == pytest.approx(1.0)
    assert f.at(0.9)["failure_rates.multiplier"] == pytest.approx(math.exp(1.2815515655 * f.distribution["log_sd"]),
                                                                  rel=1e-6)


def test_switched_off_sources_are_neutral():
    sc = tiny()
    for s in sources(sc):
        assert not s.active
        for u in (0.01, 0.5, 0.99):
            assert all(NEUTRAL[k] == v for k, v in s.at(u).items())


def test_a_scenario_declares_its_own_doubts():
    doc = tiny_doc()
    doc["simulation"]["buildout"] = [{"pool": "h100-phase1", "start_day": 2, "ramp_days": 10}]
    doc["forecast"] = {"buildout": {"slip_days": {"low": 1, "mode": 2, "high": 3},
                                    "ramp_factor": {"low": 1, "mode": 1, "high": 1}}}
    sc = validate(Scenario, doc)
    b = next(s for s in sources(sc) if s.name == "buildout")
    assert b.active and b.at(0.0)["buildout.slip_days"] == 1.0 and b.at(1.0)["buildout.slip_days"] == 3.0
    assert b.at(0.7)["buildout.ramp_factor"] == 1.0


def test_a_draw_sets_every_quantity(memphis):
    values = {"step_time.throughput_scale": 0.8, "failure_rates.multiplier": 2.0, "buildout.slip_days": 5.0,
              "buildout.ramp_factor": 1.2, "generators.outage_factor": 3.0, "grid.slip_days": 0.0}
    drawn = apply_draw(memphis, "grok2", values, days=60, fillers=False)
    assert drawn.jobs[0].throughput_scale == 0.8 and memphis.jobs[0].throughput_scale == 1.0
    assert drawn.simulation.failures.rate_scale == pytest.approx(2.0 * memphis.simulation.failures.rate_scale)
    b0, b1 = memphis.simulation.buildout[0], drawn.simulation.buildout[0]
    assert b1.start_day == b0.start_day + 5.0 and b1.ramp_days == pytest.approx(1.2 * b0.ramp_days)
    a0 = memphis.power.supply.generators[0].unit.availability
    assert drawn.power.supply.generators[0].unit.availability == pytest.approx(1 - 3 * (1 - a0))
    assert drawn.simulation.workload.source == "none" and drawn.simulation.days == 60
    assert apply_draw(memphis, "grok2", values, days=60, fillers=True).simulation.workload.source == "philly"


def test_a_draw_keeps_what_the_file_left_open():
    """A layout with its recompute and ZeRO stage left to the planner stays so in every draw."""
    sc = tiny()
    drawn = apply_draw(sc, "grok2", NEUTRAL, days=3, fillers=False)
    assert drawn.jobs[0].layout.model_fields_set == sc.jobs[0].layout.model_fields_set


def test_draws_depend_on_the_seed_and_index_only(memphis):
    srcs = sources(memphis)
    a, b = make_draws(srcs, 5, 10), make_draws(srcs, 5, 30)
    assert a == b[:10]
    assert make_draws(srcs, 6, 10) != a


# --- the step time's error --------------------------------------------------------------------


def test_rate_ratio_follows_the_metric():
    assert ErrorCase("a", "f", "tokens_per_s_per_gpu", 0.25).rate_ratio == pytest.approx(0.8)  # over-predicted
    assert ErrorCase("b", "f", "mfu", -0.2).rate_ratio == pytest.approx(1.25)
    assert ErrorCase("c", "f", "step_time_s", 0.1).rate_ratio == pytest.approx(1.1)  # predicted too slow


def test_each_family_weighs_the_same():
    """One family of nine runs at +10% and one of a single run at -50%: the median sits between them."""
    cases = tuple(ErrorCase(f"a{i}", "big", "mfu", 0.0) for i in range(9)) + (ErrorCase("b", "one", "mfu", 1.0),)
    err = StepTimeError(cases, "x", ())
    assert err.quantile(0.25) == pytest.approx(0.5) and err.quantile(0.75) == pytest.approx(1.0)
    assert err.quantile(0.0) == pytest.approx(0.5) and err.quantile(1.0) == pytest.approx(1.0)


def test_a_prediction_range_is_the_central_quantiles_and_widens_with_its_probability():
    cases = tuple(ErrorCase(f"r{i}", f"f{i}", "tokens_per_s_per_gpu", 1.0 / r - 1.0)
                  for i, r in enumerate((0.7, 0.9, 1.0, 1.1, 1.3)))
    err = StepTimeError(cases, "x", ())
    r80, r50 = err.prediction_range(0.8), err.prediction_range(0.5)
    assert r80.low == pytest.approx(err.quantile(0.1)) and r80.high == pytest.approx(err.quantile(0.9))
    assert r80.low < r50.low < 1.0 < r50.high < r80.high
    assert (r80.cases, r80.families) == (5, 5) and "5 published runs of 5 families" in r80.basis
    with pytest.raises(ValueError, match="between 0 and 1"):
        err.prediction_range(1.0)


def test_a_range_is_of_runs_of_the_predictions_kind_where_enough_families_were_left_out():
    """Dense and MoE cases apart once three families of the kind were left out; fewer, every case."""
    dense = tuple(ErrorCase(f"d{i}", f"f{i}", "tokens_per_s_per_gpu", e) for i, e in enumerate((-0.1, 0.0, 0.1)))
    moe = tuple(ErrorCase(f"m{i}", f"g{i}", "tokens_per_s_per_gpu", e, True) for i, e in enumerate((-0.3, -0.2)))
    err = StepTimeError(dense + moe, "x", ())
    assert err.of_kind(False).cases == dense and err.of_kind(False).kind == "dense"
    assert err.of_kind(True) is err and err.of_kind(None) is err  # two MoE families: too few to stand alone
    three = StepTimeError(dense + moe + (ErrorCase("m2", "g2", "mfu", -0.25, True),), "x", ())
    assert three.of_kind(True).kind == "MoE" and len(three.of_kind(True).cases) == 3
    r = three.of_kind(True).prediction_range(0.8)
    assert "3 published MoE runs of 3 families" in r.basis and r.low > 1.0  # every MoE case under-predicted


def test_the_shipped_ranges_are_of_each_kind():
    """The public set's dense and MoE runs: each kind its own range, as estimate, plan and forecast state."""
    from colossus.forecast.step_time import prediction_range

    dense, moe = prediction_range(moe=False), prediction_range(moe=True)
    assert "dense runs" in dense.basis and "MoE runs" in moe.basis
    assert dense.cases + moe.cases == len(shipped().cases) and dense.families >= 3 and moe.families >= 3
    assert (dense.low, dense.high) != (moe.low, moe.high)


def test_a_forecast_draws_the_step_time_error_of_its_jobs_kind(memphis):
    """The default scenario's job is a mixture of experts: its draws come from the MoE runs' errors."""
    job = memphis.jobs[0]
    assert job.model.moe is not None
    source = next(s for s in sources(memphis, job.name) if s.name == "step_time")
    moe = shipped().of_kind(True)
    assert source.distribution["kind"] == "measured" and source.distribution["model_kind"] == "MoE"
    assert source.distribution["cases"] == len(moe.cases)
    assert source.at(0.5)["step_time.throughput_scale"] == pytest.approx(float(moe.quantile(0.5)))


@settings(max_examples=30, deadline=None)
@given(st.floats(1e-3, 1e6), st.floats(0.05, 0.95))
def test_a_range_moves_a_duration_opposite_to_a_throughput(value, probability):
    r = shipped().prediction_range(probability)
    low, high = r.throughput(value)
    short, long = r.duration(1.0 / value)
    assert low <= high and short <= long
    assert short == pytest.approx(1.0 / high) and long == pytest.approx(1.0 / low)


@settings(max_examples=30, deadline=None)
@given(st.floats(0, 1), st.floats(0, 1))
def test_the_shipped_error_is_monotone_within_the_cases(u, v):
    err = shipped()
    ratios = [c.rate_ratio for c in err.cases]
    a, b = sorted((u, v))
    assert min(ratios) - 1e-12 <= err.quantile(a) <= err.quantile(b) <= max(ratios) + 1e-12


def test_the_shipped_error_is_the_validation_sets():
    err = shipped()
    assert len(err.cases) >= 50 and len(err.families) >= 8
    assert 0.8 < err.quantile(0.5) < 1.2  # the model is not biased by a fifth either way
    assert len(err.validation_sha256) == 64 and "compute.gemm.hopper.bf16.eff_max" in err.fitted


def test_inputs_list_every_source_and_quantity(memphis):
    draw = make_draws(sources(memphis), 1, 1)[0]
    names = [k for k, _ in draw.inputs()]
    assert names[0] == "draw.index" and all(f"u.{s}" in names for s in SOURCES)
    assert all(f"draw.{k}" in names for k in NEUTRAL)
    assert copy.deepcopy(draw) == draw
