"""Base class of all specs, and catalog references.

Every spec is a frozen pydantic model that forbids unknown fields. An unknown
field gets a "did you mean" hint, which is how a wrong unit shows up
(``tdp_kw`` where the spec wants ``tdp_w``).

A field that holds a catalog item (a GPU, a switch, a model preset, ...)
accepts three spellings in a file:

* a name: ``gpu: h100-sxm5-80gb``;
* a name with overrides: ``gpu: {name: h100-sxm5-80gb, tdp_w: 650}``;
* a complete new item, with a name the catalog does not have and every field.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic_core import PydanticCustomError

from colossus import catalog
from colossus.errors import CatalogError, did_you_mean


class Spec(BaseModel):
    """Frozen, strict base of every spec."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _reject_unknown_fields(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            allowed = set(cls.model_fields)
            for key in data:
                if not isinstance(key, str):
                    raise PydanticCustomError(
                        "bad_key", "field names must be text (got {key!r})", {"key": key}
                    )
                if key not in allowed:
                    hint = did_you_mean(key, allowed) or f"; allowed: {', '.join(sorted(allowed))}"
                    raise PydanticCustomError(
                        "unknown_field", "unknown field '{key}'{hint}", {"key": key, "hint": hint}
                    )
        return data


class CatalogItem(Spec):
    """A spec that can live in the catalog: it has a name and a source."""

    name: str
    source: str = "defined in the scenario file"

    @classmethod
    def fill_defaults(cls, data: Any) -> Any:
        """Documented defaults a subclass derives from other fields (identity here)."""
        return data


def _resolver(kind: str):
    def resolve(value: Any) -> Any:
        if isinstance(value, str):
            return _lookup_raw(kind, value)
        if isinstance(value, Mapping) and isinstance(value.get("name"), str):
            name = value["name"]
            if catalog.has_entry(kind, name):
                return {**catalog.raw_entry(kind, name), **value, "name": name.lower()}
            _check_complete(kind, name, value)
        return value

    return resolve


def _lookup_raw(kind: str, name: str) -> Mapping[str, Any]:
    try:
        return catalog.raw_entry(kind, name)
    except CatalogError as exc:
        msg = str(exc) if exc.file else exc.message
        raise PydanticCustomError("unknown_name", "{msg}", {"msg": msg}) from None


def _check_complete(kind: str, name: str, value: Mapping[str, Any]) -> None:
    """A new item (name not in the catalog) must give every required field.

    Without this, a misspelled name with one override would report a list of
    missing fields instead of the misspelling.
    """
    from colossus.spec import CATALOG_SPECS  # noqa: PLC0415 (import cycle)

    spec_cls = CATALOG_SPECS[kind]
    required = {n for n, f in spec_cls.model_fields.items() if f.is_required()}
    filled = spec_cls.fill_defaults(value)
    missing = sorted(required - set(filled if isinstance(filled, Mapping) else value))
    if missing:
        hint = did_you_mean(name, catalog.names(kind))
        raise PydanticCustomError(
            "unknown_name",
            "unknown {noun} '{name}'{hint}; a new {noun} needs every field (missing: {missing})",
            {"noun": catalog.NOUNS[kind], "name": name, "hint": hint, "missing": ", ".join(missing)},
        )


def ref(kind: str) -> BeforeValidator:
    """A ``BeforeValidator`` that turns a catalog name (or name + overrides) into the entry."""
    return BeforeValidator(_resolver(kind))


def lookup(kind: str, name: str) -> Any:
    """The validated catalog entry ``name`` of ``kind`` (a spec object)."""
    from colossus.spec import CATALOG_SPECS  # noqa: PLC0415 (avoid an import cycle)

    raw = catalog.raw_entry(kind, name)
    from colossus.spec.loading import validate  # noqa: PLC0415

    return validate(CATALOG_SPECS[kind], dict(raw), file=f"catalog/data/{kind}.toml", prefix=[name])


__all__ = ["Annotated", "CatalogItem", "Spec", "lookup", "ref"]
