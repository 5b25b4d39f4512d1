"""Power supply (grid, generators, batteries) and cooling of the site."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field

from colossus import units
from colossus.spec.base import CatalogItem, Spec, ref
from colossus.spec.bounds import MAX_FLEETS, Day, Efficiency, FiniteFloat, Megawatts, UnitCount, real
from colossus.spec.hardware import Fraction, NonNegFloat, NonNegInt, PositiveFloat


class GeneratorKind(StrEnum):
    RECIPROCATING = "reciprocating"  # gas engine genset
    TURBINE = "turbine"  # simple-cycle gas turbine


class GeneratorSpec(CatalogItem):
    """One on-site generating unit burning natural gas."""

    kind: GeneratorKind
    rating_mw: PositiveFloat = Field(description="continuous electrical output at site conditions, MW")
    availability: Fraction = Field(description="long-run fraction of time the unit can run")
    min_load_frac: Fraction = Field(description="lowest stable load as a fraction of rating")
    ramp_mw_per_min: PositiveFloat = Field(description="load change rate, MW per minute")
    start_s: NonNegFloat = Field(description="cold start to full load, s")
    heat_rate_btu_per_kwh: PositiveFloat = Field(description="fuel energy (HHV) per kWh electric at full load")
    nox_g_per_kwh: NonNegFloat = Field(description="NOx emitted per kWh electric (with site controls)")
    co2_kg_per_mmbtu: PositiveFloat = Field(description="CO2 per MMBtu of natural gas burned")

    @property
    def rating_w(self) -> float:
        return self.rating_mw * units.MW


class BatterySpec(CatalogItem):
    """One battery energy-storage unit."""

    energy_mwh: PositiveFloat
    power_mw: PositiveFloat
    round_trip_efficiency: Efficiency

    @property
    def energy_j(self) -> float:
        return self.energy_mwh * units.MWH

    @property
    def power_w(self) -> float:
        return self.power_mw * units.MW


class GridSpec(Spec):
    """The utility connection."""

    interim_mw: Megawatts = Field(description="power the utility delivers before a contract, MW")
    contract_mw: Megawatts = Field(description="contracted capacity once the contract starts, MW")
    contract_start_day: Day | None = Field(
        description="day (from scenario start) the contract starts; null = not signed"
    )
    co2_kg_per_mwh: NonNegFloat = Field(description="emission factor of grid electricity")


class GeneratorFleet(Spec):
    unit: Annotated[GeneratorSpec, ref("generators")]
    count: UnitCount


class BatteryBank(Spec):
    unit: Annotated[BatterySpec, ref("batteries")]
    count: UnitCount


class SupplySpec(Spec):
    grid: GridSpec
    generators: list[GeneratorFleet] = Field(default_factory=list, max_length=MAX_FLEETS)
    batteries: list[BatteryBank] = Field(default_factory=list, max_length=MAX_FLEETS)

    @property
    def generator_nameplate_w(self) -> float:
        return sum(f.count * f.unit.rating_w for f in self.generators)


class PueCooling(Spec):
    """Cooling and facility overhead as one power usage effectiveness figure."""

    model: Literal["pue"]
    pue: real(ge=1, le=3)  # type: ignore[valid-type]
    wue_l_per_kwh: NonNegFloat = Field(description="site water use per kWh of IT energy, litres")


class ComponentCooling(Spec):
    """Cooling built from its parts: liquid loop, air side and heat rejection.

    Heat from the IT load splits into the share taken by the liquid loop
    (cold plates) and the rest taken by air. Each path costs pump/fan power
    proportional to the heat it moves; heat rejection (chillers or dry
    coolers with evaporative assist) costs 1/COP per unit of heat.
    """

    model: Literal["components"]
    liquid_heat_frac: Fraction = Field(description="share of IT heat removed by the liquid loop")
    pump_w_per_w: NonNegFloat = Field(description="loop pump power per W of liquid heat")
    air_w_per_w: NonNegFloat = Field(description="CRAH/fan power per W of air heat")
    heat_rejection_cop: PositiveFloat = Field(description="W of heat rejected per W of chiller/tower power")
    distribution_loss_frac: Fraction = Field(description="UPS and transformer losses, fraction of IT power")
    lighting_misc_frac: Fraction = Field(description="lighting, offices, controls, fraction of IT power")
    wue_l_per_kwh: NonNegFloat = Field(description="site water use per kWh of IT energy, litres")


CoolingSpec = Annotated[PueCooling | ComponentCooling, Field(discriminator="model")]


class PowerSpec(Spec):
    supply: SupplySpec
    cooling: CoolingSpec
    assumptions: dict[str, FiniteFloat | int | bool | str] = Field(
        default_factory=dict,
        description=(
            "overrides of the power model's named assumptions by dotted path, e.g."
            " 'load.training.cpu_frac: 0.5' (catalog/data/power_*.toml lists every name and its default)"
        ),
    )
