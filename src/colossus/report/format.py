"""Numbers for people: SI floats in, short strings with human units out.

The one place the report (and the dashboard) turns joules into MWh, watts
into MW, seconds into days; a missing value (``None`` or NaN, e.g. a job that
has not finished) is drawn as an em dash rather than guessed.
"""

from __future__ import annotations

import math
from typing import Any

from colossus.units import DAY, HOUR, MINUTE, MW, MWH, TONNE

GWH = 1e3 * MWH
MISSING = "\u2014"


def _number(value: Any) -> float | None:
    if value is None or isinstance(value, bool):
        return None
    try:
        x = float(value)
    except (TypeError, ValueError):
        return None
    return x if math.isfinite(x) else None


def count(value: Any) -> str:
    x = _number(value)
    return MISSING if x is None else f"{x:,.0f}"


def number(value: Any, digits: int = 3) -> str:
    """Significant digits, thousands separated: ``12,345`` or ``0.0123``."""
    x = _number(value)
    if x is None:
        return MISSING
    if x == 0 or abs(x) >= 10 ** (digits - 1):
        return f"{x:,.0f}"
    return f"{x:,.{max(0, digits - 1 - math.floor(math.log10(abs(x))))}f}"


def percent(frac: Any, digits: int = 1) -> str:
    x = _number(frac)
    return MISSING if x is None else f"{100 * x:.{digits}f}%"


def power(watts: Any) -> str:
    x = _number(watts)
    return MISSING if x is None else f"{number(x / MW)} MW"


def energy(joules: Any) -> str:
    x = _number(joules)
    if x is None:
        return MISSING
    return f"{number(x / GWH)} GWh" if abs(x) >= GWH else f"{number(x / MWH)} MWh"


def mass(kg: Any) -> str:
    x = _number(kg)
    if x is None:
        return MISSING
    return f"{number(x / TONNE)} t" if abs(x) >= TONNE else f"{number(x)} kg"


def volume_l(litres: Any) -> str:
    x = _number(litres)
    if x is None:
        return MISSING
    return f"{number(x / 1000.0)} m\u00b3" if abs(x) >= 1000.0 else f"{number(x)} L"


def tokens(n: Any) -> str:
    x = _number(n)
    if x is None:
        return MISSING
    for scale, suffix in ((1e12, "T"), (1e9, "B"), (1e6, "M")):
        if abs(x) >= scale:
            return f"{number(x / scale)} {suffix}"
    return count(x)


def usd(value: Any) -> str:
    """Dollars: ``$1.23``, ``$12,345``, ``$4.56 M``, ``$7.89 B``."""
    x = _number(value)
    if x is None:
        return MISSING
    if abs(x) >= 1e9:
        return f"${number(x / 1e9)} B"
    if abs(x) >= 1e6:
        return f"${number(x / 1e6)} M"
    return f"${number(x)}"


def day(seconds: Any) -> str:
    """A moment as ``day 42.3`` since the scenario start."""
    x = _number(seconds)
    return MISSING if x is None else f"day {x / DAY:.1f}"


def duration(seconds: Any) -> str:
    """A span in the unit that reads best: ``45 s``, ``12.5 min``, ``3.4 h``, ``2.1 d``."""
    x = _number(seconds)
    if x is None:
        return MISSING
    if abs(x) < MINUTE:
        return f"{number(x)} s"
    if abs(x) < HOUR:
        return f"{number(x / MINUTE)} min"
    if abs(x) < DAY:
        return f"{number(x / HOUR)} h"
    return f"{number(x / DAY)} d"


def hours(value_h: Any) -> str:
    x = _number(value_h)
    return MISSING if x is None else f"{number(x)} h"
