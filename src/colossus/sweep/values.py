"""The values of one ``--vary PATH=VALUES`` option, parsed from its text.

``VALUES`` is a comma list (``10000,20000,40000``, ``h100-sxm5-80gb,h200-sxm-141gb``),
a range ``start:stop:step`` (or ``start:stop`` with step 1), or one value.
A range counts with exact decimals, so ``0.1:0.5:0.1`` gives five values
without float drift, and includes ``stop`` when it lands on the grid
(``0:28:2`` -> 0, 2, ..., 28; ``0:5:2`` -> 0, 2, 4). Each item becomes an
int, a float, ``true``/``false``, ``null`` or else text; the scenario's
validation decides what a field accepts.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
import re

from colossus.errors import SpecError

#: A scalar a field can be set to.
Value = int | float | bool | str | None

#: More values than this in one range is almost surely a typo in the step.
MAX_RANGE_VALUES = 100_000

_INT = re.compile(r"[+-]?\d+")


@dataclass(frozen=True)
class Vary:
    """One ``--vary`` option: the text as written, its path and its values."""

    option: str
    path: str
    values: tuple[Value, ...]


def parse_value(text: str) -> Value:
    """``'10000'`` -> 10000, ``'2.5'`` / ``'1e6'`` -> float, ``'true'`` -> True, ``'null'`` -> None, else the text."""
    item = text.strip()
    low = item.lower()
    if low in ("true", "false"):
        return low == "true"
    if low in ("null", "none", "~"):
        return None
    if _INT.fullmatch(item):
        return int(item)
    try:
        number = float(item)
    except ValueError:
        return item
    if number != number or number in (float("inf"), float("-inf")):
        return item  # 'nan' and 'inf' stay text: no field takes them as numbers
    return number


def _decimal(text: str, *, what: str) -> Decimal:
    try:
        number = Decimal(text.strip())
    except InvalidOperation:
        raise SpecError(f"range {what} '{text}' is not a number") from None
    if not number.is_finite():
        raise SpecError(f"range {what} '{text}' is not a finite number")
    return number


def parse_range(text: str) -> list[Value]:
    """``start:stop[:step]`` -> the values from start towards stop, stop included when on the grid."""
    parts = text.split(":")
    if len(parts) not in (2, 3):
        raise SpecError(f"'{text}' is not a range start:stop:step")
    start = _decimal(parts[0], what="start")
    stop = _decimal(parts[1], what="stop")
    step = _decimal(parts[2], what="step") if len(parts) == 3 else Decimal(1)
    if step == 0:
        raise SpecError(f"range '{text}': step must not be 0")
    if (stop - start) * step < 0:
        raise SpecError(f"range '{text}': a step of {step} never goes from {start} to {stop}")
    count = int((stop - start) / step) + 1
    if count > MAX_RANGE_VALUES:
        raise SpecError(f"range '{text}' has {count:,} values (at most {MAX_RANGE_VALUES:,}); check the step")
    integral = all(_INT.fullmatch(p.strip()) for p in parts)
    values = [start + i * step for i in range(count)]
    return [int(v) if integral else float(v) for v in values]


def parse_values(text: str) -> list[Value]:
    """The values of ``VALUES``: a comma list, a range, or one value; duplicates are an error."""
    if not text.strip():
        raise SpecError("no values after '='")
    if "," in text:
        items = text.split(",")
        if any(not item.strip() for item in items):
            raise SpecError(f"'{text}' has an empty item")
        values = [parse_value(item) for item in items]
    elif ":" in text:
        values = parse_range(text)
    else:
        values = [parse_value(text)]
    seen: list[Value] = []
    for value in values:
        if any(type(value) is type(s) and value == s for s in seen):
            raise SpecError(f"value {value!r} is listed twice")
        seen.append(value)
    return values


def parse_vary(option: str) -> Vary:
    """``PATH=VALUES`` -> a ``Vary``; ``SpecError`` naming the option if it is malformed."""
    path, sep, text = option.partition("=")
    try:
        if not sep:
            raise SpecError("expected PATH=VALUES, e.g. supply.generators.count=0:28:2")
        if not path.strip():
            raise SpecError("no path before '='")
        return Vary(option=option, path=path.strip(), values=tuple(parse_values(text)))
    except SpecError as exc:
        raise SpecError(f"--vary {option}: {exc.message}") from None
