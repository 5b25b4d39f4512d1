"""Energy by source, fuel, CO2, NOx and water: per day and for a whole training run.

Dispatch (merit order, an assumption stated in the output): the grid first, up
to its deliverable power, then the generators in proportion to their capacity,
then whatever a user-given supply adds beyond the physical units
("unassigned", counted at the grid's factors). Fuel = electric energy x heat
rate (HHV); CO2 = fuel x 53.06 kg/MMBtu (US EPA 40 CFR 98 Table C-1) for
generators and the grid's kg/MWh for grid energy; NOx per kWh electric per
source; site water = IT energy x the cooling's WUE (litres per kWh of IT
energy, The Green Grid's definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from colossus import units
from colossus.power.assumptions import PowerAssumptions
from colossus.power.supply import Supply


@dataclass(frozen=True, slots=True)
class Footprint:
    """Totals over ``duration_s`` at constant site and IT power."""

    duration_s: float
    site_w: float
    it_w: float
    grid_j: float
    generator_j: dict[str, float]  # per fleet unit name
    unassigned_j: float
    fuel_j: float  # HHV
    co2_kg: float
    nox_kg: float
    water_m3: float
    gas_m3: float

    @property
    def energy_j(self) -> float:
        return self.grid_j + sum(self.generator_j.values()) + self.unassigned_j

    def as_dict(self) -> dict[str, Any]:
        return {
            "duration_s": self.duration_s,
            "mean_site_w": self.site_w,
            "mean_it_w": self.it_w,
            "energy_mwh": self.energy_j / units.MWH,
            "energy_by_source_mwh": {
                "grid": self.grid_j / units.MWH,
                **{f"generators:{k}": v / units.MWH for k, v in self.generator_j.items()},
                "unassigned": self.unassigned_j / units.MWH,
            },
            "fuel_mmbtu": self.fuel_j / units.MMBTU,
            "gas_m3": self.gas_m3,
            "co2_t": self.co2_kg / units.TONNE,
            "nox_kg": self.nox_kg,
            "water_m3": self.water_m3,
        }


def dispatch_w(supply: Supply, site_w: float) -> tuple[float, dict[str, float], float]:
    """(grid W, generator W per fleet, unassigned W) meeting ``site_w`` in merit order."""
    grid_w = min(site_w, supply.grid_w)
    rest_w = site_w - grid_w
    gens_w = min(rest_w, supply.generators_w)
    share = {f.unit: (gens_w * f.capacity_w / supply.generators_w if supply.generators_w else 0.0) for f in supply.fleets}
    return grid_w, share, rest_w - gens_w


def footprint(supply: Supply, *, site_w: float, it_w: float, duration_s: float, wue_l_per_kwh: float,
              a: PowerAssumptions) -> Footprint:
    """Energy, fuel and emissions of running at ``site_w`` (IT part ``it_w``) for ``duration_s``."""
    grid_w, gens_w, unassigned_w = dispatch_w(supply, site_w)
    fleets = {f.unit: f for f in supply.fleets}
    fuel_j = sum(w * duration_s * fleets[u].heat_rate_j_per_j for u, w in gens_w.items())
    co2 = sum(w * duration_s * fleets[u].heat_rate_j_per_j * fleets[u].co2_kg_per_j_fuel for u, w in gens_w.items())
    grid_like_j = (grid_w + unassigned_w) * duration_s
    grid_nox_kg_per_j = a.f("environment.grid.nox_g_per_kwh") * 1e-3 / units.KWH
    nox = sum(w * duration_s * fleets[u].nox_kg_per_j for u, w in gens_w.items()) + grid_like_j * grid_nox_kg_per_j
    water_l = it_w * duration_s / units.KWH * wue_l_per_kwh + _upstream_water_l(grid_like_j, sum(gens_w.values()) * duration_s, a)
    return Footprint(
        duration_s=duration_s, site_w=site_w, it_w=it_w,
        grid_j=grid_w * duration_s, generator_j={u: w * duration_s for u, w in gens_w.items()},
        unassigned_j=unassigned_w * duration_s, fuel_j=fuel_j,
        co2_kg=co2 + grid_like_j * supply.grid_co2_kg_per_j, nox_kg=nox,
        water_m3=water_l / 1000.0, gas_m3=fuel_j / units.MMBTU * a.f("environment.gas.m3_per_mmbtu"),
    )


def _upstream_water_l(grid_j: float, generator_j: float, a: PowerAssumptions) -> float:
    return (grid_j * a.f("environment.grid.water_l_per_kwh") + generator_j * a.f("environment.generators.water_l_per_kwh")) / units.KWH
