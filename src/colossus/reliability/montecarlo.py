"""Monte Carlo of a job's history: failures, restarts, lost work, spares and repairs.

All histories advance together, one interruption per step, as numpy arrays
(one entry per history), so 1,000 histories of a 100,000-GPU, 90-day job take
a few thousand vectorised steps. Every step draws the same numbers for every
history, finished or not, so the result depends only on the generator's seed.

Per step and history: the time to the next interruption is exponential with
the job's total rate; its cause is drawn in proportion to the causes' rates.
If the remaining work (with its checkpoint stalls) fits before it, the job
finishes. Otherwise the job keeps the work up to its last *durable* checkpoint
(a planned interruption checkpoints first and keeps everything), and restarts.
A cause that takes a server out (``needs_spare``) swaps in a hot spare; the
pool is a set of ``num_spares`` tokens, each free from some time on; the job
takes the earliest, or the failed server itself once repaired if that comes
sooner, and waits when neither is ready. The failed server, repaired after an
exponential time of its cause's mean, becomes the spare again. Failures during
a restart are not simulated (the closed form makes the same choice).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.errors import InfeasibleError, SpecError


@dataclass(frozen=True, slots=True)
class Causes:
    """Per-cause arrays: rate (1/s), planned, needs a spare, mean repair time (s)."""

    per_s: np.ndarray
    planned: np.ndarray
    needs_spare: np.ndarray
    repair_s: np.ndarray


@dataclass(frozen=True, slots=True)
class History:
    """What one job does between interruptions (SI units)."""

    work_s: float  # failure-free compute time to train the token budget
    interval_s: float  # compute time between checkpoints
    stall_s: float  # training time lost per checkpoint (at this interval)
    durability_lag_s: float  # a checkpoint is safe this long after its stall
    restart_s: float  # detect + drain + reschedule + load + warm-up
    num_spares: int


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
    if h.work_s <= 0 or h.interval_s <= 0 or h.num_spares < 0:
        raise SpecError("work and checkpoint interval must be > 0 and spares >= 0")
    if min(h.stall_s, h.durability_lag_s, h.restart_s) < 0 or np.any(causes.per_s < 0):
        raise SpecError("stall, durability lag, restart and rates must be >= 0")


def _run_time_s(remaining_s: np.ndarray, h: History) -> np.ndarray:
    """Wall time to do ``remaining_s`` of compute without interruption, stalls included."""
    return remaining_s + np.floor(remaining_s / h.interval_s) * h.stall_s


def _progress_s(up_s: np.ndarray, planned: np.ndarray, h: History) -> np.ndarray:
    """Work kept after running ``up_s``: up to the last durable checkpoint, or all if planned."""
    cycle_s = h.interval_s + h.stall_s
    cycles = np.floor(up_s / cycle_s)
    kept_all = cycles * h.interval_s + np.minimum(up_s - cycles * cycle_s, h.interval_s)
    durable = np.maximum(np.floor((up_s - h.durability_lag_s) / cycle_s), 0.0) * h.interval_s
    return np.where(planned, kept_all, durable)


def _take_spares(tokens: np.ndarray, rows: np.ndarray, now_s: np.ndarray, back_s: np.ndarray) -> np.ndarray:
    """Swap spares in for the failed servers of ``rows``; return how long each job waits."""
    if tokens.shape[1] == 0:
        return back_s - now_s
    slot = np.argmin(tokens[rows], axis=1)
    free_s = tokens[rows, slot]
    ready_s = np.minimum(free_s, back_s)
    tokens[rows, slot] = np.maximum(free_s, back_s)
    return np.maximum(ready_s - now_s, 0.0)


def simulate(h: History, causes: Causes, *, num_runs: int, rng: np.random.Generator) -> MonteCarlo:
    """``num_runs`` random histories of the job; ``rng`` is the (scenario, seed) generator."""
    _check(h, causes, num_runs)
    total_per_s = float(causes.per_s.sum())
    cum = np.cumsum(causes.per_s) / total_per_s if total_per_s > 0 else np.ones(1)
    done = np.zeros(num_runs)
    clock = np.zeros(num_runs)
    count = np.zeros(num_runs, dtype=np.int64)
    wait = np.zeros(num_runs)
    active = np.ones(num_runs, dtype=bool)
    tokens = np.zeros((num_runs, h.num_spares))
    for _ in range(MAX_STEPS):
        up = rng.exponential(1.0, num_runs) / total_per_s if total_per_s > 0 else np.full(num_runs, np.inf)
        which = np.minimum(np.searchsorted(cum, rng.random(num_runs), side="right"), len(cum) - 1)
        repair = rng.exponential(1.0, num_runs) * causes.repair_s[which]
        need = _run_time_s(h.work_s - done, h)
        finishing = active & (up >= need)
        clock[finishing] += need[finishing]
        active &= ~finishing
        if not active.any():
            return MonteCarlo(clock, count, wait)
        rows = np.nonzero(active)[0]
        done[rows] += _progress_s(up[rows], causes.planned[which[rows]], h)
        clock[rows] += up[rows]
        count[rows] += 1
        spare = rows[causes.needs_spare[which[rows]]]
        waited = _take_spares(tokens, spare, clock[spare], clock[spare] + repair[spare])
        wait[spare] += waited
        clock[spare] += waited
        clock[rows] += h.restart_s
    raise InfeasibleError(f"the job did not finish within {MAX_STEPS} interruptions in some history")
