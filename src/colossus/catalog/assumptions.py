"""Named modelling assumptions: read-only tables from catalog TOML, overridable by dotted path.

Each model (``perf``, ``power``, ...) keeps its assumptions in a few
``<prefix>_<table>.toml`` files and subclasses ``AssumptionTables`` as a frozen
dataclass with one field per table. Lookups and overrides go by dotted path
(``"network.nccl.net_busbw_eff"``); an unknown path is a ``SpecError``, so an
override can never add a key the model does not read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields
import math
from types import MappingProxyType
from typing import Any, ClassVar, Self

from colossus.catalog import read_table
from colossus.errors import SpecError


def freeze(value: Any) -> Any:
    """A read-only deep copy of nested mappings."""
    if isinstance(value, Mapping):
        return MappingProxyType({k: freeze(v) for k, v in value.items()})
    return value


def thaw(value: Any) -> Any:
    """A mutable deep copy of nested mappings."""
    if isinstance(value, Mapping):
        return {k: thaw(v) for k, v in value.items()}
    return value


#: Each model's assumption tables by file prefix (its ``AssumptionTables`` subclass has one field per table,
#: and tests/catalog check that the two agree), so that a scenario's overrides are checked when it is read.
TABLES: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "perf": ("compute", "network", "overlap", "memory"),
    "power": ("load", "capping", "events", "environment", "prices"),
})
#: What each model is called in messages.
NOUNS: Mapping[str, str] = MappingProxyType({"perf": "performance", "power": "power"})


def check_overrides(prefix: str, overrides: Mapping[str, Any]) -> None:
    """``SpecError`` for an override of the ``prefix`` model's assumptions that names no shipped value (an
    unknown path, or a table), gives a value of another kind, or leaves its range (``_check_range``);
    nothing when all are well formed."""
    tables = {name: read_table(f"{prefix}_{name}") for name in TABLES[prefix]}
    for dotted, value in overrides.items():
        old = _lookup(NOUNS[prefix], tables, dotted)
        _check_kind(NOUNS[prefix], dotted, old, value)
        _check_range(NOUNS[prefix], dotted, old, value)


def _lookup(noun: str, tables: Mapping[str, Any], dotted: str) -> Any:
    """One value (or sub-table) of ``tables`` by dotted path."""
    parts = dotted.split(".")
    if parts[0] not in tables:
        raise SpecError(f"unknown {noun} assumption '{dotted}' (tables: {', '.join(tables)})")
    node: Any = tables[parts[0]]
    for part in parts[1:]:
        if not isinstance(node, Mapping) or part not in node:
            raise SpecError(f"unknown {noun} assumption '{dotted}'")
        node = node[part]
    return node


def _check_kind(noun: str, dotted: str, old: Any, value: Any) -> None:
    """An override must replace a value (not a table) by one of the same kind (number, flag or text)."""
    if isinstance(old, Mapping):
        raise SpecError(f"{noun} assumption '{dotted}' is a table, not a value")
    if isinstance(old, bool) != isinstance(value, bool) or isinstance(old, str) != isinstance(value, str):
        raise SpecError(f"{noun} assumption '{dotted}' must be like {old!r} (got {value!r})")


def _check_range(noun: str, dotted: str, old: Any, value: Any) -> None:
    """A number a user puts in place of a shipped one keeps its sign class and, for an efficiency or a
    fraction (a name ending in ``_eff`` or ``_frac``), stays at most 1: a zero bandwidth efficiency would
    divide by zero, a negative one give negative times."""
    if isinstance(old, (bool, str)) or not isinstance(old, (int, float)):
        return
    if not math.isfinite(value):
        raise SpecError(f"{noun} assumption '{dotted}' must be finite (got {value!r})")
    if old > 0 and value <= 0:
        raise SpecError(f"{noun} assumption '{dotted}' must be > 0, as its default {old!r} is (got {value!r})")
    if old >= 0 and value < 0:
        raise SpecError(f"{noun} assumption '{dotted}' must be >= 0 (got {value!r})")
    last = dotted.rsplit(".", 1)[-1]
    if (last == "eff_max" or last.endswith(("_eff", "_frac"))) and value > 1:  # (eff_max: a GEMM ceiling)
        raise SpecError(f"{noun} assumption '{dotted}' is a fraction: at most 1 (got {value!r})")


class AssumptionTables:
    """Mixin for a frozen dataclass whose fields are the tables of one model's assumptions."""

    #: What the model is called in messages ("performance", "power").
    NOUN: ClassVar[str]
    #: File prefix: table ``t`` lives in ``catalog/data/<PREFIX>_<t>.toml``.
    PREFIX: ClassVar[str]

    @classmethod
    def table_names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))  # type: ignore[arg-type]

    @classmethod
    def from_catalog(cls) -> Self:
        """The shipped assumptions."""
        return cls(**{name: freeze(read_table(f"{cls.PREFIX}_{name}")) for name in cls.table_names()})

    def get(self, dotted: str) -> Any:
        """One value (or sub-table) by dotted path."""
        return _lookup(self.NOUN, {name: getattr(self, name) for name in self.table_names()}, dotted)

    def with_checked_overrides(self, overrides: Mapping[str, Any]) -> Self:
        """``with_overrides`` for values a user gives: each also checked against its range (``_check_range``)."""
        for dotted, value in overrides.items():
            old = self.get(dotted)
            _check_kind(self.NOUN, dotted, old, value)
            _check_range(self.NOUN, dotted, old, value)
        return self.with_overrides(overrides)

    def with_overrides(self, overrides: Mapping[str, Any]) -> Self:
        """A copy with leaf values replaced by dotted path, each of the same kind as before."""
        # Copy on write: only the mappings on a changed value's path are new; the rest are frozen, so the
        # copy shares them (a fit builds thousands of copies; a deep copy each time cost a sixth of it).
        tables = {name: t if isinstance(t := getattr(self, name), MappingProxyType) else freeze(t)
                  for name in self.table_names()}
        for dotted, value in overrides.items():
            _check_kind(self.NOUN, dotted, self.get(dotted), value)
            first, *rest = dotted.split(".")
            tables[first] = _replaced(tables[first], rest, value)
        return type(self)(**tables)


def _replaced(node: Mapping[str, Any], path: list[str], value: Any) -> Mapping[str, Any]:
    """A frozen copy of ``node`` with the value at ``path`` replaced; the mappings off the path are shared."""
    copy = dict(node)
    copy[path[0]] = value if len(path) == 1 else _replaced(node[path[0]], path[1:], value)
    return MappingProxyType(copy)
