"""``auto_interval``: the Young/Daly interval for the allocation's size, recomputed on another size."""

from __future__ import annotations

import math

import pytest
from sim_helpers import scenario, small_doc

from colossus import reliability as rel
from colossus.reliability.scenario import allocation_input
from colossus.sim.engine import Engine


def _auto_doc():
    doc = small_doc(days=2.0)
    doc["jobs"][0]["checkpoint"]["auto_interval"] = True
    return doc


def test_auto_interval_is_daly_for_the_allocation_and_changes_with_its_size():
    sc = scenario(_auto_doc())
    eng = Engine(sc, seed=1)
    spec, pool = sc.jobs[0], sc.cluster.pools[0].name
    full, half = eng.rates.get(spec, pool, 1024), eng.rates.get(spec, pool, 512)
    assert full is not None and half is not None
    assert half.interval_s > full.interval_s  # fewer GPUs fail less often: checkpoint less often
    scale = sc.simulation.failures.rate_scale
    alloc = rel.plan_allocation(allocation_input(sc, spec, pool=pool, num_gpus=1024, layout=None,
                                                 tokens_per_s=full.tokens_per_s, rate_scale=scale))
    expect = rel.daly_interval_s(alloc.checkpoint.stall_s, alloc.mttf_unplanned_s)
    assert full.interval_s == pytest.approx(max(expect, alloc.checkpoint.durability_lag_s))
    assert full.restart_s == pytest.approx(alloc.restart.total_s) and full.start_s < full.restart_s


def test_a_fixed_interval_stays_fixed():
    doc = small_doc(days=2.0)
    sc = scenario(doc)
    eng = Engine(sc, seed=1)
    rate = eng.rates.get(sc.jobs[0], sc.cluster.pools[0].name, 1024)
    assert rate.interval_s == doc["jobs"][0]["checkpoint"]["interval_min"] * 60.0


def test_auto_checkpointing_runs_and_checkpoints_more_often_under_heavy_failures():
    doc = _auto_doc()
    r = Engine(scenario(doc), seed=5).run()
    job = r.summary["jobs"][0]
    assert job["checkpoints"] > 0 and job["interruptions"] > 0
    fixed = Engine(scenario(small_doc(days=2.0)), seed=5).run().summary["jobs"][0]
    # the small scenario's failures are 20x Llama 3's, so the optimum is well under its fixed 30 min
    per_work = job["checkpoints"] / max(job["progress_frac"], 1e-9)
    assert per_work > fixed["checkpoints"] / max(fixed["progress_frac"], 1e-9)
    assert math.isfinite(job["goodput"])
