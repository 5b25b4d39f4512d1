"""Monte Carlo: determinism, agreement with the closed form, spares, Young/Daly."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import HealthCheck, given, settings, strategies as st
import numpy as np
import pytest

from colossus import reliability as rel


def test_same_seed_same_result(llama):
    a = rel.simulate_job(llama, num_runs=200, rng=np.random.default_rng(7))
    b = rel.simulate_job(llama, num_runs=200, rng=np.random.default_rng(7))
    assert np.array_equal(a.finish_s, b.finish_s) and np.array_equal(a.interruptions, b.interruptions)


def test_mean_agrees_with_closed_form(llama):
    mc = rel.simulate_job(llama, num_runs=2000, rng=np.random.default_rng(1))
    assert mc.finish_s.mean() == pytest.approx(llama.goodput.expected_finish_s, rel=0.005)
    # interruptions strike only while the job runs, not during restarts or waits for spares
    lam = rel.total_per_s(llama.rates)
    expected_interruptions = lam * (mc.finish_s - mc.spare_wait_s).mean() / (1 + lam * llama.restart_s)
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
