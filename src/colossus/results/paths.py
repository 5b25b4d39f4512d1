"""The layout of a results folder, where one may be written, and the error raised when it cannot.

One place names the files so that the writer, the reader, the report and the
web dashboard agree on them, and one place decides where output may go:

* a folder's name derived from a scenario's ``name:`` is a *name*, never a
  path (``safe_name``): ``name: ../../x`` or an absolute name gives a folder
  inside ``runs/``, not outside it;
* an output folder (``--out``, or the default) may not be the working
  directory or one holding it, a file, or a folder inside colossus' own
  source tree (``check_out_dir``).
"""

from __future__ import annotations

from dataclasses import dataclass
import os
from pathlib import Path
import re
import tempfile

import colossus
from colossus.errors import (
    ResultsError,  # noqa: F401  (raised here, in the tree)
)

TIMESERIES = "timeseries.parquet"
EVENTS = "events.parquet"
JOBS = "jobs.parquet"
SUMMARY = "summary.json"
DUCKDB = "results.duckdb"
#: The HTML report (``colossus.report``), written into the folder before it is moved into place.
REPORT = "report.html"

#: Every file a results folder holds, in the order they are written.
FILES: tuple[str, ...] = (TIMESERIES, EVENTS, JOBS, SUMMARY, DUCKDB)

#: Version of the on-disk format, stored in the Parquet metadata; bump on an incompatible change.
FORMAT_VERSION = "1"


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
    def of(cls, root: Path | str) -> ResultPaths:
        root = Path(root)
        return cls(root, root / TIMESERIES, root / EVENTS, root / JOBS, root / SUMMARY, root / DUCKDB)


def looks_like_results(path: Path) -> bool:
    """True for a folder this package wrote (it may be replaced wholesale), or an empty one."""
    if not path.is_dir():
        return False
    names = {p.name for p in path.iterdir()}
    return not names or {TIMESERIES, SUMMARY} <= names


#: Longest folder name made from a scenario name (file systems allow 255 bytes).
MAX_NAME_CHARS = 96
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(name: str, *, fallback: str = "scenario") -> str:
    """A scenario name as one safe folder name: letters, digits, ``. _ -``; never hidden, never a path.

    ``"Colossus 2 (200k)"`` -> ``"Colossus-2-200k"``; ``"../../etc"`` -> ``"etc"``;
    ``""`` or ``"..."`` -> ``fallback``.
    """
    text = _UNSAFE.sub("-", name).strip(".-_")
    text = re.sub(r"\.{2,}", ".", text)[:MAX_NAME_CHARS].rstrip(".-_")
    return text or fallback


def source_tree() -> Path:
    """The folder of colossus' own source (``src/`` of a checkout, else the installed package)."""
    package = Path(colossus.__file__).resolve().parent
    return package.parent if package.parent.name == "src" else package


def check_out_dir(path: Path | str, *, option: str | None = None, kind: str = "the results") -> Path:
    """``path`` made absolute, or ``ResultsError`` if output may not go there.

    Refused: the working directory or a folder above it (replacing it would move
    the shell's folder away), anything inside the source tree, and a path that
    exists and is not a folder.
    """
    given = Path(path)
    said = f"{option}: " if option else ""
    try:
        target = Path(os.path.abspath(given))
        real = target.resolve()
        here = Path.cwd().resolve()
        exists, is_dir = os.path.lexists(target), target.is_dir()
    except (OSError, RuntimeError, ValueError) as exc:
        raise ResultsError(given, f"{said}not a usable path ({str(exc).splitlines()[0]})") from None
    if here == real or here.is_relative_to(real):
        raise ResultsError(given, f"{said}is the working directory or holds it; give {kind} a folder of its own"
                                  " (e.g. runs/NAME)")
    tree = source_tree()
    if real == tree or real.is_relative_to(tree):
        raise ResultsError(given, f"{said}is inside colossus' source tree; write {kind} elsewhere (e.g. runs/NAME)")
    if exists and not is_dir:
        raise ResultsError(given, f"{said}exists and is not a folder; refusing to replace it")
    return target


def write_text_atomic(path: Path | str, text: str) -> Path:
    """Write ``text`` (UTF-8, ``\\n`` line ends) to ``path`` so that the file is either the old one or the whole
    new one: a temporary file beside it, synced, made readable (0644) and renamed into place; returns the path."""
    from colossus.results.lock import deferred_interrupts  # noqa: PLC0415 (lock imports this module)

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        # (a signal between the file's creation and the name that removes it would leave it behind: held until
        # ``tmp`` names it, then raised where the cleanup below sees it)
        with deferred_interrupts():
            fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
            tmp = Path(tmp_name)
            out = os.fdopen(fd, "w", encoding="utf-8", newline="\n")
        with out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, target)
    finally:
        if tmp is not None:
            tmp.unlink(missing_ok=True)
    return target
