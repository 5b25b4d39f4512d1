"""The scheduling pass: which queued job starts where, whom it preempts, what it waits for.

The policy itself is pure (``sim.scheduler``: queue order, preemption
victims, EASY backfill's shadow time) and placement is a function of the free
servers (``sim.cluster.place``). This pass walks the queue in priority order
against the free servers, the hot spares held back and the power headroom,
and *decides*: ``Start(job, servers by pool)`` or ``Preempt(victims, for
job)``; the engine applies each decision (``Engine.apply``) and the pass
reads the state that results. A job that cannot start makes the EASY
reservation later jobs must not delay (its pools, shadow time and the extra
servers a backfilled job may take).

A mixin of ``Engine``; decisions are the only way it changes the engine's state.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from colossus.sim import scheduler as policy
from colossus.sim.cluster import NOT_INSTALLED, place
from colossus.sim.jobs import Job
from colossus.sim.state import EngineState
from colossus.spec import JobSpec


@dataclass(frozen=True)
class Start:
    """Start (or restart) job ``job`` on these servers, by pool."""

    job: int
    servers: dict[int, np.ndarray]


@dataclass(frozen=True)
class Preempt:
    """Interrupt the ``victims`` (they lose work since their checkpoint and requeue) for job ``for_job``."""

    victims: tuple[int, ...]
    for_job: str


Decision = Start | Preempt


def _spec(job: Job) -> JobSpec:
    """A named job's spec (fillers have none and never reach the rate model)."""
    assert job.spec is not None
    return job.spec


class Scheduling(EngineState):
    """The scheduling pass and its placement choices (mixed into ``Engine``)."""

    def _reserve(self, p: int) -> int:
        installed = (self.layout.pool_end[p] - self.layout.pool_start[p]) - self.state.counts[p, NOT_INSTALLED]
        return math.ceil(self.spec.scheduler.hot_spare_frac * installed)

    def _holders(self, pools: tuple[int, ...], t: float) -> list[policy.Holder]:
        out = []
        for job in self.running.values():
            if job.pool_gpus is not None:
                n = int(sum(job.pool_gpus[p] for p in pools) // self.scenario.cluster.gpus_per_server)
                if n:
                    out.append(policy.Holder(job.idx, job.priority, n, job.first_start_s, job.finish_time(t)))
        return out

    def _schedule(self, t: float) -> None:
        self.dirty_sched = False
        if not self.queue:
            return
        sched = self.spec.scheduler
        free = {p: self.state.free(p) for p in range(self.num_pools)}
        reserve = {p: self._reserve(p) for p in range(self.num_pools)}
        reservation: tuple[set[int], float, int] | None = None
        headroom, idle_on = self._power_headroom(t)
        per_server_add = self._filler_server_add_w(idle_on)
        waiting = self.in_queue & self.is_filler
        min_need = int(self.want_arr[waiting].min()) if waiting.any() else 0
        for _key, idx in list(self.queue):
            job = self.jobs[idx]
            if not job.named:
                avail = {p: free[p].size - reserve[p] for p in job.pools}
                # the most servers any filler could get now (servers and power both bound it)
                cap = min(max(avail.values()), headroom / per_server_add if per_server_add > 0 else math.inf)
                if cap < min_need:
                    break  # no queued filler can start any more in this pass
                if job.want_servers * per_server_add > headroom:
                    continue  # power-aware admission: do not start what the supply cannot feed
                if job.want_servers > max(avail.values()):
                    reservation = reservation or self._reservation(job, avail, t)
                    if not sched.backfill:
                        break  # without backfill nothing may pass the first blocked job
                    continue
                if reservation is not None and reservation[0] & set(job.pools):
                    end = t + (job.work_total - job.work_done)
                    if not policy.may_backfill(job.want_servers, job.want_servers, end, reservation[1],
                                               reservation[2]):
                        continue
            else:
                avail = {p: free[p].size for p in job.pools}
            choice = self._choose(job, free, avail)
            if choice is None and job.named and sched.preemption:
                choice = self._preempt_for(job, t, free)
            if choice is None and job.named and job.pending_restart:
                choice = self._elastic(job, free)
            if choice is None:
                reservation = reservation or self._reservation(job, avail, t)
                if not sched.backfill:
                    break
                continue
            if reservation is not None and reservation[0] & set(job.pools):
                # fillers passed the backfill rule above; a named job behind a blocked one must fit
                # the extra servers (its end is not known before it is placed and planned)
                n = sum(s.size for s in choice.values())
                if job.named and not policy.may_backfill(n, n, math.inf, reservation[1], reservation[2]):
                    continue
                if not job.named and t + (job.work_total - job.work_done) <= reservation[1]:
                    n = 0  # ends before the shadow time: takes none of the extra servers
                reservation = (reservation[0], reservation[1], reservation[2] - n)
            self.apply(Start(job.idx, choice), t)
            for p, servers in choice.items():
                free[p] = np.setdiff1d(free[p], servers, assume_unique=True)
            if not job.named:
                headroom -= job.want_servers * per_server_add

    def _reservation(self, job: Job, avail: dict[int, int], t: float) -> tuple[set[int], float, int]:
        """EASY reservation of the first blocked job: its pools, shadow time and extra servers."""
        total_free = sum(max(avail[p], 0) for p in job.pools)
        s_time, extra = policy.shadow(job.want_servers, total_free, self._holders(job.pools, t))
        return set(job.pools), s_time, extra

    def _choose(self, job: Job, free: dict[int, np.ndarray], avail: dict[int, int],
                servers_wanted: int | None = None) -> dict[int, np.ndarray] | None:
        """Servers for ``job``: one pool if any holds it, else (named jobs) spread over pools."""
        n = servers_wanted or job.want_servers
        order = sorted(job.pools, key=lambda p: (-avail[p], p)) if not job.named else list(job.pools)
        for p in order:
            if avail[p] >= n:
                got = place(free[p], n, self.layout)
                if got is not None:
                    return {p: got}
        if job.named and len(job.pools) > 1 and sum(max(avail[p], 0) for p in job.pools) >= n:
            out: dict[int, np.ndarray] = {}
            need = n
            for p in sorted(job.pools, key=lambda p: (-avail[p], p)):
                take = min(need, max(avail[p], 0))
                if take:
                    got = place(free[p], take, self.layout)
                    assert got is not None  # the pool has ``take`` free servers
                    out[p] = got
                    need -= take
                if not need:
                    return out
        return None

    def _preempt_for(self, job: Job, t: float, free: dict[int, np.ndarray]) -> dict[int, np.ndarray] | None:
        for pools in [(p,) for p in job.pools] + ([job.pools] if len(job.pools) > 1 else []):
            have = sum(free[p].size for p in pools)
            chosen = policy.victims(job.want_servers, have, self._holders(pools, t), job.priority)
            if chosen:
                self.apply(Preempt(tuple(chosen), job.name), t)
                for p in range(self.num_pools):
                    free[p] = self.state.free(p)
                avail = {p: free[p].size for p in job.pools}
                return self._choose(job, free, avail)
        return None

    def _elastic(self, job: Job, free: dict[int, np.ndarray]) -> dict[int, np.ndarray] | None:
        """A named job short of GPUs restarts on the most it can get, down to its minimum (re-planned)."""
        avail = {p: free[p].size for p in job.pools}
        total = sum(avail.values()) if len(job.pools) > 1 else max(avail.values())
        q = self._elastic_quantum(job)
        n = min(job.want_servers, total) // q * q
        while n >= job.min_servers:
            choice = self._choose(job, free, avail, servers_wanted=n)
            if choice is not None and self._named_rate(job, choice) is not None:
                return choice
            n -= q
        return None

    def _elastic_quantum(self, job: Job) -> int:
        """Servers an elastic job sheds at a time: its quantum, rounded up to whole data-parallel
        replicas of its full-size layout (as elastic frameworks shrink), so that the smaller job
        keeps a layout as good as the full one's instead of whatever an odd size factors into."""
        per = int(self.layout.gpus_per_server[job.pools[0]])
        replica = self.rates.replica_gpus(_spec(job), self.layout.pool_names[job.pools[0]], job.want_servers * per)
        if not replica:
            return job.quantum
        servers = replica // math.gcd(replica, per)  # servers of the smallest whole number of replicas
        return servers * -(-job.quantum // servers)

    def _named_rate(self, job: Job, choice: dict[int, np.ndarray]):
        """The rate on this allocation: the slowest of its pools at its total size, for the pods it spans.

        A placement over more pods than a compact one needs is slower where the
        fabric is oversubscribed above the pod (``perf.placement``).
        """
        lay = self.layout
        gpus = sum(int(s.size) * int(lay.gpus_per_server[p]) for p, s in choice.items())
        pods = sum(int(np.unique(lay.pod_of[s]).size) for s in choice.values())
        compact = sum(-(-int(s.size) // self.pod_servers) for s in choice.values())
        per_pod = None
        if pods > compact:  # round down to whole leaves so that few distinct spreads are evaluated
            per_pod = max(self.leaf_gpus, gpus // pods // self.leaf_gpus * self.leaf_gpus)
        best = None
        for p in choice:
            r = self.rates.get(_spec(job), lay.pool_names[p], gpus, per_pod)
            if r is None:
                return None
            if best is None or r.tokens_per_s < best.tokens_per_s:
                best = r
        return best


__all__ = ["Decision", "Preempt", "Scheduling", "Start"]
