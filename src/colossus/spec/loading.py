"""Reading specs from YAML files, with errors that name the file, the field and the rule.

Every way a file can be wrong ends in one ``SpecError`` whose text is a
single line: ``FILE: FIELD.PATH: what is wrong``. Broken YAML gives the line
and column; a duplicated key (which plain YAML would silently overwrite) is
an error too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Sequence, TypeVar

from pydantic import BaseModel, ValidationError
import yaml

from colossus.errors import SpecError, format_path

M = TypeVar("M", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict:
    mapping: dict[Any, Any] = {}
    for key_node, value_node in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in mapping:
            mark = key_node.start_mark
            raise yaml.constructor.ConstructorError(
                None, None, f"duplicate key '{key}' (line {mark.line + 1})", mark
            )
        mapping[key] = loader.construct_object(value_node, deep=deep)
    return mapping


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; ``SpecError`` naming the file (and line) on any failure."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError("no such file", file=str(path)) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a YAML file", file=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(f"cannot read: {exc}", file=str(path)) from None
    try:
        data = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 (a SafeLoader subclass)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "cannot parse"
        raise SpecError(f"broken YAML: {where}{problem}", file=str(path)) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"broken YAML: {exc}", file=str(path)) from None
    return data


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Drop the parts of a pydantic error location that are not in the input (union tags)."""
    out: list[str | int] = []
    node = data
    for part in loc:
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and isinstance(part, str) and part not in node and _is_field(part):
            out.append(part)  # a missing required field: keep its name
            node = None
        # else: a union member tag or similar; skip it
    return out


def _is_field(part: str) -> bool:
    return part.isidentifier() and not part[:1].isupper() and "[" not in part


_MESSAGES = {
    "missing": "missing required field",
    "greater_than": "must be > {gt}",
    "greater_than_equal": "must be >= {ge}",
    "less_than": "must be < {lt}",
    "less_than_equal": "must be <= {le}",
    "int_type": "must be a whole number",
    "int_parsing": "must be a whole number",
    "int_from_float": "must be a whole number",
    "float_type": "must be a number",
    "float_parsing": "must be a number (no units in values: the unit is in the field name)",
    "bool_type": "must be true or false",
    "bool_parsing": "must be true or false",
    "string_type": "must be text",
    "list_type": "must be a list",
    "dict_type": "must be a mapping of fields",
    "model_type": "must be a mapping of fields",
    "model_attributes_type": "must be a mapping of fields",
    "too_short": "must have at least {min_length} item(s)",
}


def _describe(err: dict[str, Any]) -> str:
    kind = err["type"]
    ctx = err.get("ctx") or {}
    if kind in _MESSAGES:
        msg = _MESSAGES[kind].format(**ctx)
    elif kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
    else:
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
    if kind not in {"missing", "unknown_field", "unknown_name", "value_error"} and "input" in err:
        shown = err["input"]
        if not isinstance(shown, (dict, list)):
            msg += f" (got {shown!r})"
    return msg


def _spec_error(exc: ValidationError, data: Any, *, file: str | None, prefix: Sequence[str | int]) -> SpecError:
    errors = exc.errors(include_url=False)
    # Prefer the error with the deepest location: it points at the field the user wrote.
    first = max(errors, key=lambda e: len(_clean_loc(e["loc"], data)))
    path = [*prefix, *_clean_loc(first["loc"], data)]
    message = _describe(first)
    more = len({format_path(_clean_loc(e["loc"], data)) for e in errors}) - 1
    if more > 0:
        message += f" (and {more} more problem{'s' if more > 1 else ''})"
    return SpecError(message, path=path, file=file)


def validate(model: type[M], data: Any, *, file: str | None = None, prefix: Sequence[str | int] = ()) -> M:
    """Validate ``data`` as ``model``; a ``SpecError`` that names the file and field path on failure."""
    if not isinstance(data, dict):
        kind = "empty" if data is None else f"a {type(data).__name__}"
        raise SpecError(f"expected a mapping of fields, found {kind}", file=file, path=prefix)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise _spec_error(exc, data, file=file, prefix=prefix) from None
    except SpecError as exc:
        raise exc.located(file=file, prefix=prefix) from None


def load(model: type[M], path: str | Path) -> M:
    """Read a YAML file and validate it as ``model``."""
    return validate(model, read_yaml(path), file=str(path))


def load_list(model: type[M], path: str | Path) -> list[M]:
    """Read a YAML file holding a list and validate each item as ``model``."""
    data = read_yaml(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise SpecError("expected a non-empty list of entries", file=str(path))
    return [validate(model, item, file=str(path), prefix=[i]) for i, item in enumerate(data)]
