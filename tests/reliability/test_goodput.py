"""Closed-form goodput and its invariants (hypothesis)."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
import pytest

from colossus import reliability as rel
from colossus.errors import SpecError

pos = st.floats(min_value=1.0, max_value=1e4)
rate = st.floats(min_value=0.0, max_value=1e-3)


@given(tau=pos, delta=st.floats(0.0, 600.0), lam=rate, extra=st.floats(0.0, 1e-3), restart=st.floats(0.0, 3600.0))
def test_more_failures_never_raise_goodput(tau, delta, lam, extra, restart):
    kw = dict(interval_s=tau, stall_s=delta, planned_per_s=0.0, restart_s=restart)
    assert rel.ettr(unplanned_per_s=lam + extra, **kw) <= rel.ettr(unplanned_per_s=lam, **kw) + 1e-12


@given(tau=pos, delta=st.floats(0.0, 600.0), restart=st.floats(0.0, 3600.0))
def test_zero_failures_leave_only_checkpoint_overhead(tau, delta, restart):
    got = rel.ettr(interval_s=tau, stall_s=delta, unplanned_per_s=0.0, planned_per_s=0.0, restart_s=restart)
    assert got == pytest.approx(tau / (tau + delta))


@given(delta=st.floats(1.0, 120.0), mtti=st.floats(3600.0, 1e6), factor=st.floats(0.2, 5.0))
def test_daly_interval_is_near_the_closed_form_optimum(delta, mtti, factor):
    kw = dict(stall_s=delta, unplanned_per_s=1 / mtti, planned_per_s=0.0, restart_s=600.0)
    best = rel.daly_interval_s(delta, mtti)
    assert rel.ettr(interval_s=best, **kw) >= rel.ettr(interval_s=best * factor, **kw) - 2e-3


def test_bad_inputs():
    with pytest.raises(SpecError):
        rel.ettr(interval_s=0.0, stall_s=1.0, unplanned_per_s=0.0, planned_per_s=0.0, restart_s=0.0)
    with pytest.raises(SpecError):
        rel.goodput(-1.0, interval_s=1.0, stall_s=1.0, unplanned_per_s=0.0, planned_per_s=0.0, restart_s=0.0)


def test_faults_during_restarts_follow_dalys_complete_model():
    lam, r, tau = 1 / 1800.0, 1200.0, 100.0
    wall = rel.cycle_wall_s(interval_s=tau, stall_s=0.0, unplanned_per_s=lam, restart_s=r)
    assert wall == pytest.approx(math.expm1(lam * tau) * math.exp(lam * r) / lam)
    assert wall > math.expm1(lam * tau) * (1 / lam + r)  # a fault during a restart starts it again


def test_a_job_that_cannot_progress_has_an_infinite_finish():
    g = rel.goodput(1e6, interval_s=60.0, stall_s=1.0, unplanned_per_s=1.0, planned_per_s=0.0, restart_s=1e4)
    assert g.ettr == 0.0 and math.isinf(g.expected_finish_s)
