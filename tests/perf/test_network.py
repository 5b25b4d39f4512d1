"""Collective costs over NVLink and the fabric tiers."""

from __future__ import annotations

import numpy as np
import pytest

from colossus.perf.assumptions import default_assumptions
from colossus.perf.context import RunInputs, build_context
from colossus.perf.estimate import software_for
from colossus.perf.network import all_to_all_time_s, default_fabric, p2p_time_s, ring_time_s
from colossus.spec import lookup


@pytest.fixture
def net():
    """One row: 100,000 H100 on the default 400G fabric."""
    gpu = lookup("gpus", "h100-sxm5-80gb")
    a = default_assumptions()
    inputs = RunInputs(lookup("models", "llama3-8b"), gpu, software_for(None, gpu, a),
                       default_fabric(gpu, 400.0, a), 100_000, 8)
    return build_context([inputs], a)


def one(x):
    return np.array([x])


def test_all_reduce_is_twice_reduce_scatter_bandwidth(net):
    big = one(1e10)
    ar = ring_time_s(net, big, one(64), one(8), all_reduce=True)
    rs = ring_time_s(net, big, one(64), one(8), all_reduce=False)
    assert ar[0] == pytest.approx(2 * rs[0], rel=0.01)


def test_ring_over_one_nic_per_server_runs_at_nic_bandwidth(net):
    size = 64
    t = ring_time_s(net, one(1e10), one(size), one(8), all_reduce=False)[0]
    expected = (size - 1) / size * 1e10 / net.level_bytes_per_s[0, 0]
    assert t == pytest.approx(expected, rel=0.02)


def test_full_servers_share_the_inter_server_part(net):
    """Eight ranks per server: each NIC carries an eighth (NCCL rings use every rail)."""
    whole = ring_time_s(net, one(1e10), one(64), one(1), all_reduce=False)[0]
    strided = ring_time_s(net, one(1e10), one(64), one(8), all_reduce=False)[0]
    assert whole < strided / 4


def test_latency_and_tier_show_up_at_100k_gpus(net):
    small = ring_time_s(net, one(1e3), one(16), one(8), all_reduce=False)[0]
    huge = ring_time_s(net, one(1e3), one(12_500), one(8), all_reduce=False)[0]
    assert huge > 100 * small
    assert net.level_latency_s[0, -1] > net.level_latency_s[0, 0]


def test_single_rank_costs_nothing(net):
    assert ring_time_s(net, one(1e9), one(1), one(1), all_reduce=True)[0] == 0.0
    assert all_to_all_time_s(net, one(1e9), one(1), one(1))[0] == 0.0


def test_p2p_inside_server_is_faster_than_across(net):
    inside = p2p_time_s(net, one(1e8), one(1))[0]
    across = p2p_time_s(net, one(1e8), one(8))[0]
    assert inside < across
