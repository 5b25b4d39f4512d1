"""Memory per GPU by part: weights, gradients, optimizer state, activations, communication buffers.

Weights, fp32 main gradients and Adam state follow ZeRO (Rajbhandari et al.
2020): stage 1 shards the optimizer state over the data-parallel ranks, stage 2
the gradients too, stage 3 the weights. Activations follow Korthikanti et al.
2022 (Sec. 4), counted tensor by tensor so that GQA, SwiGLU, the FFN width and
experts enter: per layer and token ``10 h`` bytes are replicated across
tensor-parallel ranks unless sequence parallelism splits them, the rest is
split; the unfused attention's ``5 a s`` bytes of scores disappear with
selective recompute or flash attention; full recompute keeps only each layer's
input. The first pipeline stage holds ``pp`` micro-batches in flight (1F1B),
``pp (1 + (pp-1)/(pp v))`` with interleaving. Works on arrays of layouts.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.layout import RC_FULL, RC_NONE, Layouts
from colossus.spec import ModelSpec, Precision


@dataclass(frozen=True)
class MemoryParts:
    """Bytes per GPU on the fullest pipeline stage (arrays over layouts)."""

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


def stage_params(model: ModelSpec, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """Parameters on one GPU of the fullest stage: (replicated over dp x cp, expert params over dp x cp / ep)."""
    layers = np.ceil(model.layers / lay.pp)
    norms = 2 * model.hidden
    dense = model.attention_params + norms
    per_layer_dense = dense + model.dense_ffn_params * model.num_dense_layers / model.layers
    experts = 0.0
    if model.moe is not None:
        moe_frac = model.num_moe_layers / model.layers
        shared = model.moe.shared_experts * model.expert_params + model.hidden * model.moe.experts
        per_layer_dense = per_layer_dense + moe_frac * shared
        experts = moe_frac * model.moe.experts * model.expert_params / lay.ep
    embed = model.vocab * model.hidden * np.where(lay.pp == 1, 1 if model.tied_embeddings else 2, 1)
    replicated = (layers * per_layer_dense + embed) / lay.tp
    return replicated, layers * experts / lay.tp


def activation_bytes_per_token_layer(model: ModelSpec, lay: Layouts, mem: dict, *, flash: bool) -> np.ndarray:
    """Stored activation bytes of one token in one layer (Korthikanti et al. 2022 eq. 1-6, per tensor)."""
    a16, mask = float(mem["activation_bytes"]), float(mem["dropout_mask_bytes"])
    g8 = float(mem["fp8_gemm_input_bytes"]) if lay.precision is Precision.FP8 else a16
    h, d, tp = model.hidden, model.head_dim, lay.tp
    split_h = np.where(lay.sp, tp, 1)
    # 2 norm inputs, the QKV and FC1 inputs (saved for the weight gradient), 2 dropout masks
    replicated = (2 * a16 * h + 2 * g8 * h + 2 * mask * h) / split_h
    q = model.heads * d
    kv = 2 * np.maximum(model.kv_heads / tp, 1) * d * tp
    attn = (a16 * (q + kv) + g8 * q) / tp  # Q, K, V and the attention output (projection input)
    mats = model.activation.ffn_matrices
    width = model.ffn_hidden
    if model.moe is not None:
        moe_frac = model.num_moe_layers / model.layers
        routed = model.moe.top_k + model.moe.shared_experts
        width = (1 - moe_frac) * width + moe_frac * routed * model.moe.expert_ffn_hidden
    ffn = (a16 * (mats - 1) + g8) * width / tp  # activation-function input(s) and FC2 input
    scores = 0.0 if flash else (2 * a16 + mask) * model.heads * model.seq_len / lay.cp / tp
    scores = np.where(lay.rc == RC_NONE, scores, 0.0)
    per_token = replicated + attn + ffn + scores
    return np.where(lay.rc == RC_FULL, a16 * h / split_h, per_token)


def in_flight_layers(model: ModelSpec, lay: Layouts) -> np.ndarray:
    """Layer-micro-batches whose activations the fullest stage holds at its peak.

    Stage ``i`` of a 1F1B pipeline holds ``pp - i`` micro-batches in flight;
    when ``pp`` does not divide the layers, the ``r`` extra layers go to the
    last stages, which hold fewer. Interleaving adds ``(pp-1)/(pp v)``
    (Korthikanti et al. 2022 Sec. 4.2.3).
    """
    base = np.floor(model.layers / lay.pp)
    extra = model.layers - base * lay.pp
    first = base * np.minimum(lay.m, lay.pp)
    later = (base + 1) * np.minimum(lay.m, extra)
    micro_layers = np.maximum(first, later)
    interleave = np.where((lay.v > 1) & (lay.m >= lay.pp), 1 + (lay.pp - 1) / (lay.pp * lay.v), 1.0)
    return micro_layers * interleave


def memory_parts(model: ModelSpec, lay: Layouts, assumptions: PerfAssumptions, *, flash: bool) -> MemoryParts:
    """Memory per GPU by part, for the fullest stage."""
    mem = assumptions.memory["bytes"]
    res = assumptions.memory["reserve"]
    replicated, experts = stage_params(model, lay)
    shard = lay.dp * lay.cp
    expert_shard = np.maximum(shard // lay.ep, 1)
    params_sharded = replicated / shard + experts / expert_shard
    params = replicated + experts
    weights = np.where(lay.zero >= 3, params_sharded, params) * float(mem["weight_bytes"])
    grads = np.where(lay.zero >= 2, params_sharded, params) * float(mem["main_grad_bytes"])
    optim = np.where(lay.zero >= 1, params_sharded, params) * float(mem["optimizer_bytes"])
    tokens = lay.mb * model.seq_len / lay.cp
    per_layer = activation_bytes_per_token_layer(model, lay, mem, flash=flash) * tokens
    stage_layers = np.ceil(model.layers / lay.pp)
    first = per_layer * in_flight_layers(model, lay)
    logits = tokens * model.vocab / lay.tp * 4.0 * 2  # fp32 logits and their gradient
    last = per_layer * stage_layers + logits  # the last stage holds one micro-batch in flight
    acts = np.where(lay.pp > 1, np.maximum(first, last), first + logits)
    full_layer = activation_bytes_per_token_layer(model, _no_recompute(lay), mem, flash=flash) * tokens
    acts = acts + np.where(lay.rc == RC_FULL, full_layer, 0.0)  # the layer being recomputed
    # send and receive buffers of the forward activation and backward gradient in flight
    p2p = 4 * tokens * model.hidden * float(mem["activation_bytes"]) / np.where(lay.sp, lay.tp, 1) * (lay.pp > 1)
    buffers = float(res["dp_bucket_bytes"]) + p2p
    allocated = weights + grads + optim + acts + buffers
    reserved = float(res["framework_bytes"]) + float(res["fragmentation_frac"]) * allocated
    return MemoryParts(weights, grads, optim, acts, buffers, reserved)


def _no_recompute(lay: Layouts) -> Layouts:
    return replace(lay, rc=np.zeros_like(lay.rc))
