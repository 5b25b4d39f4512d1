"""The named assumptions of the power model, read from the catalog.

Every load fraction, phase draw, event duration and emission factor the power
model uses lives in ``catalog/data/power_load.toml``, ``power_capping.toml``,
``power_events.toml`` and ``power_environment.toml``, each figure with a source
or an ``# assumption:`` comment. ``PowerAssumptions`` holds them, immutable;
a scenario overrides any of them by dotted path under ``power.assumptions``
(``"load.training.cpu_frac": 0.5``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from types import MappingProxyType
from typing import Any, Mapping

from colossus import catalog
from colossus.errors import SpecError
from colossus.spec import Scenario

#: The catalog files the power model reads, by short name (``power_<name>.toml``).
TABLES: tuple[str, ...] = ("load", "capping", "events", "environment")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, eq=False)
class PowerAssumptions:
    """All named assumptions of the power model, as four nested read-only tables."""

    load: Mapping[str, Any] = field(default_factory=dict)
    capping: Mapping[str, Any] = field(default_factory=dict)
    events: Mapping[str, Any] = field(default_factory=dict)
    environment: Mapping[str, Any] = field(default_factory=dict)

    def get(self, dotted: str) -> Any:
        """One value by dotted path, e.g. ``"events.swings.failure_restart_s"``."""
        parts = dotted.split(".")
        if parts[0] not in TABLES:
            raise SpecError(f"unknown power assumption '{dotted}' (tables: {', '.join(TABLES)})")
        node: Any = getattr(self, parts[0])
        for part in parts[1:]:
            if not isinstance(node, Mapping) or part not in node:
                raise SpecError(f"unknown power assumption '{dotted}'")
            node = node[part]
        if isinstance(node, Mapping):
            raise SpecError(f"power assumption '{dotted}' is a table, not a value")
        return node

    def with_overrides(self, overrides: Mapping[str, Any]) -> "PowerAssumptions":
        """A copy with values replaced by dotted path; an unknown path is a ``SpecError``."""
        tables = {name: _thaw(getattr(self, name)) for name in TABLES}
        for dotted, value in overrides.items():
            old = self.get(dotted)
            if isinstance(old, bool) != isinstance(value, bool) or isinstance(value, str) != isinstance(old, str):
                raise SpecError(f"power assumption '{dotted}' must be like {old!r} (got {value!r})")
            parts = dotted.split(".")
            node = tables[parts[0]]
            for part in parts[1:-1]:
                node = node[part]
            node[parts[-1]] = value
        return PowerAssumptions(**{name: _freeze(t) for name, t in tables.items()})

    def f(self, dotted: str) -> float:
        """A numeric assumption as a float."""
        return float(self.get(dotted))


@cache
def default_assumptions() -> PowerAssumptions:
    """The shipped assumptions (read once)."""
    return PowerAssumptions(**{name: _freeze(catalog.read_table(f"power_{name}")) for name in TABLES})


def scenario_assumptions(scenario: Scenario) -> PowerAssumptions:
    """The shipped assumptions with the scenario's ``power.assumptions`` overrides applied."""
    overrides = scenario.power.assumptions
    if not overrides:
        return default_assumptions()
    try:
        return default_assumptions().with_overrides(overrides)
    except SpecError as exc:
        raise exc.located(prefix=["power", "assumptions"]) from None
