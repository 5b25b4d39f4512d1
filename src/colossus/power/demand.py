"""Site power demand, bottom up: GPUs, servers, racks, fabric, storage, conversion, cooling.

Each component draws a fraction of its catalog rating at a load point
(``power_load.toml``: idle, training, nameplate); GPUs draw what their state
says (idle, a step's mean draw, TDP, or a capped draw). Server DC power passes
through the server's power supplies (``psu_efficiency``); facility
distribution loss, cooling and lighting follow the IT load:

* ``ComponentCooling``: facility pumps ``pump_w_per_w`` x liquid heat, air
  handling ``air_w_per_w`` x air heat, heat rejection IT heat / COP,
  distribution loss and lighting as fractions of IT power; rack CDUs from the
  rack spec are counted as cooling;
* ``PueCooling``: everything beyond IT is ``(pue - 1)`` x IT.

IT heat is taken equal to IT power (all electricity ends as heat in the room).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from colossus.power.assumptions import PowerAssumptions
from colossus.spec import ComponentCooling, PoolSpec, PueCooling, Scenario
from colossus.topology import ClusterInventory
from colossus.topology.fabric import TIER_NAMES


class LoadPoint(StrEnum):
    IDLE = "idle"
    TRAINING = "training"
    NAMEPLATE = "nameplate"


@dataclass(frozen=True, slots=True)
class LoadFractions:
    """Fractions of each component's rating drawn at one load point (``power_load.toml``)."""

    cpu: float
    dimm: float
    nvme: float
    nic: float
    nvswitch: float
    fans: float
    other: float
    switch: float
    cdu: float
    storage: float
    switch_at_max: bool = False  # switch fraction is of its maximum (nameplate), else of its typical power


_FRACTION_NAMES = ("cpu", "dimm", "nvme", "nic", "nvswitch", "fans", "other", "switch", "cdu", "storage")


def load_fractions(point: LoadPoint, a: PowerAssumptions) -> LoadFractions:
    values = {n: a.f(f"load.{point.value}.{n}_frac") for n in _FRACTION_NAMES}
    return LoadFractions(**values, switch_at_max=point is LoadPoint.NAMEPLATE)


@dataclass(frozen=True, slots=True)
class PoolLoad:
    """How a pool runs: GPUs working (each drawing ``gpu_w``), GPUs idle; the rest powered off."""

    pool: str
    num_working_gpus: int
    gpu_w: float
    num_idle_gpus: int = 0
    fractions: LoadFractions | None = None  # component fractions of working servers; None = the site's


@dataclass(frozen=True, slots=True)
class PoolDemand:
    """One pool's power by component, W (DC before the PSUs, except ``psu_loss_w``)."""

    name: str
    num_racks: int
    num_servers_on: int
    parts_w: Mapping[str, float]  # gpus, cpus, memory, local_nvme, scaleout_nics, frontend_dpus, nvswitch, fans_other
    psu_loss_w: float
    mgmt_switches_w: float
    cdus_w: float
    off_servers_w: float

    @property
    def it_w(self) -> float:
        return sum(self.parts_w.values()) + self.psu_loss_w + self.mgmt_switches_w + self.off_servers_w


def _server_parts_w(pool: PoolSpec, gpu_w: float, fr: LoadFractions) -> dict[str, float]:
    """DC power of one server's components with its GPUs at ``gpu_w`` each."""
    s = pool.server
    return {
        "gpus": s.gpus_per_server * gpu_w,
        "cpus": s.num_cpus * s.cpu_tdp_w * fr.cpu,
        "memory": s.num_dimms * s.dimm_w * fr.dimm,
        "local_nvme": s.num_nvme * s.nvme_w * fr.nvme,
        "scaleout_nics": s.scaleout_nics_per_server * s.scaleout_nic.tdp_w * fr.nic,
        "frontend_dpus": s.frontend_nics_per_server * s.frontend_nic.tdp_w * fr.nic,
        "nvswitch": s.nvswitch_chips * s.nvswitch_w * fr.nvswitch,
        "fans_other": s.fans_w * fr.fans + s.other_w * fr.other,
    }


def pool_demand(pool: PoolSpec, load: PoolLoad, *, busy: LoadFractions, idle: LoadFractions,
                off_server_w: float) -> PoolDemand:
    """A pool's demand: working servers at ``busy`` fractions, idle ones at ``idle``, the rest off."""
    per = pool.server.gpus_per_server
    n_work = -(-load.num_working_gpus // per)
    n_idle = min(-(-load.num_idle_gpus // per), pool.num_servers - n_work)
    work = _server_parts_w(pool, load.gpu_w, load.fractions or busy)
    rest = _server_parts_w(pool, pool.gpu.idle_w, idle)
    parts = {k: n_work * work[k] + n_idle * rest[k] for k in work}
    dc_w = sum(parts.values())
    return PoolDemand(
        name=pool.name,
        num_racks=pool.num_racks,
        num_servers_on=n_work + n_idle,
        parts_w=parts,
        psu_loss_w=dc_w * (1.0 / pool.server.psu_efficiency - 1.0),
        mgmt_switches_w=pool.num_racks * pool.rack.mgmt_switch_w,
        cdus_w=pool.num_racks * pool.rack.cdu_w * busy.cdu,
        off_servers_w=(pool.num_servers - n_work - n_idle) * off_server_w,
    )


@dataclass(frozen=True, slots=True)
class Facility:
    """Power beyond IT, W."""

    cdus_w: float
    pumps_w: float
    air_w: float
    heat_rejection_w: float
    distribution_loss_w: float
    misc_w: float

    @property
    def cooling_w(self) -> float:
        return self.cdus_w + self.pumps_w + self.air_w + self.heat_rejection_w

    @property
    def total_w(self) -> float:
        return self.cooling_w + self.distribution_loss_w + self.misc_w


def facility_w(cooling: ComponentCooling | PueCooling, it_w: float, cdus_w: float) -> Facility:
    """Cooling, distribution and misc power for ``it_w`` of IT load (see the module docstring)."""
    if isinstance(cooling, PueCooling):
        return Facility(cdus_w, 0.0, 0.0, (cooling.pue - 1.0) * it_w - cdus_w, 0.0, 0.0)
    heat_w = it_w + cdus_w
    return Facility(
        cdus_w=cdus_w,
        pumps_w=cooling.pump_w_per_w * cooling.liquid_heat_frac * heat_w,
        air_w=cooling.air_w_per_w * (1.0 - cooling.liquid_heat_frac) * heat_w,
        heat_rejection_w=heat_w / cooling.heat_rejection_cop,
        distribution_loss_w=cooling.distribution_loss_frac * it_w,
        misc_w=cooling.lighting_misc_frac * it_w,
    )


@dataclass(frozen=True, slots=True)
class SiteDemand:
    """The whole site's power at one state, W, by component."""

    pools: tuple[PoolDemand, ...]
    switches_w: Mapping[str, float]  # per fabric tier name
    optics_w: float
    storage_w: float
    facility: Facility
    inputs: Mapping[str, Any] = field(default_factory=dict)

    @property
    def gpus_w(self) -> float:
        return sum(p.parts_w["gpus"] for p in self.pools)

    @property
    def it_w(self) -> float:
        return sum(p.it_w for p in self.pools) + sum(self.switches_w.values()) + self.optics_w + self.storage_w

    @property
    def site_w(self) -> float:
        return self.it_w + self.facility.total_w

    @property
    def num_racks(self) -> int:
        return sum(p.num_racks for p in self.pools)

    @property
    def pue(self) -> float:
        return self.site_w / self.it_w


def site_demand(scenario: Scenario, inv: ClusterInventory, loads: Sequence[PoolLoad], *,
                busy: LoadFractions, idle: LoadFractions, a: PowerAssumptions) -> SiteDemand:
    """Site demand with each pool as ``loads`` says (pools not named are powered off)."""
    by_pool = {ld.pool: ld for ld in loads}
    off_w = a.f("events.deficit.off_server_w")
    pools = tuple(
        pool_demand(p, by_pool.get(p.name, PoolLoad(p.name, 0, 0.0)), busy=busy, idle=idle, off_server_w=off_w)
        for p in scenario.cluster.pools
    )
    switch = scenario.cluster.fabric.switch
    rating_w = switch.tdp_w if busy.switch_at_max else switch.typical_w
    switches = {TIER_NAMES[t.level - 1]: t.num_switches * rating_w * busy.switch for t in inv.fabric.tiers}
    storage_w = scenario.storage.capacity_pb * a.f("load.storage.w_per_pb") * busy.storage
    it_w = sum(p.it_w for p in pools) + sum(switches.values()) + inv.optics_w + storage_w
    return SiteDemand(
        pools=pools,
        switches_w=switches,
        optics_w=inv.optics_w,
        storage_w=storage_w,
        facility=facility_w(scenario.power.cooling, it_w, sum(p.cdus_w for p in pools)),
    )
