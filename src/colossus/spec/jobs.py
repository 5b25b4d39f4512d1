"""Training jobs a scenario runs on the cluster."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from colossus.spec.base import Spec, ref
from colossus.spec.bounds import CheckpointMinutes, Day, GpuCount, Priority, Tokens
from colossus.spec.layout import LayoutSpec
from colossus.spec.model import ModelSpec


class CheckpointSpec(Spec):
    interval_min: CheckpointMinutes = Field(description="minutes between checkpoints")
    asynchronous: bool = Field(description="snapshot to host memory, write in the background")


class JobSpec(Spec):
    """A gang-scheduled training job."""

    name: str
    model: Annotated[ModelSpec, ref("models")]
    num_gpus: GpuCount
    pool: str | None = Field(description="pool to run on; null = any pool with room")
    layout: LayoutSpec | None = Field(description="parallel layout; null = let the planner choose")
    train_tokens: Tokens = Field(description="token budget of the run")
    global_batch_tokens: Tokens = Field(description="tokens per optimizer step")
    priority: Priority = 0
    start_day: Day = 0.0
    checkpoint: CheckpointSpec

    @model_validator(mode="after")
    def _check(self) -> "JobSpec":
        if self.layout is not None and self.layout.num_gpus != self.num_gpus:
            raise ValueError(
                f"layout uses tp*pp*cp*dp = {self.layout.num_gpus} GPUs but num_gpus is {self.num_gpus}"
            )
        return self
