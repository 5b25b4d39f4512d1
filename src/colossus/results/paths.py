"""The layout of a results folder and the error raised when one cannot be read or written.

One place names the files so that the writer, the reader, the report and the
web dashboard agree on them.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from colossus.errors import ColossusError

TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
JOBS = "jobs.parquet"
SUMMARY = "summary.json"
DUCKDB = "results.duckdb"

#: Every file a results folder holds, in the order they are written.
FILES: tuple[str, ...] = (TIMESERIES, EVENTS, JOBS, SUMMARY, DUCKDB)

#: Version of the on-disk format, stored in the Parquet metadata; bump on an incompatible change.
FORMAT_VERSION = "1"


class ResultsError(ColossusError):
    """A results folder that is missing, unreadable, malformed, or may not be replaced.

    ``str(err)`` names the path first, like ``SpecError`` names its file:
    ``runs/a/events.parquet: not a Parquet file (...)``.
    """

    def __init__(self, path: Path | str, message: str) -> None:
        self.path = Path(path)
        self.message = message
        super().__init__(f"{self.path}: {message}")


@dataclass(frozen=True)
class ResultPaths:
    """Where each part of one stored result lies."""

    root: Path
    timeseries: Path
    events: Path
    jobs: Path
    summary: Path
    duckdb: Path

    @classmethod
    def of(cls, root: Path | str) -> "ResultPaths":
        root = Path(root)
        return cls(root, root / TIMESERIES, root / EVENTS, root / JOBS, root / SUMMARY, root / DUCKDB)


def looks_like_results(path: Path) -> bool:
    """True for a folder this package wrote (it may be replaced wholesale), or an empty one."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return not names or {TIMESERIES, SUMMARY} <= names
