"""The training software stack a run or job uses, as far as it is stated.

Field names follow ``shared/validation/README.md`` (the ``software:`` block).
Every field is optional: a field left out falls back on the named framework's
profile (``catalog/data/software.toml``: what that framework did by default at
that version), then on the performance model's documented defaults. The
software stack is an input of its own, apart from the GPU: the same H100 runs
an unfused 2021 attention kernel or FlashAttention-3, eager or compiled
element-wise code, with or without communication overlap, depending on it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from colossus.spec.base import Spec


class Framework(StrEnum):
    MEGATRON_LM = "megatron-lm"
    NEMO = "nemo"
    TORCHTITAN = "torchtitan"
    MEGASCALE = "megascale"
    DEEPSPEED = "deepspeed"
    MAXTEXT = "maxtext"
    OTHER = "other"


class AttentionKernel(StrEnum):
    UNFUSED = "unfused"  # batched GEMMs + softmax through HBM (Megatron-LM 2021)
    FLASH2 = "flash2"  # FlashAttention-2 (Dao 2023)
    FLASH3 = "flash3"  # FlashAttention-3 (Shah et al. 2024), Hopper only
    CUDNN = "cudnn"  # cuDNN fused attention (Transformer Engine)
    SDPA = "sdpa"  # PyTorch scaled_dot_product_attention (dispatches to a flash kernel)


class GradReduceDtype(StrEnum):
    FP32 = "fp32"
    BF16 = "bf16"


class SoftwareSpec(Spec):
    """What the training stack does; ``None`` = the framework profile's default."""

    framework: Framework | None = Field(None, description="training framework; null = the model's default stack")
    version: str | None = Field(None, description="release, commit or paper year (free text)")
    profile: str | None = Field(
        None, description="a software profile by catalog name (e.g. torchtitan-compile); fields given here override it"
    )
    attention: AttentionKernel | None = Field(None, description="attention kernel")
    compiled: bool | None = Field(None, description="torch.compile or fused element-wise kernels")
    tp_comm_overlap: bool | None = Field(None, description="TP/SP collectives overlapped with GEMMs")
    dp_comm_overlap: bool | None = Field(None, description="DP gradient reduce / parameter gather overlapped")
    pp_comm_overlap: bool | None = Field(None, description="pipeline sends/receives overlapped with compute")
    parallel_block: bool | None = Field(None, description="attention and MLP computed in parallel (PaLM style)")
    async_tp: bool | None = Field(None, description="asynchronous (decomposed) tensor parallelism")
    grad_reduce_dtype: GradReduceDtype | None = Field(None, description="data type of the gradient reduction")

    @property
    def stated(self) -> dict[str, object]:
        """The fields this block sets (framework and version included)."""
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}
