"""Power supply (grid, generators, batteries, permits) and cooling of the site.

How the supply is run (dispatch policy), what it costs (prices) and how the
site rides out sub-second swings live in ``spec.plant``; ``PowerSpec`` holds
them all.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, Literal

from pydantic import Field, model_validator

from colossus import units
from colossus.spec.base import CatalogItem, Spec, ref
from colossus.spec.bounds import MAX_FLEETS, Day, Efficiency, Megawatts, PowerOverrides, UnitCount, real
from colossus.spec.hardware import Fraction, NonNegFloat, PositiveFloat
from colossus.spec.plant import DispatchSpec, PermitSpec, PricesSpec, SwingsSpec


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
    start_s: NonNegFloat = Field(description="start until the unit can take load, s")
    heat_rate_btu_per_kwh: PositiveFloat = Field(description="fuel energy (HHV) per kWh electric at full load")
    no_load_fuel_frac: Annotated[float, Field(ge=0, lt=1)] = Field(
        description="fuel a running unit burns at zero output, as a share of its full-load fuel (a linear fuel"
                    " curve: heat rate at load x is full-load heat rate x (f + (1 - f) x) / x)")
    nox_g_per_kwh: NonNegFloat = Field(
        description="NOx per kWh electric at full load without post-combustion control (combustion controls only)")
    nox_scr_g_per_kwh: NonNegFloat = Field(description="NOx per kWh electric at full load with SCR fitted")
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


class EmissionControl(StrEnum):
    NONE = "none"  # combustion controls only (lean burn, dry low-NOx)
    SCR = "scr"  # selective catalytic reduction after the unit


class GeneratorFleet(Spec):
    """``count`` identical units on site from ``from_day`` until ``until_day`` (null: to the end)."""

    name: str | None = Field(default=None, description="the fleet's name; null = the unit's name (names must differ)")
    unit: Annotated[GeneratorSpec, ref("generators")]
    count: UnitCount
    emission_control: EmissionControl = Field(
        default=EmissionControl.NONE, description="post-combustion NOx control fitted to every unit: none or scr")
    permit: str | None = Field(default=None, description="name of the air permit (supply.permits) the units run under")
    from_day: NonNegFloat = Field(default=0.0, description="day the units arrive on site")
    until_day: NonNegFloat | None = Field(default=None, description="day the units leave the site; null = never")

    @model_validator(mode="after")
    def _check_days(self) -> GeneratorFleet:
        if self.until_day is not None and self.until_day <= self.from_day:
            raise ValueError(f"until_day ({self.until_day:g}) must come after from_day ({self.from_day:g})")
        return self

    @property
    def label(self) -> str:
        """The fleet's name: its own, else its unit's."""
        return self.name if self.name is not None else self.unit.name

    @property
    def nox_g_per_kwh(self) -> float:
        """NOx per kWh electric at full load with the fleet's control."""
        return self.unit.nox_scr_g_per_kwh if self.emission_control is EmissionControl.SCR else self.unit.nox_g_per_kwh


class BatteryBank(Spec):
    unit: Annotated[BatterySpec, ref("batteries")]
    count: UnitCount


class SupplySpec(Spec):
    grid: GridSpec
    generators: list[GeneratorFleet] = Field(default_factory=list, max_length=MAX_FLEETS)
    batteries: list[BatteryBank] = Field(default_factory=list, max_length=MAX_FLEETS)
    permits: list[PermitSpec] = Field(default_factory=list, description="air permits generator fleets run under")

    @model_validator(mode="after")
    def _check_permits(self) -> SupplySpec:
        labels = [f.label for f in self.generators]
        twice = sorted({n for n in labels if labels.count(n) > 1})
        if twice:
            raise ValueError(f"two generator fleets are called '{twice[0]}': give each a distinct name")
        if "grid" in labels:
            raise ValueError("a generator fleet may not be called 'grid' (merit orders name the grid so)")
        names = [p.name for p in self.permits]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ValueError(f"permit name '{dup[0]}' is used twice")
        for f in self.generators:
            if f.permit is not None and f.permit not in names:
                have = ", ".join(names) or "none"
                raise ValueError(f"generator fleet '{f.label}' names permit '{f.permit}', which supply.permits"
                                 f" lacks (permits: {have})")
        return self

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
    dispatch: DispatchSpec = Field(default_factory=DispatchSpec, description="how the supply is run")
    prices: PricesSpec = Field(default_factory=PricesSpec, description="prices; a field left out takes the catalog's")
    swings: SwingsSpec = Field(default_factory=SwingsSpec, description="sub-second swings: mitigations and limits")

    @model_validator(mode="after")
    def _merit_order_names_sources(self) -> PowerSpec:
        order = self.dispatch.merit_order or []
        known = ["grid", *(f.label for f in self.supply.generators)]
        for name in order:
            if name not in known:
                raise ValueError(f"dispatch.merit_order names '{name}', which is neither 'grid' nor a generator"
                                 f" fleet (sources: {', '.join(known)})")
        return self
    assumptions: PowerOverrides = Field(
        default_factory=dict,
        description=(
            "overrides of the power model's named assumptions by dotted path, e.g."
            " 'load.training.cpu_frac: 0.5' (catalog/data/power_*.toml lists every name and its default)"
        ),
    )
