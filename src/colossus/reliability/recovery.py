"""Recovery policies compared on goodput: wait for repairs, hot spares, continue elastically.

One Monte Carlo per policy on the same job, rates and seed (``montecarlo``):

* ``wait``: no spares; a fault that takes servers out waits for their repair;
* ``spares``: a hot-spare pool (the recommended size, or the user's) swaps in;
* ``elastic``: the job restarts at once on the servers it has left, slower in
  proportion, and takes repaired servers back at its next restart.

Goodput is failure-free training time over the mean wall time (the effective
training time ratio of the Monte Carlo).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from colossus.reliability.job import Analysis, simulate_job
from colossus.reliability.montecarlo import POLICIES


@dataclass(frozen=True, slots=True)
class PolicyResult:
    policy: str
    num_spares: int
    goodput: float  # failure-free work / mean wall time
    finish_s_mean: float
    finish_s_p50: float
    finish_s_p90: float
    wait_s_mean: float  # waiting for repairs (wait and spares policies)
    interruptions_mean: float

    def as_dict(self) -> dict[str, Any]:
        return {"policy": self.policy, "num_spares": self.num_spares, "goodput": self.goodput,
                "finish_s_mean": self.finish_s_mean, "finish_s_p50": self.finish_s_p50,
                "finish_s_p90": self.finish_s_p90, "wait_s_mean": self.wait_s_mean,
                "interruptions_mean": self.interruptions_mean}


def compare_recovery(an: Analysis, *, num_runs: int, seed: int) -> tuple[PolicyResult, ...]:
    """Every policy on ``an``'s job, each with a generator from the same ``seed``."""
    out = []
    for policy in POLICIES:
        spares = 0 if policy in ("wait", "elastic") else an.num_spares
        mc = simulate_job(replace(an, num_spares=spares), num_runs=num_runs, rng=np.random.default_rng(seed),
                          policy=policy)
        out.append(PolicyResult(policy, spares, an.work_s / float(mc.finish_s.mean()), float(mc.finish_s.mean()),
                                mc.quantile_s(0.5), mc.quantile_s(0.9), float(mc.spare_wait_s.mean()),
                                float(mc.interruptions.mean())))
    return tuple(out)
