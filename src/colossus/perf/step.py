"""One training step: compute, exposed communication, pipeline bubble, optimizer; arrays over rows.

Composition (per GPU of the slowest pipeline stage):

* a micro-batch passes the stage's layers forward and backward (plus what
  recompute repeats) and the output layer on the last stage (unless the
  stack counts the loss as a pipeline slot); tensor-, context- and
  expert-parallel communication inside a layer shows except where the
  software overlaps it, and an overlap hides a collective only under
  compute that runs beside it (the layer's GEMMs for TP, one ring step's
  attention for CP, another micro-batch for EP);
* the pipeline runs ``m`` micro-batches plus a bubble of ``pp - 1`` times
  its fullest virtual stage: ``(pp - 1) / v`` micro-batch times when the v
  virtual stages per GPU are even (1F1B: Narayanan et al. 2021 Sec. 2.2;
  interleaved: Sec. 2.2.2), more when a stack splits them unevenly, less
  under a zero-bubble or DualPipe schedule (``_schedule_bubble``); plus
  exposed send/recv;
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

from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property

import numpy as np

from colossus.perf.compute import (
    LayerTimes,
    expert_load_factor,
    expert_tokens,
    layer_times,
    logits_s,
    query_width,
    tokens_per_rank,
)
from colossus.perf.context import Context
from colossus.perf.layout import CP_ALL_GATHER, CP_P2P, SCHED_1F1B, SCHED_DUALPIPE, Layouts
from colossus.perf.memory import (
    FP32_MOMENT_BYTES,
    MemoryParts,
    Stage,
    dense_dp,
    dualpipe_rows,
    expert_dp,
    expert_ranks,
    grad_reduce_bytes,
    memory_parts,
    stage_of,
    stage_params,
    zero3_grad_reduce_bytes,
    zero_sharded,
)
from colossus.perf.network import (
    all_to_all_time_s,
    moe_dispatch_time_s,
    p2p_time_s,
    ring,
    ring_hop_time_s,
    ring_time_s,
)

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

    @cached_property
    def step_time_s(self) -> np.ndarray:
        return (
            self.compute_s + self.recompute_s + self.tp_exposed_s + self.cp_exposed_s + self.ep_exposed_s
            + self.pp_exposed_s + self.bubble_s + self.dp_exposed_s + self.optimizer_s + self.other_s
        )


def _hidden(comm, window, hide_frac=None):
    """Exposed part of ``comm`` overlapped with ``window`` of compute (up to ``hide_frac`` of the shorter, or all)."""
    if hide_frac is None:
        return comm - np.minimum(comm, window)
    return comm - hide_frac * np.minimum(comm, window)


def _overlapped(ctx: Context, flag: str, hidden: Callable[[], np.ndarray], comm: np.ndarray) -> np.ndarray:
    """``hidden()`` where the row's stack overlaps (boolean field ``flag``), else ``comm``."""
    agreed = ctx.flag(flag)
    if agreed is False:
        return comm
    return hidden() if agreed else np.where(getattr(ctx, flag), hidden(), comm)


def _passes(lay: Layouts) -> np.ndarray:
    """Passes of a layer per micro-batch: forward and backward, and the forward again under full recompute."""
    return lay.kept("passes", lambda x: 2.0 + x.rc_full)


def tp_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """TP/SP collectives of one layer and micro-batch (forward, backward, recomputed forward)."""
    act = tokens_per_rank(ctx, lay, lt.tokens_per_rank) * ctx.hidden * WIRE_BYTES
    unit = ring_time_s(ctx, act, lay.tp, 1, all_reduce=False)
    comm = ctx.kept("tp_units", _tp_units) * _passes(lay) * unit

    def hidden() -> np.ndarray:
        gemms = lt.linear_fwd_s * lay.kept("gemm_passes", _gemm_passes)  # forward, backward (2x), recomputed forward
        return _hidden(comm, gemms, ctx.k["tp_hide"])

    return _overlapped(ctx, "sw_tp_overlap", hidden, comm)


def _gemm_passes(lay: Layouts) -> np.ndarray:
    return 3.0 + lay.rc_full


def _tp_units(ctx: Context) -> np.ndarray:
    # two all-reduces per pass (= 2 all-gather + 2 reduce-scatter with SP); a MoE layer with folded
    # experts keeps only attention's; a parallel block shares one pair between attention and MLP
    units = (1 - ctx.moe_frac) * 4.0 + ctx.moe_frac * 2.0
    return np.where(ctx.sw_parallel_block, units / 2.0, units)


def _cp_exposed(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray | None:
    """``cp_exposed_s``, None where no row splits the sequence.

    Ring attention (``cp_comm_type`` p2p) passes K/V blocks around the ring, each hop under a block's
    compute (what a hop takes beyond it shows). The other exchanges run before and after attention,
    on the critical path (``_cp_collectives``).
    """
    if lay.bounds("cp")[1] == 1:
        return None
    t = tokens_per_rank(ctx, lay, lt.tokens_per_rank)
    kv_width = np.where(ctx.mla, ctx.heads / lay.tp * (ctx.qk_dim + ctx.v_dim),
                        2 * np.maximum(ctx.kv_heads / lay.tp, 1) * ctx.head_dim)
    hop = ring_hop_time_s(ctx, t * kv_width * WIRE_BYTES, lay.cp, lay.tp)
    steps = lay.cp - 1
    per_step_fwd = lt.attn_core_fwd_s / lay.cp
    fwd = steps * np.maximum(hop - per_step_fwd, 0.0)
    # K, V and their gradients travel back, under the block's backward (its FLOPs per forward FLOP: catalog)
    bwd = steps * np.maximum(2 * hop - ctx.k["attn_bwd_flop_per_fwd"] * per_step_fwd, 0.0)
    exposed = fwd * (1.0 + lay.rc_full) + bwd
    if ctx.kept("cp_not_ring", lambda c: bool(np.any(c.sw_cp_comm != CP_P2P))):
        exposed = np.where(ctx.sw_cp_comm == CP_P2P, exposed, _cp_collectives(ctx, lay, t, kv_width))
    return np.where(lay.cp > 1, exposed, 0.0)


def _cp_collectives(ctx: Context, lay: Layouts, t: np.ndarray, kv_width: np.ndarray) -> np.ndarray:
    """Context parallelism by collectives around attention, one layer and micro-batch, all exposed.

    ``all_gather`` (Llama 3 paper Sec. 3.3.2; Transformer Engine ``cp_comm_type="all_gather"``): each
    rank all-gathers the K and V of the whole sequence before attention (again in a recomputed forward)
    and reduce-scatters their gradients after the backward; the paper notes the gather's latency is
    exposed in the critical path. ``a2a`` (DeepSpeed-Ulysses, Jacobs et al. 2023): an all-to-all turns
    token-split Q, K, V into head-split whole sequences and one turns the output back, forward, and the
    same for their gradients backward; a GQA model's K/V heads are replicated up to ``cp`` per TP rank.
    """
    passes = 2.0 + lay.rc_full  # forward, backward, and the recomputed forward
    gather_s = ring_time_s(ctx, lay.cp * t * kv_width * WIRE_BYTES, lay.cp, lay.tp, all_reduce=False)
    heads_l = ctx.heads / lay.tp
    kv_a2a = np.where(ctx.mla, kv_width, 2 * np.maximum(ctx.kv_heads / lay.tp, lay.cp) * ctx.head_dim)
    cols = query_width(ctx) / lay.tp + kv_a2a + heads_l * ctx.v_dim
    one_way_s = all_to_all_time_s(ctx, t * cols * WIRE_BYTES, lay.cp, lay.tp)
    return passes * np.where(ctx.sw_cp_comm == CP_ALL_GATHER, gather_s, one_way_s)


def cp_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """Ring attention's K/V exchange of one layer and micro-batch that the attention blocks do not hide."""
    out = _cp_exposed(ctx, lay, lt)
    return np.zeros(lay.size) if out is None else out


def _ep_exposed(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray | None:
    """``ep_exposed_s``, None where no row splits its experts."""
    if not ctx.any_moe or lay.bounds("ep")[1] == 1:
        return None
    tokens = expert_tokens(ctx, lay, lt.tokens_per_rank)
    dispatch_bytes = np.where(lay.fp8, 1.0, WIRE_BYTES) if lay.any_fp8 else WIRE_BYTES
    size, stride = lay.ep, lay.etp
    geometry = ring(ctx, size, stride)
    one_way = moe_dispatch_time_s(ctx, tokens * ctx.hidden * dispatch_bytes, ctx.top_k, size, stride,
                                  per_server=ctx.sw_deepep, geometry=geometry)
    back = moe_dispatch_time_s(ctx, tokens * ctx.hidden * WIRE_BYTES, ctx.top_k, size, stride,
                               per_server=ctx.sw_deepep, geometry=geometry)
    comm = ctx.moe_frac * _passes(lay) * (one_way + back) * expert_load_factor(ctx, lay)  # the busiest rank paces

    def hidden() -> np.ndarray:
        other_mb = lt.fwd_s + lt.bwd_s  # another micro-batch's layer runs beside it (1F1B overlap)
        # DualPipe's chunk pairing hides more than Megatron-core's 1F1B overlap did (perf_overlap.toml [ep])
        hide = np.where(ctx.sw_schedule == SCHED_DUALPIPE, ctx.k["ep_hide_dualpipe"], ctx.k["ep_hide"])
        return _hidden(comm, other_mb, hide)

    comm = _overlapped(ctx, "sw_ep_overlap", hidden, comm)
    return np.where(ctx.is_moe & (lay.ep > 1), comm, 0.0)


def ep_exposed_s(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """Token dispatch and combine of one (average) layer and micro-batch."""
    out = _ep_exposed(ctx, lay, lt)
    return np.zeros(lay.size) if out is None else out


def _pp_exposed(ctx: Context, lay: Layouts, t: np.ndarray | None = None) -> np.ndarray | None:
    """``pp_exposed_s``, None where no row is pipelined."""
    lo, hi = lay.bounds("pp")
    if hi == 1:
        return None
    scatter = ctx.flag("sw_pp_scatter")
    if scatter is None:
        split = np.where(ctx.sw_pp_scatter | lay.sp, lay.tp, 1)
    else:
        split = lay.tp if scatter else lay.hidden_split
    stage_ranks = lay.kept("stage_ranks", lambda x: x.tp * x.cp * x.dp)
    p2p = p2p_time_s(ctx, tokens_per_rank(ctx, lay, t) * ctx.hidden * WIRE_BYTES / split, stage_ranks)
    exposed = ctx.kept("pp_exposed_per_v", _pp_exposed_per_v) * lay.v * p2p
    return exposed if lo > 1 else np.where(lay.pp > 1, exposed, 0.0)


def _pp_exposed_per_v(ctx: Context) -> np.ndarray:
    """Exposed transfers per virtual stage and micro-batch: two (activations forward, gradients backward, each
    sent while the next is received), less what an overlapping stack hides; four where the engine issues each
    send and receive as a blocking step of its own (DeepSpeed's PipelineEngine, ``Software.pp_transfers_serial``)."""
    return np.where(ctx.sw_pp_overlap, 1.0 - ctx.k["pp_hide"], 1.0) * np.where(ctx.sw_pp_serial, 4.0, 2.0)


def pp_exposed_s(ctx: Context, lay: Layouts) -> np.ndarray:
    """Pipeline send/recv of one micro-batch (activations forward, gradients backward, per virtual stage)."""
    out = _pp_exposed(ctx, lay)
    return np.zeros(lay.size) if out is None else out


def dp_collectives(ctx: Context, lay: Layouts, params: tuple[np.ndarray, np.ndarray] | None = None,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(gradient reduction, parameter all-gather) seconds of one step's data-parallel traffic, whole stage.

    ``params``: ``stage_params(ctx, lay)``, when the caller has it.
    """
    dense, experts = stage_params(ctx, lay) if params is None else params
    group, stride = dense_dp(lay), lay.tp
    lo, hi = lay.bounds("zero")
    # (where no row shards its parameters, every rank aggregates, at full speed)
    agg: np.ndarray | bool = True
    grad, slow = grad_reduce_bytes(ctx, lay), None
    if hi >= 3:
        zero3 = lay.zero >= 3
        grad = np.where(zero3, zero3_grad_reduce_bytes(ctx, lay), grad)
        agg = np.where(zero3, ctx.sw_fsdp_agg, True)
        slow = np.where(agg, 1.0, 1.0 / ctx.k["zero3_unaggregated_eff"])
    dense_ring = ring(ctx, group, stride, agg)
    if ctx.any_moe:  # (the expert-gradient group only where some row has experts)
        e_group, e_stride = expert_dp(lay), expert_ranks(lay)
        expert_ring = ring(ctx, e_group, e_stride, agg)

    def dense_t(bytes_per, *, all_reduce):
        t = ring_time_s(ctx, dense * bytes_per, group, stride, all_reduce=all_reduce, geometry=dense_ring)
        return t if slow is None else slow * t

    def experts_t(bytes_per, *, all_reduce):
        if not ctx.any_moe:  # (no row has experts: no expert-gradient collective is issued)
            return 0.0
        t = ring_time_s(ctx, experts * bytes_per, e_group, e_stride, all_reduce=all_reduce, geometry=expert_ring)
        t = t if ctx.flag("is_moe") else np.where(ctx.is_moe, t, 0.0)  # a dense model's rows issue none
        return t if slow is None else slow * t

    def reduction(all_reduce: bool) -> np.ndarray:
        return dense_t(grad, all_reduce=all_reduce) + experts_t(grad, all_reduce=all_reduce)

    # (each form only where some row uses it: one estimate's few rows usually share a ZeRO stage)
    if hi == 0:
        reduce = reduction(True)
    elif lo >= 1:
        reduce = reduction(False)
    else:
        reduce = np.where(lay.zero == 0, reduction(True), reduction(False))
    if hi == 0:
        return reduce, np.zeros(np.shape(reduce))
    # an FP8 run whose stack keeps FP8 weights gathers one byte a parameter (Megatron --fp8-param-gather)
    wire = np.where(lay.fp8 & ctx.sw_fp8_param_gather, 1.0, WIRE_BYTES) if lay.any_fp8 else WIRE_BYTES
    gather = dense_t(wire, all_reduce=False) + experts_t(wire, all_reduce=False)
    return reduce, gather if lo >= 1 else np.where(lay.zero >= 1, gather, 0.0)


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
    lo, hi = lay.bounds("zero")

    def overlapped() -> np.ndarray:
        # ZeRO-0..2: reduce-scatter under the last micro-batch's backward, all-gather under the first forward
        bwd_mb = layers * (lt.bwd_s + lt.recompute_s)
        if hi == 0:  # (no row gathers parameters: the gather's terms are exactly 0)
            return _hidden(reduce, bwd_mb) + contention * np.minimum(reduce, bwd_mb)
        fwd_mb = layers * lt.fwd_s
        return (_hidden(reduce, bwd_mb) + _hidden(gather, fwd_mb)
                + contention * (np.minimum(reduce, bwd_mb) + np.minimum(gather, fwd_mb)))

    sharded = _overlapped(ctx, "sw_dp_overlap", overlapped, reduce if hi == 0 else reduce + gather)
    if ctx.flag("sw_pp_dp_overlap") is not True:  # (a pipeline engine that reduces after its last backward)
        after = ~ctx.sw_pp_dp_overlap & (lay.pp > 1)
        sharded = np.where(after, reduce if hi == 0 else reduce + gather, sharded)
    if hi < 3:
        return sharded
    # ZeRO-3 / FSDP: per micro-batch, each layer's gather (forward, and again backward) and reduce-scatter;
    # with full recompute a stack that releases a layer between its recomputed forward and its backward
    # gathers it a third time (DeepSpeed: a layer of more parameters than stage3_max_reuse_distance)
    n = np.maximum(layers, 1)
    dense, experts = stage_params(ctx, lay) if params is None else params
    dual = dualpipe_rows(ctx, lay)
    if dual is not None:  # a micro-batch runs through one of DualPipe's two copies of the stage: one is gathered
        dense, experts = (np.where(dual, x / 2.0, x) for x in (dense, experts))
        reduce, gather = dp_collectives(ctx, lay, (dense, experts))
    ag, rs = gather / n, reduce / n
    regather = lay.rc_full & (dense * lay.tp / n > ctx.sw_zero3_reuse_params)
    bwd_comm = np.where(regather, 2.0 * ag, ag) + rs
    contention_fsdp = np.where(ctx.sw_fsdp_agg, contention, ctx.k["zero3_unaggregated_contention"])
    f, b = lt.fwd_s, lt.bwd_s + lt.recompute_s  # compute, which the collectives slow
    passes = _passes(lay)
    f_pass, b_pass = f + layer_comm_s / passes, b + layer_comm_s * (passes - 1.0) / passes  # what hides them
    per_mb_overlapped = (n * (_hidden(ag, f_pass) + _hidden(bwd_comm, b_pass)) + ag
                         + contention_fsdp * n * (np.minimum(ag, f) + np.minimum(bwd_comm, b)))
    per_mb = np.where(ctx.sw_dp_overlap, per_mb_overlapped, n * (ag + bwd_comm))
    zero3 = lay.m * per_mb
    if ctx.flag("sw_zero3_pp_once") is not False and lay.bounds("pp")[1] > 1:
        # a pipeline over PyTorch FSDP keeps each stage's parameters gathered from the first micro-batch's
        # forward to the last one's backward and reduce-scatters its gradients once, after the last
        # (torchtitan: no reshard after forward with pp; torch.distributed.pipelining: gradient sync on the
        # last micro-batch only): one gather and one reduction a step, each hidden under its layer's pass
        once_overlapped = (n * (_hidden(ag, f_pass) + _hidden(rs, b_pass)) + ag
                           + contention_fsdp * n * (np.minimum(ag, f) + np.minimum(rs, b)))
        once = np.where(ctx.sw_dp_overlap, once_overlapped, n * (ag + rs))
        zero3 = np.where(ctx.sw_zero3_pp_once & (lay.pp > 1), once, zero3)
    return zero3 if lo >= 3 else np.where(lay.zero >= 3, zero3, sharded)


def optimizer_s(ctx: Context, lay: Layouts, params: tuple[np.ndarray, np.ndarray] | None = None) -> np.ndarray:
    """Adam step over this GPU's (possibly sharded) parameters, HBM-bound (``params``: ``stage_params``)."""
    dense, experts = stage_params(ctx, lay) if params is None else params
    local = dense / zero_sharded(lay, 1, dense_dp(lay), 1)
    if ctx.any_moe:  # (no experts, nothing of theirs to step)
        local = local + experts / zero_sharded(lay, 1, expert_dp(lay), 1)
    # the step reads and writes each of the two moments once: 4 x the bytes a narrower moment saves
    bytes_per_param = ctx.kept("optimizer_step_bytes", lambda c: c.k["optimizer_bytes_per_param"]
                               - 4.0 * (FP32_MOMENT_BYTES - c.sw_moment_bytes))
    return local * bytes_per_param / ctx.hbm_bytes_per_s


def _bubble_per_mb(ctx: Context, lay: Layouts, slots: np.ndarray, lt: LayerTimes) -> np.ndarray:
    """Pipeline bubble in micro-batch times of the fullest stage.

    1F1B: ``pp - 1`` passes of its fullest virtual stage. In the warm-up and the cool-down each of
    the other ``pp - 1`` stages waits one virtual stage's time (Narayanan et al. 2021 Sec. 2.2.2);
    with even virtual stages that is ``1/v`` of a micro-batch's pass through the GPU's ``slots / pp``
    layers. Where a stack splits the layers unevenly the fullest virtual stage holds
    ``ceil(slots / (pp v))`` of them and sets the pace. Other schedules: ``_schedule_bubble``.
    """
    even = lay.kept("bubble_per_mb", lambda x: (x.pp - 1) / x.v)
    if ctx.flag("sw_uneven_stages") is False or lay.bounds("v")[1] == 1:  # (no row splits virtual stages unevenly)
        one_f1b = even
    else:
        fullest = np.ceil(slots / (lay.pp * lay.v)) * lay.v / np.ceil(slots / lay.pp)
        one_f1b = even * np.maximum(fullest, 1.0)
    if not ctx.kept("other_schedules", lambda c: bool(np.any(c.sw_schedule != SCHED_1F1B))):
        return one_f1b
    return np.where(ctx.sw_schedule == SCHED_1F1B, one_f1b, _schedule_bubble(ctx, lay, lt))


def _schedule_bubble(ctx: Context, lay: Layouts, lt: LayerTimes) -> np.ndarray:
    """Bubble of the zero-bubble and DualPipe schedules, in micro-batch times of a stage.

    With ``F``, ``B`` and ``W`` a stage's forward, full backward (recompute included) and weight-gradient
    times, the DeepSeek-V3 report (arXiv:2412.19437, Table 2) gives the bubble of ZB1P (Qi et al. 2024,
    ZB-H1: each weight gradient deferred into the cool-down) as ``(pp - 1)(F + B - 2W)`` and of
    DualPipe (micro-batches fed from both ends) as ``(pp/2 - 1)(F&B + B - 3W)``, ``F&B`` being a forward
    and a backward chunk run overlapped: their compute is not shortened, only their communication
    hidden, so ``F&B`` is taken as ``F + B``. ``W`` is the weight-gradient GEMMs, as many FLOPs as the
    forward GEMMs.
    """
    f, b, w = lt.fwd_s, lt.bwd_s + lt.recompute_s, lt.linear_fwd_s  # (seconds, one layer: the table's F, B, W)
    per_mb_s = f + b
    zero_bubble = (lay.pp - 1) * np.maximum(f + b - 2.0 * w, 0.0) / per_mb_s
    dualpipe = np.maximum(lay.pp / 2 - 1, 0.0) * np.maximum(f + 2.0 * b - 3.0 * w, 0.0) / per_mb_s
    return np.where(ctx.sw_schedule == SCHED_DUALPIPE, dualpipe, zero_bubble)


def step_parts(ctx: Context, lay: Layouts, stage: Stage | None = None) -> StepParts:
    """Seconds per step by part for every row (``stage``: ``stage_of(ctx, lay)``, if known).

    (A part no row has, such as context parallelism in a run without it, is exactly 0 and left out of the sums.)
    """
    lt = layer_times(ctx, lay)
    slots, layers, params = stage_of(ctx, lay) if stage is None else stage
    logit_f, logit_b = logits_s(ctx, lay, lt.tokens_per_rank)
    layer_fb = lt.fwd_s + lt.bwd_s
    tp1, cp1, ep1 = tp_exposed_s(ctx, lay, lt), _cp_exposed(ctx, lay, lt), _ep_exposed(ctx, lay, lt)
    layer_comm = tp1
    for part in (cp1, ep1):
        if part is not None:
            layer_comm = layer_comm + part
    loss = logit_f + logit_b
    if ctx.flag("sw_embedding_loss") is False:  # no stack counts the loss as a pipeline slot
        loss_excess = loss
    else:
        # a stack that counts the loss as a pipeline slot has the output layer inside the stage's budget
        in_slots = slots != ctx.layers
        # the slowest stage sets the pipeline's pace (Narayanan et al. 2021 Sec. 2.2): without loss slots the
        # last stage carries the fullest stage's layers plus the output layer; with them (Megatron-core
        # --account-for-loss-in-pipeline-split counts the loss as one layer) the last GPU's final virtual
        # stage runs the output layer and the cross-entropy in place of a layer, which for a large vocabulary
        # costs more than the layer it replaces, so the pace is the larger of the two stage kinds
        per_layer = layer_fb + lt.recompute_s + tp1
        for part in (cp1, ep1):
            if part is not None:
                per_layer = per_layer + part
        loss_excess = np.where(in_slots, np.maximum(loss - per_layer, 0.0), loss)
    compute_mb = layers * layer_fb + loss_excess
    recompute_mb = layers * lt.recompute_s
    tp = layers * tp1
    per_mb = compute_mb + recompute_mb + tp
    zeros = np.zeros(lay.size)
    cp = ep = pp = zeros
    if cp1 is not None:
        cp = layers * cp1
        per_mb = per_mb + cp
    if ep1 is not None:
        ep = layers * ep1
        per_mb = per_mb + ep
    pp1 = _pp_exposed(ctx, lay, lt.tokens_per_rank)
    if pp1 is not None:
        pp = pp1
        per_mb = per_mb + pp
    m = lay.kept("m_float", lambda x: x.m.astype(np.float64))
    return StepParts(
        compute_s=m * compute_mb,
        recompute_s=m * recompute_mb,
        tp_exposed_s=m * tp,
        cp_exposed_s=zeros if cp1 is None else m * cp,
        ep_exposed_s=zeros if ep1 is None else m * ep,
        pp_exposed_s=zeros if pp1 is None else m * pp,
        bubble_s=_bubble_per_mb(ctx, lay, slots, lt) * per_mb,
        dp_exposed_s=dp_exposed_s(ctx, lay, lt, layers, params, layer_comm),
        optimizer_s=optimizer_s(ctx, lay, params),
        other_s=np.full(m.shape, ctx.k["step_overhead_s"], dtype=np.float64),
    )


def step_memory(ctx: Context, lay: Layouts, stage: Stage | None = None) -> MemoryParts:
    return memory_parts(ctx, lay, stage)
