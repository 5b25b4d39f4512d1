"""The named assumptions of the simulation engine (``catalog/data/sim_engine.toml``)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from colossus.catalog.assumptions import AssumptionTables


@dataclass(frozen=True, eq=False)
class SimAssumptions(AssumptionTables):
    NOUN: ClassVar[str] = "simulation"
    PREFIX: ClassVar[str] = "sim"

    engine: Mapping[str, Any] = field(default_factory=dict)

    def f(self, dotted: str) -> float:
        return float(self.get(f"engine.{dotted}"))


@cache
def default_assumptions() -> SimAssumptions:
    return SimAssumptions.from_catalog()
