"""How the site's supply is run, what it costs, and how it rides out swings.

* ``PermitSpec``: an air permit's annual limits (NOx, unit run hours, starts)
  that the generator fleets naming it share; the dispatch respects them and
  the report checks them.
* ``DispatchSpec``: merit order, N-1 spinning reserve, the batteries' state of
  charge window, peak shaving and recharging.
* ``PricesSpec``: every price of the cost model; a field left out (null) takes
  the catalog's default (``catalog/data/power_prices.toml``, each with its source).
* ``SwingsSpec``: mitigations of sub-second training swings (GPU power floor,
  GPU ramp limit, battery smoothing) and the ramp limit the utility declares.

Defaults are assumptions, each documented beside its field.
"""

from __future__ import annotations

from typing import Annotated, TypeAlias

from pydantic import Field, model_validator

from colossus.spec.base import Spec
from colossus.spec.hardware import Fraction, NonNegFloat, PositiveFloat

#: One short ton (US permits state tons per year in short tons), kg.
SHORT_TON_KG = 907.18474


class PermitSpec(Spec):
    """An air permit's limits per permit year; a limit left null does not apply."""

    name: str
    nox_short_tons_per_year: NonNegFloat | None = Field(
        default=None, description="NOx the units under the permit may emit per permit year, short tons")
    run_hours_per_year: NonNegFloat | None = Field(
        default=None, description="unit-hours (summed over the units) they may run per permit year")
    starts_per_unit_per_year: NonNegFloat | None = Field(
        default=None, description="start-ups per unit per permit year (the fleet shares count x this)")
    year_start_day: NonNegFloat = Field(default=0.0, description="day of the scenario on which a permit year begins")

    @property
    def nox_kg_per_year(self) -> float | None:
        return None if self.nox_short_tons_per_year is None else self.nox_short_tons_per_year * SHORT_TON_KG


class DispatchSpec(Spec):
    """Unit commitment and battery policy (``power.dispatch``)."""

    merit_order: list[str] | None = Field(
        default=None,
        description="sources in the order they take load: 'grid' and generator unit names; null = cheapest"
                    " marginal cost first (power.prices)")
    n_minus_1_reserve: bool = Field(
        default=True, description="hold spinning reserve for the loss of the largest running unit (NERC BAL-002)")
    grid_is_contingency: bool = Field(
        default=True, description="the grid feeder counts as a unit that can be lost (as supply.n_minus_1_w counts it)")
    battery_reserve_min: PositiveFloat = Field(
        default=15.0, description="a battery counts as reserve for the power it can hold this many minutes"
                                  " (assumption: the 15-minute contingency recovery period of NERC BAL-002)")
    battery_soc_min_frac: Fraction = Field(
        default=0.05,
        description="lowest state of charge the dispatch uses (assumption: a little kept for ride-through)",
    )
    battery_soc_max_frac: Fraction = Field(
        default=1.0, description="highest state of charge (assumption: the catalog's energy is the usable energy)")
    peak_shave_grid_mw: NonNegFloat | None = Field(
        default=None, description="batteries hold grid import at or below this (demand charges); null = no shaving")
    recharge_from_generators: bool = Field(
        default=True, description="batteries may recharge from spare generator capacity, not only from the grid")
    min_up_h: NonNegFloat = Field(
        default=2.0, description="units stay on at least this long after a start, at minimum load if need be (the"
                                 " minimum up time of unit commitment; assumption: operators hold gas units on for"
                                 " hours rather than cycle them, and permits count starts)")

    @model_validator(mode="after")
    def _check(self) -> DispatchSpec:
        if self.battery_soc_min_frac >= self.battery_soc_max_frac:
            raise ValueError(f"battery_soc_min_frac ({self.battery_soc_min_frac:g}) must be below"
                             f" battery_soc_max_frac ({self.battery_soc_max_frac:g})")
        if self.merit_order is not None and len(set(self.merit_order)) != len(self.merit_order):
            raise ValueError("merit_order names a source twice")
        return self


Price: TypeAlias = NonNegFloat | None


class PricesSpec(Spec):
    """Prices in the units trade quotes them in; null = the catalog default (power_prices.toml)."""

    fuel_usd_per_mmbtu: Price = Field(default=None, description="natural gas delivered, USD per MMBtu (HHV)")
    grid_energy_usd_per_mwh: Price = Field(default=None, description="grid energy charge, USD per MWh")
    grid_demand_usd_per_kw_month: Price = Field(
        default=None, description="grid demand charge, USD per kW of the month's peak demand")
    reciprocating_rental_usd_per_kw_month: Price = Field(
        default=None, description="rental of mobile gas engine gensets, USD per kW of rating per month on site")
    turbine_rental_usd_per_kw_month: Price = Field(
        default=None, description="rental of mobile gas turbines, USD per kW of rating per month on site")
    generator_om_usd_per_mwh: Price = Field(default=None, description="variable O&M of on-site generation, USD per MWh")
    scr_usd_per_kw_month: Price = Field(
        default=None,
        description="SCR capital recovery and operation (reagent, catalyst), USD per kW controlled per month",
    )
    battery_usd_per_kwh: Price = Field(default=None, description="battery storage installed capital, USD per kWh")
    battery_life_years: Annotated[float, Field(gt=0)] | None = Field(
        default=None, description="years over which the battery capital is recovered")
    discount_rate: Fraction | None = Field(default=None, description="annual discount rate of capital recovery")
    gpu_usd_per_hour: Price = Field(
        default=None, description="capital and hosting of one installed GPU (with its share of servers and fabric),"
                                  " USD per hour")


class SwingsSpec(Spec):
    """Mitigations of sub-second swings and the declared ramp limit (``power.swings``)."""

    gpu_power_floor_frac: Fraction | None = Field(
        default=None, description="each training GPU draws at least this share of its TDP (power smoothing floor);"
                                  " null = no floor")
    gpu_ramp_frac_per_s: PositiveFloat | None = Field(
        default=None, description="each training GPU's power changes at most this share of TDP per second; null = free")
    battery_smoothing: bool = Field(
        default=False, description="the site batteries take the fast part of the swings so that the grid side"
                                   " ramps within grid_ramp_limit_mw_per_s (or the generators' ramp)")
    grid_ramp_limit_mw_per_s: PositiveFloat | None = Field(
        default=None, description="ramp limit the utility declares for the site's grid import, MW per second;"
                                  " null = none declared")
