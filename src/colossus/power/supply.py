"""What the supply can deliver: grid, generator fleets, batteries; firm capacity and N-1.

Definitions (named here because planners use them loosely):

* ``grid_w``: the utility's deliverable power on the day asked (the interim
  figure before the contract starts, the contract after);
* ``firm_w``: grid plus every generator at its rating, the continuous power
  the site can run on with all units up. Batteries are not firm (they hold
  minutes to hours of energy) and are reported apart;
* ``n_minus_1_w``: ``firm_w`` less the largest single unit, where the grid
  connection counts as one unit (losing the feeder is the classic N-1 case);
* ``expected_w``: grid plus each fleet's rating x availability, the long-run
  average the generators can offer (planned and forced outages).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from colossus import units
from colossus.spec import SupplySpec


@dataclass(frozen=True, slots=True)
class FleetSummary:
    name: str  # the fleet's name (its unit's unless the scenario names it)
    unit: str
    kind: str
    count: int  # on site on the day asked
    rating_w: float
    availability: float
    min_load_w: float  # per unit
    ramp_w_per_s: float  # per unit
    heat_rate_j_per_j: float  # fuel energy (HHV) per electric energy
    nox_kg_per_j: float
    co2_kg_per_j_fuel: float
    source: str

    @property
    def capacity_w(self) -> float:
        return self.count * self.rating_w


@dataclass(frozen=True, slots=True)
class BatterySummary:
    unit: str
    count: int
    energy_j: float  # all units
    power_w: float  # all units
    round_trip_efficiency: float
    source: str


@dataclass(frozen=True, slots=True)
class Supply:
    day: float
    grid_w: float
    grid_contracted: bool
    fleets: tuple[FleetSummary, ...]
    batteries: tuple[BatterySummary, ...]
    grid_co2_kg_per_j: float

    @property
    def generators_w(self) -> float:
        return sum(f.capacity_w for f in self.fleets)

    @property
    def firm_w(self) -> float:
        return self.grid_w + self.generators_w

    @property
    def largest_unit_w(self) -> float:
        return max([self.grid_w, *(f.rating_w for f in self.fleets if f.count)], default=0.0)

    @property
    def n_minus_1_w(self) -> float:
        return self.firm_w - self.largest_unit_w

    @property
    def expected_w(self) -> float:
        return self.grid_w + sum(f.capacity_w * f.availability for f in self.fleets)

    @property
    def generator_ramp_w_per_s(self) -> float:
        """All generators together, W/s (grid excluded)."""
        return sum(f.count * f.ramp_w_per_s for f in self.fleets)

    @property
    def battery_power_w(self) -> float:
        return sum(b.power_w for b in self.batteries)

    @property
    def battery_energy_j(self) -> float:
        return sum(b.energy_j for b in self.batteries)


def grid_w_on(spec: SupplySpec, day: float) -> tuple[float, bool]:
    """The grid's deliverable power on ``day`` and whether the contract is in force."""
    grid = spec.grid
    signed = grid.contract_start_day is not None and day >= grid.contract_start_day
    return (grid.contract_mw if signed else grid.interim_mw) * units.MW, signed


def supply_summary(spec: SupplySpec, *, day: float = 0.0) -> Supply:
    """The supply of ``spec`` on ``day`` (days from the scenario start)."""
    grid_w, signed = grid_w_on(spec, day)
    fleets = tuple(
        FleetSummary(
            name=f.label,
            unit=f.unit.name,
            kind=f.unit.kind.value,
            count=f.count if f.from_day <= day and (f.until_day is None or day < f.until_day) else 0,
            rating_w=f.unit.rating_w,
            availability=f.unit.availability,
            min_load_w=f.unit.min_load_frac * f.unit.rating_w,
            ramp_w_per_s=f.unit.ramp_mw_per_min * units.MW / units.MINUTE,
            heat_rate_j_per_j=f.unit.heat_rate_btu_per_kwh * units.BTU / units.KWH,
            nox_kg_per_j=f.nox_g_per_kwh * 1e-3 / units.KWH,
            co2_kg_per_j_fuel=f.unit.co2_kg_per_mmbtu / units.MMBTU,
            source=f.unit.source,
        )
        for f in spec.generators
    )
    batteries = tuple(
        BatterySummary(b.unit.name, b.count, b.count * b.unit.energy_j, b.count * b.unit.power_w,
                       b.unit.round_trip_efficiency, b.unit.source)
        for b in spec.batteries
    )
    return Supply(day, grid_w, signed, fleets, batteries, spec.grid.co2_kg_per_mwh / units.MWH)


def supply_document(s: Supply) -> dict[str, Any]:
    """JSON form of the supply, with what each total is made of."""
    return {
        "day": s.day,
        "grid": {"available_w": s.grid_w, "contracted": s.grid_contracted},
        "generators": [
            {
                "name": f.name,
                "unit": f.unit,
                "kind": f.kind,
                "count": f.count,
                "rating_w": f.rating_w,
                "capacity_w": f.capacity_w,
                "availability": f.availability,
                "min_load_w": f.min_load_w,
                "ramp_w_per_s": f.ramp_w_per_s,
                "heat_rate_btu_per_kwh": f.heat_rate_j_per_j * units.KWH / units.BTU,
                "source": f.source,
            }
            for f in s.fleets
        ],
        "batteries": [
            {
                "unit": b.unit,
                "count": b.count,
                "energy_j": b.energy_j,
                "power_w": b.power_w,
                "round_trip_efficiency": b.round_trip_efficiency,
                "source": b.source,
            }
            for b in s.batteries
        ],
        "generators_w": s.generators_w,
        "firm_w": s.firm_w,
        "largest_unit_w": s.largest_unit_w,
        "n_minus_1_w": s.n_minus_1_w,
        "expected_w": s.expected_w,
        "battery_power_w": s.battery_power_w,
        "battery_energy_j": s.battery_energy_j,
        "inputs": {
            "firm_w": "grid available_w + sum(count x rating_w)",
            "n_minus_1_w": "firm_w - largest single unit (grid feeder counts as one)",
            "expected_w": "grid available_w + sum(count x rating_w x availability)",
        },
    }
