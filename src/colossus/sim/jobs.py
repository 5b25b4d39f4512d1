"""Jobs as the simulation sees them: work to do, a rate, checkpoints, and what they cost.

A job's *work* is tokens for a named job (its rate comes from the performance
model for the GPUs and pool it actually got) and busy seconds for a filler
job (rate 1). Progress is exact between events: the rate is constant between
two events, so ``work_done`` advances linearly; the work at the last
checkpoint is known in closed form because checkpoints fall every
``interval`` of wall time after the job (re)starts making progress.
A job's effective rate is ``rate * power_kept * ckpt_eff``: the throughput
kept under the power response and the share of time not stalled on
checkpoint writes (``reliability.job.plan_allocation``: the job's checkpoint
interval, fixed or the Young/Daly optimum for the allocation's size).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
import math

import numpy as np

from colossus.errors import InfeasibleError
from colossus.perf.estimate import Estimate
from colossus.perf.jobs import check_jobs, cluster_assumptions, job_perf
from colossus.perf.placement import spread_step_time_s
from colossus.power.assumptions import PowerAssumptions
from colossus.power.capping import CapCurve
from colossus.power.profile import from_estimate
from colossus.reliability.assumptions import Assumptions as RelAssumptions
from colossus.reliability.job import plan_allocation
from colossus.reliability.scenario import allocation_input
from colossus.sim.sitepower import CapTable, profile_table
from colossus.spec import JobSpec, Scenario

QUEUED, RUNNING, DONE = 0, 1, 2


class Job:
    """Mutable state of one job in the simulation (plain attributes, for speed)."""

    __slots__ = (
        "idx", "name", "named", "priority", "pools", "want_servers", "min_servers", "quantum", "submit_s",
        "work_total", "work_done", "work_ckpt", "t_last", "progress_from_s", "interval_s", "status",
        "servers", "pool", "rate", "ckpt_eff", "restart_s", "power_kept", "parked", "table", "version",
        "first_start_s", "finish_s", "restarts", "preemptions", "interruptions", "lost_work", "num_ckpts",
        "trace_delay_s", "energy_j", "co2_kg", "layout", "pending_restart", "useful_s", "mode", "pool_gpus",
        "num_gpus", "spec", "ckpt_times", "persist_every", "work_persist",
    )

    def __init__(self, idx: int, name: str, *, named: bool, priority: int, pools: tuple[int, ...],
                 want_servers: int, submit_s: float, work_total: float) -> None:
        self.idx, self.name, self.named, self.priority, self.pools = idx, name, named, priority, pools
        self.want_servers, self.min_servers, self.quantum = want_servers, want_servers, 1
        self.submit_s, self.work_total = submit_s, work_total
        self.work_done = self.work_ckpt = 0.0
        self.t_last = self.progress_from_s = submit_s
        self.interval_s = math.inf
        self.status = QUEUED
        self.servers = np.zeros(0, dtype=np.int64)
        self.pool = -1
        self.rate = 0.0
        self.ckpt_eff = 1.0
        self.restart_s = 0.0
        self.power_kept = 1.0
        self.parked = False
        self.table: CapTable | None = None
        self.version = 0
        self.first_start_s = math.nan
        self.finish_s = math.nan
        self.restarts = self.preemptions = self.interruptions = self.num_ckpts = 0
        self.lost_work = 0.0
        self.trace_delay_s = math.nan
        self.energy_j = self.co2_kg = 0.0
        self.layout = ""
        self.pending_restart = False
        self.useful_s = 0.0
        self.mode = 0  # power mode: 0 none, 1 idle (starting up or parked), 2 training
        self.pool_gpus: np.ndarray | None = None  # GPUs held in each pool
        self.num_gpus = 0
        self.spec: JobSpec | None = None
        self.ckpt_times: list[tuple[float, float]] = []  # (time, tokens) of checkpoints not yet logged
        self.persist_every = 0  # in-memory checkpoints: every n-th is also written to storage (0: all durable)
        self.work_persist = 0.0  # work at the last checkpoint on storage (in-memory mode)

    @property
    def effective_rate(self) -> float:
        return self.rate * self.power_kept * self.ckpt_eff

    def training(self, now: float) -> bool:
        """Running, past its start-up, not parked: its GPUs draw training power."""
        return self.status == RUNNING and not self.parked and now >= self.progress_from_s

    def work_at(self, t: float) -> float:
        """Work done by ``t`` (>= t_last) at the current rate, without advancing."""
        if self.status != RUNNING:
            return self.work_done
        start = max(self.t_last, self.progress_from_s)
        return self.work_done + self.effective_rate * max(0.0, t - start)

    def advance(self, t: float) -> list[float]:
        """Advance progress to ``t``; return the checkpoint times passed (for the event log)."""
        if self.status != RUNNING or t <= self.t_last:
            self.t_last = max(self.t_last, t)
            return []
        start = max(self.t_last, self.progress_from_s)
        times: list[float] = []
        if t > start:
            r = self.effective_rate
            if r > 0 and math.isfinite(self.interval_s):
                k0 = math.floor((start - self.progress_from_s) / self.interval_s + 1e-9)
                k1 = math.floor((t - self.progress_from_s) / self.interval_s + 1e-9)
                if k1 > k0:
                    times = [self.progress_from_s + k * self.interval_s for k in range(k0 + 1, k1 + 1)]
                    self.work_ckpt = min(self.work_total, self.work_done + r * (times[-1] - start))
                    n = self.persist_every
                    if n and k1 // n > k0 // n:  # a durable copy among these checkpoints
                        tp = self.progress_from_s + (k1 // n) * n * self.interval_s
                        self.work_persist = min(self.work_total, self.work_done + r * (tp - start))
                    self.num_ckpts += k1 - k0
                    if self.named:
                        self.ckpt_times.extend((tc, self.work_done + r * (tc - start)) for tc in times)
            self.work_done = min(self.work_total, self.work_done + r * (t - start))
            if r > 0:
                self.useful_s += (t - start) * self.power_kept
        self.t_last = t
        return times

    def finish_time(self, now: float) -> float:
        r = self.effective_rate
        if self.status != RUNNING or r <= 0:
            return math.inf
        return max(now, self.progress_from_s) + (self.work_total - self.work_done) / r


@dataclass(frozen=True)
class NamedRate:
    """A named job's rate and costs on one allocation (pool and GPU count)."""

    tokens_per_s: float
    layout: str
    table: CapTable
    ckpt_eff: float
    restart_s: float  # after an interruption: every phase (reliability.restart)
    interval_s: float
    start_s: float  # a first start: no detection, no checkpoint to load
    persist_every: int = 0  # in-memory checkpoints: every n-th goes to storage too (0: every one is durable)


class NamedRates:
    """Performance of named jobs per (job, pool, GPUs), from perf, power and reliability; cached.

    A job spanning several pools runs at the pace of its slowest pool (the
    caller passes that pool), and a job restarted on fewer GPUs is planned
    again for the GPUs it has.
    """

    def __init__(self, scenario: Scenario, pa: PowerAssumptions, ra: RelAssumptions, curve: CapCurve,
                 fracs: np.ndarray) -> None:
        self.scenario, self.pa, self.ra, self.curve, self.fracs = scenario, pa, ra, curve, fracs
        check_jobs(scenario.cluster, scenario.jobs)  # (bad input found now, not when a job first starts)
        self._cache: dict[tuple[str, str, int], NamedRate | None] = {}
        self._spread: dict[tuple[str, str, int, int], NamedRate] = {}
        self._estimates: dict[tuple[str, str, int], Estimate] = {}

    def get(self, job: JobSpec, pool: str, num_gpus: int, gpus_per_pod: int | None = None) -> NamedRate | None:
        """The rate on ``num_gpus`` of ``pool``; ``gpus_per_pod`` when the placement is spread out."""
        key = (job.name, pool, num_gpus)
        if key not in self._cache:
            self._cache[key] = self._compute(job, pool, num_gpus)
        base = self._cache[key]
        if base is None or gpus_per_pod is None:
            return base
        skey = (job.name, pool, num_gpus, gpus_per_pod)
        if skey not in self._spread:
            p = self.scenario.cluster.pool(pool)
            est = self._estimates[key]
            slow_s = spread_step_time_s(est, job.model, p.gpu, fabric=self.scenario.cluster.fabric,
                                        gpus_per_server=p.server.gpus_per_server, gpus_per_pod=gpus_per_pod,
                                        power_limit_w=p.power_limit_w,
                                        assumptions=cluster_assumptions(self.scenario.cluster))
            self._spread[skey] = replace(base, tokens_per_s=base.tokens_per_s * est.step_time_s / slow_s)
        return self._spread[skey]

    def replica_gpus(self, job: JobSpec, pool: str, num_gpus: int) -> int | None:
        """GPUs of one data-parallel replica (tp x pp x cp) of ``job``'s layout at ``num_gpus``
        of ``pool``, if that allocation was planned; None otherwise."""
        est = self._estimates.get((job.name, pool, num_gpus))
        if est is None:
            return None
        lay = est.layout
        return lay.tp * lay.pp * lay.cp

    def _compute(self, job: JobSpec, pool: str, num_gpus: int) -> NamedRate | None:
        cluster = self.scenario.cluster
        layout = job.layout if job.layout is not None and job.layout.num_gpus == num_gpus else None
        variant = job.model_copy(update={"num_gpus": num_gpus, "pool": pool, "layout": layout})
        try:
            perf = job_perf(cluster, variant)
        except InfeasibleError:
            return None
        profile = from_estimate(variant, cluster.pool(pool).gpu, perf.estimate, self.pa)
        floor = self.scenario.power.swings.gpu_power_floor_frac
        table = profile_table(profile, self.curve, self.fracs, floor * profile.gpu.tdp_w if floor is not None else 0.0)
        tokens_per_s = perf.tokens_per_s * job.throughput_scale  # the forecast's draw of the model's error
        # checkpoint, restart and interval at this size ("auto": Young/Daly for this size)
        alloc = plan_allocation(allocation_input(
            self.scenario, job, pool=pool, num_gpus=num_gpus, layout=layout, tokens_per_s=tokens_per_s,
            rate_scale=self.scenario.simulation.failures.rate_scale), self.ra)
        rate = NamedRate(tokens_per_s, perf.estimate.layout_label, table, alloc.ckpt_eff,
                         alloc.restart.total_s, alloc.interval_s, alloc.restart.first_start_s, alloc.persist_every)
        self._estimates[(job.name, pool, num_gpus)] = perf.estimate
        return rate
