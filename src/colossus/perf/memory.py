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
``pp (1 + (pp-1)/(pp v))`` with interleaving. Works on arrays of rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from colossus.perf.compute import (
    SEL_ATTENTION_CORE,
    SEL_MLA_UP,
    SEL_NORM_ACT,
    SEL_NORM_MOE,
    SEL_OP_LEVEL,
    by_selective_code,
)
from colossus.perf.context import Context
from colossus.perf.layout import RC_FULL, RC_NONE, RC_SELECTIVE, Layouts, stage_layer_slots


@dataclass(frozen=True)
class MemoryParts:
    """Bytes per GPU on the fullest pipeline stage (arrays over rows)."""

    weights_bytes: np.ndarray
    gradients_bytes: np.ndarray
    optimizer_bytes: np.ndarray
    activations_bytes: np.ndarray
    comm_buffers_bytes: np.ndarray
    reserved_bytes: np.ndarray  # framework, workspaces, allocator fragmentation

    @property
    def total_bytes(self) -> np.ndarray:
        return (
            self.weights_bytes + self.gradients_bytes + self.optimizer_bytes
            + self.activations_bytes + self.comm_buffers_bytes + self.reserved_bytes
        )


def stage_layers(ctx: Context, lay: Layouts, slots: np.ndarray | None = None) -> np.ndarray:
    """Transformer layers on the fullest stage (all its virtual chunks); ``slots``: ``stage_layer_slots``, if known."""
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss) if slots is None else slots
    return np.ceil(slots / lay.pp)


def stage_params(ctx: Context, lay: Layouts, layers: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Parameters on one GPU of the fullest stage: (dense ones, sharded over dp x cp; expert ones, over edp).

    ``layers``: ``stage_layers(ctx, lay)`` when the caller has it already.
    """
    layers = stage_layers(ctx, lay) if layers is None else layers
    frac = ctx.moe_frac
    norms = 2 * ctx.hidden
    moe_dense = ctx.shared_experts * ctx.expert_params + ctx.hidden * ctx.experts  # shared experts + router
    per_layer = ctx.attn_params + norms + (1 - frac) * ctx.dense_ffn_params + frac * moe_dense
    untied = np.where(ctx.tied, 1, 2)
    embed = ctx.vocab * ctx.hidden * np.where(lay.pp == 1, untied, 1)
    dense = (layers * per_layer + embed) / lay.tp
    experts = layers * frac * ctx.experts * ctx.expert_params / (lay.ep * lay.etp)
    return dense, experts


def expert_dp(lay: Layouts) -> np.ndarray:
    """Ranks one expert shard is replicated over (expert data parallelism)."""
    return np.maximum(lay.tp * lay.cp * lay.dp // (lay.ep * lay.etp), 1)


def activation_bytes_per_token_layer(ctx: Context, lay: Layouts) -> np.ndarray:
    """Stored activation bytes of one token in one layer (Korthikanti et al. 2022 eq. 1-6, per tensor)."""
    return _activation_bytes(ctx, lay)[0]


def _activation_bytes(ctx: Context, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """(``activation_bytes_per_token_layer``, the same without recompute: what the layer being recomputed holds)."""
    k = ctx.k
    a16, mask = k["mem_activation_bytes"], k["mem_dropout_mask_bytes"]
    g8 = np.where(lay.fp8, k["mem_fp8_gemm_input_bytes"], a16)
    h, d, tp = ctx.hidden, ctx.head_dim, lay.tp
    split_h = np.where(lay.sp, tp, 1)
    norm_in = 2 * a16 * h / split_h  # inputs of the two norms (residual stream)
    gemm_in = 2 * g8 * h / split_h  # norm outputs = inputs of QKV and FC1 (weight gradients)
    masks = 2 * mask * h / split_h
    q = ctx.heads * np.where(ctx.mla, ctx.qk_dim, d)
    kv = np.where(ctx.mla, ctx.heads * (ctx.qk_dim + ctx.v_dim), 2 * np.maximum(ctx.kv_heads / tp, 1) * d * tp)
    attn = (a16 * (q + kv) + g8 * ctx.heads * np.where(ctx.mla, ctx.v_dim, d)) / tp  # Q, K, V, attention output
    mats, frac = ctx.ffn_mats, ctx.moe_frac
    dense_w = ctx.ffn_hidden / tp
    routed_w = ctx.top_k * ctx.expert_ffn_hidden / tp + ctx.shared_experts * ctx.expert_ffn_hidden / tp
    width = (1 - frac) * dense_w + frac * routed_w
    act_in = a16 * (mats - 1) * width  # activation-function input(s)
    fc2_in = g8 * width
    permuted = frac * ctx.top_k * a16 * h / tp  # tokens copied for the experts
    scores = np.where(ctx.flash, 0.0, (2 * a16 + mask) * ctx.heads * ctx.seq / lay.cp / tp)
    full = norm_in + gemm_in + masks + attn + act_in + fc2_in + permuted + scores
    unscored = full - scores

    def kept(code: int) -> np.ndarray:
        """What a selective-recompute policy keeps."""
        if code == SEL_ATTENTION_CORE:
            return unscored
        if code == SEL_OP_LEVEL:  # norms/activations recomputed, half the matmul outputs kept
            return unscored - gemm_in - 0.5 * (attn + act_in + fc2_in)
        if code == SEL_NORM_ACT:
            return unscored - gemm_in - fc2_in
        if code == SEL_NORM_MOE:  # the MoE block keeps only its input
            routed_share = frac * routed_w / np.maximum(width, 1e-9)  # share of the FFN activations inside MoE blocks
            return unscored - gemm_in - routed_share * (act_in + fc2_in) - permuted
        # SEL_MLA_UP: MLA keeps its compressed latents (replicated over tp) instead of the up-projected Q, K, V
        return unscored - np.where(ctx.mla, a16 * (q + kv) / tp - a16 * (ctx.q_lora + ctx.kv_lora + ctx.qk_rope), 0.0)

    selective = by_selective_code(ctx, lay, kept)
    stored = np.where(lay.rc == RC_SELECTIVE, selective, np.where(lay.rc == RC_NONE, full, 0.0))
    return np.where(lay.rc == RC_FULL, a16 * h / split_h, stored), full


def in_flight_layers(ctx: Context, lay: Layouts, slots: np.ndarray | None = None) -> np.ndarray:
    """Layer-micro-batches whose activations the fullest stage holds at its peak.

    Stage ``i`` of a 1F1B pipeline holds ``pp - i`` micro-batches in flight;
    when ``pp`` does not divide the layers, the ``r`` extra layers go to the
    last stages, which hold fewer. Interleaving adds ``(pp-1)/(pp v)``
    (Korthikanti et al. 2022 Sec. 4.2.3).
    """
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss) if slots is None else slots
    base = np.floor(slots / lay.pp)
    extra = slots - base * lay.pp
    first = base * np.minimum(lay.m, lay.pp)
    later = (base + 1) * np.minimum(lay.m, extra)
    micro_layers = np.maximum(first, later)
    interleave = np.where((lay.v > 1) & (lay.m >= lay.pp), 1 + (lay.pp - 1) / (lay.pp * lay.v), 1.0)
    return micro_layers * interleave


class Stage(NamedTuple):
    """The fullest pipeline stage: its layer slots, transformer layers and (dense, expert) parameters."""

    slots: np.ndarray
    layers: np.ndarray
    params: tuple[np.ndarray, np.ndarray]


def stage_of(ctx: Context, lay: Layouts) -> Stage:
    """What the step and the memory model both need of the fullest stage (computed once per evaluation)."""
    slots = stage_layer_slots(ctx.layers, lay, ctx.sw_embedding_loss)
    layers = stage_layers(ctx, lay, slots)
    return Stage(slots, layers, stage_params(ctx, lay, layers))


def memory_parts(ctx: Context, lay: Layouts, stage: Stage | None = None) -> MemoryParts:
    """Memory per GPU by part, for the fullest stage (``stage``: ``stage_of(ctx, lay)``, if known)."""
    k = ctx.k
    slots, layers, (dense, experts) = stage_of(ctx, lay) if stage is None else stage
    shard, expert_shard = lay.dp * lay.cp, expert_dp(lay)
    sharded = dense / shard + experts / expert_shard
    params = dense + experts
    weights = np.where(lay.zero >= 3, sharded, params) * k["mem_weight_bytes"]
    grads = np.where(lay.zero >= 2, sharded, params) * k["mem_main_grad_bytes"]
    optim = np.where(lay.zero >= 1, sharded, params) * k["mem_optimizer_bytes"]
    tokens = lay.mb * ctx.seq / lay.cp
    per_token, whole = _activation_bytes(ctx, lay)
    per_layer = per_token * tokens
    first = per_layer * in_flight_layers(ctx, lay, slots)
    logits = tokens * ctx.vocab / lay.tp * 4.0 * 2  # fp32 logits and their gradient
    last = per_layer * layers + logits  # the last stage holds one micro-batch in flight
    acts = np.where(lay.pp > 1, np.maximum(first, last), first + logits)
    acts = acts + np.where(lay.rc != RC_NONE, whole * tokens, 0.0)  # the layer being recomputed
    # ZeRO-3 holds the unit it computes on gathered, and prefetches the next (the stack says how much)
    per_layer_params = params / np.maximum(layers, 1)
    gathered = np.where(lay.zero >= 3, ctx.sw_zero3_live_layers * per_layer_params * k["mem_weight_bytes"], 0.0)
    split = np.where(lay.sp, lay.tp, 1)
    p2p = 4 * tokens * ctx.hidden * k["mem_activation_bytes"] / split * (lay.pp > 1)
    dispatch = 2 * ctx.moe_frac * tokens / lay.tp * ctx.top_k * ctx.hidden * k["mem_activation_bytes"]
    buffers = k["mem_dp_bucket_bytes"] + p2p + dispatch + gathered
    allocated = weights + grads + optim + acts + buffers
    reserved = k["mem_framework_bytes"] + k["mem_fragmentation_frac"] * allocated
    return MemoryParts(weights, grads, optim, acts, buffers, reserved)
