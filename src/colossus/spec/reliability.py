"""A scenario's reliability block: which published fleet's failure rates, restart phases, domains.

Every field has a default, so a scenario without the block uses the default
fleet (``catalog/data/reliability_assumptions.toml``) with its restart profile
and the shipped rack domains. Names are checked against the catalog here so that
a misspelt fleet or profile is reported at the field that holds it.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field, field_validator

from colossus import catalog
from colossus.errors import did_you_mean
from colossus.spec.base import Spec
from colossus.spec.hardware import NonNegFloat, PositiveFloat


def _check_name(value: str | None, stem: str, noun: str) -> str | None:
    if value is None:
        return value
    names = [n for n, row in catalog.read_table(stem).items() if isinstance(row, dict)]
    if value not in names:
        raise ValueError(f"unknown {noun} '{value}'{did_you_mean(value, names)} (the catalog has: {', '.join(names)})")
    return value


class RestartSpec(Spec):
    """Restart phases; each one left out comes from the profile (``restart_profiles.toml``)."""

    profile: str | None = Field(default=None, description="restart profile; null = the fleet's")
    detect_s: NonNegFloat | None = Field(default=None, description="fault seen and bad node located, s")
    schedule_s: NonNegFloat | None = Field(default=None, description="stop, release, spare swap-in, relaunch, s")
    process_start_s: NonNegFloat | None = Field(default=None, description="containers, imports, model build, s")
    init_s: NonNegFloat | None = Field(default=None, description="collective initialisation at init_gpus, s")
    init_gpus: PositiveFloat | None = Field(default=None, description="job size at which init_s holds, GPUs")
    init_exponent: NonNegFloat | None = Field(default=None, description="growth of init with GPUs (1 = linear)")
    load_s: NonNegFloat | None = Field(default=None, description="checkpoint load, s; null = from the storage")
    warmup_s: NonNegFloat | None = Field(default=None, description="first slow steps until full speed, s")

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, value: str | None) -> str | None:
        return _check_name(value, "restart_profiles", "restart profile")

    def overrides(self) -> dict[str, float | None]:
        """The phases given (the rest None)."""
        return {k: v for k, v in self.model_dump().items() if k != "profile"}


class DomainsSpec(Spec):
    """Correlated failure domains (``failure_domains.toml``)."""

    per_rack_per_year: dict[str, NonNegFloat] = Field(
        default_factory=dict, description="rate of each rack domain (rack_power, rack_cooling), per rack-year")
    feeder_shedding: bool = Field(
        default=True, description="a generator trip the rest of the supply cannot carry sheds whole racks")

    @field_validator("per_rack_per_year")
    @classmethod
    def _known_domains(cls, value: dict[str, float]) -> dict[str, float]:
        names = [n for n, row in catalog.read_table("failure_domains").items() if "per_rack_per_year" in row]
        for key in value:
            if key not in names:
                raise ValueError(f"unknown rack domain '{key}'{did_you_mean(key, names)} (domains: {', '.join(names)})")
        return value


class ReliabilitySpec(Spec):
    """Which fleet's failure rates a scenario's hardware follows, and how its jobs restart."""

    fleet: str | None = Field(default=None, description="fleet profile (fleets.toml); null = the default fleet")
    rate_scale: NonNegFloat = Field(default=1.0, description="multiply every failure rate of the fleet")
    restart: RestartSpec = Field(default_factory=RestartSpec)
    domains: DomainsSpec = Field(default_factory=DomainsSpec)

    @field_validator("fleet")
    @classmethod
    def _known_fleet(cls, value: str | None) -> str | None:
        return _check_name(value, "fleets", "fleet")

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")
