"""Filler jobs: the smaller jobs that fill the cluster around the scenario's named jobs.

Either replayed from a real job trace (the Philly trace of Jeon et al., USENIX
ATC 2019, in its published JSON form) scaled in size and time, or generated
from a documented distribution (``synthetic``), or none.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from colossus.spec.base import Spec
from colossus.spec.hardware import NonNegInt, PositiveFloat, PositiveInt


class WorkloadSpec(Spec):
    """Where the filler jobs come from and how they are scaled."""

    source: Literal["none", "philly", "synthetic"] = Field(
        default="none", description="none, a replay of a Philly-format trace, or a synthetic stream")
    trace: str | None = Field(
        default=None,
        description="path of a Philly-format jobs.json (relative to the scenario file); null = the shipped copy")
    gpu_scale: PositiveFloat = Field(default=1.0, description="multiply each job's GPU count (rounded to whole servers)")
    time_scale: PositiveFloat = Field(default=1.0, description="multiply submit times and runtimes")
    max_job_gpus: PositiveInt | None = Field(default=None, description="cap on one filler job's GPUs after scaling")
    repeat: bool = Field(default=True, description="replay the trace again until the simulated period is covered")
    priority: NonNegInt = Field(default=0, description="scheduling priority of every filler job")
    pool: str | None = Field(default=None, description="pool the filler jobs run on; null = any pool")
    # synthetic stream
    arrivals_per_day: PositiveFloat = Field(default=100.0, description="synthetic: mean job arrivals per day")
