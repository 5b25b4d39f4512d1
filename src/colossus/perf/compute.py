"""Time of one micro-batch through one transformer layer on one GPU: matmuls, attention, element-wise.

A GEMM of shape ``(M, N, K)`` runs at ``peak x eff_max x f(M) f(N) f(K)`` with
``f(d) = d / (d + dim_half)`` (thin matrices after a tensor-parallel split are
slower) and never faster than its operands stream from HBM. Attention's core
is either flash attention (causal blocks skipped, nothing written to HBM;
Dao 2023, Shah et al. 2024) or the unfused Megatron-LM kernel (two batched
GEMMs plus a scale-mask-softmax whose ``s x s`` scores go through HBM).
Element-wise work (norms, activations, dropout, residuals) is memory-bound.
The efficiency curves and byte counts are named assumptions in
``catalog/data/perf_compute.toml``. Every function works on numpy arrays of
layouts; the backward pass of a GEMM costs twice its forward.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.layout import RC_FULL, RC_NONE, Layouts
from colossus.spec import GpuSpec, ModelSpec, Precision

#: Attention backward runs five matmuls to the forward's two (FlashAttention-2, Sec. 3.1.2).
FLASH_BWD_PER_FWD = 2.5


@dataclass(frozen=True)
class Compute:
    """The GPU's rates and the compute assumptions, resolved for one precision."""

    gemm_flop_per_s: float  # peak of the GEMM precision
    bf16_flop_per_s: float  # peak used by attention and other 16-bit work
    eff_max: float
    dim_half: float
    operand_bytes: float  # bytes per GEMM operand element
    hbm_bytes_per_s: float  # achievable
    flash: bool
    attn_fwd_eff: float
    attn_bwd_eff: float
    causal_frac: float
    score_bytes_fwd: float
    score_bytes_bwd: float
    bytes_hidden_fwd: float
    bytes_ffn_fwd: float
    ew_bwd_per_fwd: float
    fp8_cast_bytes: float
    logits_bytes: float
    launch_s: float
    kernels_per_layer: float
    bf16_eff_max: float  # the output layer stays in 16 bit in FP8 training (Transformer Engine covers the layers only)
    bf16_dim_half: float

    def sixteen_bit(self) -> "Compute":
        """The same GPU running GEMMs in bf16."""
        return replace(
            self, gemm_flop_per_s=self.bf16_flop_per_s, eff_max=self.bf16_eff_max,
            dim_half=self.bf16_dim_half, operand_bytes=2.0, fp8_cast_bytes=0.0,
        )


def build_compute(gpu: GpuSpec, precision: Precision, assumptions: PerfAssumptions) -> Compute:
    """Resolve rates and assumptions of ``gpu`` for GEMMs in ``precision`` (fp16 uses bf16's rate)."""
    arch = gpu.architecture
    eff_max, dim_half = assumptions.gemm_curve(arch, precision.value)
    bf16_curve = assumptions.gemm_curve(arch, Precision.BF16.value)
    attn = assumptions.attention(arch)
    mem = assumptions.compute["memory_bound"]
    over = assumptions.compute["overheads"]
    fp8 = precision is Precision.FP8
    return Compute(
        gemm_flop_per_s=gpu.peak_flop_per_s(precision),
        bf16_flop_per_s=gpu.peak_flop_per_s(Precision.BF16),
        eff_max=eff_max,
        dim_half=dim_half,
        operand_bytes=1.0 if fp8 else 2.0,
        hbm_bytes_per_s=gpu.hbm_bytes_per_s * float(mem["hbm_eff"]),
        flash=attn["kernel"] == "flash",
        attn_fwd_eff=float(attn["fwd_eff"]),
        attn_bwd_eff=float(attn["bwd_eff"]),
        causal_frac=float(assumptions.compute["attention"]["causal_executed_frac"]),
        score_bytes_fwd=float(attn["score_bytes_fwd"]),
        score_bytes_bwd=float(attn["score_bytes_bwd"]),
        bytes_hidden_fwd=float(mem["bytes_per_token_hidden_fwd"]),
        bytes_ffn_fwd=float(mem["bytes_per_token_ffn_fwd"]),
        ew_bwd_per_fwd=float(mem["bwd_per_fwd"]),
        fp8_cast_bytes=float(mem["fp8_cast_bytes_per_element"]) if fp8 else 0.0,
        logits_bytes=float(mem["logits_bytes_per_element"]),
        launch_s=float(over["kernel_launch_s"]),
        kernels_per_layer=float(over["kernels_per_layer_fwd"]),
        bf16_eff_max=bf16_curve[0],
        bf16_dim_half=bf16_curve[1],
    )


def gemm_time_s(c: Compute, m: np.ndarray, n: np.ndarray, k: np.ndarray, count: float | np.ndarray = 1) -> np.ndarray:
    """Forward time of ``count`` GEMMs ``(m x k) @ (k x n)``: compute- or HBM-bound, whichever is slower."""
    f = c.dim_half
    eff = c.eff_max * (m / (m + f)) * (n / (n + f)) * (k / (k + f))
    flop = 2.0 * m * n * k
    t_flop = flop / (c.gemm_flop_per_s * eff)
    traffic = c.operand_bytes * (m * k + k * n) + 2.0 * m * n + c.fp8_cast_bytes * m * k
    t_mem = traffic / c.hbm_bytes_per_s
    return count * np.maximum(t_flop, t_mem)


@dataclass(frozen=True)
class LayerTimes:
    """Seconds per micro-batch per GPU for one layer (arrays over layouts)."""

    fwd_s: np.ndarray  # forward compute
    bwd_s: np.ndarray  # backward compute
    recompute_s: np.ndarray  # what recomputation repeats before the backward
    attn_core_fwd_s: np.ndarray


def attention_core_times(c: Compute, model: ModelSpec, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward time of ``softmax(Q K^T) V`` for one micro-batch on one GPU."""
    s = model.seq_len
    q_tokens = lay.mb * s / lay.cp  # this GPU's queries
    heads = model.heads / lay.tp
    full_flop = 4.0 * q_tokens * s * heads * model.head_dim
    if c.flash:
        executed = full_flop * c.causal_frac
        fwd = executed / (c.bf16_flop_per_s * c.attn_fwd_eff)
        return fwd, FLASH_BWD_PER_FWD * executed / (c.bf16_flop_per_s * c.attn_bwd_eff)
    batched = heads * lay.mb
    d = float(model.head_dim)
    gemms = gemm_time_s(c, q_tokens / lay.mb, np.float64(s), d, 2 * batched)
    scores = q_tokens * s * heads
    fwd = gemms + scores * c.score_bytes_fwd / c.hbm_bytes_per_s
    bwd = 2.0 * gemms + scores * c.score_bytes_bwd / c.hbm_bytes_per_s
    return fwd, bwd


def _ffn_gemms(c: Compute, tokens: np.ndarray, hidden: int, width: np.ndarray, mats: int, count) -> np.ndarray:
    """Up (and gate) then down projection of an FFN of ``width`` (already split by tp)."""
    up = gemm_time_s(c, tokens, (mats - 1) * width, np.float64(hidden), count)
    return up + gemm_time_s(c, tokens, np.float64(hidden), width, count)


def ffn_fwd_s(c: Compute, model: ModelSpec, lay: Layouts, *, moe_layer: bool) -> np.ndarray:
    """Forward GEMMs of the FFN: dense, or router + routed experts + shared experts."""
    tokens = lay.mb * model.seq_len / lay.cp
    mats, h = model.activation.ffn_matrices, model.hidden
    if not moe_layer or model.moe is None:
        return _ffn_gemms(c, tokens, h, model.ffn_hidden / lay.tp, mats, 1)
    moe = model.moe
    local_experts = moe.experts / lay.ep
    per_expert = tokens * moe.top_k * lay.ep / moe.experts  # balanced routing
    t = gemm_time_s(c, tokens, np.float64(moe.experts), np.float64(h))
    t = t + _ffn_gemms(c, per_expert, h, moe.expert_ffn_hidden / lay.tp, mats, local_experts)
    if moe.shared_experts:
        t = t + _ffn_gemms(c, tokens, h, moe.shared_experts * moe.expert_ffn_hidden / lay.tp, mats, 1)
    return t


def elementwise_fwd_s(c: Compute, model: ModelSpec, lay: Layouts, *, moe_layer: bool) -> np.ndarray:
    """Memory-bound forward work: norms, dropout, residuals (split by tp only with sequence parallelism)."""
    tokens = lay.mb * model.seq_len / lay.cp
    hidden_split = np.where(lay.sp, lay.tp, 1)
    width = model.ffn_hidden
    if moe_layer and model.moe is not None:
        width = (model.moe.top_k + model.moe.shared_experts) * model.moe.expert_ffn_hidden
    gated = 1.0 + 0.5 * (model.activation.ffn_matrices - 2)
    traffic = c.bytes_hidden_fwd * tokens * model.hidden / hidden_split
    traffic = traffic + c.bytes_ffn_fwd * gated * tokens * width / lay.tp
    return traffic / c.hbm_bytes_per_s


def layer_times(c: Compute, model: ModelSpec, lay: Layouts, *, moe_layer: bool) -> LayerTimes:
    """Compute time of one layer for one micro-batch: forward, backward, recompute."""
    tokens = lay.mb * model.seq_len / lay.cp
    h, d = model.hidden, model.head_dim
    q_cols = model.heads * d / lay.tp
    kv_cols = 2 * np.maximum(model.kv_heads / lay.tp, 1) * d  # KV heads are replicated when tp > kv_heads
    linear = gemm_time_s(c, tokens, q_cols + kv_cols, np.float64(h)) + gemm_time_s(c, tokens, np.float64(h), q_cols)
    linear = linear + ffn_fwd_s(c, model, lay, moe_layer=moe_layer)
    core_fwd, core_bwd = attention_core_times(c, model, lay)
    ew = elementwise_fwd_s(c, model, lay, moe_layer=moe_layer)
    fwd = np.maximum(linear + core_fwd + ew, c.kernels_per_layer * c.launch_s)
    bwd = np.maximum(2.0 * linear + core_bwd + c.ew_bwd_per_fwd * ew, 2 * c.kernels_per_layer * c.launch_s)
    recompute = np.where(lay.rc == RC_FULL, fwd, np.where(lay.rc == RC_NONE, 0.0, core_fwd))
    return LayerTimes(fwd_s=fwd, bwd_s=bwd, recompute_s=recompute, attn_core_fwd_s=core_fwd)


def logits_times(c: Compute, model: ModelSpec, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward time of the output layer and the cross-entropy loss, one micro-batch."""
    tokens = lay.mb * model.seq_len / lay.cp
    cols = model.vocab / lay.tp
    c = c.sixteen_bit()
    gemm = gemm_time_s(c, tokens, cols, np.float64(model.hidden))
    loss = tokens * cols * c.logits_bytes / c.hbm_bytes_per_s
    return gemm + loss, 2.0 * gemm + loss
