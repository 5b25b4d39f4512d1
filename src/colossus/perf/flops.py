"""FLOPs of one training token: model FLOPs (PaLM / Megatron convention) and hardware FLOPs.

Model FLOPs count every matrix multiply of the forward and backward pass,
attention's ``Q K^T`` and ``A V`` included and *not* halved for causal masking,
and no recomputation (Chowdhery et al. 2022, PaLM, App. B; Narayanan et al.
2021, eq. 3; Korthikanti et al. 2022, App. A eq. 7). Per token and layer the
forward pass is ``2 x (weights the token passes through) + 4 x s x (heads x
head_dim)``; the backward pass is twice the forward. Hardware FLOPs add what
activation recomputation repeats: the whole forward of every layer (full) or
the attention core's forward (selective; Korthikanti et al. eq. 8).

Element-wise work (norms, activations, softmax) is not counted, by convention.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from colossus.spec import ModelSpec, Recompute

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

    def hardware_flop(self, recompute: Recompute | str) -> float:
        """Model FLOPs plus what ``recompute`` repeats (the output layer is never recomputed)."""
        recompute = Recompute(recompute)
        if recompute is Recompute.FULL:
            return self.model_flop + self.fwd_flop - self.logits_fwd_flop
        if recompute is Recompute.SELECTIVE:
            return self.model_flop + self.attn_core_fwd_flop
        return self.model_flop


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
    ffn = model.num_dense_layers * ffn_fwd_flop_per_layer(model, moe_layer=False)
    ffn += model.num_moe_layers * ffn_fwd_flop_per_layer(model, moe_layer=True)
    return TokenFlops(
        attn_linear_fwd_flop=FLOP_PER_MAC * model.layers * model.attention_params,
        attn_core_fwd_flop=model.layers * attn_core_fwd_flop_per_layer(model, s),
        ffn_fwd_flop=ffn,
        logits_fwd_flop=FLOP_PER_MAC * model.hidden * model.vocab,
    )


def model_flop_per_token(model: ModelSpec, seq_len: int | None = None) -> float:
    """Model FLOPs (forward + backward, no recompute) of one token."""
    return token_flops(model, seq_len).model_flop
