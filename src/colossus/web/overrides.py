"""The dashboard's knobs applied to a scenario file, then the whole scenario validated again.

Why edit the raw YAML document rather than the validated ``Scenario``: the
scenario's own validation (whole servers, a job within its pool, catalog
names with "did you mean", the build-out naming real pools) then judges the
edited scenario exactly as it judges a file, and a run stores a document a
user could save and load with the CLI.

Every override remembers which document field it wrote, so a ``SpecError``
about that field is reported against the override the user set (``pools ->
h100-phase1 -> gpu``) as well as the scenario field and its rule.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from colossus.errors import (
    OverrideError,  # noqa: F401  (raised here, in the tree)
    SpecError,
)
from colossus.spec import Scenario, validate
from colossus.web.models import Overrides

Loc = tuple[str | int, ...]


@dataclass
class Edited:
    """A scenario document with overrides applied, and where each one went."""

    document: dict[str, Any]
    written: dict[Loc, Loc] = field(default_factory=dict)  # document path -> request body location
    notes: list[str] = field(default_factory=list)

    def set(self, path: Loc, value: Any, loc: Loc) -> None:
        node: Any = self.document
        for part in path[:-1]:
            node = node[part]
        node[path[-1]] = value
        self.written[path] = loc


def _mapping(doc: Any, *keys: str) -> dict[str, Any]:
    """The mapping at ``keys`` in ``doc``, created if missing (a file may leave optional blocks out)."""
    node = doc
    for key in keys:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    return node


def _named(items: Any, name: str) -> int | None:
    if not isinstance(items, list):
        return None
    for i, item in enumerate(items):
        if isinstance(item, dict) and item.get("name") == name:
            return i
    return None


def _unit_name(unit: Any) -> str | None:
    if isinstance(unit, str):
        return unit.lower()
    if isinstance(unit, dict) and isinstance(unit.get("name"), str):
        return unit["name"].lower()
    return None


def _names(items: Any) -> str:
    found = [str(i.get("name")) for i in items if isinstance(i, dict)] if isinstance(items, list) else []
    return ", ".join(found) or "none"


def _pools(ed: Edited, ov: Overrides) -> None:
    pools = _mapping(ed.document, "cluster").get("pools")
    for name, change in ov.pools.items():
        i = _named(pools, name)
        loc = ("body", "overrides", "pools", name)
        if i is None:
            raise OverrideError(f"no pool '{name}'; the scenario has: {_names(pools)}", loc=loc)
        if change.num_gpus is not None:
            ed.set(("cluster", "pools", i, "num_gpus"), change.num_gpus, (*loc, "num_gpus"))
        if change.gpu is not None:
            ed.set(("cluster", "pools", i, "gpu"), change.gpu, (*loc, "gpu"))


def _jobs(ed: Edited, ov: Overrides) -> None:
    jobs = ed.document.get("jobs")
    for name, change in ov.jobs.items():
        i = _named(jobs, name)
        loc = ("body", "overrides", "jobs", name)
        if i is None:
            raise OverrideError(f"no job '{name}'; the scenario has: {_names(jobs)}", loc=loc)
        assert jobs is not None  # _named found the job in it
        job = jobs[i]
        if change.model is not None:
            ed.set(("jobs", i, "model"), change.model, (*loc, "model"))
        if change.num_gpus is not None:
            ed.set(("jobs", i, "num_gpus"), change.num_gpus, (*loc, "num_gpus"))
        if (change.model is not None or change.num_gpus is not None) and job.get("layout") is not None:
            # A fixed layout is for one model on one GPU count; the planner chooses for the new one.
            ed.set(("jobs", i, "layout"), None, (*loc, "num_gpus" if change.num_gpus is not None else "model"))
            ed.notes.append(f"job '{name}': its fixed layout was for another model or GPU count;"
                            " the planner chooses the layout")
        if change.expert_routing is not None:
            software = job.get("software")
            if software is None:
                software = job["software"] = {}
            if not isinstance(software, dict):
                raise OverrideError(f"job '{name}' names its software in a form the routing cannot be set in",
                                    loc=(*loc, "expert_routing"))
            ed.set(("jobs", i, "software", "expert_routing"), change.expert_routing, (*loc, "expert_routing"))
        if change.checkpoint_interval_min is not None:
            if not isinstance(job.get("checkpoint"), dict):
                raise OverrideError(f"job '{name}' has no checkpoint block to change",
                                    loc=(*loc, "checkpoint_interval_min"))
            ed.set(("jobs", i, "checkpoint", "interval_min"), change.checkpoint_interval_min,
                   (*loc, "checkpoint_interval_min"))


def _fleets(ed: Edited, counts: dict[str, int], key: str) -> None:
    """Set the count of each named unit's fleet (generators) or bank (batteries); add one if new."""
    supply = _mapping(ed.document, "power", "supply")
    if not isinstance(supply.get(key), list):
        supply[key] = []
    fleets = supply[key]
    for unit, count in counts.items():
        loc = ("body", "overrides", key, unit)
        i = next((j for j, f in enumerate(fleets) if isinstance(f, dict) and f.get("name") == unit), None)
        i = i if i is not None else next(
            (j for j, f in enumerate(fleets) if isinstance(f, dict) and not f.get("name")
             and _unit_name(f.get("unit")) == unit.lower()), None)
        if i is None:
            fleets.append({"unit": unit, "count": count})
            ed.written[("power", "supply", key, len(fleets) - 1)] = loc
        else:
            ed.set(("power", "supply", key, i, "count"), count, loc)


def _supply(ed: Edited, ov: Overrides) -> None:
    grid_path = ("power", "supply", "grid")
    touched = {"grid_interim_mw", "grid_contract_mw", "grid_contract_start_day"} & ov.model_fields_set
    if touched:
        _mapping(ed.document, *grid_path)
    if ov.grid_interim_mw is not None:
        ed.set((*grid_path, "interim_mw"), ov.grid_interim_mw, ("body", "overrides", "grid_interim_mw"))
    if ov.grid_contract_mw is not None:
        ed.set((*grid_path, "contract_mw"), ov.grid_contract_mw, ("body", "overrides", "grid_contract_mw"))
    if "grid_contract_start_day" in ov.model_fields_set:
        ed.set((*grid_path, "contract_start_day"), ov.grid_contract_start_day,
               ("body", "overrides", "grid_contract_start_day"))
    _fleets(ed, ov.generators, "generators")
    _fleets(ed, ov.batteries, "batteries")


def apply_overrides(document: Any, ov: Overrides) -> Edited:
    """A copy of the scenario document with the overrides written into it (not yet validated)."""
    if not isinstance(document, dict):
        raise SpecError("expected a mapping of fields")
    ed = Edited(copy.deepcopy(document))
    _pools(ed, ov)
    _jobs(ed, ov)
    _supply(ed, ov)
    if ov.fleet is not None or ov.failure_rate_scale is not None:
        _mapping(ed.document, "reliability")
        if ov.fleet is not None:
            ed.set(("reliability", "fleet"), ov.fleet, ("body", "overrides", "fleet"))
        if ov.failure_rate_scale is not None:
            ed.set(("reliability", "rate_scale"), ov.failure_rate_scale, ("body", "overrides", "failure_rate_scale"))
    if ov.days is not None:
        _mapping(ed.document, "simulation")
        ed.set(("simulation", "days"), ov.days, ("body", "overrides", "days"))
    if ov.seed is not None:
        ed.set(("seed",), ov.seed, ("body", "overrides", "seed"))
    return ed


def _blame(ed: Edited, path: tuple[str | int, ...]) -> Loc | None:
    """The override that wrote ``path`` or a field above or below it, if any (deepest match first)."""
    for written in sorted(ed.written, key=len, reverse=True):
        n = min(len(written), len(path))
        if tuple(written[:n]) == tuple(path[:n]):
            return ed.written[written]
    return None


def scenario_with(document: Any, ov: Overrides, *, file: str) -> tuple[Scenario, Edited]:
    """Apply the overrides and validate; an ``OverrideError`` (a ``SpecError``) if the result is invalid.

    A failure in a field no override touched is still a ``SpecError`` (the file itself is wrong).
    """
    try:
        ed = apply_overrides(document, ov)
    except OverrideError as exc:  # an override naming a pool or job the file lacks
        raise OverrideError(exc.message, loc=exc.loc, path=exc.path, file=f"{file} (with overrides)") from None
    label = f"{file} (with overrides)" if ed.written else file
    try:
        return validate(Scenario, ed.document, file=label), ed
    except SpecError as exc:
        loc = _blame(ed, exc.path) if exc.path else None
        if loc is None and exc.path[:1] == ("jobs",) and (ov.jobs or ov.pools):
            loc = ("body", "overrides", "jobs" if ov.jobs else "pools")  # a cross-field rule (job within its pool)
        if loc is None:
            raise
        raise OverrideError(exc.message, loc=loc, path=exc.path, file=exc.file) from None
