"""How many hot spare servers keep a job from waiting on repairs.

Servers leave the job at the rate of the causes that need a spare and come
back after their repair time. Servers in repair then form an M/G/infinity
queue, whose occupancy is Poisson with mean ``sum(rate_i x repair_i)`` whatever
the repair-time distribution (Palm's theorem; Kleinrock, Queueing Systems I,
1975, Sec. 4.4 / eq. for M/G/inf). A failure finds a spare ready when fewer
than ``S`` servers are in repair; by PASTA it sees that stationary occupancy.
A rack domain takes a rack's servers at once (batch arrivals); the mean is then
``sum(rate x servers x repair)`` and the Poisson occupancy an approximation
(the batches make it more spread; rack domains are rare next to single servers).
"""

from __future__ import annotations

from dataclasses import dataclass

from colossus.errors import SpecError
from colossus.reliability.rates import Footprint, JobRate


@dataclass(frozen=True, slots=True)
class SparePool:
    mean_in_repair: float  # servers in repair on average
    num_spares: int  # smallest pool that meets the confidence
    confidence: float  # share of spare-needing failures that must find one ready
    p_ready: float  # share that do, with this pool


def mean_in_repair(rates: tuple[JobRate, ...], fp: Footprint | None = None) -> float:
    """Servers of the job in repair on average: ``sum(rate x servers lost x mean repair time)``."""
    return sum(r.per_s * r.cause.repair_s * (fp.servers_lost(r.cause) if fp else 1)
               for r in rates if r.cause.needs_spare)


def p_spare_ready(num_spares: int, mean_in_repair_servers: float) -> float:
    """Share of failures that find a spare ready: P(Poisson(mean) < num_spares)."""
    if num_spares <= 0:
        return 0.0
    from scipy import stats  # noqa: PLC0415 (heavy import, only where used)

    return float(stats.poisson.cdf(num_spares - 1, mean_in_repair_servers))


def size_spares(rates: tuple[JobRate, ...], confidence: float, fp: Footprint | None = None) -> SparePool:
    """The smallest hot-spare pool that lets ``confidence`` of the failures restart at once."""
    if not 0 < confidence < 1:
        raise SpecError(f"spare confidence must be in (0, 1) (got {confidence})")
    mean = mean_in_repair(rates, fp)
    if mean == 0:
        return SparePool(0.0, 0, confidence, 1.0)
    from scipy import stats  # noqa: PLC0415 (heavy import, only where used)

    spares = int(stats.poisson.ppf(confidence, mean)) + 1
    while spares > 1 and p_spare_ready(spares - 1, mean) >= confidence:
        spares -= 1
    return SparePool(mean, spares, confidence, p_spare_ready(spares, mean))
