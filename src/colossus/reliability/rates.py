"""Interruption rates of a training job, by root cause, from per-component rates.

A cause's rate per unit (per GPU, server, NIC link, switch, or per job) is its
count in a published interruption log divided by the units the logged job
spanned and the log's duration (``catalog/data/failure_rates.toml``: Llama 3,
arXiv:2407.21783, Table 5). A job of another size gets that rate times the units
*it* spans: failures of independent components superpose as Poisson processes,
so job-level rates add and the mean time to interruption is their inverse
(Kokolis et al., "Revisiting Reliability in Large-Scale ML Research Clusters",
2024, make the same linear-in-components argument for MTTF).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
import math
from typing import Literal, Mapping

from colossus import units
from colossus.catalog import read_table
from colossus.errors import CatalogError, InfeasibleError, SpecError
from colossus.spec import FabricSpec
from colossus.topology import fabric_inventory

Unit = Literal["gpu", "server", "nic_link", "switch", "job"]
UNITS: tuple[str, ...] = ("gpu", "server", "nic_link", "switch", "job")
#: Cause groups in report order (the issue's list).
CAUSES: tuple[str, ...] = (
    "gpu", "hbm", "nvlink", "nic_cable", "host", "switch", "software", "network", "maintenance",
)


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a job spans: the units its interruption rates scale with."""

    num_gpus: int
    num_servers: int
    num_nic_links: int
    num_switches: int

    def units_of(self, per: str) -> float:
        return {"gpu": self.num_gpus, "server": self.num_servers, "nic_link": self.num_nic_links,
                "switch": self.num_switches, "job": 1}[per]


@dataclass(frozen=True, slots=True)
class CauseRate:
    """One root cause with its rate per unit, from the catalog."""

    name: str
    cause: str
    per: str
    per_unit_per_s: float
    hardware: bool
    planned: bool
    needs_spare: bool
    repair_s: float


@dataclass(frozen=True, slots=True)
class JobRate:
    """A root cause's interruption rate for one job."""

    cause: CauseRate
    per_s: float


def _calibration(table: Mapping) -> Footprint:
    cal = table["calibration"]
    return Footprint(int(cal["num_gpus"]), int(cal["num_servers"]), int(cal["num_nic_links"]),
                     int(cal["num_switches"]))


def _cause(name: str, row: Mapping, cal: Footprint, duration_s: float) -> CauseRate:
    per = row["per"]
    if per not in UNITS or row["cause"] not in CAUSES:
        raise CatalogError(f"per must be one of {UNITS} and cause one of {CAUSES}",
                           file="catalog/data/failure_rates.toml", path=["causes", name])
    return CauseRate(
        name=name, cause=row["cause"], per=per,
        per_unit_per_s=float(row["count"]) / (cal.units_of(per) * duration_s),
        hardware=bool(row["hardware"]), planned=bool(row["planned"]),
        needs_spare=bool(row["needs_spare"]), repair_s=float(row["repair_h"]) * units.HOUR,
    )


@cache
def catalog_causes() -> tuple[CauseRate, ...]:
    """The shipped per-unit rates of every root cause (``failure_rates.toml``)."""
    table = read_table("failure_rates")
    cal = _calibration(table)
    duration_s = float(table["calibration"]["days"]) * units.DAY
    return tuple(_cause(name, row, cal, duration_s) for name, row in table["causes"].items())


def calibration_footprint() -> Footprint:
    """What the logged calibration job spanned (Llama 3: 16,384 GPUs)."""
    return _calibration(read_table("failure_rates"))


def footprint(num_gpus: int, *, gpus_per_server: int, fabric: FabricSpec) -> Footprint:
    """Units a job of ``num_gpus`` spans; switches are those of the smallest Clos that holds it.

    Assumption: the job is placed compactly, so the switches it crosses are those of a
    fabric built for its GPUs alone (``topology.fabric_inventory``).
    """
    if num_gpus <= 0 or num_gpus % gpus_per_server:
        raise SpecError(f"the job's GPUs ({num_gpus}) must fill whole servers of {gpus_per_server}")
    try:
        fab = fabric_inventory(fabric, num_gpus=num_gpus, gpus_per_server=gpus_per_server)
    except InfeasibleError as exc:
        raise SpecError(str(exc)) from None
    return Footprint(num_gpus, num_gpus // gpus_per_server, fab.nic_links, fab.num_switches)


def job_rates(fp: Footprint, causes: tuple[CauseRate, ...] | None = None,
              *, rate_scale: float = 1.0) -> tuple[JobRate, ...]:
    """Each cause's interruption rate (per second) for a job spanning ``fp``.

    ``rate_scale`` multiplies every rate (a what-if: a worse or better fleet).
    """
    if not (rate_scale >= 0 and math.isfinite(rate_scale)):
        raise SpecError(f"rate_scale must be a finite number >= 0 (got {rate_scale})")
    causes = catalog_causes() if causes is None else causes
    return tuple(JobRate(c, rate_scale * c.per_unit_per_s * fp.units_of(c.per)) for c in causes)


def total_per_s(rates: tuple[JobRate, ...], *, planned: bool | None = None) -> float:
    """Sum of rates; ``planned`` True/False keeps only planned/unplanned causes."""
    return sum(r.per_s for r in rates if planned is None or r.cause.planned == planned)


def by_cause_per_day(rates: tuple[JobRate, ...]) -> dict[str, float]:
    """Interruptions per day of each cause group, in report order."""
    out = {c: 0.0 for c in CAUSES}
    for r in rates:
        out[r.cause.cause] += r.per_s * units.DAY
    return out


def mtti_s(rates: tuple[JobRate, ...]) -> float:
    """Mean time to interruption (all causes); infinite when nothing fails."""
    total = total_per_s(rates)
    return math.inf if total == 0 else 1.0 / total


def hardware_share(rates: tuple[JobRate, ...]) -> float:
    """Share of *unexpected* interruptions that are hardware faults (Llama 3's ~78%)."""
    unplanned = total_per_s(rates, planned=False)
    hw = sum(r.per_s for r in rates if r.cause.hardware and not r.cause.planned)
    return hw / unplanned if unplanned else 0.0
