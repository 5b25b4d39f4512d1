"""How a scenario plays out over time: duration, build-out, failures, scheduler, power, filler jobs.

Every field has a default so that a scenario without a ``simulation`` block
still simulates; the defaults are assumptions documented beside each field.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, ValidationInfo, field_validator

from colossus.spec.base import Spec
from colossus.spec.bounds import (
    Day,
    Days,
    GeneratorMttrHours,
    RateScale,
    TelemetryMinutes,
    real,
    telemetry_problem,
)
from colossus.spec.hardware import Fraction
from colossus.spec.workload import WorkloadSpec


class BuildoutSpec(Spec):
    """One pool's racks come online linearly from ``start_day`` over ``ramp_days``, then burn in."""

    pool: str
    start_day: Day = Field(default=0.0, description="day the first rack is installed")
    ramp_days: Day = Field(default=0.0, description="days from first to last rack (0 = all at once)")
    burn_in_days: Day = Field(default=0.0, description="days a new rack runs burn-in before joining")


class FailureSpec(Spec):
    rate_scale: RateScale = Field(default=1.0, description="multiply every failure rate (1 = Llama 3's fleet)")
    burn_in_rate_multiplier: real(gt=0, le=100) = Field(  # type: ignore[valid-type]
        default=3.0, description="failure rate of a rack in burn-in relative to a settled one (infant mortality)")
    repair_cv: real(ge=0, le=10) = Field(  # type: ignore[valid-type]
        default=1.0, description="coefficient of variation of repair times (lognormal; 0 = always the mean)")


class SchedulerSpec(Spec):
    backfill: bool = Field(default=True, description="start lower-priority jobs that do not delay the queue head")
    preemption: bool = Field(default=True, description="a higher-priority job may preempt lower-priority ones")
    hot_spare_frac: Fraction = Field(
        default=0.005, description="share of each pool's servers held idle as hot spares for priority jobs")
    elastic_min_frac: Fraction = Field(
        default=0.5, description="a named job short of GPUs restarts on fewer, down to this share of its size")


class SimPowerSpec(Spec):
    deficit_strategy: Literal["cap", "park", "mix"] = Field(
        default="mix",
        description="cap: one power cap for every GPU; park: pause the lowest-priority jobs;"
                    " mix: pause filler jobs first, then cap the rest")
    generator_mttr_h: GeneratorMttrHours = Field(
        default=24.0, description="mean hours a generator is out per outage (availability sets how often)")


class SimulationSpec(Spec):
    days: Days = Field(default=90.0, description="simulated period, days")
    telemetry_interval_min: TelemetryMinutes = Field(default=1.0, description="time-series sample interval, minutes")
    buildout: list[BuildoutSpec] = Field(
        default_factory=list, description="per pool; a pool not listed is installed at day 0")
    failures: FailureSpec = Field(default_factory=FailureSpec)
    scheduler: SchedulerSpec = Field(default_factory=SchedulerSpec)
    power: SimPowerSpec = Field(default_factory=SimPowerSpec)
    workload: WorkloadSpec = Field(default_factory=WorkloadSpec)

    @field_validator("telemetry_interval_min")
    @classmethod
    def _telemetry_fits(cls, interval_min: float, info: ValidationInfo) -> float:
        days = info.data.get("days")
        problem = None if days is None else telemetry_problem(days, interval_min)
        if problem:
            raise ValueError(problem)
        return interval_min
