"""A scenario's ``forecast:`` block: what a forecast is unsure of, beyond what the models measured.

``colossus forecast`` plays the facility simulation over many draws; each
draw samples every source of doubt. Two of them come from what the project
measured and are switched on or off here (``step_time_error``: the
performance model's leave-one-family-out errors; ``failure_rate_spread``: the
spread between published fleets). The others are the planner's own three-point
estimates (lowest, most likely, highest: a triangular distribution), because
no record measures them for a site nobody has built:

* ``buildout``: days every pool's build-out starts late (``slip_days``) and
  how much longer its racks take to arrive (``ramp_factor``, on ``ramp_days``);
* ``supply``: how much more often the generators are out than their catalog
  availability says (``generator_outage_factor``, on the forced-outage share
  ``1 - availability``) and how many days the grid contract starts late
  (``grid_slip_days``, where the scenario has a contract date).

Every field left out (null) takes the catalog's default
(``catalog/data/forecast.toml``, each with the reason for it), so a scenario
without the block forecasts with documented defaults. ``{low: 0, mode: 0,
high: 0}`` (or ``low = high`` in general) fixes a quantity.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from colossus.spec.base import Spec
from colossus.spec.bounds import Factor, HorizonFactor, OutageFactor, SlipDays

#: Times the simulated period is doubled at most when too few draws finish in it.
Extensions = Literal[0, 1, 2, 3]

MeasuredOrNone = Literal["measured", "none"]


class _ThreePoint(Spec):
    """A three-point estimate: lowest, most likely and highest value (a triangular distribution)."""

    @model_validator(mode="after")
    def _ordered(self) -> _ThreePoint:
        low, mode, high = self.low, self.mode, self.high  # type: ignore[attr-defined]
        if not low <= mode <= high:
            raise ValueError(f"need low <= mode <= high (got {low:g}, {mode:g}, {high:g})")
        return self


class SlipEstimate(_ThreePoint):
    """Days late: lowest, most likely, highest (negative: early)."""

    low: SlipDays = Field(description="fewest days late")
    mode: SlipDays = Field(description="most likely days late")
    high: SlipDays = Field(description="most days late")


class FactorEstimate(_ThreePoint):
    """A multiplier: lowest, most likely, highest."""

    low: Factor = Field(description="lowest multiplier")
    mode: Factor = Field(description="most likely multiplier")
    high: Factor = Field(description="highest multiplier")


class OutageEstimate(_ThreePoint):
    """A multiplier of the forced-outage share: lowest, most likely, highest."""

    low: OutageFactor = Field(description="lowest multiplier")
    mode: OutageFactor = Field(description="most likely multiplier")
    high: OutageFactor = Field(description="highest multiplier")


class BuildoutDoubt(Spec):
    """How late and how slowly the build-out may come (every pool the same: one supply chain)."""

    slip_days: SlipEstimate | None = Field(default=None, description="days each pool's build-out starts late")
    ramp_factor: FactorEstimate | None = Field(default=None, description="multiplier of each pool's ramp_days")


class SupplyDoubt(Spec):
    """How available the supply may be."""

    generator_outage_factor: OutageEstimate | None = Field(
        default=None, description="multiplier of every generator's forced-outage share (1 - availability)")
    grid_slip_days: SlipEstimate | None = Field(
        default=None, description="days the grid contract starts late (scenarios with a contract date)")


class ForecastSpec(Spec):
    """What ``colossus forecast`` samples in each draw; null fields take ``catalog/data/forecast.toml``."""

    step_time_error: MeasuredOrNone = Field(
        default="measured", description="measured: the perf model's leave-one-family-out error; none: as predicted")
    failure_rate_spread: MeasuredOrNone = Field(
        default="measured", description="measured: the spread between published fleets; none: the scenario's fleet")
    buildout: BuildoutDoubt = Field(default_factory=BuildoutDoubt)
    supply: SupplyDoubt = Field(default_factory=SupplyDoubt)
    fillers: bool | None = Field(
        default=None, description="simulate the filler workload in every draw (null: the catalog default)")
    horizon_factor: HorizonFactor | None = Field(
        default=None, description="simulate to this multiple of the later of the date and the expected finish")
    max_extensions: Extensions | None = Field(
        default=None, description="times the period is doubled at most while fewer than 90% of draws finish")
