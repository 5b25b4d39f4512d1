"""Time of one micro-batch through one transformer layer on one GPU: matmuls, attention, element-wise.

A GEMM of shape ``(M, N, K)`` runs at ``peak x clock x eff_max x f(M) f(N) f(K)``
with ``f(d) = d / (d + dim_half)`` (thin matrices after a tensor-parallel split
are slower), and never faster than its operands stream from HBM. ``clock`` is
the compute speed at the GPU's power limit (``perf.powercap``).

Attention's core depends on the software's kernel:

* fused kernels (FlashAttention-2/3, cuDNN, SDPA) skip masked blocks and keep
  scores on chip; their efficiency grows with the block a call sees and with
  the head dim, by the curves of ``perf_compute.toml [attention.kernels]``
  (Shah et al. 2024, Figs. 5-6). With context parallelism (ring attention,
  Liu et al. 2023; Megatron-core's load-balanced variant) a rank runs ``cp``
  steps: one causal block of ``s / cp`` queries, and ``cp - 1`` unmasked
  blocks of ``s / 2cp``, each followed by an fp32 rescale-and-merge of the
  partial output. Short blocks are slow: a small CP block costs what it costs;
* the unfused Megatron-LM kernel runs two batched GEMMs and a softmax whose
  ``s x s`` scores go through HBM.

Element-wise work (norms, activations, residuals, rotary) is memory-bound, with
the bytes of fused or eager code (``[elementwise]``). Mixture-of-experts layers
run their experts as grouped GEMMs (``grouped_gemm_eff``) on the tokens the
router sends them, plus permutation traffic; multi-head latent attention
(DeepSeek-V2/V3) replaces the q/k/v projections by low-rank ones. The backward
pass of a GEMM costs twice its forward. Every function works on arrays of
rows (``perf.context.Context``) and layouts (``perf.layout.Layouts``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from colossus.perf.context import Context, peak_gemm_flop_per_s
from colossus.perf.layout import CP_P2P, STACK_DEFAULT, Layouts

#: Selective-recompute codes (``perf.context.SELECTIVE_CODES``).
SEL_ATTENTION_CORE, SEL_OP_LEVEL, SEL_NORM_ACT, SEL_NORM_MOE, SEL_MLA_UP, SEL_NORM_MLA_UP, SEL_NORM = range(7)
#: Policies whose repeated work includes the FFN activation (its output is recomputed anyway).
SEL_REPEATING_ACTIVATION = (SEL_OP_LEVEL, SEL_NORM_ACT, SEL_NORM_MOE)


@dataclass(frozen=True)
class Rates:
    """GEMM rates of every row in its layout's precision."""

    flop_per_s: np.ndarray  # peak of the GEMM precision, at the power limit
    eff_max: np.ndarray
    dim_half: np.ndarray
    operand_bytes: np.ndarray
    cast_bytes: np.ndarray  # FP8 casts of GEMM inputs
    hbm_bytes_per_s: np.ndarray
    casts: bool = True  # False where no row casts (cast_bytes all 0: the term is left out)
    #: ``2 / (flop_per_s x eff_max)``, the seconds per ``(m + d_half)(n + d_half)(k + d_half)``
    s_per_padded_mnk: np.ndarray = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "s_per_padded_mnk", 2.0 / (self.flop_per_s * self.eff_max))


def gemm_rates(ctx: Context, lay: Layouts) -> Rates:
    if not lay.any_fp8:  # (every row in 16 bit, the usual case: the FP8 columns are not looked at)
        return bf16_rates(ctx)
    fp8 = lay.fp8
    return Rates(
        flop_per_s=peak_gemm_flop_per_s(ctx, fp8) * ctx.clock_frac,
        eff_max=np.where(fp8, ctx.fp8_eff_max, ctx.bf16_eff_max),
        dim_half=np.where(fp8, ctx.fp8_dim_half, ctx.bf16_dim_half),
        operand_bytes=np.where(fp8, 1.0, 2.0),
        cast_bytes=np.where(fp8, ctx.k["fp8_cast_bytes"], 0.0),
        hbm_bytes_per_s=ctx.hbm_bytes_per_s,
    )


def bf16_rates(ctx: Context) -> Rates:
    """The same GPU running GEMMs in 16 bit (the output layer and attention stay there in FP8 runs)."""
    return ctx.kept("bf16_rates", _bf16_rates)


def _bf16_rates(ctx: Context) -> Rates:
    return Rates(ctx.peak_bf16_flop_per_s * ctx.clock_frac, ctx.bf16_eff_max, ctx.bf16_dim_half,
                 np.asarray(2.0), np.asarray(0.0), ctx.hbm_bytes_per_s, casts=False)


def gemm_time_s(r: Rates, m, n, k, count=None) -> np.ndarray:
    """Forward time of ``count`` GEMMs ``(m x k) @ (k x n)`` (one if None): compute- or HBM-bound, whichever
    is slower.

    ``2 m n k / (peak eff)`` with ``eff = eff_max f(m) f(n) f(k)``, ``f(d) = d / (d + d_half)``, is
    ``2 (m + d_half)(n + d_half)(k + d_half) / (peak eff_max)``: written so, it costs half the
    array operations (one estimate evaluates a dozen GEMM shapes).
    """
    f = r.dim_half
    t_flop = (m + f) * (n + f) * (k + f) * r.s_per_padded_mnk
    mk = m * k
    traffic = r.operand_bytes * (mk + k * n) + 2.0 * m * n
    if r.casts:
        traffic = traffic + r.cast_bytes * mk
    t = np.maximum(t_flop, traffic / r.hbm_bytes_per_s)
    return t if count is None else count * t


def tokens_per_rank(ctx: Context, lay: Layouts, t: np.ndarray | None = None) -> np.ndarray:
    """Tokens of one micro-batch on one rank of the attention part (after the context split); ``t``, if known."""
    return lay.mb * ctx.seq / lay.cp if t is None else t


# --- attention ---------------------------------------------------------------------


def attention_linear_s(ctx: Context, lay: Layouts, r: Rates, t: np.ndarray | None = None) -> np.ndarray:
    """Q, K, V and output projections (or MLA's low-rank ones), forward (``t``: ``tokens_per_rank``, if known)."""
    t, h, tp = tokens_per_rank(ctx, lay, t), ctx.hidden, lay.tp
    q_cols = query_width(ctx) / tp
    kv_cols = 2 * np.maximum(ctx.kv_heads / tp, 1) * ctx.head_dim  # KV heads are replicated when tp > kv_heads
    standard = gemm_time_s(r, t, q_cols + kv_cols, h) + gemm_time_s(r, t, h, q_cols)
    if not ctx.any_mla:  # (skipping the MLA arithmetic where no row has it keeps one estimate fast)
        return standard
    # MLA (DeepSeek-V2 Sec. 2.1): down-projections replicated over tp, up-projections and output split by heads
    heads_l = ctx.heads / tp
    q_lora = np.maximum(ctx.q_lora, 1)
    q_low = gemm_time_s(r, t, q_lora, h) + gemm_time_s(r, t, heads_l * ctx.qk_dim, q_lora)
    q_full = gemm_time_s(r, t, heads_l * ctx.qk_dim, h)
    kv_lora = np.maximum(ctx.kv_lora, 1)
    qk_nope = np.maximum(ctx.qk_dim - ctx.qk_rope, 1)
    kv = gemm_time_s(r, t, kv_lora + ctx.qk_rope, h) + gemm_time_s(r, t, heads_l * (qk_nope + ctx.v_dim), kv_lora)
    mla = np.where(ctx.q_lora > 0, q_low, q_full) + kv + gemm_time_s(r, t, h, heads_l * ctx.v_dim)
    return np.where(ctx.mla, mla, standard)


def query_width(ctx: Context) -> np.ndarray:
    """Width of the query projection's output, all heads (kept with the context)."""
    return ctx.kept("q_width", _query_width)


def _query_width(ctx: Context) -> np.ndarray:
    return ctx.heads * ctx.head_dim


def mla_up_s(ctx: Context, lay: Layouts, r: Rates, t: np.ndarray | None = None) -> np.ndarray:
    """MLA's up-projections, forward: what ``--recompute-modules mla_up_proj`` repeats (0 without MLA)."""
    if not ctx.any_mla:
        return np.zeros(lay.size)
    t, heads_l = tokens_per_rank(ctx, lay, t), ctx.heads / lay.tp
    q_up = np.where(ctx.q_lora > 0, gemm_time_s(r, t, heads_l * ctx.qk_dim, np.maximum(ctx.q_lora, 1)), 0.0)
    kv_up = gemm_time_s(r, t, heads_l * (np.maximum(ctx.qk_dim - ctx.qk_rope, 1) + ctx.v_dim),
                        np.maximum(ctx.kv_lora, 1))
    return np.where(ctx.mla, q_up + kv_up, 0.0)


def selective_code(ctx: Context, lay: Layouts) -> np.ndarray:
    """Each row's selective-recompute policy: its layout's, else its stack's default."""
    return np.where(lay.sel >= 0, lay.sel, ctx.sw_selective)


def by_selective_code(ctx: Context, lay: Layouts, value: Callable[[int], np.ndarray | float]) -> np.ndarray | float:
    """``value(code)`` of each row's selective-recompute policy (``selective_code``), 0 where no row
    recomputes selectively; ``value`` is called only for the codes some row has (one estimate's rows
    usually share one: its stack's)."""
    if not lay.any_rc_selective:
        return 0.0
    if lay.bounds("sel")[1] == STACK_DEFAULT:  # every row keeps its stack's policy
        lo, hi = ctx.kept("selective_bounds", lambda c: (int(c.sw_selective.min()), int(c.sw_selective.max())))
        if lo == hi:
            return value(lo)
    code = selective_code(ctx, lay)
    lo, hi = int(code.min()), int(code.max())
    if lo == hi:
        return value(lo)
    present = set(code.tolist())
    return np.choose(code, [value(c) if c in present else 0.0 for c in range(hi + 1)])


def _hd_factor(ctx: Context) -> np.ndarray:
    d = np.minimum((ctx.qk_dim + ctx.v_dim) / 2.0, 128.0)
    half = ctx.attn_hd_half
    return (d / (d + half)) / (128.0 / (128.0 + half))


def attention_core_s(ctx: Context, lay: Layouts, t: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward time of ``softmax(Q K^T) V`` for one micro-batch on one GPU."""
    q_tok = tokens_per_rank(ctx, lay, t)
    heads_l = ctx.heads / lay.tp
    flash = ctx.flash
    if ctx.all_flash:  # (one kernel for every row, the usual case: the other is not computed)
        return _flash_core_s(ctx, lay, q_tok, heads_l)
    if not flash.any():
        return _unfused_core_s(ctx, lay, q_tok, heads_l)
    fwd_flash, bwd_flash = _flash_core_s(ctx, lay, q_tok, heads_l)
    fwd_unfused, bwd_unfused = _unfused_core_s(ctx, lay, q_tok, heads_l)
    return np.where(flash, fwd_flash, fwd_unfused), np.where(flash, bwd_flash, bwd_unfused)


@dataclass(frozen=True)
class _FlashRun:
    """What the fused kernel's time needs of the run alone (``Context.kept``)."""

    qkv_width: np.ndarray  # qk + v width per head
    fwd_flop_per_s: np.ndarray  # peak x clock x efficiency x head-dim factor, forward
    bwd_flop_per_s: np.ndarray  # the same, backward
    slow_whole: np.ndarray  # slowdown of one causal block of the whole sequence (cp = 1)


def _flash_run(ctx: Context) -> _FlashRun:
    peak = ctx.peak_bf16_flop_per_s * ctx.clock_frac
    hd = _hd_factor(ctx)
    s = ctx.seq / 1  # (as s / cp at cp = 1)
    return _FlashRun(ctx.qk_dim + ctx.v_dim, peak * ctx.attn_fwd_eff * hd, peak * ctx.attn_bwd_eff * hd,
                     1.0 / (s / (s + ctx.attn_seq_half_causal)))


def _flash_core_s(ctx: Context, lay: Layouts, q_tok, heads_l) -> tuple[np.ndarray, np.ndarray]:
    """Fused kernel, with ring attention's blocks when ``cp > 1``."""
    run: _FlashRun = ctx.kept("flash", _flash_run)
    s, cp = ctx.seq, lay.cp
    full = 2.0 * q_tok * s * heads_l * run.qkv_width  # counted FLOPs over all ring steps
    executed = full * ctx.k["causal_frac"]
    ring_attention = lay.bounds("cp")[1] > 1
    if ring_attention:
        diag_block, ring_block = s / cp, s / (2.0 * cp)
        diag_share = 1.0 / cp
        slow_fwd = (diag_share / (diag_block / (diag_block + ctx.attn_seq_half_causal))
                    + (1 - diag_share) / (ring_block / (ring_block + ctx.attn_seq_half_full)))
    else:  # (no row splits the sequence: one causal block each, and nothing to merge)
        slow_fwd = run.slow_whole
    fwd_flash = executed * slow_fwd / run.fwd_flop_per_s
    bwd_flash = ctx.k["attn_bwd_flop_per_fwd"] * executed * slow_fwd / run.bwd_flop_per_s
    if not ring_attention:
        return fwd_flash, bwd_flash
    merge = (cp - 1) * q_tok * heads_l * ctx.v_dim * ctx.k["merge_bytes"] / ctx.hbm_bytes_per_s
    if ctx.kept("cp_not_ring", lambda c: bool(np.any(c.sw_cp_comm != CP_P2P))):
        # gathered K/V (all_gather) or whole sequences of fewer heads (a2a, Ulysses): one kernel call over the
        # whole sequence's keys, as without context parallelism, and no partial outputs to merge
        whole = ctx.sw_cp_comm != CP_P2P
        scale = np.where(whole, run.slow_whole / slow_fwd, 1.0)
        fwd_flash, bwd_flash, merge = fwd_flash * scale, bwd_flash * scale, np.where(whole, 0.0, merge)
    return fwd_flash + merge, bwd_flash + 2.0 * merge


def _unfused_core_s(ctx: Context, lay: Layouts, q_tok, heads_l) -> tuple[np.ndarray, np.ndarray]:
    """Unfused (Megatron-LM 2021-22): batched GEMMs + softmax over s x s scores in HBM."""
    s = ctx.seq
    r16 = bf16_rates(ctx)
    per_seq = q_tok / lay.mb
    gemms = gemm_time_s(r16, per_seq, s, ctx.qk_dim, 2 * heads_l * lay.mb)
    scores = q_tok * s * heads_l
    fwd_unfused = gemms + scores * ctx.k["score_bytes_fwd"] / ctx.hbm_bytes_per_s
    bwd_unfused = 2.0 * gemms + scores * ctx.k["score_bytes_bwd"] / ctx.hbm_bytes_per_s
    return fwd_unfused, bwd_unfused


# --- FFN ---------------------------------------------------------------------------


def _ffn_gemms(r: Rates, tokens, hidden, width, mats, count) -> np.ndarray:
    """Up (and gate) then down projection of an FFN of ``width`` (already split)."""
    return gemm_time_s(r, tokens, (mats - 1) * width, hidden, count) + gemm_time_s(r, tokens, hidden, width, count)


def expert_tokens(ctx: Context, lay: Layouts, t: np.ndarray | None = None) -> np.ndarray:
    """Distinct tokens one rank sends to the experts (sequence-parallel split over tp)."""
    return tokens_per_rank(ctx, lay, t) / lay.tp


def ffn_dense_s(ctx: Context, lay: Layouts, r: Rates, t: np.ndarray | None = None) -> np.ndarray:
    return _ffn_gemms(r, tokens_per_rank(ctx, lay, t), ctx.hidden, ctx.ffn_hidden / lay.tp, ctx.ffn_mats, None)


def wave_eff(ctx: Context, m, n, local) -> np.ndarray:
    """Share of the SMs busy over the waves of ``local`` expert GEMMs with ``(m x n)`` outputs.

    Wave quantisation (NVIDIA Deep Learning Performance Guide, "Matrix
    Multiplication Background"): a GEMM runs ``ceil(m / tile_m) ceil(n / tile_n)``
    output tiles, one per SM at a time; Transformer Engine's GroupedLinear runs
    one GEMM per local expert over ``streams`` streams, so at most that many
    experts' tiles share a wave, and a last partial wave costs a whole one.
    """
    k = ctx.k
    streams = np.minimum(local, k["gemm_streams"])
    tiles = np.ceil(m / k["tile_m"]) * np.ceil(n / k["tile_n"]) * streams
    # the useful share: a tile's padding past the matrix edge is busy but does no work (so one row more than
    # a tile's never looks cheaper than a whole tile)
    useful = m / k["tile_m"] * (n / k["tile_n"]) * streams
    return useful / (np.ceil(tiles / ctx.sms) * ctx.sms)


#: The experts' load spread under dropless routing, by dotted path (``perf/routing.py`` fits it).
LOAD_CV = "compute.moe.expert_load_cv"


def expert_load_factor(ctx: Context, lay: Layouts) -> np.ndarray | float:
    """Tokens the busiest expert-parallel rank receives over the mean: 1 under force-balanced routing.

    Under dropless routing an expert's load varies from the mean by a coefficient of
    variation ``cv`` (``LOAD_CV``, fitted on the dropless-over-forced ratios of
    ``perf/routing.py``). A rank holds ``E / ep`` experts, taken as independently loaded, so its load
    varies by ``cv / sqrt(E / ep)``; the dispatch, the experts and the combine of a layer wait for the
    busiest of the ``ep`` ranks, the expected largest of ``ep`` normal draws (Blom's approximation of
    the normal order statistic, ``ndtri((n - 0.375) / (n + 0.25))``; 0 for one rank). With a capacity factor
    ``C`` (token drop, Megatron-core ``--moe-expert-capacity-factor``) tokens beyond ``C`` times an expert's
    mean share are dropped before the dispatch, so the busiest rank takes at most ``C`` (the rank's experts
    capped together, an upper bound of capping each); padded to capacity, every expert runs exactly ``C``.
    """
    capped = ctx.kept("capacity", lambda c: bool(np.isfinite(c.sw_capacity).any()))
    if not capped and (ctx.flag("sw_dropless") is False or lay.bounds("ep")[1] == 1):
        return 1.0
    factor = busiest_rank_load(ctx.k["expert_load_cv"], ctx.experts, lay.ep) if ctx.flag("sw_dropless") is not False \
        else 1.0
    factor = np.where(ctx.sw_dropless, factor, 1.0)
    if capped:  # token drop: no expert takes more than its capacity; padded, every expert runs exactly that
        factor = np.where(ctx.sw_pad_capacity, ctx.sw_capacity, np.minimum(factor, ctx.sw_capacity))
    return np.where(ctx.is_moe, factor, 1.0)


def busiest_rank_load(cv: float, experts, ep):
    """``expert_load_factor`` of ``experts`` split over ``ep`` ranks, experts' loads varying by ``cv``."""
    from scipy.special import ndtri  # noqa: PLC0415  (only where a row routes dropless)

    ep = np.asarray(ep, dtype=np.float64)
    spread = cv / np.sqrt(np.maximum(experts / ep, 1.0))
    return 1.0 + spread * ndtri((ep - 0.375) / (ep + 0.25))


def ffn_moe_s(ctx: Context, lay: Layouts, r: Rates, t: np.ndarray | None = None) -> np.ndarray:
    """Router + routed experts (grouped GEMMs, ``wave_eff``) + shared experts, forward, on the busiest rank.

    The stage's ``tp x cp x dp`` ranks each hold ``T`` distinct tokens and send
    ``top_k`` copies; ``E / ep`` local experts each see ``T k ep etp / E`` rows of
    an FFN split ``etp`` ways, so a rank does ``T k`` token-experts of work under balanced routing, and
    ``expert_load_factor`` times that on the busiest rank under dropless routing.
    """
    t = tokens_per_rank(ctx, lay, t)
    tk = expert_tokens(ctx, lay, t) * ctx.top_k
    local = ctx.experts / lay.ep
    rows = np.maximum(tk * lay.ep * lay.etp / ctx.experts, 1.0)  # (>= 1 keeps dense rows finite; masked later)
    width = ctx.expert_ffn_hidden / lay.etp
    up_cols = (ctx.ffn_mats - 1) * width
    up = gemm_time_s(r, rows, up_cols, ctx.hidden, local) / wave_eff(ctx, rows, up_cols, local)
    down = gemm_time_s(r, rows, ctx.hidden, width, local) / wave_eff(ctx, rows, ctx.hidden, local)
    # the busiest rank's experts run this many times the mean rows: their GEMM time scales with it (the waves of
    # the mean rows kept, so a load over a tile boundary does not look cheaper than one just under it)
    load = expert_load_factor(ctx, lay)
    routed = load * (up + down) / ctx.k["grouped_gemm_eff"]
    router = gemm_time_s(bf16_rates(ctx), t, ctx.experts.astype(np.float64), ctx.hidden)
    shared = np.where(
        ctx.shared_experts > 0,
        _ffn_gemms(r, t, ctx.hidden, np.maximum(ctx.shared_experts, 1) * ctx.expert_ffn_hidden / lay.tp,
                   ctx.ffn_mats, None),
        0.0,
    )
    permute = ctx.k["moe_permute_bytes"] * load * tk * ctx.hidden / ctx.hbm_bytes_per_s
    return routed + router + shared + permute + local * ctx.k["expert_overhead_s"]


# --- element-wise ------------------------------------------------------------------


def elementwise_s(ctx: Context, lay: Layouts, *, moe_layer: bool, t: np.ndarray | None = None) -> np.ndarray:
    """Memory-bound forward work: norms, residuals, rotary, activation (split by tp only with SP)."""
    t = tokens_per_rank(ctx, lay, t)
    if moe_layer:
        ffn = _moe_activation_bytes(ctx, lay, t)
    else:
        ffn = ctx.kept("ew_ffn_bytes_gated", _ew_ffn_bytes_gated) * (t * ctx.ffn_hidden / lay.tp)
    return (_hidden_elementwise_bytes(ctx, lay, t) + ffn) / ctx.hbm_bytes_per_s


def _hidden_elementwise_bytes(ctx: Context, lay: Layouts, t: np.ndarray) -> np.ndarray:
    """HBM traffic of the hidden-width element-wise work: norms, residual adds, rotary (forward)."""
    return ctx.ew_hidden_bytes * t * ctx.hidden / lay.hidden_split


def _moe_activation_bytes(ctx: Context, lay: Layouts, t: np.ndarray) -> np.ndarray:
    """HBM traffic of an MoE layer's routed and shared experts' activation (forward), on the busiest rank."""
    ffn_units = expert_load_factor(ctx, lay) * expert_tokens(ctx, lay, t) * ctx.top_k * ctx.expert_ffn_hidden
    ffn_units = ffn_units + t * ctx.shared_experts * ctx.expert_ffn_hidden / lay.tp
    return ctx.kept("ew_ffn_bytes_gated", _ew_ffn_bytes_gated) * ffn_units


def _ew_ffn_bytes_gated(ctx: Context) -> np.ndarray:
    """Element-wise bytes per FFN unit, with a gated FFN's extra half."""
    return ctx.ew_ffn_bytes * (1.0 + 0.5 * (ctx.ffn_mats - 2))


# --- one layer -----------------------------------------------------------------------


@dataclass(frozen=True)
class LayerTimes:
    """Seconds per micro-batch per GPU for one layer (arrays over rows), averaged over dense and MoE layers."""

    fwd_s: np.ndarray
    bwd_s: np.ndarray
    recompute_s: np.ndarray
    linear_fwd_s: np.ndarray  # the GEMMs a TP overlap can hide communication under
    attn_core_fwd_s: np.ndarray
    moe_fwd_s: np.ndarray  # expert part of an MoE layer (0 for dense), for EP overlap
    tokens_per_rank: np.ndarray | None = None  # ``tokens_per_rank`` of the rows, as the layer saw them


def layer_times(ctx: Context, lay: Layouts) -> LayerTimes:
    """Compute time of one layer for one micro-batch: forward, backward, recompute."""
    r = gemm_rates(ctx, lay)
    t = tokens_per_rank(ctx, lay)
    attn_lin = attention_linear_s(ctx, lay, r, t)
    core_fwd, core_bwd = attention_core_s(ctx, lay, t)
    frac = ctx.moe_frac
    dense_ffn = ffn_dense_s(ctx, lay, r, t)
    any_moe = ctx.any_moe
    ew = elementwise_s(ctx, lay, moe_layer=False, t=t)
    if any_moe:
        moe_ffn = np.where(ctx.is_moe, ffn_moe_s(ctx, lay, r, t), 0.0)
        ffn = (1 - frac) * dense_ffn + frac * moe_ffn
        ew = (1 - frac) * ew + frac * elementwise_s(ctx, lay, moe_layer=True, t=t)
    else:  # (dense rows only: the MoE share is 0, and its terms exactly nothing)
        moe_ffn, ffn = np.zeros_like(dense_ffn), dense_ffn
    linear = attn_lin + ffn
    floor = ctx.k["kernels_per_layer"] * ctx.k["launch_s"]
    fwd = np.maximum(linear + core_fwd + ew, floor)
    bwd = np.maximum(2.0 * linear + core_bwd + ctx.k["ew_bwd_per_fwd"] * ew, 2 * floor)
    if any_moe:  # the fixed per-expert cost is paid once per pass, not twice like the GEMMs
        bwd = bwd - frac * np.where(ctx.is_moe, ctx.experts / lay.ep * ctx.k["expert_overhead_s"], 0.0)

    def repeated(code: int) -> np.ndarray:
        """What a selective-recompute policy repeats of the forward pass."""
        if code == SEL_ATTENTION_CORE:
            return core_fwd
        if code == SEL_OP_LEVEL:
            return 0.5 * linear + ew
        if code == SEL_NORM_ACT:
            return ew
        if code == SEL_NORM_MOE:
            return ew + frac * moe_ffn
        norms = _hidden_elementwise_bytes(ctx, lay, t) / ctx.hbm_bytes_per_s  # (the hidden-width element-wise work)
        if code == SEL_NORM:
            return norms
        if code == SEL_NORM_MLA_UP:
            return norms + mla_up_s(ctx, lay, r, t)
        return mla_up_s(ctx, lay, r, t)  # SEL_MLA_UP

    selective = by_selective_code(ctx, lay, repeated)
    recompute = np.where(lay.rc_full, fwd, np.where(lay.rc_selective, selective, 0.0))
    if any_moe and lay.any_fp8 and ctx.flag("sw_fp8_moe_act_cache") is not False:
        recompute = recompute + _cached_activation_s(ctx, lay, t)
    return LayerTimes(fwd, bwd, recompute, linear, core_fwd, frac * moe_ffn, t)


def _cached_activation_s(ctx: Context, lay: Layouts, t: np.ndarray) -> np.ndarray:
    """The experts' activation output recomputed in the backward where an FP8 run caches only its inputs
    (``fp8_moe_activation_cache``; DeepSeek-V3 report Sec. 3.3.3), unless a recompute policy repeats it anyway."""
    repeats = by_selective_code(ctx, lay, lambda code: float(code in SEL_REPEATING_ACTIVATION))
    again = lay.rc_full | (lay.rc_selective & (np.asarray(repeats) > 0.0))
    cached = lay.fp8 & ctx.sw_fp8_moe_act_cache & ctx.is_moe & ~again
    return np.where(cached, ctx.moe_frac * _moe_activation_bytes(ctx, lay, t) / ctx.hbm_bytes_per_s, 0.0)


def logits_s(ctx: Context, lay: Layouts, t: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Forward and backward time of the output layer and the cross-entropy loss, one micro-batch."""
    t = tokens_per_rank(ctx, lay, t)
    cols = ctx.vocab / lay.tp
    gemm = gemm_time_s(bf16_rates(ctx), t, cols, ctx.hidden)
    loss = t * cols * ctx.k["logits_bytes"] / ctx.hbm_bytes_per_s
    return gemm + loss, 2.0 * gemm + loss
