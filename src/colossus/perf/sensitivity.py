"""Which of the performance model's assumptions the validation depends on, and how much.

Every figure in ``catalog/data/perf_*.toml`` is moved by ``rel`` down and up in turn (an efficiency or a
fraction is kept at most 1) and the published runs are predicted again with the shipped constants (no
refit): the MAPE, the worst case and the runs reported as not fitting, against the shipped figures. A
figure the catalog calls a source or an assumption that moves the validation as much as a calibrated
constant does is one a reviewer should look at: the issue that asked for honest validation counts a value
changed by hand until the validation passed as fitted. Each row says how the catalog labels the figure (the
first word of its comment: ``source``, ``assumption``, ``calibrated``, ...).

``python -m colossus.perf.sensitivity --validation ../shared/validation/training_runs.yaml`` prints the
table, largest effect first.
"""

from __future__ import annotations

import argparse
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
import re
from typing import Any

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.spec import RunSpec

#: Relative move of each figure.
DEFAULT_REL = 0.10

_SECTION = re.compile(r"^\s*\[(?P<name>[^\]]+)\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*(?P<key>[A-Za-z0-9_]+)\s*=")


@dataclass(frozen=True)
class Score:
    """How the published runs come out under one set of figures."""

    mape: float  # over the runs predicted
    worst: float
    not_fitting: int
    unpredicted: int  # runs a figure so moved leaves without a prediction (an invalid fabric, say)


@dataclass(frozen=True)
class Sensitivity:
    """One figure moved down and up by ``rel``: the validation's scores either way."""

    name: str  # dotted path, as ``--assume`` takes it
    value: float
    label: str  # the catalog comment's first word: source, assumption, calibrated, ...
    down: Score
    up: Score | None  # None where the figure is an efficiency or fraction already at 1

    def mape_change(self, base: Score) -> float:
        """The larger move of the MAPE either way (fraction, not percent points)."""
        return max(abs(s.mape - base.mape) for s in (self.down, self.up) if s is not None)

    def breaks(self, base: Score) -> bool:
        """True where a move leaves runs without a prediction (its MAPE is then of fewer runs)."""
        return any(s.unpredicted > base.unpredicted for s in (self.down, self.up) if s is not None)


def score(runs: Sequence[RunSpec], assumptions: PerfAssumptions) -> Score:
    """The runs' MAPE, worst |error| and count not fitting, with the constants as given (no refit)."""
    from colossus.perf.validate import validate_runs

    cases = validate_runs(runs, assumptions=assumptions).cases
    errors = [abs(c.error) for c in cases if c.error is not None]
    not_fitting = sum(1 for c in cases if c.fits is False)
    unpredicted = len(cases) - len(errors)
    if not errors:
        return Score(0.0, 0.0, not_fitting, unpredicted)
    return Score(sum(errors) / len(errors), max(errors), not_fitting, unpredicted)


def figures(assumptions: PerfAssumptions) -> Iterator[tuple[str, float]]:
    """Every continuous figure of the assumption tables, by dotted path (counts, written as integers, and flags
    and texts left out: a switch of 57.6 ports is no assumption to test)."""
    for table in ("compute", "network", "overlap", "memory"):
        yield from _walk(getattr(assumptions, table), table)


def _walk(node: Mapping[str, Any], path: str) -> Iterator[tuple[str, float]]:
    for key, value in node.items():
        dotted = f"{path}.{key}"
        if isinstance(value, Mapping):
            yield from _walk(value, dotted)
        elif isinstance(value, float):
            yield dotted, value


def labels() -> dict[str, str]:
    """Each figure's label: the first word of its catalog comment (``source``, ``assumption``, ...); the
    figures of an inline table (``sms = { hopper = 132.0, ... }``) take their line's (``label_of``)."""
    out: dict[str, str] = {}
    for table in ("compute", "network", "overlap", "memory"):
        text = resources.files("colossus.catalog").joinpath("data", f"perf_{table}.toml").read_text("utf-8")
        section = table
        for line in text.splitlines():
            if match := _SECTION.match(line):
                section = f"{table}.{match.group('name').strip()}"
                continue
            if (match := _KEY.match(line)) and "#" in line:
                comment = line.split("#", 1)[1].strip()
                word = re.match(r"[A-Za-z-]+", comment)
                out[f"{section}.{match.group('key')}"] = word.group(0).lower() if word else "other"
    return out


def sensitivity(runs: Sequence[RunSpec], assumptions: PerfAssumptions | None = None,
                rel: float = DEFAULT_REL) -> tuple[Score, list[Sensitivity]]:
    """The shipped figures' score and each figure's effect, largest MAPE change first (ties by name), the
    figures whose move leaves runs unpredicted last."""
    base_assumptions = assumptions or default_assumptions()
    base = score(runs, base_assumptions)
    named = labels()
    rows = []
    for name, value in figures(base_assumptions):
        if value == 0.0:
            continue  # (a zero moved by a fraction stays zero)
        capped = name.endswith(("_eff", "_frac")) or "_eff." in name
        down = score(runs, base_assumptions.with_overrides({name: value * (1.0 - rel)}))
        high = value * (1.0 + rel)
        up = None if capped and value >= 1.0 else score(
            runs, base_assumptions.with_overrides({name: min(high, 1.0) if capped else high}))
        rows.append(Sensitivity(name, value, label_of(named, name), down, up))
    rows.sort(key=lambda r: (r.breaks(base), -r.mape_change(base), r.name))
    return base, rows


def label_of(named: Mapping[str, str], dotted: str) -> str:
    """``dotted``'s label, or its nearest labelled parent's (a figure of an inline table)."""
    parts = dotted.split(".")
    for end in range(len(parts), 1, -1):
        if (label := named.get(".".join(parts[:end]))) is not None:
            return label
    return "other"


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--validation", default="../shared/validation/training_runs.yaml")
    parser.add_argument("--rel", type=float, default=DEFAULT_REL, help="relative move of each figure")
    parser.add_argument("--top", type=int, default=25, help="rows to print")
    args = parser.parse_args(argv)
    from colossus.spec import load_runs

    runs = [r for r in load_runs(args.validation) if r.measured is not None]
    base, rows = sensitivity(runs, rel=args.rel)
    print(f"{len(runs)} runs, shipped figures: MAPE {base.mape:.2%}, worst {base.worst:.1%},"
          f" not fitting {base.not_fitting}; each figure moved by -/+{args.rel:.0%} (no refit)")
    print(f"{'MAPE change':>11}  {'figure':<58} {'value':>10}  {'label':<11} MAPE -/+        worst -/+"
          "        not fitting, unpredicted -/+")
    shown = [r for r in rows if not r.breaks(base)][: args.top]
    broken = [r.name for r in rows if r.breaks(base)]
    for row in shown:
        up = row.up
        print(f"{row.mape_change(base):>10.2%}  {row.name:<58} {row.value:>10.4g}  {row.label:<11}"
              f" {row.down.mape:.2%}/{f'{up.mape:.2%}' if up else '-':<7} {row.down.worst:.1%}/"
              f"{f'{up.worst:.1%}' if up else '-':<7} {row.down.not_fitting}, {row.down.unpredicted}/"
              f"{f'{up.not_fitting}, {up.unpredicted}' if up else '-'}")
    if broken:
        print(f"moved by {args.rel:.0%}, these leave runs without a prediction: {', '.join(broken)}")


if __name__ == "__main__":
    main()
