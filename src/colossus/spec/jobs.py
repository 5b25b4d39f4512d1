"""Training jobs a scenario runs on the cluster."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, model_validator

from colossus.spec.base import Spec, ref
from colossus.spec.hardware import NonNegFloat, NonNegInt, PositiveFloat, PositiveInt
from colossus.spec.layout import LayoutSpec
from colossus.spec.model import ModelSpec
from colossus.spec.software import SoftwareSpec


class CheckpointSpec(Spec):
    interval_min: PositiveFloat = Field(description="minutes between checkpoints")
    asynchronous: bool = Field(description="snapshot to host memory, write in the background")


class JobSpec(Spec):
    """A gang-scheduled training job."""

    name: str
    model: Annotated[ModelSpec, ref("models")]
    num_gpus: PositiveInt
    pool: str | None = Field(description="pool to run on; null = any pool with room")
    layout: LayoutSpec | None = Field(description="parallel layout; null = let the planner choose")
    software: SoftwareSpec | None = Field(
        None, description="training stack (profile, framework, overlaps, ...); null = the model's default stack"
    )
    train_tokens: PositiveFloat = Field(description="token budget of the run")
    global_batch_tokens: PositiveFloat = Field(description="tokens per optimizer step")
    priority: NonNegInt = 0
    start_day: NonNegFloat = 0.0
    checkpoint: CheckpointSpec

    @model_validator(mode="after")
    def _check(self) -> "JobSpec":
        if self.layout is not None and self.layout.num_gpus != self.num_gpus:
            raise ValueError(
                f"layout uses tp*pp*cp*dp = {self.layout.num_gpus} GPUs but num_gpus is {self.num_gpus}"
            )
        return self
