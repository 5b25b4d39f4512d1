"""Goodput in closed form: effective training time ratio (ETTR) and expected time to train.

Work runs in cycles of ``tau`` compute and one checkpoint stall ``delta``;
unplanned interruptions arrive as a Poisson process of rate ``lambda`` while
the job runs *and while it restarts* (a fault during a restart starts it
again, as it does in the Monte Carlo and the facility simulation), each costs
a restart ``R`` and the work since the last durable checkpoint. The expected
wall time to secure one cycle of length ``L = tau + delta`` is then

    E[T] = (exp(lambda L) - 1) exp(lambda R) / lambda

(Daly, FGCS 2006, the complete model behind eq. 20: a geometric number of
failed attempts, each followed by a restart that itself completes only after
``(exp(lambda R) - 1) / lambda`` on average). At 100,000 GPUs, where ``R`` is
a good part of the mean time to interruption, the difference from the usual
``(exp(lambda L) - 1)(1/lambda + R)`` is large. An asynchronous checkpoint is
durable ``w`` after its stall, so a failure loses ``w`` more on average: ``R``
becomes ``R + w``.
Planned interruptions (rate ``lambda_p``) checkpoint first and cost only a
restart each: wall time grows by ``1 + lambda_p R``. With in-memory checkpoints
a fault that loses every replica (rate ``lambda_f``, counted in ``lambda`` too)
also loses the work since the last durable copy and reads that copy from
storage: wall time grows by ``1 + lambda_f F`` more, ``F`` the checkpoint's
``fallback_loss_s``. With no failures ETTR is ``tau / (tau + delta)``: the
checkpoint overhead alone.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

from colossus.errors import SpecError

#: Beyond this exponent exp() overflows a double; the expected time is then infinite for all purposes.
_EXP_MAX = 700.0


@dataclass(frozen=True, slots=True)
class Goodput:
    ettr: float  # useful compute time / wall time
    interval_s: float
    expected_finish_s: float  # wall time to do the work, in expectation


def cycle_wall_s(*, interval_s: float, stall_s: float, unplanned_per_s: float, restart_s: float) -> float:
    """Expected wall time to complete and secure one cycle of ``interval_s`` work."""
    length_s = interval_s + stall_s
    x = unplanned_per_s * length_s
    if max(x, unplanned_per_s * restart_s) > _EXP_MAX:
        return math.inf  # the job cannot secure a cycle: faults come far faster than it restarts
    restarts = math.exp(unplanned_per_s * restart_s)
    if x < 1e-9:  # series of expm1(x) / lambda: exact to double precision, and no 0/0
        return length_s * (1.0 + x / 2.0) * restarts
    return math.expm1(x) / unplanned_per_s * restarts


def ettr(
    *,
    interval_s: float,
    stall_s: float,
    unplanned_per_s: float,
    planned_per_s: float,
    restart_s: float,
    durability_lag_s: float = 0.0,
    fallback_per_s: float = 0.0,
    fallback_loss_s: float = 0.0,
) -> float:
    """Effective training time ratio at checkpoint interval ``interval_s`` (compute seconds)."""
    if interval_s <= 0 or not math.isfinite(interval_s):
        raise SpecError(f"checkpoint interval must be a finite number > 0 (got {interval_s})")
    if min(stall_s, unplanned_per_s, planned_per_s, restart_s, durability_lag_s, fallback_per_s,
           fallback_loss_s) < 0:
        raise SpecError("stall, rates, restart, durability lag and fallback loss must be >= 0")
    wall = cycle_wall_s(interval_s=interval_s, stall_s=stall_s, unplanned_per_s=unplanned_per_s,
                        restart_s=restart_s + durability_lag_s)
    return interval_s / (wall * (1.0 + planned_per_s * restart_s) * (1.0 + fallback_per_s * fallback_loss_s))


def goodput(work_s: float, **kwargs: float) -> Goodput:
    """ETTR and the expected wall time to do ``work_s`` seconds of failure-free training."""
    if work_s <= 0 or not math.isfinite(work_s):
        raise SpecError(f"work must be a finite number of seconds > 0 (got {work_s})")
    ratio = ettr(**kwargs)
    return Goodput(ratio, kwargs["interval_s"], work_s / ratio if ratio > 0 else math.inf)
