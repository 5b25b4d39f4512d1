"""Training jobs a scenario runs on the cluster."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from colossus.spec.base import Spec, ref
from colossus.spec.bounds import CheckpointMinutes, Day, GpuCount, Priority, Tokens, real
from colossus.spec.layout import LayoutSpec
from colossus.spec.model import ModelSpec
from colossus.spec.software import SoftwareSpec


class CheckpointSpec(Spec):
    """How a job checkpoints. ``auto_interval: true`` takes the Young/Daly optimum for the job's
    size, fleet and checkpoint cost, recomputed whenever it (re)starts on another size; the
    reliability model and the simulation then ignore ``interval_min`` (the power-swing
    analysis still reads it as the checkpoint period)."""

    interval_min: CheckpointMinutes = Field(description="minutes between checkpoints (unless auto_interval)")
    asynchronous: bool = Field(description="snapshot to host memory, write in the background")
    auto_interval: bool = Field(default=False, description="Young/Daly optimum for the job's current size")
    in_memory: bool = Field(
        default=False, description="copy snapshots to peers' host memory (Gemini-style replicas), restart from them")

    @model_validator(mode="after")
    def _in_memory_is_asynchronous(self) -> CheckpointSpec:
        if self.in_memory and not self.asynchronous:
            raise ValueError("in-memory checkpoints snapshot asynchronously: set asynchronous: true")
        return self

    @property
    def mode(self) -> str:
        """blocking | async | in_memory."""
        return "in_memory" if self.in_memory else ("async" if self.asynchronous else "blocking")


class JobSpec(Spec):
    """A gang-scheduled training job."""

    name: str
    model: Annotated[ModelSpec, ref("models")]
    num_gpus: GpuCount
    pool: str | None = Field(description="pool to run on; null = any pool with room")
    layout: LayoutSpec | None = Field(description="parallel layout; null = let the planner choose")
    software: SoftwareSpec | None = Field(
        None, description="training stack (profile, framework, overlaps, ...); null = the model's default stack"
    )
    train_tokens: Tokens = Field(description="token budget of the run")
    global_batch_tokens: Tokens = Field(description="tokens per optimizer step")
    priority: Priority = 0
    start_day: Day = 0.0
    checkpoint: CheckpointSpec
    throughput_scale: real(gt=0, le=10) = Field(  # type: ignore[valid-type]
        default=1.0, description="multiplier of the perf model's tokens/s in the simulation (1 = as predicted;"
                                 " a forecast draws it from the model's measured error)")

    @model_validator(mode="after")
    def _check(self) -> JobSpec:
        if self.layout is not None and self.layout.num_gpus != self.num_gpus:
            raise ValueError(
                f"layout uses tp*pp*cp*dp = {self.layout.num_gpus} GPUs but num_gpus is {self.num_gpus}"
            )
        return self
