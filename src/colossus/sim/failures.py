"""Failure processes of the facility, drawn up front from the reliability model's rates.

Per-unit rates come from ``reliability.rates.catalog_causes`` (the Llama 3
interruption log, per GPU, server, NIC link, switch or job). The simulation
turns them into three Poisson processes over the whole period, all drawn with
vectorised numpy at the start so that the event loop only looks them up:

* **server causes** (per GPU, server or NIC link): one process at the rate of
  every server at its worst (burn-in) rate; each candidate picks a server
  (weighted by its pool's rate) and is *accepted* at event time with
  probability ``multiplier(state) / burn_in_multiplier``, the thinning
  construction of a non-homogeneous Poisson process (Lewis and Shedler,
  1979): an installed server fails at its rate (``burn_in_rate_multiplier``
  times it during burn-in), one not installed or already out never does;
* **switch causes**: per switch of the fabric; a switch failure interrupts the
  jobs on the servers below one leaf (a rail group of ``leaf span`` GPUs),
  the fabric routes around it, no server goes to repair;
* **job causes** (operator actions, external dependencies): per named job
  while it runs. Filler jobs do not get these: the log's rate is that of a
  16K-GPU flagship job, whose operators intervene far more than a small job's.

Repair times are lognormal with the cause's mean (``repair_h`` in the
catalog) and the scenario's coefficient of variation.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from colossus.reliability.rates import CauseRate, catalog_causes
from colossus.sim.cluster import Layout
from colossus.spec import ClusterSpec, FailureSpec
from colossus.topology import comm_levels
from colossus.topology.fabric import fabric_inventory, links_per_gpu


@dataclass(frozen=True)
class Candidates:
    """Candidate failures of one process, in time order (thinned at event time)."""

    time_s: np.ndarray
    target: np.ndarray  # server index, leaf group, or named-job index
    cause: np.ndarray  # index into ``causes``
    accept_u: np.ndarray  # uniform draw for thinning
    repair_s: np.ndarray  # sampled repair time if the cause needs one


@dataclass(frozen=True)
class FailurePlan:
    causes: tuple[CauseRate, ...]
    servers: Candidates
    switches: Candidates
    jobs: Candidates
    burn_in_multiplier: float
    leaf_servers: int  # servers below one leaf (per rail)


def _poisson_times(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    n = rng.poisson(rate_per_s * duration_s) if rate_per_s > 0 else 0
    return np.sort(rng.uniform(0.0, duration_s, size=n))


def _repairs(causes: tuple[CauseRate, ...], idx: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    mean = np.array([c.repair_s for c in causes])[idx] if idx.size else np.zeros(0)
    z = rng.standard_normal(idx.size)
    if cv <= 0:
        return mean
    sigma2 = math.log1p(cv * cv)
    return mean * np.exp(math.sqrt(sigma2) * z - sigma2 / 2.0)


def _candidates(times: np.ndarray, targets: np.ndarray, cause_p: np.ndarray, causes: tuple[CauseRate, ...],
                cv: float, rng: np.random.Generator) -> Candidates:
    cause = rng.choice(cause_p.size, size=times.size, p=cause_p) if times.size else np.zeros(0, dtype=np.int64)
    accept = rng.uniform(size=times.size)
    return Candidates(times, targets, cause, accept, _repairs(causes, cause, cv, rng))


def plan_failures(cluster: ClusterSpec, layout: Layout, spec: FailureSpec, *, num_named_jobs: int,
                  duration_s: float, rng: np.random.Generator) -> FailurePlan:
    """Draw every candidate failure of the period."""
    causes = catalog_causes()
    scale = spec.rate_scale
    lpg = links_per_gpu(cluster.fabric)
    # server-level causes: rate per server of each pool (GPUs per server differ by pool)
    server_idx = [i for i, c in enumerate(causes) if c.per in ("gpu", "server", "nic_link")]
    per_server = np.zeros((layout.num_pools, len(causes)))
    for p in range(layout.num_pools):
        units_per = {"gpu": layout.gpus_per_server[p], "server": 1, "nic_link": layout.gpus_per_server[p] * lpg}
        for i in server_idx:
            per_server[p, i] = scale * causes[i].per_unit_per_s * units_per[causes[i].per]
    servers_per_pool = layout.pool_end - layout.pool_start
    pool_rate = per_server.sum(axis=1) * servers_per_pool * spec.burn_in_rate_multiplier
    times = _poisson_times(float(pool_rate.sum()), duration_s, rng)
    pool_pick = rng.choice(layout.num_pools, size=times.size, p=pool_rate / pool_rate.sum()) \
        if times.size else np.zeros(0, dtype=np.int64)
    local = (rng.uniform(size=times.size) * servers_per_pool[pool_pick]).astype(np.int64)
    targets = layout.pool_start[pool_pick] + local
    cause = np.zeros(times.size, dtype=np.int64)
    for p in range(layout.num_pools):  # cause given the pool
        mask = pool_pick == p
        if mask.any():
            cause[mask] = rng.choice(len(causes), size=int(mask.sum()), p=per_server[p] / per_server[p].sum())
    server_c = Candidates(times, targets, cause, rng.uniform(size=times.size),
                          _repairs(causes, cause, spec.repair_cv, rng))
    # switch causes
    fab = fabric_inventory(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)
    switch_rates = np.array([scale * c.per_unit_per_s * fab.num_switches if c.per == "switch" else 0.0
                             for c in causes])
    leaf_span = comm_levels(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)[0]
    leaf_servers = max(1, leaf_span.span_gpus // cluster.gpus_per_server)
    num_groups = -(-layout.num_servers // leaf_servers)
    times = _poisson_times(float(switch_rates.sum()), duration_s, rng)
    groups = rng.integers(0, num_groups, size=times.size)
    switch_c = _candidates(times, groups, _norm(switch_rates), causes, spec.repair_cv, rng)
    # job causes, for each named job
    job_rates = np.array([scale * c.per_unit_per_s if c.per == "job" else 0.0 for c in causes])
    times = _poisson_times(float(job_rates.sum()) * num_named_jobs, duration_s, rng)
    jobs = rng.integers(0, max(num_named_jobs, 1), size=times.size)
    job_c = _candidates(times, jobs, _norm(job_rates), causes, spec.repair_cv, rng)
    return FailurePlan(causes, server_c, switch_c, job_c, spec.burn_in_rate_multiplier, leaf_servers)


def _norm(rates: np.ndarray) -> np.ndarray:
    total = rates.sum()
    return rates / total if total > 0 else np.full(rates.size, 1.0 / rates.size)
