"""One training step: compute, exposed communication, pipeline bubble, optimizer; arrays over rows.

Composition (per GPU of the slowest pipeline stage):

* a micro-batch passes the stage's layers forward and backward (plus what
  recompute repeats) and the output layer on the last stage (unless the
  stack counts the loss as a pipeline slot); tensor-, context- and
  expert-parallel communication inside a layer shows except where the
  software overlaps it, and an overlap hides a collective only under
  compute that runs beside it (the layer's GEMMs for TP, one ring step's
  attention for CP, another micro-batch for EP);
* the pipeline runs ``m`` micro-batches plus a bubble of ``(pp - 1) / v``
  micro-batch times (1F1B: Narayanan et al. 2021 Sec. 2.2; interleaved: v
  virtual stages per GPU), plus exposed send/recv;
* the data-parallel gradient reduction (all-reduce, or reduce-scatter +
  all-gather with ZeRO-1/2) overlaps, when the stack overlaps it, only with
  the backward of the last micro-batch (the parameter all-gather with the
  first forward): what the pipeline has left to hide it under, not a fixed
  fraction; ZeRO-3/FSDP gathers and reduces per layer and micro-batch, each
  hidden at most under that layer's compute (a layer recomputed by a stack
  that releases it before its backward is gathered a third time: DeepSpeed's
  ``stage3_max_reuse_distance``); every overlapped collective slows the
  compute beside it by ``contention_frac``;
* then the optimizer step streams its state through HBM, and a fixed
  per-step cost (data loading, gradient-norm, logging) is paid.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.perf.compute import LayerTimes, expert_tokens, layer_times, logits_s, tokens_per_rank
from colossus.perf.context import Context
from colossus.perf.layout import RC_FULL, Layouts
from colossus.perf.memory import MemoryParts, Stage, expert_dp, memory_parts, stage_of, stage_params
from colossus.perf.network import moe_dispatch_time_s, p2p_time_s, ring, ring_hop_time_s, ring_time_s

#: 16-bit activations and weights on the wire.
WIRE_BYTES = 2.0


@dataclass(frozen=True)
class StepParts:
    """Seconds per optimizer step by part (they sum to ``step_time_s``), arrays over rows."""

    compute_s: np.ndarray
    recompute_s: np.ndarray
    tp_exposed_s: np.ndarray
    cp_exposed_s: np.ndarray
    ep_exposed_s: np.ndarray
    pp_exposed_s: np.ndarray
    bubble_s: np.ndarray
    dp_exposed_s: np.ndarray
    optimizer_s: np.ndarray
    other_s: np.ndarray

    @property
    def step_time_s(self) -> np.ndarray:
        return (
            self.compute_s + self.recompute_s + self.tp_exposed_s + self.cp_exposed_s + self.ep_exposed_s
            + self.pp_exposed_s + self.bubble_s + self.dp_exposed_s + self.optimizer_s + self.other_s
        )


def _hidden(comm, window, hide_frac=1.0):
    """Exposed part of ``comm`` overlapped with ``window`` of compute (up to ``hide_frac`` of the shorter)."""
    return comm - hide_frac * np.minimum(comm, window)


def tp_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """TP/SP collectives of one layer and micro-batch (forward, backward, recomputed forward)."""
    act = tokens_per_rank(ctx, lay) * ctx.hidden * WIRE_BYTES
    unit = ring_time_s(ctx, act, lay.tp, np.ones_like(lay.tp), all_reduce=False)
    # two all-reduces per pass (= 2 all-gather + 2 reduce-scatter with SP); a MoE layer with folded
    # experts keeps only attention's; a parallel block shares one pair between attention and MLP
    units = (1 - ctx.moe_frac) * 4.0 + ctx.moe_frac * 2.0
    units = np.where(ctx.sw_parallel_block, units / 2.0, units)
    passes = 2.0 + (lay.rc == RC_FULL)
    comm = units * passes * unit
    gemms = lt.linear_fwd_s * (3.0 + (lay.rc == RC_FULL))  # forward, backward (2x), recomputed forward
    return np.where(ctx.sw_tp_overlap, _hidden(comm, gemms, ctx.k["tp_hide"]), comm)


def cp_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """Ring attention's K/V exchange of one layer and micro-batch that the attention blocks do not hide."""
    if not (lay.cp > 1).any():
        return np.zeros(lay.size)
    t = tokens_per_rank(ctx, lay)
    kv_width = np.where(ctx.mla, ctx.heads / lay.tp * (ctx.qk_dim + ctx.v_dim),
                        2 * np.maximum(ctx.kv_heads / lay.tp, 1) * ctx.head_dim)
    hop = ring_hop_time_s(ctx, t * kv_width * WIRE_BYTES, lay.cp, lay.tp)
    steps = lay.cp - 1
    per_step_fwd = lt.attn_core_fwd_s / lay.cp
    fwd = steps * np.maximum(hop - per_step_fwd, 0.0)
    bwd = steps * np.maximum(2 * hop - 2.5 * per_step_fwd, 0.0)  # K, V and their gradients travel back
    return np.where(lay.cp > 1, fwd * (1.0 + (lay.rc == RC_FULL)) + bwd, 0.0)


def ep_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """Token dispatch and combine of one (average) layer and micro-batch."""
    if not (ctx.is_moe & (lay.ep > 1)).any():
        return np.zeros(lay.size)
    tokens = expert_tokens(ctx, lay)
    dispatch_bytes = np.where(lay.fp8, 1.0, WIRE_BYTES)
    size, stride = lay.ep, lay.etp
    geometry = ring(ctx, size, stride)
    one_way = moe_dispatch_time_s(ctx, tokens * ctx.hidden * dispatch_bytes, ctx.top_k, size, stride,
                                  per_server=ctx.sw_deepep, geometry=geometry)
    back = moe_dispatch_time_s(ctx, tokens * ctx.hidden * WIRE_BYTES, ctx.top_k, size, stride,
                               per_server=ctx.sw_deepep, geometry=geometry)
    passes = 2.0 + (lay.rc == RC_FULL)
    comm = ctx.moe_frac * passes * (one_way + back)
    other_mb = lt.fwd_s + lt.bwd_s  # another micro-batch's layer runs beside it (1F1B overlap)
    comm = np.where(ctx.sw_ep_overlap, _hidden(comm, other_mb, ctx.k["ep_hide"]), comm)
    return np.where(ctx.is_moe & (lay.ep > 1), comm, 0.0)


def pp_exposed_s(ctx: Context, lay: Layouts) -> np.ndarray:
    """Pipeline send/recv of one micro-batch (activations forward, gradients backward, per virtual stage)."""
    split = np.where(ctx.sw_pp_scatter | lay.sp, lay.tp, 1)
    p2p = p2p_time_s(ctx, tokens_per_rank(ctx, lay) * ctx.hidden * WIRE_BYTES / split, lay.tp * lay.cp * lay.dp)
    exposed = np.where(ctx.sw_pp_overlap, 1.0 - ctx.k["pp_hide"], 1.0) * 2 * lay.v * p2p
    return np.where(lay.pp > 1, exposed, 0.0)


def dp_collectives(ctx: Context, lay: Layouts, params: tuple[np.ndarray, np.ndarray] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(gradient reduction, parameter all-gather) seconds of one step's data-parallel traffic, whole stage.

    ``params``: ``stage_params(ctx, lay)``, when the caller has it.
    """
    dense, experts = stage_params(ctx, lay) if params is None else params
    group, stride = lay.dp * lay.cp, lay.tp
    e_group, e_stride = expert_dp(lay), lay.ep * lay.etp
    zero3 = lay.zero >= 3
    if zero3.any():
        grad = np.where(zero3, ctx.sw_zero3_grad_bytes, ctx.sw_grad_bytes)
        agg = np.where(zero3, ctx.sw_fsdp_agg, True)
        slow = np.where(agg, 1.0, 1.0 / ctx.k["zero3_unaggregated_eff"])
    else:  # (no row shards its parameters: every rank aggregates, at full speed)
        grad, agg, slow = ctx.sw_grad_bytes, True, None
    dense_ring, expert_ring = ring(ctx, group, stride, agg), ring(ctx, e_group, e_stride, agg)

    def dense_t(bytes_per, *, all_reduce):
        t = ring_time_s(ctx, dense * bytes_per, group, stride, all_reduce=all_reduce, geometry=dense_ring)
        return t if slow is None else slow * t

    def experts_t(bytes_per, *, all_reduce):
        t = ring_time_s(ctx, experts * bytes_per, e_group, e_stride, all_reduce=all_reduce, geometry=expert_ring)
        return t if slow is None else slow * t

    def reduction(all_reduce: bool) -> np.ndarray:
        return dense_t(grad, all_reduce=all_reduce) + experts_t(grad, all_reduce=all_reduce)

    unsharded = lay.zero == 0
    # (each form only where some row uses it: one estimate's few rows usually share a ZeRO stage)
    if unsharded.all():
        reduce = reduction(True)
    elif not unsharded.any():
        reduce = reduction(False)
    else:
        reduce = np.where(unsharded, reduction(True), reduction(False))
    if not (lay.zero >= 1).any():
        return reduce, np.zeros(np.shape(reduce))
    gather = dense_t(WIRE_BYTES, all_reduce=False) + experts_t(WIRE_BYTES, all_reduce=False)
    return reduce, np.where(lay.zero >= 1, gather, 0.0)


def dp_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes, layers: np.ndarray,
                 params: tuple[np.ndarray, np.ndarray] | None = None, layer_comm_s=0.0) -> np.ndarray:
    """Data-parallel communication that shows, bounded by the compute that can hide it.

    ``layer_comm_s``: one layer's exposed TP/CP/EP time per micro-batch (all passes). A ZeRO-3/FSDP
    gather is prefetched while the layer before runs (PyTorch FSDP ``forward_prefetch`` /
    ``backward_prefetch``, Megatron FSDP's parameter prefetch), so it hides under that layer's whole
    pass, its own exposed collectives included, not under its compute alone.
    """
    reduce, gather = dp_collectives(ctx, lay, params)
    contention = ctx.k["dp_contention"]
    fwd_mb = layers * lt.fwd_s
    bwd_mb = layers * (lt.bwd_s + lt.recompute_s)
    # ZeRO-0..2: reduce-scatter under the last micro-batch's backward, all-gather under the first forward
    overlapped = (_hidden(reduce, bwd_mb) + _hidden(gather, fwd_mb)
                  + contention * (np.minimum(reduce, bwd_mb) + np.minimum(gather, fwd_mb)))
    sharded = np.where(ctx.sw_dp_overlap, overlapped, reduce + gather)
    if not (lay.zero >= 3).any():
        return sharded
    # ZeRO-3 / FSDP: per micro-batch, each layer's gather (forward, and again backward) and reduce-scatter;
    # with full recompute a stack that releases a layer between its recomputed forward and its backward
    # gathers it a third time (DeepSpeed: a layer of more parameters than stage3_max_reuse_distance)
    n = np.maximum(layers, 1)
    ag, rs = gather / n, reduce / n
    dense = stage_params(ctx, lay)[0] if params is None else params[0]
    regather = (lay.rc == RC_FULL) & (dense * lay.tp / n > ctx.sw_zero3_reuse_params)
    bwd_comm = np.where(regather, 2.0 * ag, ag) + rs
    contention_fsdp = np.where(ctx.sw_fsdp_agg, contention, ctx.k["zero3_unaggregated_contention"])
    f, b = lt.fwd_s, lt.bwd_s + lt.recompute_s  # compute, which the collectives slow
    passes = 2.0 + (lay.rc == RC_FULL)
    f_pass, b_pass = f + layer_comm_s / passes, b + layer_comm_s * (passes - 1.0) / passes  # what hides them
    per_mb_overlapped = (n * (_hidden(ag, f_pass) + _hidden(bwd_comm, b_pass)) + ag
                         + contention_fsdp * n * (np.minimum(ag, f) + np.minimum(bwd_comm, b)))
    per_mb = np.where(ctx.sw_dp_overlap, per_mb_overlapped, n * (ag + bwd_comm))
    return np.where(lay.zero >= 3, lay.m * per_mb, sharded)


def optimizer_s(ctx: Context, lay: Layouts, params: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Adam step over this GPU's (possibly sharded) parameters, HBM-bound (``params``: ``stage_params``)."""
    dense, experts = stage_params(ctx, lay) if params is None else params
    shard = np.where(lay.zero >= 1, lay.dp * lay.cp, 1)
    e_shard = np.where(lay.zero >= 1, expert_dp(lay), 1)
    local = dense / shard + experts / e_shard
    return local * ctx.k["optimizer_bytes_per_param"] / ctx.hbm_bytes_per_s


def step_parts(ctx: Context, lay: Layouts, stage: Stage | None = None) -> StepParts:
    """Seconds per step by part for every row (``stage``: ``stage_of(ctx, lay)``, if known)."""
    lt = layer_times(ctx, lay)
    slots, layers, params = stage_of(ctx, lay) if stage is None else stage
    # a stack that counts the loss as a pipeline slot has the output layer inside the stage's budget
    in_slots = slots != ctx.layers
    logit_f, logit_b = logits_s(ctx, lay)
    # the slowest stage sets the pipeline's pace (Narayanan et al. 2021 Sec. 2.2): without loss slots the
    # last stage carries the fullest stage's layers plus the output layer; with them (Megatron-core
    # --account-for-loss-in-pipeline-split counts the loss as one layer) the last GPU's final virtual
    # stage runs the output layer and the cross-entropy in place of a layer, which for a large vocabulary
    # costs more than the layer it replaces, so the pace is the larger of the two stage kinds
    layer_fb = lt.fwd_s + lt.bwd_s
    tp1, cp1, ep1 = (f(ctx, lay, lt) for f in (tp_exposed_s, cp_exposed_s, ep_exposed_s))
    per_layer = layer_fb + lt.recompute_s + tp1 + cp1 + ep1
    loss_excess = np.where(in_slots, np.maximum(logit_f + logit_b - per_layer, 0.0), logit_f + logit_b)
    compute_mb = layers * layer_fb + loss_excess
    recompute_mb = layers * lt.recompute_s
    tp, cp, ep = layers * tp1, layers * cp1, layers * ep1
    pp = pp_exposed_s(ctx, lay)
    per_mb = compute_mb + recompute_mb + tp + cp + ep + pp
    m = lay.m.astype(np.float64)
    return StepParts(
        compute_s=m * compute_mb,
        recompute_s=m * recompute_mb,
        tp_exposed_s=m * tp,
        cp_exposed_s=m * cp,
        ep_exposed_s=m * ep,
        pp_exposed_s=m * pp,
        bubble_s=(lay.pp - 1) / lay.v * per_mb,
        dp_exposed_s=dp_exposed_s(ctx, lay, lt, layers, params, tp1 + cp1 + ep1),
        optimizer_s=optimizer_s(ctx, lay, params),
        other_s=np.full(m.shape, ctx.k["step_overhead_s"], dtype=np.float64),
    )


def step_memory(ctx: Context, lay: Layouts, stage: Stage | None = None) -> MemoryParts:
    return memory_parts(ctx, lay, stage)
