"""Dotted paths into a scenario: what ``--vary supply.generators.count`` points at.

A planner writes the short name of a knob, not its full address in the file.
This module turns what they write into one concrete location in the raw YAML
document (``power.supply.generators[0].count``), or says precisely why it
cannot: no such field (with the nearest names), or several candidates (all
listed). Resolution walks the *schema* (the ``Scenario`` pydantic models)
beside the document, so a field the file leaves to its default
(``simulation.failures.rate_scale`` in a file without a ``simulation`` block)
can be varied too.

Rules, in order:

1. A path is segments separated by dots; ``[x]`` is a segment that must
   select a list item (``[0]``, ``[grok2]``) or a mapping key (``[a.b]``,
   which may contain dots).
2. A segment names a field of the model it is applied to. The alias table
   ``ALIASES`` gives the other spellings accepted (``gpus`` for ``num_gpus``:
   the house spells counts ``num_*``, planners say "GPUs"); an alias applies
   only where the model has no field of that exact name.
3. On a list, a segment selects an item by index (``0``) or by its ``name``
   field (``grok2``). A segment that selects no item passes *through* the
   list to every item, so ``generators.count`` means the ``count`` of each
   fleet: fine when there is one fleet, ambiguous when there are two.
4. On a free-form mapping (``power.assumptions``), the rest of the path is
   one key: ``power.assumptions.load.training.cpu_frac``. Since it takes
   any key, a path must name the mapping itself to reach into it.
5. On a catalog reference written as a name (``model: grok-1-314b``), a
   deeper segment overrides that field of the entry; the document becomes
   ``model: {name: grok-1-314b, layers: ...}`` (spec/base.py's name +
   overrides form).
6. A path anchored at the scenario's root wins. Otherwise it may start at
   any depth (``supply.generators.count``, ``grok2.gpus``), and every place
   it fits is a candidate: exactly one must remain.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
import difflib
import re
import types
import typing
from typing import Any, Literal, Union

from pydantic import BaseModel

from colossus.errors import SpecError
from colossus.spec import Scenario

#: Other spellings of a field name, accepted where the model has no field of that name.
ALIASES: dict[str, str] = {
    "gpus": "num_gpus",
}

#: A location in the raw document: mapping keys and list indices from the root.
Location = tuple[str | int, ...]

_MISSING: Any = object()


@dataclass(frozen=True)
class Segment:
    """One step of a path as the user wrote it; ``bracket`` if written ``[text]``."""

    text: str
    bracket: bool = False


@dataclass(frozen=True)
class Target:
    """A resolved path: its location in the document and the name shown (and stored) for it."""

    location: Location
    column: str


def parse_path(text: str) -> list[Segment]:
    """``power.supply.generators[0].count`` -> segments; ``SpecError`` on empty or unbalanced parts."""
    segments: list[Segment] = []
    pos, expect_sep = 0, False
    while pos < len(text):
        char = text[pos]
        if char == "[":
            end = text.find("]", pos)
            if end < 0 or end == pos + 1:
                raise SpecError(f"'{text}': '[' needs a closing ']' around an index, a name or a key")
            segments.append(Segment(text[pos + 1 : end], bracket=True))
            pos, expect_sep = end + 1, True
        elif char == ".":
            if not expect_sep:
                raise SpecError(f"'{text}': empty segment (two dots, or a leading dot)")
            pos, expect_sep = pos + 1, False
        elif expect_sep:
            raise SpecError(f"'{text}': expected '.' or '[' after ']'")
        else:
            match = re.match(r"[^.\[\]]+", text[pos:])
            if match is None:  # a stray ']'
                raise SpecError(f"'{text}': unbalanced ']'")
            segments.append(Segment(match.group(0).strip()))
            pos, expect_sep = pos + match.end(), True
    if not segments or not expect_sep:
        raise SpecError(f"'{text}': empty path" if not segments else f"'{text}': ends with a dot")
    return segments


# --- the schema beside the document --------------------------------------------------


def _strip(tp: Any) -> Any:
    """Drop ``Annotated`` and ``None`` from a field type."""
    while typing.get_origin(tp) is typing.Annotated:
        tp = typing.get_args(tp)[0]
    if typing.get_origin(tp) in (Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return _strip(args[0])
    return tp


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _kind(tp: Any) -> str:
    """``model``, ``list``, ``mapping`` or ``leaf``."""
    tp = _strip(tp)
    origin = typing.get_origin(tp)
    if _is_model(tp):
        return "model"
    if origin in (Union, types.UnionType) and all(_is_model(_strip(a)) for a in typing.get_args(tp)):
        return "model"  # a discriminated union of models (cooling)
    if origin is list:
        return "list"
    if origin is dict:
        return "mapping"
    return "leaf"


def _members(tp: Any, value: Any) -> list[type[BaseModel]]:
    """The model classes ``value`` may be: one, or the union members its keys and tags fit."""
    tp = _strip(tp)
    if _is_model(tp):
        return [tp]
    members = [_strip(a) for a in typing.get_args(tp)]
    if not isinstance(value, dict):
        return members
    fitting = [m for m in members if _fits(m, value)]
    return fitting or members


def _fits(model: type[BaseModel], value: dict[str, Any]) -> bool:
    if not set(value) <= set(model.model_fields):
        return False
    for name, field in model.model_fields.items():
        if typing.get_origin(field.annotation) is Literal and name in value:
            if value[name] not in typing.get_args(field.annotation):
                return False
    return True


def _fields(tp: Any, value: Any) -> dict[str, Any]:
    """Field name -> field type of the model (or union of models) ``tp`` holding ``value``."""
    out: dict[str, Any] = {}
    for model in _members(tp, value):
        for name, field in model.model_fields.items():
            out.setdefault(name, field.annotation)
    return out


def _child(value: Any, key: str) -> Any:
    return value.get(key, _MISSING) if isinstance(value, dict) else _MISSING


def _item_type(tp: Any) -> Any:
    return typing.get_args(_strip(tp))[0]


def _value_type(tp: Any) -> Any:
    return typing.get_args(_strip(tp))[1]


def _select(items: list[Any], seg: Segment) -> int | None:
    """The index of the list item ``seg`` names (by index or by ``name``), or None."""
    if re.fullmatch(r"-?\d+", seg.text):
        index = int(seg.text)
        return index if 0 <= index < len(items) else None
    named = [i for i, item in enumerate(items) if isinstance(item, dict) and item.get("name") == seg.text]
    return named[0] if len(named) == 1 else None


def _field_name(fields: dict[str, Any], text: str) -> str | None:
    if text in fields:
        return text
    alias = ALIASES.get(text)
    return alias if alias in fields else None


def _walk(segs: list[Segment], tp: Any, value: Any, loc: Location) -> Iterator[Location]:
    """Every location the segments reach from the node (``tp``, ``value``) at ``loc``."""
    if not segs:
        yield loc
        return
    seg, rest, kind = segs[0], segs[1:], _kind(tp)
    if kind == "list":
        items = value if isinstance(value, list) else []
        index = _select(items, seg)
        if index is not None:
            yield from _walk(rest, _item_type(tp), items[index], (*loc, index))
        elif not seg.bracket:  # pass through the list to each item
            for i, item in enumerate(items):
                yield from _walk(segs, _item_type(tp), item, (*loc, i))
    elif kind == "mapping":
        if _kind(_value_type(tp)) == "leaf":
            yield (*loc, ".".join(s.text for s in segs))
        else:
            yield from _walk(rest, _value_type(tp), _child(value, seg.text), (*loc, seg.text))
    elif kind == "model" and not seg.bracket:
        fields = _fields(tp, value)
        name = _field_name(fields, seg.text)
        if name is not None:
            yield from _walk(rest, fields[name], _child(value, name), (*loc, name))


@dataclass(frozen=True)
class _Node:
    tp: Any
    value: Any
    loc: Location


def _nodes(tp: Any, value: Any, loc: Location = ()) -> Iterator[_Node]:
    """Every node of the document, including fields it leaves to their defaults."""
    yield _Node(tp, value, loc)
    kind = _kind(tp)
    if kind == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            yield from _nodes(_item_type(tp), item, (*loc, i))
    elif kind == "mapping" and isinstance(value, dict):
        for key, item in value.items():
            yield from _nodes(_value_type(tp), item, (*loc, key))
    elif kind == "model":
        for name, field_tp in _fields(tp, value).items():
            yield from _nodes(field_tp, _child(value, name), (*loc, name))


# --- resolving and applying ------------------------------------------------------------


def column_name(doc: dict[str, Any], loc: Location) -> str:
    """How a location is shown and stored: ``jobs[grok2].num_gpus``, ``power.supply.generators[0].count``.

    A list item is shown by its ``name`` when it has one, else by its index; a
    mapping key containing a dot is bracketed. The result resolves back to ``loc``.
    """
    out, node = "", doc  # type: str, Any
    for part in loc:
        if isinstance(part, int):
            item = node[part] if isinstance(node, list) and part < len(node) else None
            label = item.get("name") if isinstance(item, dict) else None
            named = isinstance(label, str) and label and "]" not in label and not label.isdigit()
            out += f"[{label}]" if named else f"[{part}]"
            node = item
        elif "." in part or "[" in part:
            out += f"[{part}]"
            node = node.get(part) if isinstance(node, dict) else None
        else:
            out += f".{part}" if out else part
            node = node.get(part) if isinstance(node, dict) else None
    return out


def _display_tails(column: str) -> list[str]:
    """The ways a user might shorten ``column`` (for "did you mean")."""
    parts = [p for p in re.split(r"\.|\[|\]", column) if p]
    plain = [p for p in re.split(r"\.|\[[^\]]*\]", column) if p]
    tails = {".".join(parts[i:]) for i in range(len(parts))}
    tails |= {".".join(plain[i:]) for i in range(len(plain))}
    return sorted(tails)


def _suggest(text: str, doc: dict[str, Any]) -> str:
    scored: dict[str, float] = {}
    for node in _nodes(Scenario, doc):
        if not node.loc:
            continue
        column = column_name(doc, node.loc)
        score = max(difflib.SequenceMatcher(None, text, tail).ratio() for tail in _display_tails(column))
        if score >= 0.75:
            scored[column] = max(score, scored.get(column, 0.0))
    best = sorted(scored, key=lambda c: (-scored[c], len(c)))[:3]
    if not best:
        return "; give a full path such as 'power.supply.generators[0].count' or 'jobs[NAME].num_gpus'"
    return "; did you mean " + " or ".join(f"'{c}'" for c in best) + "?"


def resolve(text: str, doc: dict[str, Any]) -> Target:
    """The one location in ``doc`` (a raw scenario document) that ``text`` names; ``SpecError`` if none or many."""
    segs = parse_path(text)
    found = list(dict.fromkeys(_walk(segs, Scenario, doc, ())))
    if not found:
        # A free-form mapping takes any key, so it starts a path only when named (rule 4).
        starts = (n for n in _nodes(Scenario, doc) if n.loc and _kind(n.tp) in ("model", "list"))
        found = list(dict.fromkeys(loc for n in starts for loc in _walk(segs, n.tp, n.value, n.loc)))
    if not found:
        raise SpecError(f"no scenario field matches '{text}'{_suggest(text, doc)}")
    columns = [column_name(doc, loc) for loc in found]
    if len(found) > 1:
        shown = ", ".join(columns[:8]) + (f" and {len(columns) - 8} more" if len(columns) > 8 else "")
        raise SpecError(f"'{text}' is ambiguous: it matches {shown}; give more of the path")
    return Target(found[0], columns[0])


def assign(doc: dict[str, Any], loc: Location, value: Any) -> None:
    """Set ``value`` at ``loc`` in ``doc`` (in place), creating mappings the file left to defaults.

    A catalog name met on the way (``model: grok-1-314b``) becomes the name +
    overrides form (``model: {name: grok-1-314b}``) so a field of it can be set.
    """
    node: Any = doc
    for part, _ in zip(loc, loc[1:]):
        if isinstance(node, list):
            node = node[int(part)]
            continue
        child = node.get(part)
        if child is None:
            child = node[part] = {}
        elif isinstance(child, str):
            child = node[part] = {"name": child}
        node = child
    node[loc[-1]] = value
