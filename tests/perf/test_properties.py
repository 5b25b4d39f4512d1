"""Invariants of the performance model (hypothesis)."""

from __future__ import annotations

from dataclasses import replace

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from perf_helpers import make_run

from colossus.perf import estimate
from colossus.perf.assumptions import default_assumptions
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.step import step_memory

layouts = st.fixed_dictionaries({
    "tp": st.sampled_from([1, 2, 4, 8]),
    "pp": st.sampled_from([1, 2, 4, 8]),
    "micro_batch": st.sampled_from([1, 2]),
    "recompute": st.sampled_from(["none", "selective", "full"]),
    "sequence_parallel": st.booleans(),
    "zero": st.integers(0, 3),
})


@settings(max_examples=40, deadline=None)
@given(layouts, st.sampled_from([25.0, 50.0, 100.0, 200.0]), st.sampled_from([2.0, 4.0, 8.0]))
def test_more_nic_bandwidth_never_slows_a_step(layout, nic, factor):
    batch = 512 // (layout["tp"] * layout["pp"]) * layout["micro_batch"] * 4
    slow = estimate(make_run(gpus=512, nic=nic, global_batch=batch, **layout))
    fast = estimate(make_run(gpus=512, nic=min(nic * factor, 400.0), global_batch=batch, **layout))
    assert fast.step_time_s <= slow.step_time_s * (1 + 1e-12)


@settings(max_examples=40, deadline=None)
@given(layouts, st.sampled_from([1, 2, 4]))
def test_doubling_dp_at_same_replica_batch_never_lowers_tokens_per_s(layout, per_replica_micro):
    """From a data-parallel group that already crosses servers (one that fits inside an NVLink
    server and then spills onto the network can lose throughput when communication-bound)."""
    gpus = layout["tp"] * layout["pp"] * max(4, 16 // layout["tp"])
    batch = gpus // (layout["tp"] * layout["pp"]) * per_replica_micro * layout["micro_batch"]
    one = estimate(make_run(gpus=gpus, global_batch=batch, **layout))
    two = estimate(make_run(gpus=2 * gpus, global_batch=2 * batch, **layout))
    total_one = one.tokens_per_s_per_gpu * one.num_gpus
    total_two = two.tokens_per_s_per_gpu * two.num_gpus
    assert total_two >= total_one * (1 - 1e-12)


@settings(max_examples=60, deadline=None)
@given(layouts, st.sampled_from(["tp", "pp", "dp", "cp", "zero"]))
def test_memory_never_rises_when_a_sharding_degree_rises(layout, degree):
    batch = 512 // (layout["tp"] * layout["pp"]) * layout["micro_batch"] * 16
    run = make_run(gpus=512, global_batch=batch, **layout)
    ctx = run_context(run, default_assumptions())
    lay = from_spec(run.layout)
    value = getattr(lay, degree)[0]
    bigger = replace(lay, **{degree: np.array([value + 1 if degree == "zero" else 2 * value])})
    if degree == "zero" and value == 3:
        return
    before = step_memory(ctx, lay).total_bytes[0]
    after = step_memory(ctx, bigger).total_bytes[0]
    assert after <= before * (1 + 1e-12)
