"""Reading specs from YAML files, with errors that name the file, the field and the rule.

Every way a file can be wrong ends in one ``SpecError`` whose text is a
single line: ``FILE: FIELD.PATH: what is wrong``. Broken YAML gives the line
and column; a duplicated key (which plain YAML would silently overwrite) is
an error too.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import os
from pathlib import Path
import re
import stat
from typing import Any, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError
import yaml

from colossus.errors import SpecError, format_path

M = TypeVar("M", bound=BaseModel)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys and stops composing past ``MAX_YAML_DEPTH`` levels.

    PyYAML composes nested nodes recursively: without a depth limit a file of
    ten thousand ``[`` ends in a ``RecursionError`` instead of an error line.
    """

    _depth = 0

    def compose_node(self, parent: yaml.Node | None, index: Any) -> yaml.Node | None:
        self._depth += 1
        try:
            if self._depth > MAX_YAML_DEPTH:
                mark = self.peek_event().start_mark
                raise yaml.composer.ComposerError(
                    None, None, f"nested deeper than {MAX_YAML_DEPTH} levels", mark)
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1


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


#: Largest input file read: a scenario is a few KiB, the largest validation file ~170 KiB; PyYAML reads
#: about a MiB a second, so this bounds the time a file can take too.
MAX_INPUT_BYTES = 4 * 2**20
#: Deepest nesting of mappings and lists in a YAML file (a scenario nests about 6 deep).
MAX_YAML_DEPTH = 64
#: Most values a YAML file may expand to once its aliases are followed ("billion laughs").
MAX_YAML_NODES = 1_000_000


def read_input(path: str | Path, *, limit: int = MAX_INPUT_BYTES) -> bytes:
    """The bytes of a regular file of at most ``limit`` bytes; ``SpecError`` naming the file otherwise.

    Never blocks and never reads without end: the file is opened without
    waiting (a FIFO with no writer would block a plain open), and anything but a
    regular file (a FIFO, ``/dev/zero``, a socket) is refused before a byte is read.
    """
    name = str(path)
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        raise SpecError("no such file", file=name) from None
    except IsADirectoryError:
        raise SpecError("is a directory, not a file", file=name) from None
    except (OSError, ValueError) as exc:  # permissions, a name too long, a NUL byte in the name
        raise SpecError(f"cannot read: {_reason(exc)}", file=name) from None
    try:
        info = os.fstat(fd)
        if stat.S_ISDIR(info.st_mode):
            raise SpecError("is a directory, not a file", file=name)
        if not stat.S_ISREG(info.st_mode):
            raise SpecError("is not a regular file (a pipe, a device or a socket); give a file", file=name)
        if info.st_size > limit:
            raise SpecError(f"is {info.st_size / 2**20:,.1f} MiB; input files are limited to"
                            f" {limit / 2**20:g} MiB", file=name)
        with os.fdopen(fd, "rb", closefd=False) as stream:
            data = stream.read(limit + 1)
    except OSError as exc:
        raise SpecError(f"cannot read: {_reason(exc)}", file=name) from None
    finally:
        os.close(fd)
    if len(data) > limit:  # the file grew while being read
        raise SpecError(f"is over the input limit of {limit / 2**20:g} MiB", file=name)
    return data


def _reason(exc: BaseException) -> str:
    """An OS error's reason in a few words (``Permission denied``), without the path it names."""
    text = getattr(exc, "strerror", None) or str(exc)
    return text.splitlines()[0] if text else type(exc).__name__


def _check_size(node: yaml.Node, *, file: str) -> None:
    """Refuse a document nested deeper than ``MAX_YAML_DEPTH`` or expanding to over ``MAX_YAML_NODES`` values.

    Sizes are counted per node object with a memo, so an alias counts its
    whole target each time it is used (what a reader of the parsed data would
    walk), in time linear in the file.
    """
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, int, bool]] = [(node, 1, False)]
    while stack:
        current, depth, children_done = stack.pop()
        if id(current) in sizes and not children_done:
            continue
        if depth > MAX_YAML_DEPTH:
            mark = current.start_mark
            raise SpecError(f"broken YAML: line {mark.line + 1}: nested deeper than {MAX_YAML_DEPTH} levels",
                            file=file)
        if isinstance(current, yaml.MappingNode):
            children = [n for pair in current.value for n in pair]
        elif isinstance(current, yaml.SequenceNode):
            children = list(current.value)
        else:
            sizes[id(current)] = 1
            continue
        if children_done:
            total = 1 + sum(sizes[id(c)] for c in children)
            sizes[id(current)] = total
            if total > MAX_YAML_NODES:
                raise SpecError(f"broken YAML: expands to over {MAX_YAML_NODES:,} values (aliases nested in"
                                " aliases?)", file=file)
            continue
        sizes[id(current)] = 0  # in progress: an alias back to an ancestor is a cycle
        stack.append((current, depth, True))
        for child in children:
            if id(child) in sizes and sizes[id(child)] == 0:
                mark = child.start_mark
                raise SpecError(f"broken YAML: line {mark.line + 1}: an alias refers to its own ancestor",
                                file=file)
            stack.append((child, depth + 1, False))


def read_yaml(path: str | Path) -> Any:
    """Parse a YAML file; ``SpecError`` naming the file (and line) on any failure."""
    name = str(path)
    raw = read_input(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise SpecError(f"cannot read: not UTF-8 text (byte {exc.start})", file=name) from None
    return parse_yaml(text, file=name)


_FLOW_SPECIAL = re.compile(r"[\[\]{}\"'#\n\\]")


def _too_deep_flow(text: str) -> int | None:
    """The line where ``[``/``{`` brackets nest deeper than ``MAX_YAML_DEPTH``, or None.

    Needed before PyYAML sees the text: its scanner looks ahead over every
    open bracket before it yields the first token, in time quadratic in their
    number, so ten thousand ``[`` would take seconds before the composer's
    depth check could run. Quotes and comments are skipped; it only looks at
    the special characters, so a normal file costs next to nothing. (Block
    scalars are not told apart: a ``|`` text holding more than 64 unclosed
    brackets is refused too.)
    """
    if text.count("[") + text.count("{") <= MAX_YAML_DEPTH:
        return None
    depth, line, quote, escaped, comment = 0, 1, "", False, False
    for match in _FLOW_SPECIAL.finditer(text):
        ch, start = match.group(), match.start()
        before = text[start - 1] if start else "\n"
        if ch == "\n":
            line, comment = line + 1, False
            continue
        if comment:
            continue
        if quote:
            if quote == '"' and ch == "\\":
                escaped = not escaped if before == "\\" else True
                continue
            if ch == quote and not (quote == '"' and escaped and before == "\\"):
                quote = ""
            escaped = False
            continue
        if ch == "#" and before in " \t\n":
            comment = True
        elif ch in "\"'" and before in " \t\n[{,:":
            quote = ch
        elif ch in "[{":
            depth += 1
            if depth > MAX_YAML_DEPTH:
                return line
        elif ch in "]}":
            depth = max(0, depth - 1)
    return None


def parse_yaml(text: str, *, file: str | None = None) -> Any:
    """Parse YAML text with the checks of ``read_yaml`` (depth, expansion, duplicate keys)."""
    deep = _too_deep_flow(text)
    if deep is not None:
        raise SpecError(f"broken YAML: line {deep}: nested deeper than {MAX_YAML_DEPTH} levels", file=file)
    loader = _StrictLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None
        _check_size(node, file=file or "")
        return loader.construct_document(node)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        where = f"line {mark.line + 1}, column {mark.column + 1}: " if mark else ""
        problem = exc.problem or exc.context or "cannot parse"
        raise SpecError(f"broken YAML: {where}{problem}", file=file) from None
    except yaml.YAMLError as exc:
        raise SpecError(f"broken YAML: {str(exc).splitlines()[0] if str(exc) else 'cannot parse'}",
                        file=file) from None
    except RecursionError:  # defence in depth: the composer's own recursion (see _StrictLoader)
        raise SpecError(f"broken YAML: nested deeper than {MAX_YAML_DEPTH} levels", file=file) from None
    finally:
        loader.dispose()


def _clean_loc(loc: Sequence[str | int], data: Any) -> list[str | int]:
    """Drop the parts of a pydantic error location that are not in the input (union tags)."""
    out: list[str | int] = []
    node = data
    parts = list(loc)
    for i, part in enumerate(parts):
        following = parts[i + 1] if i + 1 < len(parts) else None
        if isinstance(node, dict) and part in node:
            node = node[part]
            out.append(part)
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            node = node[part]
            out.append(part)
        elif isinstance(node, dict) and following is not None and following in node:
            continue  # a union member's tag (``components`` of a tagged cooling block): not in the input
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
    "finite_number": "must be a finite number",
    "int_too_big": "must be a whole number of at most 64 bits",
    "too_long": "must have at most {max_length} item(s)",
    "string_too_long": "must be at most {max_length} characters",
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


def _describe(err: Mapping[str, Any]) -> str:
    kind = err["type"]
    ctx = {k: _number(v) for k, v in (err.get("ctx") or {}).items()}
    if kind in _MESSAGES:
        msg = _MESSAGES[kind].format(**ctx)
    elif kind == "value_error":
        msg = str(ctx.get("error", err["msg"]))
    else:
        msg = err["msg"]
        if msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
    if kind not in {"missing", "unknown_field", "unknown_name", "value_error", "number_not_bool"} and "input" in err:
        shown = err["input"]
        if not isinstance(shown, (dict, list)):
            msg += f" (got {_shown(shown)})"
    return msg


def _number(value: Any) -> Any:
    """A bound as a person writes it: ``3650`` not ``3650.0``, ``1e+18`` not eighteen zeros."""
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return int(value)
    if isinstance(value, float):
        return f"{value:g}"
    return value


def _shown(value: Any) -> str:
    """The offending value, on one line and short (a 5,000-character name is not echoed whole)."""
    text = repr(value)
    return text if len(text) <= 80 else f"{text[:60]}... ({len(text)} characters)"


def check(kind: Any, value: Any, name: str) -> Any:
    """``value`` validated as ``kind`` (a type of ``spec.bounds``); ``SpecError`` naming ``name`` (an option).

    How the CLI holds its options to the limits files are held to:
    ``check(Days, 1e9, "--days")`` -> ``--days: must be <= 3650 (got 1000000000.0)``.
    """
    try:
        return TypeAdapter(kind).validate_python(value)
    except ValidationError as exc:
        raise SpecError(_describe(exc.errors(include_url=False)[0]), path=[name]) from None


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


#: Other entries with a problem that a list's error names beside its first.
MAX_ENTRIES_NAMED = 10


def load_list(model: type[M], path: str | Path) -> list[M]:
    """Read a YAML file holding a list and validate each item as ``model``.

    Every entry is checked: the error describes the first entry with a problem and names the others (a
    hundred-run file with three bad rows is mended in one pass, not three)."""
    data = read_yaml(path)
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not data:
        raise SpecError("expected a non-empty list of entries", file=str(path))
    out: list[M] = []
    failed: list[tuple[int, SpecError]] = []
    for i, item in enumerate(data):
        try:
            out.append(validate(model, item, file=str(path), prefix=[i]))
        except SpecError as exc:
            failed.append((i, exc))
    if not failed:
        return out
    first = failed[0][1]
    if len(failed) == 1:
        raise first
    others = [f"[{i}]" for i, _ in failed[1:]]
    shown = ", ".join(others[:MAX_ENTRIES_NAMED]) + (f" and {len(others) - MAX_ENTRIES_NAMED} more"
                                                    if len(others) > MAX_ENTRIES_NAMED else "")
    raise type(first)(f"{first.message} (entries {shown} have problems too)", path=first.path, file=first.file)
