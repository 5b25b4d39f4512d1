"""A sweep planned and checked before anything runs: every point, its scenario and its runs.

A sweep of thousands of runs that fails on point 731 because one value was
out of range wastes an afternoon, so planning applies every combination of
the varied values to the raw YAML document and validates the whole
``Scenario`` for each one first. When a point is invalid, its values are
tried one by one on the base document, so the error names the ``--vary``
option at fault when one value is bad on its own, and the combination
otherwise (500 GPUs of a pool are fine, unless the job still asks for 1,000).

Seeds: run ``i`` of a point uses the point's scenario seed + ``i``
(``i = 0 .. seeds-1``), so the first seed of a sweep reproduces a single
``colossus simulate`` of the same scenario.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
import hashlib
import itertools
import json
import math
from pathlib import Path
from typing import Any, Literal

from colossus.errors import SpecError
from colossus.spec import Scenario, read_yaml, validate
from colossus.spec.bounds import MAX_SEED, MAX_SWEEP_RUNS
from colossus.sweep.paths import Target, assign, resolve
from colossus.sweep.values import Value, Vary, parse_vary

Kind = Literal["estimate", "simulate"]
KINDS: tuple[str, ...] = ("estimate", "simulate")
#: ``auto``: an estimate if every varied field is one the estimate reads, else a simulation.
AUTO = "auto"
#: The top-level scenario fields an estimate reads (the jobs on the cluster); varying anything
#: else (supply, power, reliability, simulation) changes only what a simulation plays out.
ESTIMATE_READS: frozenset[str] = frozenset({"cluster", "jobs"})

#: Columns every stored run has; a varied path must not take one of their names.
RESERVED_COLUMNS = frozenset({"content_hash", "seed", "kind", "days", "scenario", "error", "wall_s"})

#: Points of one sweep: each is validated before anything runs (a few ms each) and is at least one run.
MAX_SWEEP_POINTS = 10_000

#: Estimates do not depend on time: their rows carry this in the ``days`` key column.
ESTIMATE_DAYS = 0.0


def content_hash(scenario: Scenario) -> str:
    """sha256 of the validated scenario as canonical JSON (sorted keys, no spaces).

    The validated form is hashed, not the text: comments and spelling do not
    change it, while a catalog figure a run depends on does (the catalog
    entries are expanded in it).
    """
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Point:
    """One combination of varied values: the modified document, its scenario's hash and seed."""

    inputs: tuple[tuple[str, Value], ...]  # (column, value) per varied path
    document: dict[str, Any]
    content_hash: str
    seed: int
    days: float  # the key's days: the simulated period, or ESTIMATE_DAYS


#: The function a task runs unless it names another (``module:function``, with ``run_task``'s signature).
RUN_TASK = "colossus.sweep.run:run_task"


@dataclass(frozen=True)
class Task:
    """Runs to do of one point (one seed, or several for an estimate): picklable, for a pool or Ray.

    ``runner`` names the function that runs it, as text so that the task pickles the same for a
    process pool and for Ray; another package (``forecast``) ships its own kind of run this way
    and reuses the backends (its ``document`` is then whatever that runner takes).
    """

    document: dict[str, Any] | Any
    seeds: tuple[int, ...]
    kind: str
    days: float | None
    inputs: tuple[tuple[str, Value], ...]
    base_dir: str | None
    runner: str = RUN_TASK


@dataclass(frozen=True)
class SweepPlan:
    """Everything a sweep will run, already validated."""

    scenario: str
    file: str
    kind: str
    seeds: int
    days: float | None
    varied: tuple[tuple[Vary, Target], ...]
    points: tuple[Point, ...]
    first_job: str | None

    @property
    def columns(self) -> list[str]:
        return [target.column for _, target in self.varied]

    @property
    def num_runs(self) -> int:
        return len(self.points) * self.seeds

    @property
    def identity(self) -> str:
        """What makes two sweeps the same sweep (its fields and values, kind and period; not the seeds).

        A sweep's default folder is named after it, so two different sweeps of one
        scenario land in two stores, and the same command started again resumes.
        """
        text = json.dumps([self.scenario, self.kind, self.days,
                           [(t.column, [repr(x) for x in v.values]) for v, t in self.varied]])
        return hashlib.sha256(text.encode()).hexdigest()[:8]

    def keys(self) -> list[tuple[str, int, str, float]]:
        """(content_hash, seed, kind, days) of every run, point-major."""
        return [(p.content_hash, p.seed + i, self.kind, p.days) for p in self.points for i in range(self.seeds)]

    def tasks(self, skip: set[tuple[str, int, str, float]] | frozenset = frozenset()) -> list[Task]:
        """The runs not in ``skip``, point by point.

        An estimate does not depend on the seed, so a point's seeds go in one
        task (one estimate, one row per seed); a simulation's seeds are
        separate tasks, to run in parallel.
        """
        base_dir = str(Path(self.file).resolve().parent)
        out = []
        for p in self.points:
            todo = range(p.seed, p.seed + self.seeds)
            seeds = [s for s in todo if (p.content_hash, s, self.kind, p.days) not in skip]
            groups = [tuple(seeds)] if self.kind == "estimate" and seeds else [(s,) for s in seeds]
            out += [Task(p.document, group, self.kind, self.days, p.inputs, base_dir) for group in groups]
        return out


def _check(doc: dict[str, Any], file: str) -> Scenario:
    return validate(Scenario, doc, file=file)


def _targets(varies: list[Vary], doc: dict[str, Any]) -> list[Target]:
    targets: list[Target] = []
    for vary in varies:
        try:
            target = resolve(vary.path, doc)
        except SpecError as exc:
            raise SpecError(f"--vary {vary.option}: {exc.message}") from None
        if target.column in RESERVED_COLUMNS:
            hint = " (use --seeds N: run i uses the scenario's seed + i)" if target.column == "seed" else ""
            raise SpecError(
                f"--vary {vary.option}: '{target.column}' is a column of every run and cannot be varied{hint}")
        for other, seen in zip(varies, targets):
            a, b = seen.location, target.location
            if a[: len(b)] == b or b[: len(a)] == a:
                raise SpecError(f"--vary {other.option} and --vary {vary.option} both set {target.column}")
        targets.append(target)
    return targets


def _diagnose(varies: list[Vary], targets: list[Target], combos: list[tuple[Value, ...]],
              failures: dict[tuple[Value, ...], SpecError]) -> SpecError:
    """One error for the invalid points: a value none of whose points is valid names its option."""
    for i, (vary, target) in enumerate(zip(varies, targets)):
        for value in vary.values:
            mine = [c for c in combos if c[i] == value and type(c[i]) is type(value)]
            if all(c in failures for c in mine):
                return SpecError(f"--vary {vary.option}: {target.column} = {value!r}: {failures[mine[0]]}")
    combo, exc = next(iter(failures.items()))
    options = " with ".join(f"--vary {v.option}" for v in varies)
    shown = ", ".join(f"{t.column} = {v!r}" for t, v in zip(targets, combo))
    more = f" ({len(failures) - 1} more invalid point(s))" if len(failures) > 1 else ""
    return SpecError(f"{options}: the point {shown} is invalid{more}: {exc}")


@dataclass(frozen=True)
class _Context:
    """What every point of one sweep shares, for ``_point``."""

    file: str
    kind: str
    days: float | None


def _point(doc: dict[str, Any], targets: list[Target], combo: tuple[Value, ...], ctx: _Context) -> Point:
    """Apply one combination of values to a copy of ``doc`` and validate the whole scenario."""
    point_doc = copy.deepcopy(doc)
    for target, value in zip(targets, combo):
        assign(point_doc, target.location, value)
    inputs = tuple((t.column, v) for t, v in zip(targets, combo))
    scenario = _check(point_doc, ctx.file)
    days = ESTIMATE_DAYS if ctx.kind == "estimate" else float(ctx.days or scenario.simulation.days)
    return Point(inputs, point_doc, content_hash(scenario), scenario.seed, days)


def auto_kind(targets: list[Target]) -> str:
    """``estimate`` if the estimate reads every varied field, else ``simulate``."""
    return "estimate" if all(str(t.location[0]) in ESTIMATE_READS for t in targets) else "simulate"


def plan_sweep(
    file: str | Path, options: list[str], *, seeds: int, kind: str, days: float | None = None,
) -> SweepPlan:
    """Parse the ``--vary`` options, resolve their paths and validate every point of the sweep."""
    file = str(file)
    if kind not in (*KINDS, AUTO):
        raise SpecError(f"--kind: '{kind}' is not one of {', '.join((AUTO, *KINDS))}")
    if seeds < 1:
        raise SpecError(f"--seeds: must be >= 1 (got {seeds})")
    if kind == AUTO and days is not None:
        kind = "simulate"
    if days is not None and not days > 0:
        raise SpecError(f"--days: must be > 0 (got {days})")
    if days is not None and kind != "simulate":
        raise SpecError("--days: only a simulate sweep has a simulated period (add --kind simulate)")
    doc = read_yaml(file)
    base = _check(doc, file)
    varies = [parse_vary(option) for option in options]
    if not varies:
        raise SpecError("--vary: give at least one PATH=VALUES (e.g. --vary jobs.grok2.gpus=10000,20000)")
    targets = _targets(varies, doc)
    if kind == AUTO:
        kind = auto_kind(targets)
    if kind == "estimate" and not base.jobs:
        raise SpecError("the scenario has no jobs: an estimate sweep estimates its jobs", file=file)
    num_points = math.prod(len(v.values) for v in varies)
    if num_points > MAX_SWEEP_POINTS or num_points * seeds > MAX_SWEEP_RUNS:
        raise SpecError(f"--vary: {num_points:,} points x {seeds:,} seed(s) = {num_points * seeds:,} runs; a sweep"
                        f" has at most {MAX_SWEEP_POINTS:,} points and {MAX_SWEEP_RUNS:,} runs")
    if base.seed + seeds - 1 > MAX_SEED:
        raise SpecError(f"--seeds: the scenario's seed {base.seed} + {seeds - 1} passes the largest seed"
                        f" ({MAX_SEED}); use fewer seeds or a smaller seed")
    context = _Context(file, kind, days)
    points: list[Point] = []
    seen: dict[str, Point] = {}
    combos = list(itertools.product(*(v.values for v in varies)))
    failures: dict[tuple[Value, ...], SpecError] = {}
    for combo in combos:
        try:
            point = _point(doc, targets, combo, context)
        except SpecError as exc:
            failures[combo] = exc
            continue
        if point.content_hash in seen:
            raise SpecError(f"--vary: the points {seen[point.content_hash].inputs} and {point.inputs}"
                            " give the same scenario")
        seen[point.content_hash] = point
        points.append(point)
    if failures:
        raise _diagnose(varies, targets, combos, failures)
    return SweepPlan(
        scenario=base.name, file=file, kind=kind, seeds=seeds, days=days,
        varied=tuple(zip(varies, targets)), points=tuple(points),
        first_job=base.jobs[0].name if base.jobs else None,
    )
