"""Interruption rates of a training job, by root cause, from per-unit rates.

A cause's rate per unit (per GPU, server, NIC link, switch, rack, or per job)
is its count in a published interruption log divided by the units the logged
job spanned and the log's duration (``catalog/data/failure_rates.toml``: Llama 3,
arXiv:2407.21783, Table 5); a fleet profile (``reliability.fleets``) scales those
rates to another published fleet. A job of another size gets that rate times
the units *it* spans: failures of independent components superpose as Poisson
processes, so job-level rates add and the mean time to interruption is their
inverse (Kokolis et al., "Revisiting Reliability in Large-Scale ML Research
Clusters", 2024, make the same linear-in-components argument for MTTF).

Rack domains (``failure_domains.toml``) are causes charged per rack that take
every server of the rack out at once: the job loses ``servers_per_rack`` servers
(and with them any in-memory checkpoint replicas kept inside the rack).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
import math
from typing import Literal

from colossus import catalog, units
from colossus.catalog import read_table
from colossus.errors import CatalogError, InfeasibleError, SpecError
from colossus.spec import FabricSpec
from colossus.topology import fabric_inventory

Unit = Literal["gpu", "server", "nic_link", "switch", "rack", "job"]
UNITS: tuple[str, ...] = ("gpu", "server", "nic_link", "switch", "rack", "job")
#: Cause groups in report order.
CAUSES: tuple[str, ...] = (
    "gpu", "hbm", "nvlink", "nic_cable", "host", "switch", "rack", "software", "network", "maintenance",
)
_FILE = "catalog/data/failure_rates.toml"
_DOMAINS = "catalog/data/failure_domains.toml"


@dataclass(frozen=True, slots=True)
class Footprint:
    """What a job spans: the units its interruption rates scale with."""

    num_gpus: int
    num_servers: int
    num_nic_links: int
    num_switches: int
    num_racks: int = 0
    servers_per_rack: int = 1

    def units_of(self, per: str) -> float:
        return {"gpu": self.num_gpus, "server": self.num_servers, "nic_link": self.num_nic_links,
                "switch": self.num_switches, "rack": self.num_racks, "job": 1}[per]

    def servers_lost(self, cause: CauseRate) -> int:
        """Servers one interruption of ``cause`` takes out of the job (0 if none)."""
        if not cause.needs_spare:
            return 0
        return self.servers_per_rack if cause.per == "rack" else 1


@dataclass(frozen=True, slots=True)
class CauseRate:
    """One root cause with its rate per unit."""

    name: str
    cause: str  # the group the report shows
    per: str
    per_unit_per_s: float
    hardware: bool
    planned: bool
    needs_spare: bool
    repair_s: float
    domain: bool = False  # a correlated domain (a whole rack at once)

    @property
    def job_only(self) -> bool:
        """A fault of the running job's software, not of a machine: it never strikes an idle server."""
        return not (self.hardware or self.needs_spare or self.planned)


@dataclass(frozen=True, slots=True)
class JobRate:
    """A root cause's interruption rate for one job."""

    cause: CauseRate
    per_s: float


def _check_group(name: str, row: Mapping, file: str, table: str) -> None:
    if row.get("per", "rack") not in UNITS or row["cause"] not in CAUSES:
        raise CatalogError(f"per must be one of {UNITS} and cause one of {CAUSES}", file=file, path=[table, name])


def _calibration(table: Mapping) -> Footprint:
    cal = table["calibration"]
    servers = int(cal["num_servers"])
    racks = int(cal["num_racks"])
    return Footprint(int(cal["num_gpus"]), servers, int(cal["num_nic_links"]), int(cal["num_switches"]),
                     racks, max(1, servers // racks))


def _cause(name: str, row: Mapping, cal: Footprint, duration_s: float) -> CauseRate:
    _check_group(name, row, _FILE, "causes")
    return CauseRate(
        name=name, cause=row["cause"], per=row["per"],
        per_unit_per_s=float(row["count"]) / (cal.units_of(row["per"]) * duration_s),
        hardware=bool(row["hardware"]), planned=bool(row["planned"]),
        needs_spare=bool(row["needs_spare"]), repair_s=float(row["repair_h"]) * units.HOUR,
    )


@cache
def log_causes() -> tuple[CauseRate, ...]:
    """The per-unit rates fitted on Llama 3's log (``failure_rates.toml``): the fleets' shape."""
    table = read_table("failure_rates")
    cal = _calibration(table)
    duration_s = float(table["calibration"]["days"]) * units.DAY
    return tuple(_cause(name, row, cal, duration_s) for name, row in table["causes"].items())


@cache
def domain_causes() -> tuple[CauseRate, ...]:
    """Rack domains (``failure_domains.toml``): assumptions, not fitted to any log."""
    table = read_table("failure_domains")
    out = []
    for name, row in table.items():
        if "per_rack_per_year" not in row:
            continue  # the feeder domain is drawn by the simulation from generator trips
        _check_group(name, row, _DOMAINS, "")
        out.append(CauseRate(
            name=name, cause=row["cause"], per="rack", per_unit_per_s=float(row["per_rack_per_year"]) / units.YEAR,
            hardware=bool(row["hardware"]), planned=False, needs_spare=True,
            repair_s=float(row["repair_h"]) * units.HOUR, domain=True))
    return tuple(out)


@cache
def _hbm_hopper_over_ampere() -> float:
    return float(read_table("failure_rates")["generations"]["hbm_hopper_over_ampere"])


def generation_factor(group: str, measured_arch: str, target_arch: str) -> float:
    """How much more often a cause of ``group`` strikes ``target_arch`` GPUs than the
    ``measured_arch`` GPUs it was measured on (Delta: HBM, Hopper over Ampere; else 1)."""
    if group != "hbm" or measured_arch == target_arch:
        return 1.0
    ratio = _hbm_hopper_over_ampere()
    if (measured_arch, target_arch) == ("ampere", "hopper"):
        return ratio
    if (measured_arch, target_arch) == ("hopper", "ampere"):
        return 1.0 / ratio
    return 1.0


def for_generation(causes: tuple[CauseRate, ...], measured_arch: str, target_arch: str | None) -> tuple[CauseRate, ...]:
    """``causes`` measured on ``measured_arch`` GPUs, carried over to ``target_arch`` ones."""
    if target_arch is None or target_arch == measured_arch:
        return causes
    return tuple(replace(c, per_unit_per_s=c.per_unit_per_s * generation_factor(c.cause, measured_arch, target_arch))
                 for c in causes)


def catalog_causes() -> tuple[CauseRate, ...]:
    """Llama 3's per-unit rates and the rack domains: the default fleet (``llama3-h100``)."""
    return log_causes() + domain_causes()


def log_arch() -> str:
    """The GPU generation the log was measured on (Llama 3: Hopper)."""
    return gpu_arch(str(read_table("failure_rates")["calibration"]["gpu"]))


def gpu_arch(gpu: str) -> str:
    """The architecture of catalog GPU ``gpu`` (``gpus.toml``)."""
    try:
        return str(catalog.raw_entry("gpus", gpu)["architecture"])
    except CatalogError as exc:
        raise SpecError(exc.message) from None


def calibration_footprint() -> Footprint:
    """What the logged calibration job spanned (Llama 3: 16,384 GPUs)."""
    return _calibration(read_table("failure_rates"))


def footprint(num_gpus: int, *, gpus_per_server: int, fabric: FabricSpec, servers_per_rack: int = 1) -> Footprint:
    """Units a job of ``num_gpus`` spans; switches are those of the smallest Clos that holds it.

    Assumption: the job is placed compactly, so the switches it crosses are those of a
    fabric built for its GPUs alone (``topology.fabric_inventory``), and its servers fill
    whole racks.
    """
    if num_gpus <= 0 or num_gpus % gpus_per_server:
        raise SpecError(f"the job's GPUs ({num_gpus}) must fill whole servers of {gpus_per_server}")
    if servers_per_rack < 1:
        raise SpecError(f"servers per rack must be >= 1 (got {servers_per_rack})")
    try:
        fab = fabric_inventory(fabric, num_gpus=num_gpus, gpus_per_server=gpus_per_server)
    except InfeasibleError as exc:
        raise SpecError(str(exc)) from None
    servers = num_gpus // gpus_per_server
    return Footprint(num_gpus, servers, fab.nic_links, fab.num_switches, -(-servers // servers_per_rack),
                     servers_per_rack)


def scaled(causes: tuple[CauseRate, ...], rate_scale: float) -> tuple[CauseRate, ...]:
    """``causes`` with every rate multiplied by ``rate_scale`` (a what-if: a worse or better fleet)."""
    if not (rate_scale >= 0 and math.isfinite(rate_scale)):
        raise SpecError(f"rate_scale must be a finite number >= 0 (got {rate_scale})")
    if rate_scale == 1.0:
        return causes
    return tuple(replace(c, per_unit_per_s=c.per_unit_per_s * rate_scale) for c in causes)


def job_rates(fp: Footprint, causes: tuple[CauseRate, ...] | None = None,
              *, rate_scale: float = 1.0) -> tuple[JobRate, ...]:
    """Each cause's interruption rate (per second) for a job spanning ``fp``.

    ``causes`` default to the default fleet's; ``rate_scale`` multiplies every rate.
    """
    causes = scaled(catalog_causes() if causes is None else causes, rate_scale)
    return tuple(JobRate(c, c.per_unit_per_s * fp.units_of(c.per)) for c in causes)


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
    """Mean time to interruption (all causes, planned ones included); infinite when nothing fails."""
    total = total_per_s(rates)
    return math.inf if total == 0 else 1.0 / total


def mttf_unplanned_s(rates: tuple[JobRate, ...]) -> float:
    """Mean time to an unexpected interruption (a failure); infinite when nothing fails."""
    total = total_per_s(rates, planned=False)
    return math.inf if total == 0 else 1.0 / total


def hardware_share(rates: tuple[JobRate, ...]) -> float:
    """Share of *unexpected* interruptions that are hardware faults (Llama 3's ~78%)."""
    unplanned = total_per_s(rates, planned=False)
    hw = sum(r.per_s for r in rates if r.cause.hardware and not r.cause.planned)
    return hw / unplanned if unplanned else 0.0
