"""Scheduling policy as pure functions: queue order, preemption victims, EASY backfill.

The engine owns state and placement; these functions only decide, from plain
numbers, so that they can be tested (and replaced) on their own.

* Order: higher priority first, then earlier submission (FIFO within a class).
* Preemption: a job that does not fit may evict strictly lower-priority jobs,
  lowest priority first and, within a priority, the most recently started
  first (it has the least unsaved work at stake and the least sunk queueing).
* Backfill (EASY, Lifka 1995; Mu'alem and Feitelson, IEEE TPDS 2001): the
  first blocked job gets a reservation at the *shadow time* when enough
  servers will have been released by running jobs' expected ends; a later job
  may start now if it fits and either ends before the shadow time or uses
  only servers the reservation does not need (the *extra* servers).
"""

from __future__ import annotations

from dataclasses import dataclass
import math


@dataclass(frozen=True)
class Holder:
    """A running job as preemption and backfill see it."""

    idx: int
    priority: int
    servers: int  # servers it holds in the pools concerned
    start_s: float
    end_s: float  # expected end at the current rate (inf if unknown)


def queue_key(priority: int, submit_s: float, idx: int) -> tuple[int, float, int]:
    return (-priority, submit_s, idx)


def victims(need: int, free: int, holders: list[Holder], priority: int) -> list[int] | None:
    """Jobs to preempt so that ``need`` servers are free (None if even all lower ones are not enough)."""
    if free >= need:
        return []
    lower = sorted((h for h in holders if h.priority < priority), key=lambda h: (h.priority, -h.start_s, h.idx))
    chosen, got = [], free
    for h in lower:
        chosen.append(h.idx)
        got += h.servers
        if got >= need:
            return chosen
    return None


def shadow(need: int, free: int, holders: list[Holder]) -> tuple[float, int]:
    """Shadow time and extra servers of a reservation for ``need`` servers."""
    if free >= need:
        return 0.0, free - need
    got = free
    for h in sorted(holders, key=lambda h: (h.end_s, h.idx)):
        got += h.servers
        if got >= need:
            return h.end_s, got - need
    return math.inf, 0


def may_backfill(need: int, free: int, end_s: float, shadow_s: float, extra: int) -> bool:
    """EASY rule: fits now, and ends before the shadow time or stays within the extra servers."""
    return need <= free and (end_s <= shadow_s or need <= extra)
