"""FLOPs of one training token: model FLOPs (PaLM / Megatron convention) and hardware FLOPs.

Model FLOPs count every matrix multiply of the forward and backward pass,
attention's ``Q K^T`` and ``A V`` included and *not* halved for causal masking,
and no recomputation (Chowdhery et al. 2022, PaLM, App. B; Narayanan et al.
2021, eq. 3; Korthikanti et al. 2022, App. A eq. 7). Per token and layer the
forward pass is ``2 x (weights the token passes through) + 4 x s x (heads x
head_dim)``; the backward pass is twice the forward. Hardware FLOPs add what
activation recomputation repeats: the whole forward of every layer (full) or
what the selective policy repeats: the attention core's forward (Korthikanti et
al. eq. 8), half the matmuls (every other one, torchtitan's op-level policy),
the MoE blocks, MLA's up-projections, or no matmul at all (norms and
activations).

Element-wise work (norms, activations, softmax) is not counted, by convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from colossus.spec import ModelSpec, Recompute, SelectiveRecompute

#: One multiply-add is two FLOPs.
FLOP_PER_MAC = 2
#: The backward pass of a matmul costs two of its forward (input and weight gradients).
BWD_PER_FWD = 2


@dataclass(frozen=True, slots=True)
class TokenFlops:
    """Forward FLOPs of one token through the model's parts (model convention)."""

    attn_linear_fwd_flop: float  # Q, K, V and output projections, all layers
    attn_core_fwd_flop: float  # Q K^T and A V, all layers, full (non-causal) count
    ffn_fwd_flop: float  # dense FFNs, routed (top-k) and shared experts, routers, all layers
    logits_fwd_flop: float  # output layer
    moe_ffn_fwd_flop: float = 0.0  # the MoE layers' routers, routed and shared experts (part of ffn_fwd_flop)
    mla_up_fwd_flop: float = 0.0  # MLA's query and key-value up-projections (part of attn_linear_fwd_flop)

    @property
    def fwd_flop(self) -> float:
        return self.attn_linear_fwd_flop + self.attn_core_fwd_flop + self.ffn_fwd_flop + self.logits_fwd_flop

    @property
    def model_flop(self) -> float:
        """Model FLOPs of one token, forward and backward."""
        return (1 + BWD_PER_FWD) * self.fwd_flop

    @property
    def model_causal_flop(self) -> float:
        """Model FLOPs with attention's score and value matmuls halved for the causal mask.

        The convention of Megatron-core since 2024 and NeMo's performance tables
        (``shared/validation/README.md``, ``model_causal``).
        """
        return self.model_flop - (1 + BWD_PER_FWD) * 0.5 * self.attn_core_fwd_flop

    def hardware_flop(self, recompute: Recompute | str, policy: SelectiveRecompute | None = None) -> float:
        """Model FLOPs plus what ``recompute`` repeats (the output layer is never recomputed); under selective
        recompute, what ``policy`` repeats (None: the attention core, Korthikanti et al.'s)."""
        recompute = Recompute(recompute)
        if recompute is Recompute.FULL:
            return self.model_flop + self.fwd_flop - self.logits_fwd_flop
        if recompute is Recompute.SELECTIVE:
            return self.model_flop + self.selective_fwd_flop(policy)
        return self.model_flop

    def selective_fwd_flop(self, policy: SelectiveRecompute | None) -> float:
        """Forward matmul FLOPs a selective-recompute policy repeats (as ``perf.compute`` times them)."""
        if policy is None or policy is SelectiveRecompute.ATTENTION_CORE:
            return self.attn_core_fwd_flop
        if policy is SelectiveRecompute.OP_LEVEL:  # every other matmul of the layers, not attention's core
            return 0.5 * (self.attn_linear_fwd_flop + self.ffn_fwd_flop)
        if policy is SelectiveRecompute.NORM_MOE:
            return self.moe_ffn_fwd_flop
        if policy in (SelectiveRecompute.MLA_UP, SelectiveRecompute.NORM_MLA_UP):
            return self.mla_up_fwd_flop
        return 0.0  # NORM, NORM_ACT: norms and activations, element-wise work no FLOP count includes


def attn_core_fwd_flop_per_layer(model: ModelSpec, seq_len: int) -> float:
    """``Q K^T`` and ``A V`` of one token in one layer: 2 FLOP x s x heads x (qk width + v width).

    With equal widths (no MLA) this is the usual ``4 s heads head_dim``.
    """
    return FLOP_PER_MAC * seq_len * model.heads * (model.qk_head_dim + model.v_head_dim)


def ffn_fwd_flop_per_layer(model: ModelSpec, *, moe_layer: bool) -> float:
    """FFN forward FLOPs of one token: dense FFN, or router + top-k routed + shared experts."""
    if not moe_layer or model.moe is None:
        return FLOP_PER_MAC * model.dense_ffn_params
    moe = model.moe
    router = model.hidden * moe.experts
    return FLOP_PER_MAC * ((moe.top_k + moe.shared_experts) * model.expert_params + router)


@cache
def token_flops(model: ModelSpec, seq_len: int | None = None) -> TokenFlops:
    """Forward FLOPs of one token of a ``seq_len`` sequence (default: the model's)."""
    s = model.seq_len if seq_len is None else seq_len
    moe = model.num_moe_layers * ffn_fwd_flop_per_layer(model, moe_layer=True)
    ffn = model.num_dense_layers * ffn_fwd_flop_per_layer(model, moe_layer=False) + moe
    mla_up = 0
    if model.mla is not None:
        m = model.mla
        mla_up = m.q_lora_rank * model.heads * m.qk_head_dim  # (0 for a full-rank query projection)
        mla_up += m.kv_lora_rank * model.heads * (m.qk_nope_head_dim + m.v_head_dim)
    return TokenFlops(
        attn_linear_fwd_flop=FLOP_PER_MAC * model.layers * model.attention_params,
        attn_core_fwd_flop=model.layers * attn_core_fwd_flop_per_layer(model, s),
        ffn_fwd_flop=ffn,
        logits_fwd_flop=FLOP_PER_MAC * model.hidden * model.vocab,
        moe_ffn_fwd_flop=moe,
        mla_up_fwd_flop=FLOP_PER_MAC * model.layers * mla_up,
    )


def model_flop_per_token(model: ModelSpec, seq_len: int | None = None) -> float:
    """Model FLOPs (forward + backward, no recompute) of one token."""
    return token_flops(model, seq_len).model_flop
