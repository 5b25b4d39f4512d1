"""Scheduling policy, placement and the power response as pure functions."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus.sim import scheduler as policy
from colossus.sim.cluster import Layout, place
from colossus.sim.sitepower import CapTable, Group, SitePower, respond


def _layout(num_servers: int = 64, pod: int = 16, rack: int = 4) -> Layout:
    idx = np.arange(num_servers)
    return Layout(("p",), np.zeros(num_servers, dtype=np.int16), (idx // pod).astype(np.int32),
                  (idx // rack).astype(np.int32), np.array([0]), np.array([num_servers]), np.array([8]),
                  np.array([rack]))


def test_queue_order_is_priority_then_fifo():
    keys = sorted([policy.queue_key(0, 5.0, 1), policy.queue_key(10, 9.0, 2), policy.queue_key(0, 1.0, 3)])
    assert [k[2] for k in keys] == [2, 3, 1]


def test_victims_lowest_priority_and_latest_start_first():
    holders = [policy.Holder(1, 0, 4, 10.0, math.inf), policy.Holder(2, 0, 4, 20.0, math.inf),
               policy.Holder(3, 5, 8, 0.0, math.inf), policy.Holder(4, 10, 8, 0.0, math.inf)]
    assert policy.victims(6, 2, holders, priority=10) == [2]
    assert policy.victims(14, 2, holders, priority=10) == [2, 1, 3]
    assert policy.victims(40, 2, holders, priority=10) is None
    assert policy.victims(2, 2, holders, priority=0) == []


def test_easy_backfill_shadow_and_extra():
    holders = [policy.Holder(1, 0, 4, 0.0, 100.0), policy.Holder(2, 0, 6, 0.0, 50.0)]
    shadow_s, extra = policy.shadow(8, 3, holders)
    assert shadow_s == 50.0 and extra == 1
    assert policy.may_backfill(2, 3, end_s=40.0, shadow_s=shadow_s, extra=extra)  # ends before the shadow
    assert not policy.may_backfill(2, 3, end_s=60.0, shadow_s=shadow_s, extra=extra)  # would delay the head
    assert policy.may_backfill(1, 3, end_s=60.0, shadow_s=shadow_s, extra=extra)  # within the extra servers


def test_place_prefers_one_pod_that_fits_best():
    lay = _layout()
    free = np.concatenate([np.arange(0, 10), np.arange(16, 32), np.arange(40, 46)])  # pods 0:10, 1:16, 2:6
    got = place(free, 6, lay)
    assert set(lay.pod_of[got]) == {2}  # the fullest pod that holds the job
    got = place(free, 12, lay)
    assert set(lay.pod_of[got]) == {1}


@given(st.lists(st.integers(0, 63), unique=True, min_size=1), st.integers(1, 64))
def test_place_takes_free_servers_only_and_exactly_n(free_list, n):
    lay = _layout()
    free = np.array(sorted(free_list))
    got = place(free, n, lay)
    if n > free.size:
        assert got is None
    else:
        assert got.size == n and np.isin(got, free).all() and np.unique(got).size == n


def _power() -> SitePower:
    return SitePower(0.0, 0.0, np.array([100.0]), np.array([90.0]), np.array([200.0]), np.array([180.0]),
                     np.array([1.2]), np.array([1.1]), np.array([60.0]))


def _groups() -> list[Group]:
    table = CapTable(draw_w=np.array([300.0, 500.0, 700.0]), kept_frac=np.array([0.6, 0.85, 1.0]))
    return [Group(0, 100, table, (0, 0, -5.0, 1)), Group(0, 100, table, (0, 0, -1.0, 2)),
            Group(0, 1000, table, (1, 10, 0.0, 0))]


@pytest.mark.parametrize("strategy", ["cap", "park", "mix"])
def test_respond_fits_the_supply_and_more_supply_never_parks_more(strategy):
    pw, groups = _power(), _groups()
    previous = None
    for supply_w in np.linspace(0.2e6, 1.4e6, 25):
        r = respond(pw, fixed_w=50e3, groups=groups, supply_w=float(supply_w), strategy=strategy)
        if len(r.parked) < len(groups):
            assert r.site_w <= supply_w * (1 + 1e-12)
        if previous is not None:
            assert len(r.parked) <= len(previous.parked)
        previous = r


def test_mix_parks_fillers_before_capping_the_named_job():
    pw, groups = _power(), _groups()
    full = respond(pw, fixed_w=50e3, groups=groups, supply_w=1e9, strategy="mix")
    assert full.parked == frozenset() and full.cap_index == 2
    tight = respond(pw, fixed_w=50e3, groups=groups, supply_w=full.site_w - 1.0, strategy="mix")
    assert tight.parked == frozenset({0})  # the most recently started filler (rank -5: started at 5) goes first
    assert tight.cap_index == 2
    capped = respond(pw, fixed_w=50e3, groups=groups, supply_w=1.0e6, strategy="mix")
    assert capped.parked == frozenset({0, 1}) and capped.cap_index < 2
