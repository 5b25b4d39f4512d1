"""What can happen in the facility: the engine's event kinds as named types, and a job's power modes.

An event is a small frozen object whose type is its kind; the engine keeps
them in one heap ordered by (time, insertion order) and hands each to the
handler registered for its type (``Engine.HANDLERS``). Events that belong to
a job's current plan carry the job's ``version`` and are skipped when it has
moved on (the lazy deletion of a heap).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np


class Mode(IntEnum):
    """What a running job's GPUs draw: nothing yet, idle power (starting up), training power."""

    NONE = 0
    IDLE = 1
    TRAIN = 2


@dataclass(frozen=True, slots=True)
class Build:
    """Servers arrive; they burn in for ``burn_s`` first (0: straight to idle)."""

    servers: np.ndarray
    burn_s: float


@dataclass(frozen=True, slots=True)
class BurnInDone:
    servers: np.ndarray


@dataclass(frozen=True, slots=True)
class Submit:
    job: int


@dataclass(frozen=True, slots=True)
class JobEvent:
    """An event of a job's current plan, stale once the job's version moved on."""

    job: int
    version: int


class Progress(JobEvent):
    """Start-up is over: the job trains."""
    __slots__ = ()


class Checkpoint(JobEvent):
    """A checkpoint completes (progress only: power and allocation are unchanged)."""
    __slots__ = ()


class Finish(JobEvent):
    """The job's work is done."""
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Candidate:
    """Failure candidate ``k`` of one process, drawn up front and thinned when it comes."""

    k: int


class ServerFailure(Candidate):
    __slots__ = ()


class SwitchFailure(Candidate):
    __slots__ = ()


class JobFailure(Candidate):
    __slots__ = ()


class RackFailure(Candidate):
    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Detected:
    """Failed servers noticed and drained: they go to repair for ``repair_s``."""

    servers: np.ndarray
    repair_s: float


@dataclass(frozen=True, slots=True)
class Repaired:
    servers: np.ndarray


@dataclass(frozen=True, slots=True)
class GeneratorChange:
    """Generator outage event ``k`` of the supply model (a unit goes down or comes back)."""

    k: int


@dataclass(frozen=True, slots=True)
class GridContract:
    """The grid contract starts."""


@dataclass(frozen=True, slots=True)
class PlantWake:
    """The plant changes by itself (a battery empties or fills, a permit runs out, a fleet moves)."""

    version: int


Event = (Build | BurnInDone | Submit | Progress | Checkpoint | Finish | ServerFailure | SwitchFailure | JobFailure
         | RackFailure | Detected | Repaired | GeneratorChange | GridContract | PlantWake)

__all__ = [
    "Build", "BurnInDone", "Candidate", "Checkpoint", "Detected", "Event", "Finish", "GeneratorChange", "GridContract",
    "JobEvent", "JobFailure", "Mode", "PlantWake", "Progress", "RackFailure", "Repaired", "ServerFailure", "Submit",
    "SwitchFailure",
]
