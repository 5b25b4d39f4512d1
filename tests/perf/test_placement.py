"""A spread placement is never faster than a compact one, and costs most where the fabric is oversubscribed."""

from __future__ import annotations

import pytest

from colossus.perf.jobs import job_perf
from colossus.perf.placement import spread_step_time_s
from colossus.spec import load_scenario


@pytest.fixture(scope="module")
def memphis(request):
    from pathlib import Path

    return load_scenario(Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml")


def _times(scenario, fabric, per_pods):
    job = scenario.jobs[0]
    cluster = scenario.cluster.model_copy(update={"fabric": fabric})
    est = job_perf(cluster, job).estimate
    pool = cluster.pools[0]
    return est.step_time_s, [spread_step_time_s(est, job.model, pool.gpu, fabric=fabric, gpus_per_server=8,
                                                gpus_per_pod=g) for g in per_pods]


def test_spread_is_never_faster_and_monotone(memphis):
    fabric = memphis.cluster.fabric.model_copy(update={"oversubscription": [1.0, 4.0]})
    # a pod holding the whole job is the compact placement; then ever fewer of its GPUs per pod
    compact, spread = _times(memphis, fabric, [memphis.jobs[0].num_gpus, 4096, 2048, 1024, 512])
    assert spread[0] == pytest.approx(compact)
    assert all(b >= a - 1e-12 for a, b in zip(spread, spread[1:]))
    assert spread[-1] > compact * 1.02  # a 4:1 core makes a scattered job clearly slower


def test_non_blocking_fabric_only_pays_latency(memphis):
    compact, spread = _times(memphis, memphis.cluster.fabric, [512])
    assert compact <= spread[0] < compact * 1.01
