"""Calibration of the forecast's machinery: on a scenario whose finish-time distribution is known in closed
form, the forecast's P50, P90 and P(finish by a date) agree with it within Monte Carlo error.

The scenario (``forecast_helpers.tiny``): one job of 256 H100 in a pool of 1,024 (spares never run out), no
build-out, a grid far beyond the site (constant power, no generators), no filler jobs, no rack domains, a
fixed layout, checkpoints every ``tau`` = 5 minutes, restarts of ``R`` = 20 minutes, and the forecast's
step-time error and fleet spread off: the only randomness left is when failures strike.

The closed form. The job needs ``T0`` of failure-free time (the same scenario with no failures: a
deterministic simulation). Interruptions are a Poisson process of rate ``lam = 1 / MTTI`` (the reliability
model's rate for the job's footprint, the rates the simulation draws from) over the time the job works, so
their number is ``K ~ Poisson(lam T0)``; each costs the restart ``R`` and the work since the last checkpoint,
uniform on ``[0, tau)``. So ``T = T0 + K R + tau (U_1 + ... + U_K)`` and

    F(t) = sum_k P(K = k) IH_k((t - T0 - k R) / tau)      (IH_k: the Irwin-Hall CDF of k uniforms).

Neglected, and allowed for by ``ALLOWANCE`` in probability: a failure during a restart (``lam R`` = 2.8% of
restarts add part of another), failures during the reworked minutes, and the few per cent by which the
simulation's placement-dependent rates (leaf switches over rail groups) differ from the closed form's.

The bound. For ``n`` independent draws, the sample ``p``-quantile ``q`` satisfies ``F(q-) <= p + z s`` and
``F(q) >= p - z s`` with ``s = sqrt(p (1 - p) / n)`` (binomial order statistics, normal approximation) except
with probability about ``2 Phi(-z)``: ``z = 3.5`` gives 5e-4 per check. ``P(finish by d)`` is a binomial
share: ``|p_hat - F(d)| <= z s``. With ``n = 160`` the band is about +-0.17 at the median and +-0.11 at P90
(allowance included): narrow enough that every draw sharing one seed (P50 = P90), a forecast without restart
time, or a failure-free one fails it (the last test checks that the band can tell).
"""

from __future__ import annotations

import math

import pytest

from colossus import reliability as rel
from colossus.forecast import forecast
from colossus.reliability.scenario import scenario_job_input
from colossus.sim import simulate
from tests.forecast.forecast_helpers import DAY, tiny

RUNS = 160
Z = 3.5
ALLOWANCE = 0.03
TAU_MIN, R_MIN = 5.0, 20.0
MTTI_DAYS = 0.5
TOKENS = 1.56e11  # about one failure-free day


def irwin_hall_cdf(k: int, x: float) -> float:
    if k == 0:
        return 1.0 if x >= 0 else 0.0
    if x <= 0:
        return 0.0
    if x >= k:
        return 1.0
    total = sum((-1) ** j * math.comb(k, j) * (x - j) ** k for j in range(int(math.floor(x)) + 1))
    return total / math.factorial(k)


def closed_form_cdf(t: float, *, t0: float, mu: float, r: float, tau: float, left: bool = False) -> float:
    """F(t) (or F(t-) with ``left``: the atom at T0 when no failure strikes), days."""
    total, k = 0.0, 0
    while True:
        pk = math.exp(-mu) * mu ** k / math.factorial(k)
        if k == 0:
            total += pk * (1.0 if (t > t0 if left else t >= t0) else 0.0)
        else:
            total += pk * irwin_hall_cdf(k, (t - t0 - k * r) / tau)
        k += 1
        if k > mu + 12 * math.sqrt(mu) + 12:
            return total


@pytest.fixture(scope="module")
def setup():
    base = tiny(rate_scale=1.0, train_tokens=TOKENS, interval_min=TAU_MIN, restart_min=R_MIN)
    job_input, _ = scenario_job_input(base, base.jobs[0])
    rate_scale = rel.analyse(job_input).mtti_s / (MTTI_DAYS * DAY)
    scenario = tiny(rate_scale=rate_scale, train_tokens=TOKENS, interval_min=TAU_MIN, restart_min=R_MIN)
    job_input, _ = scenario_job_input(scenario, scenario.jobs[0])
    an = rel.analyse(job_input)
    quiet = tiny(rate_scale=0.0, train_tokens=TOKENS, interval_min=TAU_MIN, restart_min=R_MIN)
    t0 = simulate(quiet, seed=1, days=5).summary["jobs"][0]["finished_at_s"] / DAY
    params = {"t0": t0, "mu": t0 * DAY / an.mtti_s, "r": an.restart_s / DAY, "tau": TAU_MIN * 60 / DAY}
    by = t0 + 2 * params["r"] + params["tau"]
    result = forecast(scenario, by_day=by, runs=RUNS, seed=11, backend="inline")
    return result, params


def _band(p: float) -> float:
    return Z * math.sqrt(p * (1 - p) / RUNS) + ALLOWANCE


@pytest.mark.slow
@pytest.mark.parametrize("p", [0.5, 0.9])
def test_quantiles_agree_with_the_closed_form(setup, p):
    result, params = setup
    q = getattr(result, f"finish_day_p{round(p * 100)}")
    assert q is not None and result.finished_frac == 1.0
    assert params["mu"] == pytest.approx(2.0, rel=0.1)  # the set-up is what the docstring says
    below, at = closed_form_cdf(q, left=True, **params), closed_form_cdf(q, **params)
    assert below <= p + _band(p), f"P{p * 100:.0f} = day {q:.4f} is too late: F(q-) = {below:.3f}"
    assert at >= p - _band(p), f"P{p * 100:.0f} = day {q:.4f} is too early: F(q) = {at:.3f}"


@pytest.mark.slow
def test_probability_by_the_date_agrees_with_the_closed_form(setup):
    result, params = setup
    expected = closed_form_cdf(result.by_day, **params)
    assert abs(result.p_finish_by - expected) <= _band(expected), (result.p_finish_by, expected)
    assert result.drivers == ()  # nothing uncertain but chance: no driver to show


@pytest.mark.slow
def test_the_bound_is_tight_enough_to_catch_a_missing_restart(setup):
    """The band is narrow enough that the closed form of a process without restart time (T = T0 + tau sum U)
    rejects the forecast's P50, and one that ignores failures altogether (T = T0) its P10."""
    result, params = setup
    blind = {**params, "r": 0.0}
    assert closed_form_cdf(result.finish_day_p50, left=True, **blind) > 0.5 + _band(0.5)
    failure_free = {**params, "mu": 0.0}
    assert closed_form_cdf(result.finish_day_p90, left=True, **failure_free) > 0.9 + _band(0.9) - ALLOWANCE
