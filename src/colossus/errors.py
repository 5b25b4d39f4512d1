"""The exception tree of colossus, in one place.

::

    ColossusError                 base of everything colossus raises on purpose
    ├── SpecError                 bad input: a file, a field path, a value, the rule it breaks
    │   └── CatalogError          an unknown catalog name or a malformed catalog entry
    └── InfeasibleError           a valid request with no feasible answer (a layout that does
                                  not fit in memory, a fabric too small for the GPU count);
                                  an expected outcome that sweeps record as data

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

    def located(self, *, file: str | None = None, prefix: Sequence[str | int] = ()) -> "SpecError":
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


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest choice, or an empty string."""
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=1, cutoff=0.5)
    if not close:
        return ""
    original = {c.lower(): c for c in choices}[close[0]]
    return f"; did you mean '{original}'?"
