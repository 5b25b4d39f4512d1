"""Filler jobs: the smaller jobs that fill the cluster around the scenario's named jobs.

Either replayed from a real job trace (the Philly trace of Jeon et al., USENIX
ATC 2019, in its published JSON form) scaled in size and time, or generated
from a documented distribution (``synthetic``), or none. ``colossus.sim.workload``
turns this spec into the list of jobs; its docstring says how each field acts.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from colossus.spec.base import Spec
from colossus.spec.bounds import GpuCount, Priority, real


class WorkloadSpec(Spec):
    """Where the filler jobs come from and how they are scaled.

    ``time_scale`` acts the same way on both sources: it stretches (> 1) or
    compresses (< 1) time, so submit times, runtimes and gaps between arrivals
    all scale by it and the offered load (GPU-seconds per second) stays the
    same. A synthetic stream of ``arrivals_per_day`` at ``time_scale: 0.5``
    therefore brings twice as many jobs a day, each half as long.
    """

    source: Literal["none", "philly", "synthetic"] = Field(
        default="none", description="none, a replay of a Philly-format trace, or a synthetic stream")
    trace: str | None = Field(
        default=None, min_length=1,
        description="philly: path of a Philly-format jobs.json or jobs.json.gz (relative to the scenario file);"
                    " null = the shipped copy of the ATC'19 trace; ignored by the other sources")
    gpu_scale: real(gt=0, le=1e4) = Field(  # type: ignore[valid-type]
        default=1.0, description="multiply each job's GPU count, then round up to whole servers")
    time_scale: real(ge=1e-4, le=1e4) = Field(  # type: ignore[valid-type]
        default=1.0, description="multiply submit times, gaps between arrivals and runtimes (load unchanged)")
    max_job_gpus: GpuCount | None = Field(
        default=None,
        description="cap on one filler job's GPUs after scaling, rounded down to whole servers (at least one"
                    " server's worth); null = the cluster's size")
    repeat: bool = Field(
        default=True,
        description="philly: replay the trace again, shifted by its span plus one mean gap,"
        " until the period is covered",
    )
    priority: Priority = Field(default=0, description="scheduling priority of every filler job")
    pool: str | None = Field(default=None, description="pool the filler jobs run on; null = any pool")
    # synthetic stream
    arrivals_per_day: real(gt=0, le=1e6) = Field(  # type: ignore[valid-type]
        default=100.0,
        description="synthetic: mean Poisson arrivals per day at time_scale 1 (the Philly trace has 27.9)")
