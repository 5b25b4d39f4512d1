"""Monte Carlo: determinism, agreement with the closed form, spares, Young/Daly."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus import reliability as rel
from colossus.errors import SpecError


def test_same_seed_same_result(llama):
    a = rel.simulate_job(llama, num_runs=200, rng=np.random.default_rng(7))
    b = rel.simulate_job(llama, num_runs=200, rng=np.random.default_rng(7))
    assert np.array_equal(a.finish_s, b.finish_s) and np.array_equal(a.interruptions, b.interruptions)


def test_mean_agrees_with_closed_form(llama):
    mc = rel.simulate_job(llama, num_runs=2000, rng=np.random.default_rng(1))
    assert mc.finish_s.mean() == pytest.approx(llama.goodput.expected_finish_s, rel=0.005)
    # interruptions strike while the job runs or restarts, not while it waits for spares
    lam = rel.total_per_s(llama.rates)
    expected_interruptions = lam * (mc.finish_s - mc.spare_wait_s).mean()
    assert mc.interruptions.mean() == pytest.approx(expected_interruptions, rel=0.05)
    assert mc.quantile_s(0.1) <= mc.quantile_s(0.5) <= mc.quantile_s(0.9)


def test_no_failures_finish_deterministically(make_job):
    an = rel.analyse(make_job(days=2.0, rate_scale=0.0))
    mc = rel.simulate_job(an, num_runs=10, rng=np.random.default_rng(0), interval_s=3600.0)
    work = an.work_s
    expected = work + np.floor(work / 3600.0) * rel.effective_stall_s(an.checkpoint, 3600.0)
    assert np.allclose(mc.finish_s, expected) and mc.interruptions.sum() == 0


def test_without_spares_jobs_wait_for_repairs(llama):
    none = rel.simulate_job(replace(llama, num_spares=0), num_runs=100, rng=np.random.default_rng(3))
    many = rel.simulate_job(replace(llama, num_spares=200), num_runs=100, rng=np.random.default_rng(3))
    assert none.spare_wait_s.mean() > 10 * 86400  # every hardware failure waits for its repair
    assert many.spare_wait_s.sum() == 0
    assert none.finish_s.mean() > many.finish_s.mean()


def test_spare_sizing_meets_its_confidence(llama):
    pool = rel.size_spares(llama.rates, 0.99)
    assert pool.p_ready >= 0.99 and rel.p_spare_ready(pool.num_spares - 1, pool.mean_in_repair) < 0.99
    assert pool.mean_in_repair == pytest.approx(rel.mean_in_repair(llama.rates))


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(factor=st.sampled_from([0.25, 0.5, 2.0, 4.0]), scale=st.floats(1.0, 8.0), blocking=st.booleans())
def test_daly_interval_is_not_beaten_in_the_monte_carlo(make_job, factor, scale, blocking):
    an = rel.analyse(make_job(num_gpus=4096, days=10.0, rate_scale=scale, asynchronous=not blocking,
                               num_spares=1000))
    best = rel.simulate_job(an, num_runs=400, rng=np.random.default_rng(11))
    other = rel.simulate_job(an, num_runs=400, rng=np.random.default_rng(11),
                             interval_s=an.optimal_interval_s * factor)
    assert best.finish_s.mean() <= other.finish_s.mean() * 1.01


def _history(**changes) -> rel.History:
    base = dict(work_s=30 * 86400.0, interval_s=1800.0, stall_s=5.0, durability_lag_s=10.0, restart_s=600.0,
                num_spares=0, num_servers=256)
    return rel.History(**{**base, **changes})


def _causes(servers: int, *, fallback: bool = False, per_day: float = 4.0, repair_h: float = 24.0) -> rel.Causes:
    return rel.Causes(per_s=np.array([per_day / 86400.0]), planned=np.array([False]), needs_spare=np.array([True]),
                      repair_s=np.array([repair_h * 3600.0]), servers=np.array([servers]),
                      fallback=np.array([fallback]))


def test_a_rack_needs_a_rack_of_spares():
    """A fault taking 8 servers waits for its repair unless 8 spares are free."""
    rng = np.random.default_rng
    few = rel.simulate(_history(num_spares=4), _causes(8), num_runs=200, rng=rng(5))
    enough = rel.simulate(_history(num_spares=400), _causes(8), num_runs=200, rng=rng(5))
    assert few.spare_wait_s.mean() == pytest.approx(few.interruptions.mean() * 24 * 3600, rel=0.15)
    assert enough.spare_wait_s.sum() == 0
    one = rel.simulate(_history(num_spares=4), _causes(1), num_runs=200, rng=rng(5))
    assert one.spare_wait_s.mean() < 0.2 * few.spare_wait_s.mean()


def test_recovery_policies_order_and_elastic_never_waits():
    rng = np.random.default_rng
    wait = rel.simulate(_history(policy="wait"), _causes(1), num_runs=200, rng=rng(2))
    spares = rel.simulate(_history(policy="spares", num_spares=400), _causes(1), num_runs=200, rng=rng(2))
    elastic = rel.simulate(_history(policy="elastic"), _causes(1), num_runs=200, rng=rng(2))
    assert elastic.spare_wait_s.sum() == 0
    assert spares.finish_s.mean() < elastic.finish_s.mean() < wait.finish_s.mean()
    # elastic runs on ~mean-in-repair fewer servers: 4/day x 1 day = 4 of 256 out, ~1.6% slower
    assert elastic.finish_s.mean() / spares.finish_s.mean() == pytest.approx(1.016, abs=0.01)
    with pytest.raises(SpecError):
        rel.simulate(_history(policy="pray"), _causes(1), num_runs=2, rng=rng(2))


def test_in_memory_fallback_loses_work_since_the_durable_copy():
    rng = np.random.default_rng
    mem = dict(persistent_work_s=4 * 3600.0, fallback_restart_s=100.0, num_spares=400)
    kept = rel.simulate(_history(**mem), _causes(1, fallback=False), num_runs=300, rng=rng(9))
    lost = rel.simulate(_history(**mem), _causes(1, fallback=True), num_runs=300, rng=rng(9))
    extra = (lost.finish_s.mean() - kept.finish_s.mean()) / kept.interruptions.mean()
    assert extra == pytest.approx(2 * 3600.0 + 100.0, rel=0.25)  # half the durable interval, plus the slower load
