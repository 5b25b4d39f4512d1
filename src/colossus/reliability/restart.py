"""What a restart costs, phase by phase: detect, schedule, start, collective init, load, warm up.

The phases of one training stack form a *restart profile*
(``catalog/data/restart_profiles.toml``); a scenario picks one and may override
any phase (``reliability.restart``). Only the collective initialisation grows
with the job: MegaScale (Jiang et al., NSDI 2024, Sec. 4.4) measured ~1,047 s
for Megatron-LM's stock initialisation at 2,048 GPUs and brought it under 30 s
at more than 10,000 with its own; rendezvous through one store grows with the
ranks, so ``init(N) = init_s (N / init_gpus) ^ exponent``, the exponent fixed by
two published points or stated as an assumption. The checkpoint load is the
checkpoint's (``reliability.checkpoint``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
import math
from typing import Any

from colossus.catalog import read_table
from colossus.errors import CatalogError, SpecError, did_you_mean

_FILE = "catalog/data/restart_profiles.toml"
PHASES: tuple[str, ...] = ("detect_s", "schedule_s", "process_start_s", "collective_init_s", "load_s", "warmup_s")


@dataclass(frozen=True, slots=True)
class RestartProfile:
    """The restart phases of one training stack (SI units)."""

    name: str
    source: str
    detect_s: float
    schedule_s: float
    process_start_s: float
    init_s: float  # collective initialisation at ``init_gpus``
    init_gpus: float
    init_exponent: float
    warmup_s: float
    load_s: float | None = None  # None: the checkpoint's own load time

    def collective_init_s(self, num_gpus: int) -> float:
        """Rendezvous and communicator set-up of ``num_gpus`` ranks."""
        return self.init_s * (num_gpus / self.init_gpus) ** self.init_exponent


@dataclass(frozen=True, slots=True)
class Restart:
    """One job's restart, by phase (seconds)."""

    detect_s: float
    schedule_s: float
    process_start_s: float
    collective_init_s: float
    load_s: float
    warmup_s: float

    @property
    def total_s(self) -> float:
        """After an interruption: every phase."""
        return (self.detect_s + self.schedule_s + self.process_start_s + self.collective_init_s + self.load_s
                + self.warmup_s)

    @property
    def first_start_s(self) -> float:
        """A job's first start: nothing to detect and no checkpoint to load."""
        return self.schedule_s + self.process_start_s + self.collective_init_s + self.warmup_s

    def as_dict(self) -> dict[str, float]:
        return {p: getattr(self, p) for p in PHASES} | {"total_s": self.total_s}


def _float(row: Mapping[str, Any], key: str, name: str) -> float:
    try:
        value = float(row[key])
    except (KeyError, TypeError, ValueError):
        raise CatalogError(f"'{key}' must be a number", file=_FILE, path=[name]) from None
    if not (math.isfinite(value) and value >= 0):
        raise CatalogError(f"'{key}' must be a finite number >= 0", file=_FILE, path=[name])
    return value


def _profile(name: str, row: Mapping[str, Any]) -> RestartProfile:
    init_s, init_gpus = _float(row, "init_s", name), _float(row, "init_gpus", name)
    if "init_s_2" in row:  # two points fix the exponent
        s2, g2 = _float(row, "init_s_2", name), _float(row, "init_gpus_2", name)
        if min(init_s, s2, init_gpus) <= 0 or g2 == init_gpus:
            raise CatalogError("two distinct positive init points are needed", file=_FILE, path=[name])
        exponent = math.log(s2 / init_s) / math.log(g2 / init_gpus)
    else:
        exponent = _float(row, "init_exponent", name)
    if init_gpus <= 0:
        raise CatalogError("'init_gpus' must be > 0", file=_FILE, path=[name])
    return RestartProfile(name, str(row.get("source", "")), _float(row, "detect_s", name),
                          _float(row, "schedule_s", name), _float(row, "process_start_s", name), init_s, init_gpus,
                          exponent, _float(row, "warmup_s", name))


def profile_names() -> tuple[str, ...]:
    return tuple(read_table("restart_profiles"))


@cache
def restart_profile(name: str) -> RestartProfile:
    """The catalog's restart profile ``name``; ``SpecError`` with the closest name if unknown."""
    table = read_table("restart_profiles")
    if name not in table:
        raise SpecError(f"unknown restart profile '{name}'{did_you_mean(name, table)}"
                        f" (the catalog has: {', '.join(table)})")
    return _profile(name, table[name])


def with_overrides(profile: RestartProfile, overrides: Mapping[str, float | None]) -> RestartProfile:
    """``profile`` with every phase given (not None) in ``overrides`` replaced."""
    changes = {k: float(v) for k, v in overrides.items() if v is not None}
    bad = set(changes) - {"detect_s", "schedule_s", "process_start_s", "init_s", "init_gpus", "init_exponent",
                          "warmup_s", "load_s"}
    if bad:
        raise SpecError(f"unknown restart phase '{sorted(bad)[0]}'")
    if changes.get("init_gpus", 1.0) <= 0:
        raise SpecError("init_gpus must be > 0")
    return replace(profile, **changes) if changes else profile  # type: ignore[arg-type]  # names checked above


def plan_restart(profile: RestartProfile, *, num_gpus: int, checkpoint_load_s: float) -> Restart:
    """The phases of a restart of ``num_gpus`` that reads its checkpoint in ``checkpoint_load_s``."""
    if num_gpus <= 0:
        raise SpecError(f"the job's GPUs must be > 0 (got {num_gpus})")
    load = checkpoint_load_s if profile.load_s is None else profile.load_s
    return Restart(profile.detect_s, profile.schedule_s, profile.process_start_s,
                   profile.collective_init_s(num_gpus), load, profile.warmup_s)
