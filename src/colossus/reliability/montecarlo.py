"""Monte Carlo of a job's history: failures, restarts, lost work, spares and repairs.

All histories advance together, one interruption per step, as numpy arrays
(one entry per history), so 1,000 histories of a 100,000-GPU, 90-day job take
a few thousand vectorised steps. Every step draws the same numbers for every
history, finished or not, so the result depends only on the generator's seed.

Per step and history: the time to the next interruption is exponential with
the job's total rate; its cause is drawn in proportion to the causes' rates.
If the remaining work (with its checkpoint stalls) fits before it, the job
finishes. Otherwise the job keeps the work up to its last *durable* checkpoint
(a planned interruption checkpoints first and keeps everything; with in-memory
checkpoints a fault that loses every replica falls back to the last durable
copy on storage), and restarts. What a cause that takes servers out
(``Causes.servers``: 1, or a whole rack) does next is the recovery policy:

* ``spares``: hot spares swap in. The pool is ``num_spares`` tokens, each free
  from some time on; the job takes the earliest ones, or its own failed
  servers once repaired if that comes sooner, and waits when neither is ready.
  The failed servers, repaired after an exponential time of the cause's mean,
  become spares again. ``wait`` is the same with no spares: every such fault
  waits for its repair;
* ``elastic``: the job restarts at once on the servers it has left, at a
  throughput and failure rate in proportion to them (assumption: linear in
  servers, as data parallelism is), and takes repaired servers back at its
  next restart.

Failures strike during a restart too (every history after its first start is
restarting at the beginning of a step): a fault before the restart completes
keeps no work and starts another restart, as in the facility simulation and
the closed form (``goodput``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.errors import InfeasibleError, SpecError

POLICIES: tuple[str, ...] = ("wait", "spares", "elastic")


@dataclass(frozen=True, slots=True)
class Causes:
    """Per-cause arrays: rate (1/s), planned, servers taken out, mean repair (s), loses replicas."""

    per_s: np.ndarray
    planned: np.ndarray
    needs_spare: np.ndarray  # takes servers out (``servers`` > 0)
    repair_s: np.ndarray
    servers: np.ndarray | None = None  # servers one fault takes out; None: 1 where it needs a spare
    fallback: np.ndarray | None = None  # loses every in-memory replica; None: never

    def servers_lost(self) -> np.ndarray:
        return self.needs_spare.astype(np.int64) if self.servers is None else self.servers.astype(np.int64)

    def falls_back(self) -> np.ndarray:
        return np.zeros(self.per_s.size, dtype=bool) if self.fallback is None else self.fallback


@dataclass(frozen=True, slots=True)
class History:
    """What one job does between interruptions (SI units)."""

    work_s: float  # failure-free compute time to train the token budget
    interval_s: float  # compute time between checkpoints
    stall_s: float  # training time lost per checkpoint (at this interval)
    durability_lag_s: float  # a checkpoint is safe this long after its stall
    restart_s: float  # detect + schedule + start + init + load + warm-up
    num_spares: int
    policy: str = "spares"  # wait | spares | elastic
    num_servers: int = 1  # the job's servers (elastic: throughput in proportion to those left)
    persistent_work_s: float = np.inf  # in memory: work between durable copies
    fallback_restart_s: float = 0.0  # in memory: extra restart time reading the durable copy


@dataclass(frozen=True, slots=True)
class MonteCarlo:
    finish_s: np.ndarray  # wall time to finish, per history
    interruptions: np.ndarray  # per history
    spare_wait_s: np.ndarray  # time spent waiting for repairs, per history

    def quantile_s(self, q: float) -> float:
        return float(np.quantile(self.finish_s, q))

    def p_by(self, deadline_s: float) -> float:
        return float(np.mean(self.finish_s <= deadline_s))


#: Give up beyond this many interruptions in one history (a job that cannot make progress).
MAX_STEPS = 1_000_000


def _check(h: History, causes: Causes, num_runs: int) -> None:
    if num_runs < 1:
        raise SpecError(f"runs must be >= 1 (got {num_runs})")
    if h.work_s <= 0 or h.interval_s <= 0 or h.num_spares < 0 or h.num_servers < 1:
        raise SpecError("work, checkpoint interval and servers must be > 0 and spares >= 0")
    if min(h.stall_s, h.durability_lag_s, h.restart_s, h.fallback_restart_s) < 0 or np.any(causes.per_s < 0):
        raise SpecError("stall, durability lag, restart and rates must be >= 0")
    if h.policy not in POLICIES:
        raise SpecError(f"recovery policy must be one of {', '.join(POLICIES)} (got '{h.policy}')")


def _run_time_s(remaining_s: np.ndarray, h: History) -> np.ndarray:
    """Wall time to do ``remaining_s`` of compute without interruption, stalls included."""
    return remaining_s + np.floor(remaining_s / h.interval_s) * h.stall_s


def _progress_s(up_s: np.ndarray, planned: np.ndarray, h: History) -> np.ndarray:
    """Compute kept after running ``up_s``: up to the last durable checkpoint, or all if planned."""
    cycle_s = h.interval_s + h.stall_s
    cycles = np.floor(up_s / cycle_s)
    kept_all = cycles * h.interval_s + np.minimum(up_s - cycles * cycle_s, h.interval_s)
    durable = np.maximum(np.floor((up_s - h.durability_lag_s) / cycle_s), 0.0) * h.interval_s
    return np.where(planned, kept_all, durable)


def _take_spares(tokens: np.ndarray, rows: np.ndarray, k: np.ndarray, now_s: np.ndarray,
                 back_s: np.ndarray) -> np.ndarray:
    """Swap ``k`` spares in for the failed servers of each of ``rows``; return how long each waits.

    The job is ready when its ``k`` earliest spares are free, or when its own servers are
    repaired (``back_s``) if sooner; the spares it takes are busy until ``back_s`` (the
    repaired servers replace them in the pool).
    """
    width = tokens.shape[1]
    if rows.size == 0 or width == 0:
        return np.maximum(back_s - now_s, 0.0)
    ready = np.empty(rows.size)
    for kk in np.unique(k):  # one spare per server fault; a rack's worth per rack domain
        sel = np.nonzero(k == kk)[0]
        r = rows[sel]
        if kk == 1:
            slot = np.argmin(tokens[r], axis=1)[:, None]
        elif kk >= width:
            slot = np.broadcast_to(np.arange(width), (r.size, width))
        else:
            slot = np.argpartition(tokens[r], kk - 1, axis=1)[:, :kk]
        free = np.take_along_axis(tokens[r], slot, axis=1)
        kth = free.max(axis=1) if kk <= width else np.full(r.size, np.inf)
        ready[sel] = np.minimum(kth, back_s[sel])
        tokens[r[:, None], slot] = np.maximum(free, back_s[sel, None])
    return np.maximum(ready - now_s, 0.0)


def _elastic_out(out: np.ndarray, rows: np.ndarray, k: np.ndarray, back_s: np.ndarray) -> None:
    """Mark ``k`` servers of each of ``rows`` out of the job until ``back_s`` (slots with the
    earliest return times are reused; a full table drops the earliest returns)."""
    width = out.shape[1]
    order = np.argsort(out[rows], axis=1, kind="stable")
    for j in range(int(k.max(initial=0))):
        pick = j < np.minimum(k, width)
        if not pick.any():
            break
        r = rows[pick]
        slot = order[pick, j]
        out[r, slot] = back_s[pick]


def simulate(h: History, causes: Causes, *, num_runs: int, rng: np.random.Generator) -> MonteCarlo:
    """``num_runs`` random histories of the job; ``rng`` is the (scenario, seed) generator."""
    _check(h, causes, num_runs)
    total_per_s = float(causes.per_s.sum())
    cum = np.cumsum(causes.per_s) / total_per_s if total_per_s > 0 else np.ones(1)
    lost, fallback = causes.servers_lost(), causes.falls_back()
    done = np.zeros(num_runs)
    clock = np.zeros(num_runs)
    count = np.zeros(num_runs, dtype=np.int64)
    wait = np.zeros(num_runs)
    active = np.ones(num_runs, dtype=bool)
    elastic = h.policy == "elastic"
    spares = 0 if h.policy == "wait" else h.num_spares
    tokens = np.zeros((num_runs, 0 if elastic else spares))
    out = np.full((num_runs, min(h.num_servers - 1, 4096) if elastic else 0), -np.inf)
    share = np.ones(num_runs)  # share of the job's servers in use (elastic)
    pending = np.zeros(num_runs)  # restart still to do before training resumes (none at the first start)
    for _ in range(MAX_STEPS):
        draw = rng.exponential(1.0, num_runs)
        which = np.minimum(np.searchsorted(cum, rng.random(num_runs), side="right"), len(cum) - 1)
        repair = rng.exponential(1.0, num_runs) * causes.repair_s[which]
        # fewer servers fail less often and train more slowly (elastic); share is 1 otherwise
        up = draw / (total_per_s * share) if total_per_s > 0 else np.full(num_runs, np.inf)
        need = pending + _run_time_s((h.work_s - done) / share, h)
        finishing = active & (up >= need)
        clock[finishing] += need[finishing]
        active &= ~finishing
        if not active.any():
            return MonteCarlo(clock, count, wait)
        rows = np.nonzero(active)[0]
        trained = np.maximum(up[rows] - pending[rows], 0.0)  # a fault during the restart keeps nothing new
        kept = done[rows] + _progress_s(trained, causes.planned[which[rows]], h) * share[rows]
        back = fallback[which[rows]]
        if back.any():
            kept[back] = np.floor(kept[back] / h.persistent_work_s) * h.persistent_work_s
        done[rows] = kept
        clock[rows] += up[rows]
        count[rows] += 1
        hit = lost[which[rows]] > 0
        spare = rows[hit]
        if elastic:
            if spare.size and out.shape[1]:
                _elastic_out(out, spare, lost[which[spare]], clock[spare] + repair[spare])
            share[rows] = 1.0 - np.sum(out[rows] > clock[rows, None], axis=1) / h.num_servers
        else:
            waited = _take_spares(tokens, spare, lost[which[spare]], clock[spare], clock[spare] + repair[spare])
            wait[spare] += waited
            clock[spare] += waited
        pending[rows] = h.restart_s + np.where(back, h.fallback_restart_s, 0.0)
    raise InfeasibleError(f"the job did not finish within {MAX_STEPS} interruptions in some history")
