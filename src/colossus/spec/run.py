"""One training run: model, cluster slice, layout and optionally what was measured.

This is the format of ``shared/validation/training_runs.yaml`` (one entry) and
of the file ``colossus estimate`` reads.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any

from pydantic import Field, model_validator

from colossus.spec.base import Spec, ref
from colossus.spec.bounds import Efficiency, GbitPerS, GpuCount, Parts, PartWatts
from colossus.spec.hardware import GpuSpec, PositiveFloat
from colossus.spec.layout import LayoutSpec
from colossus.spec.model import ModelSpec
from colossus.spec.software import SoftwareSpec


class RunClusterSpec(Spec):
    gpu: Annotated[GpuSpec, ref("gpus")]
    gpus: GpuCount
    gpus_per_node: Parts = 8
    nic_gbit_per_s: GbitPerS | None = Field(
        None, description="scale-out bandwidth per GPU; null = the perf model's documented default"
    )
    power_limit_w: PartWatts | None = Field(
        None, description="the GPUs' power limit when it is below their TDP, W; null = at TDP"
    )
    hbm_gb: PositiveFloat | None = Field(
        None, description="HBM capacity in GB (1e9 bytes) when the GPU variant differs from the catalog"
    )
    hbm_gb_per_s: PositiveFloat | None = Field(
        None, description="HBM bandwidth in GB/s when the GPU variant differs from the catalog"
    )


class Convention(StrEnum):
    MODEL = "model"  # PaLM/Megatron model FLOPs, recompute not counted
    MODEL_CAUSAL = "model_causal"  # as MODEL, with attention's score and value matmuls halved (causal mask)
    HARDWARE = "hardware"  # recomputed FLOPs counted too


class MeasuredSpec(Spec):
    tflops_per_gpu: PositiveFloat | None = None
    mfu: Efficiency | None = None
    step_time_s: PositiveFloat | None = None
    tokens_per_s_per_gpu: PositiveFloat | None = None
    convention: Convention | None = None

    @model_validator(mode="after")
    def _check(self) -> MeasuredSpec:
        given = [self.tflops_per_gpu, self.mfu, self.step_time_s, self.tokens_per_s_per_gpu]
        if all(v is None for v in given):
            raise ValueError("give at least one of tflops_per_gpu, mfu, step_time_s, tokens_per_s_per_gpu")
        if (self.tflops_per_gpu is not None or self.mfu is not None) and self.convention is None:
            raise ValueError("tflops_per_gpu and mfu need a convention (model | model_causal | hardware)")
        return self


class RunSpec(Spec):
    id: str = "run"
    source: str | None = None
    model: Annotated[ModelSpec, ref("models")]
    cluster: RunClusterSpec
    layout: LayoutSpec
    software: SoftwareSpec = Field(default_factory=SoftwareSpec, description="the training stack, as stated")
    measured: MeasuredSpec | None = None
    notes: str | None = None

    @model_validator(mode="before")
    @classmethod
    def _derive_dp(cls, data: Any) -> Any:
        """``dp`` may be left out: it is GPUs / (tp * pp * cp) when that divides."""
        if not isinstance(data, Mapping):
            return data
        layout, cluster = data.get("layout"), data.get("cluster")
        if isinstance(layout, Mapping) and "dp" not in layout and isinstance(cluster, Mapping):
            gpus = cluster.get("gpus")
            split = 1
            for key in ("tp", "pp", "cp"):
                value = layout.get(key, 1)
                split *= value if isinstance(value, int) and value > 0 else 1
            if isinstance(gpus, int) and gpus % split == 0:
                return {**data, "layout": {**layout, "dp": gpus // split}}
        return data

    @model_validator(mode="after")
    def _check(self) -> RunSpec:
        if self.layout.num_gpus != self.cluster.gpus:
            raise ValueError(
                f"layout: tp*pp*cp*dp = {self.layout.num_gpus} but cluster.gpus = {self.cluster.gpus}"
            )
        return self

