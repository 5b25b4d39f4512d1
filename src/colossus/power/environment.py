"""Energy by source, fuel, CO2, NOx and water: per day and for a whole training run.

Dispatch is ``power.dispatch.commit`` (merit order, units committed with
their minimum load and N-1 reserve); whatever a user-given supply adds beyond
the physical units is "unassigned", counted at the grid's factors. Fuel is
each fleet's part-load fuel curve (HHV); CO2 = fuel x 53.06 kg/MMBtu (US EPA
40 CFR 98 Table C-1) for generators and the grid's kg/MWh for grid energy;
NOx per unit of fuel for generators (with their emission control) and per
kWh for the grid; site water = IT energy x the cooling's WUE (litres per kWh
of IT energy, The Green Grid's definition).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from colossus import units
from colossus.power.assumptions import PowerAssumptions
from colossus.power.dispatch import Commitment, Plant


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


def footprint(plant: Plant, c: Commitment, *, it_w: float, duration_s: float, wue_l_per_kwh: float,
              a: PowerAssumptions) -> Footprint:
    """Energy, fuel and emissions of holding commitment ``c`` (IT part ``it_w``) for ``duration_s``.

    Fuel follows each fleet's part-load fuel curve at the units it runs; load
    beyond the physical plant (a user-given supply larger than the units,
    which the batteries cannot hold for a day) is "unassigned" and counted at
    the grid's factors.
    """
    grid_nox = a.f("environment.grid.nox_g_per_kwh") * 1e-3 / units.KWH
    gens_j = {f.name: c.fleet_w[i] * duration_s for i, f in enumerate(plant.fleets)}
    fuel_by = [f.fuel_w(c.units[i], c.fleet_w[i]) * duration_s for i, f in enumerate(plant.fleets)]
    fuel_j = float(sum(fuel_by))
    co2 = sum(x * f.co2_kg_per_j_fuel for x, f in zip(fuel_by, plant.fleets))
    nox = sum(x * f.nox_kg_per_j_fuel for x, f in zip(fuel_by, plant.fleets))
    beyond_w = c.unmet_w + c.discharge_w  # a supply beyond the units (batteries do not hold a day)
    grid_like_j = (c.grid_w + beyond_w) * duration_s
    gen_j = float(sum(gens_j.values()))
    water_l = it_w * duration_s / units.KWH * wue_l_per_kwh + _upstream_water_l(grid_like_j, gen_j, a)
    return Footprint(
        duration_s=duration_s, site_w=c.load_w, it_w=it_w, grid_j=c.grid_w * duration_s, generator_j=gens_j,
        unassigned_j=beyond_w * duration_s, fuel_j=fuel_j, co2_kg=co2 + grid_like_j * plant.grid_co2_kg_per_j,
        nox_kg=nox + grid_like_j * grid_nox, water_m3=water_l / 1000.0,
        gas_m3=fuel_j / units.MMBTU * a.f("environment.gas.m3_per_mmbtu"),
    )


def _upstream_water_l(grid_j: float, generator_j: float, a: PowerAssumptions) -> float:
    return (
        grid_j * a.f("environment.grid.water_l_per_kwh") + generator_j * a.f("environment.generators.water_l_per_kwh")
    ) / units.KWH
