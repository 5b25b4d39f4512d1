"""Properties of the fabric inventory: counts, port conservation, bisection bounds."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus.errors import InfeasibleError
from colossus.spec import FabricSpec
from colossus.topology import comm_levels, fabric_inventory, max_endpoints

SWITCH = {
    "name": "test-switch-64x800",
    "protocol": "ethernet",
    "asic": "test",
    "ports": 64,
    "port_gbit_per_s": 800,
    "tdp_w": 1500,
    "typical_w": 1000,
    "latency_ns": 600,
    "adaptive_routing": False,
}
OPTIC = {"name": "test-optic-800", "form_factor": "OSFP", "gbit_per_s": 800, "power_w": 15, "reach_m": 100}


def make_fabric(**update) -> FabricSpec:
    base = {
        "switch": SWITCH,
        "nic_gbit_per_s": 400,
        "link_gbit_per_s": 400,
        "tiers": "auto",
        "rail_optimized": True,
        "nic_link_optical": True,
        "optic": OPTIC,
        "cable_latency_ns_per_hop": 50,
    }
    return FabricSpec.model_validate({**base, **update})


def test_textbook_capacity():
    fabric = make_fabric()
    # 128 x 400G ports: k * (k/2)^(T-1)
    assert max_endpoints(fabric, 1) == 128
    assert max_endpoints(fabric, 2) == 128 * 64
    assert max_endpoints(fabric, 3) == 128 * 64 * 64


def test_100k_gpus_need_three_tiers():
    inv = fabric_inventory(make_fabric(), num_gpus=100_000, gpus_per_server=8)
    assert inv.num_tiers == 3
    leaf, spine, core = inv.tiers
    # rail-optimised: 8 rails x ceil(12,500 servers / 64 per leaf)
    assert leaf.num_switches == 8 * math.ceil(12_500 / 64)
    assert spine.num_switches == math.ceil(leaf.links_up / 64)
    assert core.num_switches == math.ceil(spine.links_up / 128)
    assert inv.bisection_bytes_per_s == pytest.approx(0.5 * 100_000 * 400e9 / 8)


def test_fixed_tiers_too_small_is_infeasible():
    with pytest.raises(InfeasibleError, match="2-tier"):
        fabric_inventory(make_fabric(tiers=2), num_gpus=100_000, gpus_per_server=8)


def test_oversubscription_halves_upper_bandwidth():
    fabric = make_fabric(tiers=3, oversubscription=[3.0])
    levels = comm_levels(fabric, num_gpus=32_768, gpus_per_server=8)
    assert [lv.name for lv in levels] == ["leaf", "spine", "core"]
    assert levels[0].bytes_per_s_per_gpu == pytest.approx(50e9)
    assert levels[1].bytes_per_s_per_gpu == pytest.approx(50e9 / 3)
    assert levels[-1].span_gpus == 32_768
    assert [lv.switch_hops for lv in levels] == [1, 3, 5]
    assert levels[0].latency_s < levels[1].latency_s < levels[2].latency_s


servers = st.integers(min_value=1, max_value=30_000)
oversub = st.lists(st.sampled_from([1.0, 1.5, 2.0, 3.0]), max_size=2)
rail = st.booleans()


@settings(max_examples=200, deadline=None)
@given(n=servers, o=oversub, rail_opt=rail)
def test_every_gpu_port_connected_once_and_ports_suffice(n, o, rail_opt):
    fabric = make_fabric(oversubscription=o, rail_optimized=rail_opt, tiers=3)
    num_gpus = 8 * n
    try:
        inv = fabric_inventory(fabric, num_gpus=num_gpus, gpus_per_server=8)
    except InfeasibleError:
        assert num_gpus > max_endpoints(fabric, 3)
        return
    leaf = inv.tiers[0]
    assert inv.nic_links == num_gpus * inv.links_per_gpu  # each GPU port once
    assert leaf.links_down == inv.nic_links
    for lower, upper in zip(inv.tiers, inv.tiers[1:]):
        assert upper.links_down == lower.links_up  # every uplink lands on a down port
        assert upper.num_switches * upper.down_ports_per_switch >= lower.links_up
    assert leaf.num_switches * leaf.down_ports_per_switch >= inv.nic_links
    for t in inv.tiers:
        assert t.down_ports_per_switch + t.up_ports_per_switch <= inv.radix


@settings(max_examples=200, deadline=None)
@given(n=servers, o=oversub, rail_opt=rail)
def test_bisection_within_what_switches_carry(n, o, rail_opt):
    fabric = make_fabric(oversubscription=o, rail_optimized=rail_opt, tiers="auto")
    inv = fabric_inventory(fabric, num_gpus=8 * n, gpus_per_server=8)
    link = fabric.link_bytes_per_s
    assert inv.bisection_bytes_per_s <= 0.5 * inv.nic_links * link * (1 + 1e-12)
    switching = inv.num_switches * inv.radix * link
    assert inv.bisection_bytes_per_s <= 0.5 * switching
    assert inv.bisection_bytes_per_s > 0


@settings(max_examples=100, deadline=None)
@given(a=servers, b=servers, o=oversub, rail_opt=rail)
def test_counts_grow_monotonically(a, b, o, rail_opt):
    small, large = sorted((a, b))
    fabric = make_fabric(oversubscription=o, rail_optimized=rail_opt, tiers=3)
    try:
        big = fabric_inventory(fabric, num_gpus=8 * large, gpus_per_server=8)
    except InfeasibleError:
        return
    little = fabric_inventory(fabric, num_gpus=8 * small, gpus_per_server=8)
    assert little.num_switches <= big.num_switches
    assert little.optical_links <= big.optical_links
    assert little.bisection_bytes_per_s <= big.bisection_bytes_per_s
    for t_small, t_big in zip(little.tiers, big.tiers):
        assert t_small.num_switches <= t_big.num_switches


@settings(max_examples=100, deadline=None)
@given(n=servers)
def test_comm_levels_nest(n):
    fabric = make_fabric()
    levels = comm_levels(fabric, num_gpus=8 * n, gpus_per_server=8)
    spans = [lv.span_gpus for lv in levels]
    assert spans == sorted(spans)
    assert spans[-1] == 8 * n
    assert all(s % 8 == 0 for s in spans)
    bws = [lv.bytes_per_s_per_gpu for lv in levels]
    assert bws == sorted(bws, reverse=True)
