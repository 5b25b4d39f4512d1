"""A parallel layout: how one training job splits its model and batch over GPUs.

Field names follow ``shared/validation/README.md``. Whether a layout is
*feasible* for a model and cluster (divisibility, memory) is decided by
``colossus.perf``; the spec only checks each value on its own.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from colossus.spec.base import Spec
from colossus.spec.bounds import BatchSequences, Degree, GpuCount, whole
from colossus.spec.hardware import Precision


class Recompute(StrEnum):
    NONE = "none"
    SELECTIVE = "selective"  # attention core only (Korthikanti et al. 2022)
    FULL = "full"  # whole layer, keeping only its input


class LayoutSpec(Spec):
    tp: Degree = Field(1, description="tensor-parallel degree")
    pp: Degree = Field(1, description="pipeline-parallel stages")
    dp: GpuCount = Field(description="data-parallel replicas")
    cp: Degree = Field(1, description="context-parallel degree")
    ep: Degree = Field(1, description="expert-parallel degree (splits the experts of a layer)")
    etp: Degree = Field(
        1, description="expert tensor-parallel degree: how many ranks split one expert's FFN (MoE parallel folding)"
    )
    micro_batch: Degree = Field(1, description="sequences per micro-batch")
    global_batch: BatchSequences = Field(description="sequences per optimizer step")
    interleave: Degree = Field(1, description="virtual pipeline stages per GPU")
    recompute: Recompute = Recompute.NONE
    sequence_parallel: bool = False
    zero: whole(ge=0, le=3) = Field(0,  # type: ignore[valid-type]
                                    description="0 none, 1 optimizer, 2 +gradients, 3 +parameters (FSDP)")
    precision: Precision = Precision.BF16

    @property
    def label(self) -> str:
        """A compact one-line description, e.g. ``tp=8 pp=16 dp=128 mb=1 gb=2048 v=2 rc=full sp zero=1 bf16``."""
        parts = [f"tp={self.tp}", f"pp={self.pp}", f"dp={self.dp}"]
        parts += [f"{k}={v}" for k, v in (("cp", self.cp), ("ep", self.ep), ("etp", self.etp)) if v > 1]
        parts += [f"mb={self.micro_batch}", f"gb={self.global_batch}"]
        parts += [f"v={self.interleave}"] if self.interleave > 1 else []
        parts += [f"rc={self.recompute.value}"] + (["sp"] if self.sequence_parallel else [])
        return " ".join([*parts, f"zero={self.zero}", self.precision.value])

    @property
    def num_gpus(self) -> int:
        """GPUs the layout occupies: tp x pp x cp x dp (ep reuses the dp x cp GPUs)."""
        return self.tp * self.pp * self.cp * self.dp

    @property
    def num_micro_batches(self) -> int:
        """Micro-batches per replica per step (may be fractional in an infeasible layout)."""
        return self.global_batch // (self.dp * self.micro_batch)
