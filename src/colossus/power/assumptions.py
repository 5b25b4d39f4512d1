"""The named assumptions of the power model, read from the catalog.

Every load fraction, phase draw, event duration and emission factor the power
model uses lives in ``catalog/data/power_load.toml``, ``power_capping.toml``,
``power_events.toml``, ``power_environment.toml`` and ``power_prices.toml``, each figure with a source
or an ``# assumption:`` comment. ``PowerAssumptions`` holds them, immutable;
a scenario overrides any of them by dotted path under ``power.assumptions``
(``"load.training.cpu_frac": 0.5``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from colossus.catalog.assumptions import AssumptionTables
from colossus.errors import SpecError
from colossus.spec import Scenario


@dataclass(frozen=True, eq=False)
class PowerAssumptions(AssumptionTables):
    """All named assumptions of the power model, as five nested read-only tables."""

    NOUN: ClassVar[str] = "power"
    PREFIX: ClassVar[str] = "power"

    load: Mapping[str, Any] = field(default_factory=dict)
    capping: Mapping[str, Any] = field(default_factory=dict)
    events: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)
    prices: Mapping[str, Any] = field(default_factory=dict)

    def f(self, dotted: str) -> float:
        """A numeric assumption as a float."""
        return float(self.get(dotted))


@cache
def default_assumptions() -> PowerAssumptions:
    """The shipped assumptions (read once)."""
    return PowerAssumptions.from_catalog()


def scenario_assumptions(scenario: Scenario) -> PowerAssumptions:
    """The shipped assumptions with the scenario's ``power.assumptions`` overrides applied."""
    overrides = scenario.power.assumptions
    if not overrides:
        return default_assumptions()
    try:
        return default_assumptions().with_checked_overrides(overrides)
    except SpecError as exc:
        raise exc.located(prefix=["power", "assumptions"]) from None
