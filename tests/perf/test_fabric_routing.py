"""Flow collisions of a statically hashed (ECMP) fabric, against adaptive routing (InfiniBand, Spectrum-X)."""

from __future__ import annotations

import pytest

from colossus.perf.assumptions import default_assumptions
from colossus.perf.collective import collective_costs
from colossus.spec import load_scenario
from colossus.spec.cluster import ClusterSpec

MEMPHIS = "scenarios/colossus-memphis.yaml"
GIB = 2.0**30


def _cluster(adaptive: bool | None) -> ClusterSpec:
    cluster = load_scenario(MEMPHIS).cluster
    fabric = cluster.fabric.model_copy(update={"adaptive_routing": adaptive})
    return cluster.model_copy(update={"fabric": fabric})


def _time(cluster: ClusterSpec, gpus: int, op: str = "all-reduce") -> float:
    (cost,) = collective_costs(cluster, group_gpus=gpus, sizes_bytes=(GIB,), ops=(op,))
    return cost.time_s


def test_the_switch_decides_unless_the_fabric_says():
    spectrum_x = load_scenario(MEMPHIS).cluster.fabric
    assert spectrum_x.switch.adaptive_routing and spectrum_x.adaptive
    assert not _cluster(False).fabric.adaptive and _cluster(None).fabric.adaptive


def test_ecmp_slows_only_what_leaves_the_leaf():
    """A ring inside one server and one inside a rail's leaf cross no spine: the same on either fabric. A ring
    over the whole 100k-GPU fabric is bandwidth-bound on the spine, where flow collisions leave ~0.60/0.95."""
    adaptive, hashed = _cluster(None), _cluster(False)
    for gpus in (8, 256):  # one server; 32 servers under one rail leaf (rail-optimised, 64 ports down)
        assert _time(hashed, gpus) == pytest.approx(_time(adaptive, gpus), rel=1e-12)
    whole = 100_000
    eff = default_assumptions().f("network.nccl.ecmp_spine_eff")
    assert _time(hashed, whole) == pytest.approx(_time(adaptive, whole) / eff, rel=0.02)
    assert _time(hashed, whole, "all-to-all") > _time(adaptive, whole, "all-to-all")
