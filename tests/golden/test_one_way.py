"""One input flipped on every published run, the answer must move one way.

Not a check of accuracy (nothing is compared with a measurement): each of the 73 published runs of
shared/validation, with every default it took stated (so that a flip changes one thing), is estimated
again with one input changed, and the model must answer the way the mechanism goes. A software overlap
or fusion turned on never slows a step; activation recompute none -> selective -> full never speeds a step
up nor needs more memory, and every selective policy lies between none and full in both; sequence parallelism
never needs more memory; twice the batch (more micro-batches over the same pipeline) never lowers the
throughput; a 16-bit gradient reduction is never slower than an fp32 one; faster HBM or an H200 in place of
an H100 never slows a step, a lower power limit never speeds one. The runs are the real shapes and
layouts teams ran, which synthetic layouts (tests/perf, hypothesis) do not reach: dense and MoE, A100 and
H100, eight stacks. (Selective recompute with a fused attention kernel
once needed more memory than none, on 19 of these runs; a module policy under torch.compile, 22 GiB more on
torchtitan's compiled 8B row.)
"""

from __future__ import annotations

import pytest

from colossus.errors import ColossusError
from colossus.perf import estimate
from colossus.spec import LayoutSpec, RunSpec, SoftwareSpec

#: relative slack for float noise in the comparisons
NOISE = 1e-9


@pytest.fixture(scope="module")
def pinned(published_runs) -> list[RunSpec]:
    """The published runs, each with the layout its estimate used (its defaults stated)."""
    return [with_layout(run, **estimate(run).layout.model_dump(mode="json")) for run in published_runs]


def with_layout(run: RunSpec, **fields) -> RunSpec:
    layout = LayoutSpec.model_validate({**run.layout.model_dump(mode="json"), **fields})
    return run.model_copy(update={"layout": layout})


def with_software(run: RunSpec, **fields) -> RunSpec:
    stated = run.software.model_dump(exclude_none=True) if run.software else {"framework": "other"}
    return run.model_copy(update={"software": SoftwareSpec.model_validate({**stated, **fields})})


def both(off: RunSpec, on: RunSpec):
    """The two estimates, or None where either cannot run (a flip may make a layout invalid)."""
    try:
        return estimate(off), estimate(on)
    except ColossusError:
        return None


@pytest.mark.parametrize("field", ["tp_comm_overlap", "dp_comm_overlap", "pp_comm_overlap", "compiled", "async_tp"])
def test_an_overlap_or_fusion_turned_on_never_slows_a_step(pinned, field):
    slower, compared = [], 0
    for run in pinned:
        pair = both(with_software(run, **{field: False}), with_software(run, **{field: True}))
        if pair is None:
            continue
        compared += 1
        off, on = pair
        if on.step_time_s > off.step_time_s * (1 + NOISE):
            slower.append(f"{run.id}: {off.step_time_s:.4f} -> {on.step_time_s:.4f} s")
    assert compared == len(pinned)
    assert not slower, slower


def test_more_recompute_never_speeds_a_step_up_nor_needs_more_memory(pinned):
    wrong = []
    for run in pinned:
        est = [estimate(with_layout(run, recompute=rc)) for rc in ("none", "selective", "full")]
        times = [e.step_time_s for e in est]
        memory = [e.memory_per_gpu_bytes for e in est]
        if not (times[0] <= times[1] * (1 + NOISE) and times[1] <= times[2] * (1 + NOISE)):
            wrong.append(f"{run.id}: step {times}")
        if not (memory[0] >= memory[1] * (1 - NOISE) and memory[1] >= memory[2] * (1 - NOISE)):
            wrong.append(f"{run.id}: memory GiB {[round(m / 2**30, 2) for m in memory]}")
    assert not wrong, wrong


def test_sequence_parallelism_never_needs_more_memory(pinned):
    wrong = []
    tensor_parallel = [run for run in pinned if run.layout.tp > 1]
    assert len(tensor_parallel) >= 40
    for run in tensor_parallel:
        pair = both(with_layout(run, sequence_parallel=False), with_layout(run, sequence_parallel=True))
        if pair is not None and pair[1].memory_per_gpu_bytes > pair[0].memory_per_gpu_bytes * (1 + NOISE):
            wrong.append(run.id)
    assert not wrong, wrong


def test_twice_the_batch_never_lowers_the_throughput(pinned):
    wrong = []
    for run in pinned:
        base = estimate(run)
        twice = estimate(with_layout(run, global_batch=2 * run.layout.global_batch))
        if twice.tokens_per_s_per_gpu < base.tokens_per_s_per_gpu * (1 - NOISE):
            wrong.append(f"{run.id}: {base.tokens_per_s_per_gpu:.1f} -> {twice.tokens_per_s_per_gpu:.1f}")
    assert not wrong, wrong


def test_a_16_bit_gradient_reduction_is_never_slower(pinned):
    wrong = []
    for run in pinned:
        pair = both(with_software(run, grad_reduce_dtype="fp32"), with_software(run, grad_reduce_dtype="bf16"))
        if pair is not None and pair[1].step_time_s > pair[0].step_time_s * (1 + NOISE):
            wrong.append(run.id)
    assert not wrong, wrong


def test_every_selective_policy_lies_between_no_recompute_and_full(pinned):
    """Each selective-recompute policy that applies to the run's model, stated, repeats part of what full
    recompute repeats and keeps part of what no recompute keeps: its step is no faster than none and no
    slower than full, its memory no more than none and no less than full."""
    from colossus.spec import SelectiveRecompute

    wrong, compared = [], 0
    for run in pinned:
        bounds = [estimate(with_layout(run, recompute=rc)) for rc in ("none", "full")]
        for policy in SelectiveRecompute:
            try:
                est = estimate(with_layout(with_software(run, selective_recompute=policy.value), recompute="selective"))
            except ColossusError:  # a policy for blocks the model lacks is refused
                continue
            compared += 1
            step, memory = est.step_time_s, est.memory_per_gpu_bytes
            fastest, slowest = bounds[0].step_time_s, bounds[1].step_time_s
            most, least = bounds[0].memory_per_gpu_bytes, bounds[1].memory_per_gpu_bytes
            if not fastest * (1 - NOISE) <= step <= slowest * (1 + NOISE):
                wrong.append(f"{run.id} {policy.value}: step {step:.3f} outside {fastest:.3f}..{slowest:.3f}")
            if not least * (1 - NOISE) <= memory <= most * (1 + NOISE):
                wrong.append(f"{run.id} {policy.value}: memory {memory / 2**30:.2f} GiB outside"
                             f" {least / 2**30:.2f}..{most / 2**30:.2f}")
    assert compared >= 3 * len(pinned)
    assert not wrong, wrong


def with_cluster(run: RunSpec, **fields) -> RunSpec:
    stated = run.cluster.model_dump(mode="json", exclude_none=True)
    stated["gpu"] = run.cluster.gpu.name
    return run.model_copy(update={"cluster": type(run.cluster).model_validate({**stated, **fields})})


def test_better_hardware_never_slows_a_step_and_a_lower_power_limit_never_speeds_one(pinned):
    """Each run on faster HBM (1.4x its bandwidth), on an H200 where it ran on an H100 (the same compute, more and
    faster HBM) and at 70% of its GPU's TDP: the first two never slow the step, the third never speeds it up."""
    wrong, compared, moved = [], 0, {"hbm x1.4": 0, "power 0.7 TDP": 0, "h200": 0}
    for run in pinned:
        base = estimate(run)
        gpu = run.cluster.gpu
        flips = {"hbm x1.4": (with_cluster(run, hbm_gb_per_s=gpu.hbm_tb_per_s * 1000 * 1.4), -1),
                 "power 0.7 TDP": (with_cluster(run, power_limit_w=0.7 * gpu.tdp_w), +1)}
        if gpu.name.startswith("h100"):
            flips["h200"] = (with_cluster(run, gpu="h200-sxm-141gb"), -1)
        for name, (flipped, sign) in flips.items():
            est = estimate(flipped)
            compared += 1
            change = sign * (est.step_time_s - base.step_time_s)
            if change < -NOISE * base.step_time_s:
                wrong.append(f"{run.id} {name}: {base.step_time_s:.4f} -> {est.step_time_s:.4f} s")
            moved[name] += change > NOISE * base.step_time_s
    assert compared >= 2 * len(pinned)
    assert not wrong, wrong
    assert min(moved.values()) >= 10, moved  # (each flip moves the step of many runs: not a vacuous check)
