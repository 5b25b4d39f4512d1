"""Memory per GPU by part: weights, gradients, optimizer state, activations, communication buffers.

Weights, fp32 main gradients and Adam state follow ZeRO (Rajbhandari et al.
2020): stage 1 shards the optimizer state over the data-parallel ranks, stage 2
the gradients too, stage 3 the weights. Expert weights shard over their own
expert-data-parallel ranks (``tp x cp x dp / (ep x etp)``, MoE parallel
folding). Activations follow Korthikanti et al. 2022 (Sec. 4), counted tensor
by tensor so that GQA, SwiGLU, the FFN width and experts enter: per layer and
token ``~10 h`` bytes are replicated across tensor-parallel ranks unless
sequence parallelism splits them, the rest is split; the unfused attention's
``5 a s`` bytes of scores disappear with selective recompute or a fused
kernel; full recompute keeps only each layer's input. What a stack's
*selective* recompute drops depends on the stack (``perf.software``). The
first pipeline stage holds ``pp`` micro-batches in flight (1F1B),
``pp (1 + (pp-1)/(pp v))`` with interleaving, ``pp + 1`` under DualPipe, which
also holds two copies of a stage's parameters. Works on arrays of rows.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from functools import cached_property
from typing import NamedTuple

import numpy as np

from colossus.perf.compute import (
    SEL_ATTENTION_CORE,
    SEL_NORM,
    SEL_NORM_ACT,
    SEL_NORM_MLA_UP,
    SEL_NORM_MOE,
    SEL_OP_LEVEL,
    by_selective_code,
    expert_load_factor,
)
from colossus.perf.context import Context
from colossus.perf.layout import RC_NONE, SCHED_DUALPIPE, Layouts, stage_layer_slots


@dataclass(frozen=True)
class MemoryParts:
    """Bytes per GPU on the fullest pipeline stage (arrays over rows)."""

    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    comm_buffers_bytes: np.ndarray
    reserved_bytes: np.ndarray  # framework, workspaces, allocator fragmentation

    @cached_property
    def total_bytes(self) -> np.ndarray:
        return (
            self.weights_bytes + self.gradients_bytes + self.optimizer_bytes
            + self.activations_bytes + self.comm_buffers_bytes + self.reserved_bytes
        )


def stage_layers(ctx: Context, lay: Layouts, slots: np.ndarray | None = None) -> np.ndarray:
    """Transformer layers on the fullest stage (all its virtual chunks); ``slots``: ``stage_layer_slots``, if known."""
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss) if slots is None else slots
    return np.ceil(slots / lay.pp)


def stage_params(ctx: Context, lay: Layouts, layers: np.ndarray | None = None,
                 slots: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parameters on one GPU of the stage that holds the most: (dense ones, sharded over dp x cp; expert ones,
    over edp).

    A pipeline stage holds its layers and, on the first and last, an embedding matrix (the input embedding,
    the output layer). Where the embedding and the loss take a layer slot each (``stage_layer_slots``), the
    first and last stages hold a layer fewer beside it, so the most is the larger of a middle stage's layers
    and a layer fewer plus the embedding. ``layers``, ``slots``: ``stage_layers``, ``stage_layer_slots``.
    """
    layers = stage_layers(ctx, lay) if layers is None else layers
    run = ctx.kept("params", _params_run)
    embed = run.embed * np.where(lay.pp == 1, run.untied, 1)
    counted = _embedding_slot_rows(ctx, lay, slots)
    if counted is not None:
        embed = np.where(counted, np.maximum(embed - run.per_layer, 0.0), embed)
    return _params_on_gpu(ctx, lay, layers, embed)


def _params_on_gpu(ctx: Context, lay: Layouts, layers: np.ndarray, embed: np.ndarray,
                   ) -> tuple[np.ndarray, np.ndarray]:
    """(dense, expert) parameters on one GPU of a stage of ``layers`` layers beside ``embed`` embedding ones."""
    run = ctx.kept("params", _params_run)
    dense = (layers * run.per_layer + embed) / lay.tp
    copies = _copies(ctx, lay)
    if copies is not None:
        dense = dense * copies
    if not ctx.any_moe:  # (no row has experts: none to hold)
        return dense, np.zeros_like(dense)
    experts = layers * ctx.moe_frac * ctx.experts * ctx.expert_params / expert_ranks(lay)
    return dense, experts if copies is None else experts * copies


def _copies(ctx: Context, lay: Layouts) -> np.ndarray | None:
    """Copies of a stage's parameters each GPU holds (None: one, on every row).

    DualPipe feeds micro-batches from both ends of the pipeline, so each GPU holds two stages, one per
    direction, and every stage lives on two GPUs: "DualPipe requires keeping two copies of the model
    parameters" (DeepSeek-V3 report Sec. 3.2.1, Table 2). Assumed: each copy keeps its own gradients and
    optimizer state (the report does not say they are shared).
    """
    dual = dualpipe_rows(ctx, lay)
    return None if dual is None else np.where(dual, 2.0, 1.0)


#: Bytes of an fp32 Adam moment, as ``memory.bytes.optimizer_bytes`` (and the optimizer step's traffic) count them.
FP32_MOMENT_BYTES = 4.0


def optimizer_bytes_per_param(ctx: Context) -> np.ndarray:
    """Optimizer state per parameter: fp32 master weights and two Adam moments of the stack's dtype."""
    return ctx.kept("optimizer_bytes", lambda c: c.k["mem_optimizer_bytes"]
                    - 2.0 * (FP32_MOMENT_BYTES - c.sw_moment_bytes))


def dualpipe_rows(ctx: Context, lay: Layouts) -> np.ndarray | None:
    """Rows that run a pipeline under DualPipe (None where no row's stack does)."""
    if not ctx.kept("any_dualpipe", lambda c: bool(np.any(c.sw_schedule == SCHED_DUALPIPE))):
        return None
    return (ctx.sw_schedule == SCHED_DUALPIPE) & (lay.pp > 1)


class _ParamsRun(NamedTuple):
    """A run's parameter counts that do not depend on the layout (``Context.kept``)."""

    #: dense parameters of one (average) layer: attention, norms, the dense FFN or the shared experts and router
    per_layer: np.ndarray
    embed: np.ndarray  # one embedding matrix
    untied: np.ndarray  # embedding matrices: 1 tied, 2 untied


def _params_run(ctx: Context) -> _ParamsRun:
    frac = ctx.moe_frac
    norms = 2 * ctx.hidden
    moe_dense = ctx.shared_experts * ctx.expert_params + ctx.hidden * ctx.experts  # shared experts + router
    per_layer = ctx.attn_params + norms + (1 - frac) * ctx.dense_ffn_params + frac * moe_dense
    return _ParamsRun(per_layer, ctx.vocab * ctx.hidden, np.where(ctx.tied, 1, 2))


def expert_ranks(lay: Layouts) -> np.ndarray:
    """Ranks one MoE layer's experts are split over: ep x etp."""
    return lay.kept("expert_ranks", lambda x: x.ep * x.etp)


def dense_dp(lay: Layouts) -> np.ndarray:
    """Ranks one dense parameter shard is replicated over (data and context parallelism): dp x cp."""
    return lay.kept("dense_dp", lambda x: x.dp * x.cp)


def expert_dp(lay: Layouts) -> np.ndarray:
    """Ranks one expert shard is replicated over (expert data parallelism)."""
    return lay.kept("expert_dp", lambda x: np.maximum(x.tp * x.cp * x.dp // (x.ep * x.etp), 1))


def zero_sharded(lay: Layouts, stage: int, sharded, whole):
    """``sharded`` where a row's ZeRO stage is ``stage`` or more, else ``whole`` (either, where all rows agree)."""
    lo, hi = lay.bounds("zero")
    if lo >= stage:
        return sharded
    if hi < stage:
        return whole
    return np.where(lay.zero >= stage, sharded, whole)


def _zero3_gathered_for_the_step(ctx: Context, lay: Layouts) -> np.ndarray | None:
    """Rows whose ZeRO-3 pipeline stage keeps its parameters gathered over the step (None: no row does).

    PyTorch pipelining over FSDP2 (``Software.zero3_pp_gather_once``): parameters are not resharded after
    the forward and gradients accumulate unsharded, in the reduction's dtype, until the last micro-batch's
    reduce-scatter.
    """
    if ctx.flag("sw_zero3_pp_once") is False or lay.bounds("pp")[1] == 1 or lay.bounds("zero")[1] < 3:
        return None
    return ctx.sw_zero3_pp_once & (lay.pp > 1) & (lay.zero >= 3)


def activation_bytes_per_token_layer(ctx: Context, lay: Layouts) -> np.ndarray:
    """Stored activation bytes of one token in one layer (Korthikanti et al. 2022 eq. 1-6, per tensor)."""
    return _activation_bytes(ctx, lay)[0]


def _activation_bytes(ctx: Context, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """(``activation_bytes_per_token_layer``, the same without recompute: what the layer being recomputed holds)."""
    k = ctx.k
    a16 = k["mem_activation_bytes"]
    run = ctx.kept("activations", _activations_run)
    fp8 = lay.any_fp8
    g8 = np.where(lay.fp8, k["mem_fp8_gemm_input_bytes"], a16) if fp8 else a16
    h, d, tp = ctx.hidden, ctx.head_dim, lay.tp
    split_h = lay.hidden_split
    norm_in = run.norm_in / split_h  # inputs of the two norms (residual stream)
    gemm_in = (2 * g8 * h if fp8 else run.norm_in) / split_h  # norm outputs = inputs of QKV and FC1 (weight gradients)
    masks = run.masks / split_h
    q = run.q
    kv = 2 * np.maximum(ctx.kv_heads / tp, 1) * d * tp
    if ctx.any_mla:
        kv = np.where(ctx.mla, run.mla_kv, kv)
    out = g8 * ctx.heads * run.out_width if fp8 else run.out  # attention output
    attn = (a16 * (q + kv) + out) / tp  # Q, K, V, attention output
    frac = ctx.moe_frac
    dense_w = ctx.ffn_hidden / tp
    moe = ctx.any_moe
    if moe:
        load = expert_load_factor(ctx, lay)  # the busiest rank holds its experts' share of the tokens
        routed_w = load * run.routed_w / tp + run.shared_w / tp
        width = (1 - frac) * dense_w + frac * routed_w
        moe_w = frac * routed_w
        act_moe, fc2_moe = run.act_in * moe_w, g8 * moe_w  # the MoE blocks' share of the two below
        if fp8 and ctx.flag("sw_fp8_moe_act_cache") is not False:
            # the experts' activation inputs kept as FP8 casts and its output recomputed, not kept (DeepSeek-V3
            # report Sec. 3.3.3: 'we cache the inputs of the SwiGLU operator and recompute its output')
            cached = lay.fp8 & ctx.sw_fp8_moe_act_cache
            saved = np.where(cached, act_moe * (1.0 - k["mem_fp8_gemm_input_bytes"] / a16), 0.0)
            act_in, fc2_in = run.act_in * width - saved, g8 * width - np.where(cached, fc2_moe, 0.0)
            act_moe, fc2_moe = act_moe - saved, np.where(cached, 0.0, fc2_moe)
        else:
            act_in, fc2_in = run.act_in * width, g8 * width
    else:  # (no MoE share: the width is the dense FFN's)
        width = dense_w
        act_in = run.act_in * width  # activation-function input(s)
        fc2_in = g8 * width
    full = norm_in + gemm_in + masks + attn + act_in + fc2_in
    if moe:
        # tokens copied for the experts: the routed FC1's input, kept as its FP8 cast under FP8 like ``gemm_in``
        permuted = load * (run.permuted * (g8 / a16) if fp8 else run.permuted) / tp
        full = full + permuted
    if not ctx.all_flash:  # the unfused kernel's scores (a fused one keeps them on chip)
        scores = np.where(ctx.flash, 0.0, run.scores / lay.cp / tp)
        full = full + scores
        unscored = full - scores
    else:
        unscored = full

    def kept(code: int) -> np.ndarray:
        """What a selective-recompute policy keeps."""
        if code == SEL_ATTENTION_CORE:
            return unscored
        if code == SEL_OP_LEVEL:  # norms/activations recomputed, half the matmul outputs kept
            return unscored - gemm_in - 0.5 * (attn + act_in + fc2_in)
        if code == SEL_NORM:  # the norms' outputs
            return unscored - gemm_in
        if code == SEL_NORM_ACT:  # norms, and the MoE blocks' activation (moe_act): a dense FFN keeps its own
            return unscored - gemm_in - (fc2_moe if moe else 0.0)
        if code == SEL_NORM_MOE:  # the MoE block keeps only its input
            if not moe:  # (no row has an MoE block: nothing of it to drop)
                return unscored - gemm_in
            return unscored - gemm_in - act_moe - fc2_moe - permuted
        # SEL_MLA_UP: MLA keeps its compressed latents (replicated over tp) instead of the up-projected Q, K, V
        mla_up = np.where(ctx.mla, a16 * (q + kv) / tp - a16 * (ctx.q_lora + ctx.kv_lora + ctx.qk_rope), 0.0)
        if code == SEL_NORM_MLA_UP:  # and the norms' outputs are recomputed too
            return unscored - gemm_in - mla_up
        return unscored - mla_up

    selective = by_selective_code(ctx, lay, kept)
    if ctx.flag("sw_min_cut_acts") is not False and lay.any_rc_selective:
        # torch.compile's partitioner recomputes the norm outputs and the FFN product from what the backward
        # keeps anyway (``_kept_by_autograd``) outside a policy's checkpointed modules, so what a module policy
        # left kept of them goes too; the op-level policy (selective activation checkpointing over the whole
        # layer: torchtitan's 'op') decides every op's tensor itself
        def min_cut_drops(code: int) -> np.ndarray | float:
            if code == SEL_OP_LEVEL:
                return 0.0
            norms = 0.0 if code in _POLICIES_DROPPING_NORMS else gemm_in
            return norms + (fc2_in - fc2_moe if moe and code in (SEL_NORM_ACT, SEL_NORM_MOE) else fc2_in)

        sixteen = ~lay.fp8 if lay.any_fp8 else True
        selective = selective - np.where(ctx.sw_min_cut_acts & sixteen, by_selective_code(ctx, lay, min_cut_drops),
                                         0.0)
    none = _kept_by_autograd(ctx, lay, full, (gemm_in, fc2_in, a16 * width))
    stored = np.where(lay.rc_selective, selective, np.where(lay.rc_none, none, 0.0))
    # what the layer being recomputed holds beside what it kept: a whole layer (full recompute), what its policy
    # dropped of what the stack keeps without recompute (selective)
    return np.where(lay.rc_full, run.layer_input / split_h, stored), np.where(lay.rc_selective, none, full)


#: Module policies that recompute the norms' outputs (the inputs of the QKV and FC1 GEMMs).
_POLICIES_DROPPING_NORMS = (SEL_NORM, SEL_NORM_ACT, SEL_NORM_MOE, SEL_NORM_MLA_UP)


def _kept_by_autograd(ctx: Context, lay: Layouts, full: np.ndarray, parts: tuple[np.ndarray, ...]) -> np.ndarray:
    """What a layer without recompute keeps for its backward, by how the stack builds its element-wise code.

    ``full`` is what hand-fused kernels keep (Korthikanti et al. 2022 per tensor: a fused gated activation keeps
    its inputs and recomputes their product in the backward, a fused LayerNorm-GEMM keeps the norm output).
    Eager autograd also keeps the gated activation's inner output, which the multiplication saves as an input
    (``silu(gate)`` beside ``up``). torch.compile's min-cut rematerialization (AOTAutograd's partitioner, Horace
    He, "Min-cut optimal recomputation", PyTorch dev-discuss 2022) recomputes cheap point-wise ops from tensors
    the backward keeps anyway: the norm outputs (from the norm inputs and their per-token statistics) and the
    FFN product (from the gate and up projections). FP8 GEMM inputs stay kept (their casts are what the weight
    gradient reads). ``parts``: (the norm outputs, the FFN product, one FFN-wide 16-bit tensor), per token.
    """
    eager, min_cut = ctx.flag("sw_eager_acts"), ctx.flag("sw_min_cut_acts")
    if eager is False and min_cut is False:  # (every row's stack uses hand-fused kernels: nothing changes)
        return full
    gemm_in, fc2_in, ffn_wide = parts
    out = full
    if eager is not False:
        gated = ctx.ffn_mats > 2
        out = np.where(ctx.sw_eager_acts & gated, out + ffn_wide, out)
    if min_cut is not False:
        sixteen = ~lay.fp8 if lay.any_fp8 else True
        out = np.where(ctx.sw_min_cut_acts & sixteen, out - gemm_in - fc2_in, out)
    return out


class _ActivationsRun(NamedTuple):
    """Activation bytes per token that do not depend on the layout (``Context.kept``): numerators of the
    per-rank figures, each as the layout-dependent formula starts it."""

    norm_in: np.ndarray  # 2 a16 h: the two norms' inputs
    masks: np.ndarray  # 2 mask h: the two hidden dropouts' masks (none for a model trained without dropout)
    q: np.ndarray  # query width
    mla_kv: np.ndarray  # MLA's K and V widths
    out_width: np.ndarray  # attention output width per head
    out: np.ndarray  # a16 heads x that width: the attention output in 16 bit
    routed_w: np.ndarray  # top_k x expert FFN width
    shared_w: np.ndarray  # shared experts x expert FFN width
    act_in: np.ndarray  # a16 (mats - 1): activation-function inputs per FFN unit
    permuted: np.ndarray  # frac top_k a16 h: tokens copied for the experts
    scores: np.ndarray  # (2 a16 + mask) heads s: the unfused kernel's scores
    layer_input: np.ndarray  # a16 h: what full recompute keeps of a layer


def _activations_run(ctx: Context) -> _ActivationsRun:
    k = ctx.k
    a16, mask = k["mem_activation_bytes"], k["mem_dropout_mask_bytes"]
    h, d = ctx.hidden, ctx.head_dim
    out_width = np.where(ctx.mla, ctx.v_dim, d)
    return _ActivationsRun(
        norm_in=2 * a16 * h, masks=np.where(ctx.dropout, 2 * mask * h, 0.0),
        q=ctx.heads * np.where(ctx.mla, ctx.qk_dim, d),
        mla_kv=ctx.heads * (ctx.qk_dim + ctx.v_dim), out_width=out_width, out=a16 * ctx.heads * out_width,
        routed_w=ctx.top_k * ctx.expert_ffn_hidden, shared_w=ctx.shared_experts * ctx.expert_ffn_hidden,
        act_in=a16 * (ctx.ffn_mats - 1), permuted=ctx.moe_frac * ctx.top_k * a16 * h,
        scores=(2 * a16 + mask) * ctx.heads * ctx.seq, layer_input=a16 * h,
    )


def in_flight_layers(ctx: Context, lay: Layouts, slots: np.ndarray | None = None) -> np.ndarray:
    """Layer-micro-batches whose activations the fullest stage holds at its peak.

    Stage ``i`` of a 1F1B pipeline holds ``pp - i`` micro-batches in flight;
    when ``pp`` does not divide the layers, the ``r`` extra layers go to the
    last stages, which hold fewer. Interleaving adds ``(pp-1)/(pp v)``
    (Korthikanti et al. 2022 Sec. 4.2.3) while the step has enough
    micro-batches to fill its warm-up; with fewer, stage 0 holds at most all of
    them (``_interleave_in_flight``).
    """
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss) if slots is None else slots
    held = _in_flight_by_layers(ctx, lay, slots)
    counted = _embedding_slot_rows(ctx, lay, slots)
    if counted is None:
        return held
    return np.where(counted, np.maximum(*_in_flight_with_embedding_slot(lay, slots)), held)


def _in_flight_by_layers(ctx: Context, lay: Layouts, slots: np.ndarray) -> np.ndarray:
    """``in_flight_layers`` where every slot is a transformer layer."""
    base = np.floor(slots / lay.pp)
    extra = slots - base * lay.pp
    first = base * lay.kept("in_flight", lambda x: np.minimum(x.m, x.pp))
    dual = dualpipe_rows(ctx, lay)
    if dual is not None:  # DualPipe holds pp + 1 micro-batches' activations of a stage (DeepSeek-V3 report, Table 2)
        first = np.where(dual, base * np.minimum(lay.m, lay.pp + 1), first)
    later = (base + 1) * np.minimum(lay.m, extra)
    micro_layers = np.maximum(first, later)
    return micro_layers * lay.kept("interleave_in_flight", _interleave_in_flight)


def _embedding_slot_rows(ctx: Context, lay: Layouts, slots: np.ndarray | None) -> np.ndarray | None:
    """Rows whose pipeline split counts the embedding and the loss as layer slots (None: no row does)."""
    if ctx.flag("sw_embedding_loss") is False or lay.bounds("pp")[1] == 1:
        return None
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss) if slots is None else slots
    return (slots != ctx.layers) & (lay.pp > 1)


def _in_flight_with_embedding_slot(lay: Layouts, slots: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Layer-micro-batches stage 0 and stage 1 hold at their peaks where the embedding is stage 0's first slot
    (and the loss the last stage's last).

    Stage 0 then holds one transformer layer fewer in each of its first chunk's micro-batches in flight
    (Meta's reason to give the first and last stages a layer fewer: Llama 3 paper Sec. 3.3.2), so the
    fullest stage may be stage 1. 1F1B: stage 0 holds ``min(m, pp)`` micro-batches of its layers, stage 1
    ``min(m, pp - 1)``. Interleaved (Megatron-core's warm-up, ``_interleave_in_flight``): stage 0 holds
    ``min((v+1) pp - 1, m v)`` chunks, ``min(2 pp - 1, m)`` of them its first; stage 1 two chunks fewer.
    """
    pp, v, m = lay.pp, lay.v, lay.m
    per_stage = slots / pp
    chunk = slots / (pp * v)
    chunks0 = np.minimum((v + 1) * pp - 1, m * v)
    chunks1 = np.minimum((v + 1) * pp - 3, m * v)
    interleaved = (v > 1) & (m >= pp)
    first = np.where(interleaved, chunks0 * chunk - np.minimum(2 * pp - 1, m), (per_stage - 1) * np.minimum(m, pp))
    second = np.where(interleaved, chunks1 * chunk, per_stage * np.minimum(m, pp - 1))
    return first, second


def _interleave_in_flight(lay: Layouts) -> np.ndarray:
    """Activations stage 0 holds under the interleaved schedule, over what plain 1F1B holds (``pp`` micro-batches).

    Megatron-core's interleaved schedule (``forward_backward_pipelining_with_interleaving``
    in ``pipeline_parallel/schedules.py``) runs ``2 (pp - 1) + (v - 1) pp`` model-chunk
    forwards on stage 0 before its first backward (the micro-batch group per virtual
    stage defaults to ``pp``), so ``(v + 1) pp - 1`` chunks of ``1 / (pp v)`` of the
    layers each are in flight at the peak: ``1 + (pp - 1) / (pp v)`` times 1F1B's, the
    factor Korthikanti et al. (2022, Sec. 4.2.3) give. The warm-up is capped at the
    step's ``m v`` chunks (with ``m == pp`` every forward runs first), so a step with
    few micro-batches holds only ``m v`` chunks: with ``m == pp``, as much as 1F1B.
    (Interleaving needs ``m >= pp``; below that the factor is 1.)
    """
    chunks = np.minimum((lay.v + 1) * lay.pp - 1, lay.m * lay.v)
    return np.where((lay.v > 1) & (lay.m >= lay.pp), chunks / (lay.pp * lay.v), 1.0)


class Stage(NamedTuple):
    """The fullest pipeline stage: its layer slots, transformer layers and (dense, expert) parameters."""

    slots: np.ndarray
    layers: np.ndarray
    params: tuple[np.ndarray, np.ndarray]


def stage_of(ctx: Context, lay: Layouts) -> Stage:
    """What the step and the memory model both need of the fullest stage (computed once per evaluation)."""
    if ctx.flag("sw_embedding_loss") is False:  # (no stack counts the embedding and loss as slots)
        slots = ctx.layers
    else:
        slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss)
    layers = stage_layers(ctx, lay, slots)
    return Stage(slots, layers, stage_params(ctx, lay, layers, slots))


def grad_reduce_bytes(ctx: Context, lay: Layouts) -> np.ndarray:
    """Bytes a gradient element takes in the data-parallel reduction (ZeRO 0-2): the stack's dtype, or its
    fp16 one where the layout trains in fp16 (Megatron forces fp32 reduction for bf16 only), or its FP8 one
    where it trains in FP8 (NeMo 2.0's performance scripts reduce FP8 runs in bf16, bf16 runs in fp32)."""
    out = ctx.sw_grad_bytes
    if lay.any_fp8:
        out = np.where(lay.fp8, ctx.sw_fp8_grad_bytes, out)
    if lay.fp16.any():
        out = np.where(lay.fp16, ctx.sw_fp16_grad_bytes, out)
    return out


def zero3_grad_reduce_bytes(ctx: Context, lay: Layouts) -> np.ndarray:
    """``grad_reduce_bytes`` of a ZeRO-3/FSDP reduce-scatter: the stack's ZeRO-3 dtype, or its FP8 one."""
    if not lay.any_fp8:
        return ctx.sw_zero3_grad_bytes
    return np.where(lay.fp8, ctx.sw_fp8_zero3_grad_bytes, ctx.sw_zero3_grad_bytes)


def memory_parts(ctx: Context, lay: Layouts, stage: Stage | None = None) -> MemoryParts:
    """Memory per GPU by part, for the fullest stage (``stage``: ``stage_of(ctx, lay)``, if known).

    Where the pipeline split counts the embedding and the loss as layer slots, the fullest is stage 0 (the
    embedding and a layer fewer, the most micro-batches in flight) or stage 1 (a whole stage's layers, two
    chunks fewer in flight): both are priced and the larger taken.
    """
    stage = stage_of(ctx, lay) if stage is None else stage
    counted = _embedding_slot_rows(ctx, lay, stage.slots)
    if counted is None or not counted.any():
        return _stage_memory(ctx, lay, stage.layers, stage.layers, stage.params,
                             _in_flight_by_layers(ctx, lay, stage.slots), _activation_bytes(ctx, lay))
    held = _in_flight_by_layers(ctx, lay, stage.slots)
    in_flight0, in_flight1 = _in_flight_with_embedding_slot(lay, stage.slots)
    fewer = np.where(counted, stage.layers - 1, stage.layers)  # the first and the last stage's layers
    embed = ctx.kept("params", _params_run).embed
    dense0, experts0 = _params_on_gpu(ctx, lay, fewer, embed)
    dense1, experts1 = _params_on_gpu(ctx, lay, stage.layers, np.zeros_like(embed))
    dense, experts = stage.params
    acts = _activation_bytes(ctx, lay)  # (the same per token on both stages)
    first = _stage_memory(ctx, lay, fewer, fewer, (np.where(counted, dense0, dense), np.where(
        counted, experts0, experts)), np.where(counted, in_flight0, held), acts)
    second = _stage_memory(ctx, lay, stage.layers, fewer, (np.where(counted, dense1, dense), np.where(
        counted, experts1, experts)), np.where(counted, in_flight1, held), acts)
    pick = first.total_bytes >= second.total_bytes
    return MemoryParts(*(np.where(pick, getattr(first, f.name), getattr(second, f.name))
                         for f in fields(MemoryParts)))


def _stage_memory(ctx: Context, lay: Layouts, layers: np.ndarray, last_layers: np.ndarray,
                  held: tuple[np.ndarray, np.ndarray], in_flight: np.ndarray,
                  acts_per_token: tuple[np.ndarray, np.ndarray]) -> MemoryParts:
    """Memory per GPU by part of a stage of ``layers`` layers holding ``held`` (dense, expert) parameters and
    ``in_flight`` layer-micro-batches of activations (the last stage, of ``last_layers``, one micro-batch);
    ``acts_per_token``: ``_activation_bytes``."""
    k = ctx.k
    dense, experts = held
    moe = ctx.any_moe
    shard = dense_dp(lay)
    if moe:
        sharded = dense / shard + experts / expert_dp(lay)
        params = dense + experts
    else:  # (no experts: nothing of theirs to add)
        sharded, params = dense / shard, dense
    weights = zero_sharded(lay, 3, sharded, params) * k["mem_weight_bytes"]
    # Megatron's DDP accumulates into a buffer of the reduction dtype (16-bit unless grad_reduce_in_fp32);
    # other stacks keep fp32 main gradients
    grad_bytes = np.where(ctx.sw_grad_buffer_reduce, grad_reduce_bytes(ctx, lay), k["mem_main_grad_bytes"])
    grads = zero_sharded(lay, 2, sharded, params) * grad_bytes
    once = _zero3_gathered_for_the_step(ctx, lay)
    if once is not None:  # the stage's parameters and their accumulated gradients stay whole for the step
        weights = np.where(once, params * k["mem_weight_bytes"], weights)
        # (FSDP2 upcasts a gradient it does not reduce yet to its reduce dtype and accumulates it there:
        # FSDPParam.to_accumulated_grad_if_needed / accumulate_unsharded_grad_if_needed)
        grads = np.where(once, params * zero3_grad_reduce_bytes(ctx, lay), grads)
    optim = zero_sharded(lay, 1, sharded, params) * optimizer_bytes_per_param(ctx)
    tokens = lay.mb * ctx.seq / lay.cp
    per_token, whole = acts_per_token
    per_layer = per_token * tokens
    first = per_layer * in_flight
    logits = tokens * ctx.vocab / lay.tp * 4.0 * 2  # fp32 logits and their gradient
    lo_pp, hi_pp = lay.bounds("pp")
    if lo_pp > 1:
        acts = np.maximum(first, per_layer * last_layers + logits)  # the last stage holds one micro-batch in flight
    elif hi_pp == 1:
        acts = first + logits
    else:
        last = per_layer * last_layers + logits
        acts = np.where(lay.pp > 1, np.maximum(first, last), first + logits)
    if lay.bounds("rc")[1] > RC_NONE:  # (some row recomputes)
        # the layer being recomputed holds, beside what it keeps, what it recomputes: a whole layer under full
        # recompute (from its kept input), what the policy dropped under selective recompute (nothing where a
        # fused attention kernel keeps no scores to drop)
        dropped = np.maximum(whole - per_token, 0.0)
        acts = acts + np.where(lay.rc_none, 0.0, np.where(lay.rc_selective, dropped, whole) * tokens)
    buffers = np.full(lay.size, k["mem_dp_bucket_bytes"])
    if hi_pp > 1:
        buffers = buffers + 4 * tokens * ctx.hidden * k["mem_activation_bytes"] / lay.hidden_split * (lay.pp > 1)
    if moe:
        buffers = buffers + 2 * ctx.moe_frac * tokens / lay.tp * ctx.top_k * ctx.hidden * k["mem_activation_bytes"]
    if lay.bounds("zero")[1] >= 3:
        # ZeRO-3 holds the unit it computes on gathered, and prefetches the next (the stack says how much); a
        # shard over one rank is the whole unit already, gathered from no one (FSDP with a world of one keeps no
        # second copy)
        gathered = np.where(shard > 1, dense, 0.0) + (np.where(expert_dp(lay) > 1, experts, 0.0) if moe else 0.0)
        per_layer_params = gathered / np.maximum(layers, 1)
        dual = dualpipe_rows(ctx, lay)
        if dual is not None:  # the unit gathered is a layer of one of DualPipe's two copies
            per_layer_params = np.where(dual, per_layer_params / 2.0, per_layer_params)
        live = ctx.sw_zero3_live_layers * per_layer_params * k["mem_weight_bytes"]
        buffers = buffers + np.where((lay.zero >= 3) & ~(once if once is not None else False), live, 0.0)
    allocated = weights + grads + optim + acts + buffers
    reserved = k["mem_framework_bytes"] + k["mem_fragmentation_frac"] * allocated
    return MemoryParts(weights, grads, optim, acts, buffers, reserved)
