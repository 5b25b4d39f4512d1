"""The exception tree of colossus, in one place.

::

    ColossusError                 base of everything colossus raises on purpose
    ├── SpecError                 bad input: a file, a field path, a value, the rule it breaks
    │   ├── CatalogError          an unknown catalog name or a malformed catalog entry
    │   └── OverrideError         a dashboard knob the scenario rejects (``loc``: where in the request)
    ├── InfeasibleError           a valid request with no feasible answer (a layout that does
    │                             not fit in memory, a fabric too small for the GPU count);
    │                             an expected outcome that sweeps record as data
    ├── ResultsError              a results folder missing, unreadable, malformed, or not replaceable
    ├── ReportError               a result the report cannot draw (a column of the contract missing)
    └── ServiceError              the dashboard's job queue says no
        ├── QueueFull             every worker busy and the queue full: try again later
        └── NotCancellable        the job is running or finished: only a queued job can be cancelled

    KeyboardInterrupt             Ctrl-C or SIGTERM (the CLI turns SIGTERM into it)
    ├── RunInterrupted            a simulation stopped while its results folder was claimed;
    │                             ``left`` says what the folder holds now
    └── SweepInterrupted          a sweep stopped after storing every run that had finished

The CLI turns every ``ColossusError`` into one line on stderr and exit code 2;
anything else is a bug and keeps its traceback. What a user can cause without
a bug (a full disk, a folder without write permission, a path that is a
FIFO) is raised as a ``ColossusError`` where it happens, so that it names the
file; ``one_line`` keeps every message on one printable line.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
import difflib


class ColossusError(Exception):
    """Base class of every error colossus raises on purpose."""


def one_line(text: str) -> str:
    """``text`` as one printable line: control characters (newlines, NUL, terminal escapes) escaped.

    Every error a user sees is one line, even when it quotes a value that
    holds a newline or an escape sequence (a scenario name, a file name).
    """
    if text.isprintable():
        return text
    return "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in text)


def format_path(path: Sequence[str | int]) -> str:
    """``("cluster", "pools", 0, "gpu")`` -> ``"cluster.pools[0].gpu"``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


class SpecError(ColossusError):
    """Bad input, located: which file, which field, what is wrong.

    ``str(err)`` is the one line a user sees, e.g.
    ``scenarios/x.yaml: cluster.pools[0].num_gpus: must be > 0 (got -8)``.
    """

    def __init__(
        self,
        message: str,
        *,
        path: Sequence[str | int] = (),
        file: str | None = None,
    ) -> None:
        self.message = message
        self.path = tuple(path)
        self.file = file
        super().__init__(self.__str__())

    def located(self, *, file: str | None = None, prefix: Sequence[str | int] = ()) -> SpecError:
        """A copy of this error with a file and/or a leading field path added."""
        return type(self)(
            self.message,
            path=tuple(prefix) + self.path,
            file=self.file if file is None else file,
        )

    def __str__(self) -> str:
        parts = [p for p in (self.file, format_path(self.path)) if p]
        return one_line(": ".join([*parts, self.message]))


class CatalogError(SpecError):
    """A catalog name that does not exist, or a catalog entry that is malformed."""


class InfeasibleError(ColossusError):
    """A well-formed request that has no feasible answer; carries the reason."""


class OverrideError(SpecError):
    """An override that the scenario rejects; ``loc`` is where it is in the request body."""

    def __init__(self, message: str, *, loc: Sequence[str | int], path: Sequence[str | int] = (),
                 file: str | None = None) -> None:
        self.loc = tuple(loc)
        super().__init__(message, path=path, file=file)

    def located(self, *, file: str | None = None, prefix: Sequence[str | int] = ()) -> OverrideError:
        return type(self)(self.message, loc=self.loc, path=tuple(prefix) + self.path,
                          file=self.file if file is None else file)


class ResultsError(ColossusError):
    """A results folder that is missing, unreadable, malformed, or may not be replaced.

    ``str(err)`` names the path first, like ``SpecError`` names its file:
    ``runs/a/events.parquet: not a Parquet file (...)``.
    """

    def __init__(self, path: object, message: str) -> None:
        from pathlib import Path  # noqa: PLC0415 (errors stays import-free at level 0)

        self.path = Path(str(path))
        self.message = message
        super().__init__(f"{self.path}: {message}")


class ReportError(ColossusError):
    """A result the report cannot draw: a column of the ``SimResult`` contract is missing."""


class ServiceError(ColossusError):
    """The dashboard's job queue refuses a request (the web layer answers it with a status)."""


class QueueFull(ServiceError):
    """Every worker is busy and the queue is full; try again later."""


class NotCancellable(ServiceError):
    """The job is running or finished; only a queued job can be cancelled."""


class RunInterrupted(KeyboardInterrupt):
    """A simulation stopped by Ctrl-C or SIGTERM while it held its results folder.

    An interrupt, not an error (it stays a ``KeyboardInterrupt``); ``left`` says
    what the folder holds: the complete new result, the previous one, or nothing.
    """

    def __init__(self, folder: object, left: str) -> None:
        self.folder = folder
        self.left = left
        super().__init__(f"{folder}: {left}")


class SweepInterrupted(KeyboardInterrupt):
    """A sweep stopped by Ctrl-C or SIGTERM after storing every run that had finished.

    A ``KeyboardInterrupt``, so code that stops on one still stops; it says
    how many runs this sweep stored and how many the store holds now.
    """

    def __init__(self, stored: int, total_in_store: int, store_path: object) -> None:
        self.stored = stored
        self.total_in_store = total_in_store
        self.store_path = store_path
        super().__init__(f"interrupted: {stored} runs of this sweep stored ({total_in_store} in {store_path})")


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=1, cutoff=0.5)
    if not close:
        return ""
    original = {c.lower(): c for c in choices}[close[0]]
    return f"; did you mean '{original}'?"
