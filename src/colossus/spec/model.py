"""A transformer to train: dense or mixture-of-experts.

Field names follow ``shared/validation/README.md`` so that a measured run's
``model:`` block is a ``ModelSpec`` as written. Optional fields get the
documented defaults on load (``kv_heads`` = ``heads``, ``ffn_hidden`` =
4 x ``hidden``, ``head_dim`` = ``hidden / heads``, ``vocab`` = 51,200), so every instance holds
concrete numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Any

from pydantic import Field, model_validator

from colossus.spec.base import CatalogItem, Spec
from colossus.spec.bounds import Degree, DegreeOrZero, Width, WidthOrZero


class Activation(StrEnum):
    GELU = "gelu"  # two FFN matrices (up, down)
    SWIGLU = "swiglu"  # three FFN matrices (gate, up, down); also stands for other gated units (GeGLU)

    @property
    def ffn_matrices(self) -> int:
        return 2 if self is Activation.GELU else 3


class Norm(StrEnum):
    LAYERNORM = "layernorm"
    RMSNORM = "rmsnorm"


class MoESpec(Spec):
    experts: Degree = Field(description="routed experts per MoE layer")
    top_k: Degree = Field(description="routed experts per token")
    expert_ffn_hidden: Width = Field(description="FFN width of one expert")
    shared_experts: DegreeOrZero = Field(0, description="experts every token passes through")
    every: Degree = Field(1, description="every k-th layer (after the dense ones) is MoE")

    @model_validator(mode="after")
    def _check(self) -> MoESpec:
        if self.top_k > self.experts:
            raise ValueError(f"top_k ({self.top_k}) exceeds experts ({self.experts})")
        return self


class MLASpec(Spec):
    """Multi-head latent attention (DeepSeek-V2/V3, arXiv:2405.04434 Sec. 2.1): low-rank Q and KV projections.

    Queries go ``hidden -> q_lora_rank -> heads x (qk_nope + qk_rope)``; keys and
    values ``hidden -> kv_lora_rank (+ a shared qk_rope key) -> heads x (qk_nope + v)``;
    the output projection reads ``heads x v_head_dim``.
    """

    q_lora_rank: WidthOrZero = Field(description="rank of the query down-projection; 0 = a full-rank query projection")
    kv_lora_rank: Width = Field(description="rank of the compressed key-value latent")
    qk_nope_head_dim: Width = Field(description="per-head query/key width without rotary embedding")
    qk_rope_head_dim: Width = Field(description="per-head query/key width with rotary embedding")
    v_head_dim: Width = Field(description="per-head value width")

    @property
    def qk_head_dim(self) -> int:
        return self.qk_nope_head_dim + self.qk_rope_head_dim


class ModelSpec(CatalogItem):
    name: str = "model"
    layers: Degree
    hidden: Width
    heads: Degree
    kv_heads: Degree
    head_dim: Width
    ffn_hidden: Width
    activation: Activation
    vocab: Width = Field(
        51200,
        description="vocabulary size; default: GPT-2's BPE padded to a multiple of 1024 as Megatron-LM does",
    )
    seq_len: Width
    moe: MoESpec | None = None
    mla: MLASpec | None = Field(None, description="multi-head latent attention instead of q/k/v projections")
    first_dense_layers: DegreeOrZero = Field(0, description="leading layers that stay dense in an MoE model")
    norm: Norm = Field(
        description="normalisation layer; default: rmsnorm for gated (SwiGLU) models, layernorm otherwise"
    )
    rotary: bool = Field(description="rotary position embedding on q and k; default: true for gated (SwiGLU) models")
    dropout: bool = Field(
        description="hidden dropout in training (its masks are kept for the backward); default: false for gated"
        " (SwiGLU) models, which train without it (Llama, Qwen, Mixtral, DeepSeek configs: dropout 0),"
        " true otherwise (GPT-3 and Megatron-LM's default 0.1)"
    )
    tied_embeddings: bool = Field(False, description="input embedding and output layer share weights")

    @model_validator(mode="before")
    @classmethod
    def _defaults(cls, data: Any) -> Any:
        return cls.fill_defaults(data)

    @classmethod
    def fill_defaults(cls, data: Any) -> Any:
        """Fill the documented defaults so that every field is concrete."""
        if not isinstance(data, Mapping):
            return data
        out = dict(data)
        heads, hidden = out.get("heads"), out.get("hidden")
        if "kv_heads" not in out and heads is not None:
            out["kv_heads"] = heads
        if "ffn_hidden" not in out and isinstance(hidden, int):
            out["ffn_hidden"] = 4 * hidden
        if "head_dim" not in out and isinstance(hidden, int) and isinstance(heads, int) and heads > 0:
            if hidden % heads:
                raise ValueError(f"hidden ({hidden}) is not a multiple of heads ({heads}); give head_dim")
            out["head_dim"] = hidden // heads
        gated = out.get("activation") in (Activation.SWIGLU, Activation.SWIGLU.value)
        # Llama-style models (SwiGLU) use RMSNorm and RoPE; GPT-style ones (GeLU) LayerNorm and learned positions
        out.setdefault("norm", Norm.RMSNORM.value if gated else Norm.LAYERNORM.value)
        out.setdefault("rotary", gated)
        out.setdefault("dropout", not gated)
        moe = out.get("moe")
        if isinstance(moe, Mapping) and "first_dense_layers" in moe:
            # the validation format nests it under moe: (shared/validation/README.md); one place here
            if "first_dense_layers" in out:
                raise ValueError("give first_dense_layers once: under moe or at the model's top level")
            moe = dict(moe)
            out["first_dense_layers"] = moe.pop("first_dense_layers")
            out["moe"] = moe
        if isinstance(moe, Mapping) and "expert_ffn_hidden" not in moe and "ffn_hidden" in out:
            out["moe"] = {**moe, "expert_ffn_hidden": out["ffn_hidden"]}
        return out

    @model_validator(mode="after")
    def _check(self) -> ModelSpec:
        if self.heads % self.kv_heads:
            raise ValueError(f"heads ({self.heads}) must be a multiple of kv_heads ({self.kv_heads})")
        if self.first_dense_layers > self.layers:
            raise ValueError(f"first_dense_layers ({self.first_dense_layers}) exceeds layers ({self.layers})")
        if self.first_dense_layers and self.moe is None:
            raise ValueError("first_dense_layers is only meaningful with moe")
        if self.moe is not None and self.num_moe_layers == 0:
            raise ValueError(f"moe: no layer is a mixture of experts ({self.layers} layers, the first"
                             f" {self.first_dense_layers} dense, then one in {self.moe.every} MoE);"
                             " leave moe out for a dense model")
        return self

    # --- structure -------------------------------------------------------
    @property
    def num_moe_layers(self) -> int:
        if self.moe is None:
            return 0
        return (self.layers - self.first_dense_layers) // self.moe.every

    @property
    def num_dense_layers(self) -> int:
        return self.layers - self.num_moe_layers

    @property
    def qk_head_dim(self) -> int:
        """Per-head width of queries and keys (the score matmul's inner dimension)."""
        return self.mla.qk_head_dim if self.mla is not None else self.head_dim

    @property
    def v_head_dim(self) -> int:
        """Per-head width of values (the A V matmul's output)."""
        return self.mla.v_head_dim if self.mla is not None else self.head_dim

    @property
    def attention_params(self) -> int:
        """Q, K, V and output projections of one layer (no biases); MLA's low-rank factors when given."""
        if self.mla is not None:
            m, h = self.mla, self.hidden
            q = h * self.heads * m.qk_head_dim if m.q_lora_rank == 0 else (
                h * m.q_lora_rank + m.q_lora_rank * self.heads * m.qk_head_dim)
            kv = h * (m.kv_lora_rank + m.qk_rope_head_dim)
            kv += m.kv_lora_rank * self.heads * (m.qk_nope_head_dim + m.v_head_dim)
            return q + kv + self.heads * m.v_head_dim * h
        q_out = self.heads * self.head_dim
        kv_out = self.kv_heads * self.head_dim
        return self.hidden * (2 * q_out + 2 * kv_out)

    @property
    def dense_ffn_params(self) -> int:
        return self.activation.ffn_matrices * self.hidden * self.ffn_hidden

    @property
    def expert_params(self) -> int:
        """Parameters of one expert's FFN (0 for a dense model)."""
        if self.moe is None:
            return 0
        return self.activation.ffn_matrices * self.hidden * self.moe.expert_ffn_hidden

    @property
    def embedding_params(self) -> int:
        """Input embedding plus output layer (counted once if tied)."""
        return self.vocab * self.hidden * (1 if self.tied_embeddings else 2)

    def _moe_layer_params(self, experts: int) -> int:
        assert self.moe is not None
        router = self.hidden * self.moe.experts
        return (experts + self.moe.shared_experts) * self.expert_params + router

    @property
    def num_params(self) -> int:
        """All parameters (norm weights included, biases excluded)."""
        norms = 2 * self.hidden * self.layers + self.hidden
        total = self.layers * self.attention_params + self.num_dense_layers * self.dense_ffn_params
        if self.moe is not None:
            total += self.num_moe_layers * self._moe_layer_params(self.moe.experts)
        return total + self.embedding_params + norms

    @property
    def num_active_params(self) -> int:
        """Parameters one token passes through (routed experts: only ``top_k``)."""
        if self.moe is None:
            return self.num_params
        inactive = self.num_moe_layers * (self.moe.experts - self.moe.top_k) * self.expert_params
        return self.num_params - inactive
