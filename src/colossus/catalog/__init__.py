"""The shipped hardware and model catalog: TOML data with a source per figure.

One TOML file per kind (``gpus.toml``, ``switches.toml``, ...); each top-level
table is one entry, keyed by its name. This module only reads the raw data;
typed lookup (``colossus.spec.lookup``) validates an entry with its spec class,
so that the catalog sits below ``spec`` in the import graph.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache
from importlib import resources
import tomllib
from types import MappingProxyType
from typing import Any

from colossus.errors import CatalogError, did_you_mean

#: Catalog kinds, each the stem of one TOML file under ``catalog/data``.
KINDS: tuple[str, ...] = (
    "gpus",
    "nics",
    "switches",
    "optics",
    "servers",
    "racks",
    "generators",
    "batteries",
    "models",
    "software",
)

#: Singular nouns for messages ("unknown GPU 'x'").
NOUNS: Mapping[str, str] = MappingProxyType(
    {
        "gpus": "GPU",
        "nics": "NIC",
        "switches": "switch",
        "optics": "optical transceiver",
        "servers": "server",
        "racks": "rack",
        "generators": "generator",
        "batteries": "battery",
        "models": "model preset",
        "software": "software profile",
    }
)


@cache
def _load_kind(kind: str) -> Mapping[str, Mapping[str, Any]]:
    if kind not in KINDS:
        raise CatalogError(f"unknown catalog kind '{kind}'{did_you_mean(kind, KINDS)}")
    filename = f"{kind}.toml"
    try:
        text = resources.files("colossus.catalog").joinpath("data", filename).read_text("utf-8")
        data = tomllib.loads(text)
    except FileNotFoundError:
        raise CatalogError("catalog file is missing", file=f"catalog/data/{filename}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"broken TOML: {exc}", file=f"catalog/data/{filename}") from None
    entries: dict[str, Mapping[str, Any]] = {}
    for name, entry in data.items():
        if not isinstance(entry, dict):
            raise CatalogError("each entry must be a table", file=f"catalog/data/{filename}", path=[name])
        entries[name.lower()] = MappingProxyType({"name": name.lower(), **entry})
    return MappingProxyType(entries)


def names(kind: str) -> tuple[str, ...]:
    """Entry names of one kind, sorted."""
    return tuple(sorted(_load_kind(kind)))


def names_in_file_order(kind: str) -> tuple[str, ...]:
    """Entry names of one kind in the order the file lists them (where order means precedence)."""
    return tuple(_load_kind(kind))


def raw_entry(kind: str, name: str) -> Mapping[str, Any]:
    """The raw (unvalidated) entry ``name`` of ``kind``; ``CatalogError`` with a hint if unknown."""
    entries = _load_kind(kind)
    try:
        return entries[name.lower()]
    except KeyError:
        raise CatalogError(
            f"unknown {NOUNS[kind]} '{name}'{did_you_mean(name, entries)}"
            f" (the catalog has: {', '.join(sorted(entries))})"
        ) from None


def has_entry(kind: str, name: str) -> bool:
    return name.lower() in _load_kind(kind)


@cache
def read_table(stem: str) -> Mapping[str, Any]:
    """A catalog data file that is not a list of named entries (e.g. efficiency curves).

    ``stem`` is the file name without ``.toml`` under ``catalog/data``.
    """
    filename = f"{stem}.toml"
    try:
        text = resources.files("colossus.catalog").joinpath("data", filename).read_text("utf-8")
        return MappingProxyType(tomllib.loads(text))
    except FileNotFoundError:
        raise CatalogError("catalog file is missing", file=f"catalog/data/{filename}") from None
    except tomllib.TOMLDecodeError as exc:
        raise CatalogError(f"broken TOML: {exc}", file=f"catalog/data/{filename}") from None
