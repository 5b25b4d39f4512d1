"""Assumption tables with overrides: a new frozen copy, the original untouched, the same kinds of values.

``with_overrides`` copies only the mappings on a changed value's path (a refit builds thousands of copies);
these tests pin what that must not change: the values read back, the original, and frozenness.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions


def _leaves(node: Mapping, prefix: str = "") -> dict[str, float]:
    out: dict[str, float] = {}
    for key, value in node.items():
        path = f"{prefix}.{key}" if prefix else key
        if isinstance(value, Mapping):
            out.update(_leaves(value, path))
        elif isinstance(value, float) and not isinstance(value, bool):
            out[path] = value
    return out


BASE = PerfAssumptions.from_catalog()
FLOATS = {f"{name}.{path}": v for name in BASE.table_names() for path, v in _leaves(getattr(BASE, name)).items()}


def _frozen(node: object) -> bool:
    if not isinstance(node, Mapping):
        return True
    return isinstance(node, MappingProxyType) and all(_frozen(v) for v in node.values())


@settings(max_examples=30, deadline=None)
@given(picks=st.lists(st.sampled_from(sorted(FLOATS)), min_size=1, max_size=4, unique=True),
       scale=st.floats(0.1, 10.0))
def test_overrides_change_only_their_values_and_leave_the_original(picks, scale):
    new = BASE.with_overrides({p: FLOATS[p] * scale for p in picks})
    for path, value in FLOATS.items():
        assert BASE.get(path) == value  # the original is untouched
        assert new.get(path) == (value * scale if path in picks else value)
    touched = {p.split(".")[0] for p in picks}
    for name in BASE.table_names():
        assert _frozen(getattr(new, name)), name
        if name not in touched:
            assert getattr(new, name) is getattr(BASE, name)  # shared, not copied: it is frozen


def test_an_override_keeps_the_kind_of_value_and_names_a_value():
    path = sorted(FLOATS)[0]
    with pytest.raises(SpecError, match="must be like"):
        BASE.with_overrides({path: "fast"})
    table = path.rsplit(".", 1)[0]
    with pytest.raises(SpecError, match="is a table, not a value"):
        BASE.with_overrides({table: 1.0})
    with pytest.raises(SpecError, match="unknown performance assumption"):
        BASE.with_overrides({path + ".below": 1.0})


def test_the_tables_checked_at_load_are_each_models_tables():
    """A scenario's overrides are checked when it is read, against the tables ``catalog.assumptions.TABLES``
    names; they must be the tables the models read."""
    from colossus.catalog.assumptions import TABLES
    from colossus.power.assumptions import PowerAssumptions

    assert TABLES["perf"] == PerfAssumptions.table_names()
    assert TABLES["power"] == PowerAssumptions.table_names()
