"""The power model's view of a training job: its step phases, draw and throughput.

``StepProfile`` is the small input the deficit and swing models are pure
functions of. It comes from the performance model (``from_estimate``) when the
job has a layout perf can estimate, else from documented defaults
(``default_profile``: phase shares and an MFU from ``power_load.toml``).
Phases follow perf's step breakdown, grouped by how hard they drive the GPU:

* ``compute``: forward, backward, recompute, plus in-layer tensor/context/expert
  communication that shows (sub-millisecond, far below what a site sees);
* ``pipeline``: pipeline bubble and exposed send/recv (GPUs wait);
* ``gradient sync``: exposed data-parallel reduction (the network works, SMs rest);
* ``optimizer``: the optimizer step and other memory-bound work.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

from colossus.perf.estimate import Estimate
from colossus.perf.flops import model_flop_per_token
from colossus.power.assumptions import PowerAssumptions
from colossus.spec import GpuSpec, JobSpec, LayoutSpec


@dataclass(frozen=True, slots=True)
class Phase:
    name: str
    duration_s: float
    draw_frac: float  # uncapped GPU draw in this phase, fraction of TDP


@dataclass(frozen=True, slots=True)
class StepProfile:
    """One synchronous training step of a job, as the power model needs it."""

    job: str
    gpu: GpuSpec
    num_gpus: int
    gpus_per_replica: int
    phases: tuple[Phase, ...]
    tokens_per_step: float
    source: str  # "perf estimate" or "defaults"

    @property
    def step_time_s(self) -> float:
        return sum(p.duration_s for p in self.phases)

    @property
    def num_replicas(self) -> int:
        return self.num_gpus // self.gpus_per_replica

    @property
    def tokens_per_s(self) -> float:
        return self.tokens_per_step / self.step_time_s

    @property
    def mean_draw_w(self) -> float:
        """Time-averaged uncapped GPU draw over the step, W."""
        return sum(p.duration_s * p.draw_frac for p in self.phases) * self.gpu.tdp_w / self.step_time_s

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "source": self.source,
            "num_gpus": self.num_gpus,
            "gpus_per_replica": self.gpus_per_replica,
            "num_replicas": self.num_replicas,
            "step_time_s": self.step_time_s,
            "tokens_per_step": self.tokens_per_step,
            "tokens_per_s": self.tokens_per_s,
            "mean_gpu_draw_w": self.mean_draw_w,
            "phases": [{"name": p.name, "duration_s": p.duration_s, "draw_w": p.draw_frac * self.gpu.tdp_w}
                       for p in self.phases],
        }


def _draws(a: PowerAssumptions) -> dict[str, float]:
    return {
        "compute": a.f("load.phases.compute_draw_frac"),
        "pipeline": a.f("load.phases.bubble_draw_frac"),
        "gradient sync": a.f("load.phases.comm_draw_frac"),
        "optimizer": a.f("load.phases.optimizer_draw_frac"),
    }


def _phases(durations_s: dict[str, float], a: PowerAssumptions) -> tuple[Phase, ...]:
    draws = _draws(a)
    return tuple(Phase(name, durations_s[name], draws[name]) for name in draws if durations_s[name] > 0)


def replica_gpus(layout: LayoutSpec | None, a: PowerAssumptions) -> int:
    """GPUs per data-parallel replica: tp x pp x cp of the layout, else the named default."""
    if layout is None:
        return int(a.get("events.deficit.replica_gpus_default"))
    return layout.tp * layout.pp * layout.cp


def from_estimate(job: JobSpec, gpu: GpuSpec, est: Estimate, a: PowerAssumptions) -> StepProfile:
    """The adapter from perf: group ``est.parts_s`` into the four power phases."""
    p = est.parts_s
    durations = {
        "compute": p["compute_s"] + p["recompute_s"] + p["tp_exposed_s"] + p["cp_exposed_s"] + p["ep_exposed_s"],
        "pipeline": p["bubble_s"] + p["pp_exposed_s"],
        "gradient sync": p["dp_exposed_s"],
        "optimizer": p["optimizer_s"] + p["other_s"],
    }
    return StepProfile(job.name, gpu, est.num_gpus, replica_gpus(est.layout, a), _phases(durations, a),
                       est.tokens_per_step, "perf estimate")


def default_profile(job: JobSpec, gpu: GpuSpec, a: PowerAssumptions) -> StepProfile:
    """A profile from named defaults: phase shares and an MFU.

    ``tokens/s = mfu * peak * GPUs / (model FLOP per token)``; the step carries the job's
    global batch, so ``step time = global_batch_tokens / (tokens/s)``.
    """
    tokens_per_s = (
        a.f("load.phases.default_mfu") * gpu.peak_flop_per_s() * job.num_gpus / model_flop_per_token(job.model)
    )
    step_s = job.global_batch_tokens / tokens_per_s
    shares = {
        "compute": a.f("load.phases.default_compute_frac"),
        "pipeline": a.f("load.phases.default_bubble_frac"),
        "gradient sync": a.f("load.phases.default_comm_frac"),
        "optimizer": a.f("load.phases.default_optimizer_frac"),
    }
    total = sum(shares.values())
    durations = {k: step_s * v / total for k, v in shares.items()}
    rgpus = _fitting_replica(replica_gpus(job.layout, a), job.num_gpus)
    return StepProfile(job.name, gpu, job.num_gpus, rgpus, _phases(durations, a), job.global_batch_tokens, "defaults")


def _fitting_replica(wanted: int, num_gpus: int, gpus_per_server: int = 8) -> int:
    """The largest replica size <= ``wanted`` that divides the job into whole replicas of whole servers."""
    for size in range(min(wanted, num_gpus), 0, -1):
        if num_gpus % size == 0 and (size % gpus_per_server == 0 or size == num_gpus):
            return size
    return math.gcd(wanted, num_gpus)
