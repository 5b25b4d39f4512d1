"""Write a ``SimResult`` to a folder and read it back, all or nothing.

A results folder holds ``timeseries.parquet``, ``events.parquet``,
``jobs.parquet``, ``summary.json`` and ``results.duckdb`` (see ``duck``).
The Parquet files are the canonical copy: ``read_result`` reads them, and
they and ``summary.json`` are byte-identical for identical input (no
timestamps; zstd at a fixed level; the scenario, seed and days travel in the
Parquet key-value metadata). The DuckDB file is a convenience for SQL and is
*not* byte-identical across writes (DuckDB's file header and block layout
vary between runs).

Why the writing is indirect: a simulation of months may take minutes, and a
Ctrl-C, a full disk or a bug must never leave a folder that looks like a
result but is half of one. Everything, the report and any other file the
caller adds included (``extras``), is written into a hidden temporary
sibling, flushed to disk, and renamed into place last. POSIX cannot rename a
directory over a non-empty one, so an existing folder is first renamed
aside, the new one renamed in, and the old one deleted; if anything fails in
between, the old one is renamed back, and Ctrl-C or SIGTERM wait until both
renames are done. Only a hard kill (SIGKILL, power loss) can leave a
temporary folder, or the old result under ``.<name>.old-*`` with ``<name>``
absent; the next writer of that folder cleans up (or puts the old result
back). No state ever mixes two results.

Who may write: ``claim_folder`` locks the folder for one writer (see
``lock``) for the whole run, simulation included, so a second run to the
same folder is refused at once instead of racing the first.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
import contextlib
import glob
import json
import logging
import os
from pathlib import Path
import re
import shutil
import tempfile
import uuid

import duckdb
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from colossus.results.duck import connect, is_interrupt, summary_row, write_store
from colossus.results.lock import FolderLock, deferred_interrupts
from colossus.results.paths import FORMAT_VERSION, ResultPaths, ResultsError, check_out_dir, looks_like_results
from colossus.results.tables import from_arrow, summary_json, to_arrow
from colossus.sim.result import SimResult

log = logging.getLogger(__name__)

_META_PREFIX = "colossus."
_TABLES = ("timeseries", "events", "jobs")
# zstd compresses the float columns of a 90-day run ~2x better than snappy at a similar speed.
_PARQUET_OPTIONS = dict(compression="zstd", compression_level=3, use_dictionary=True, write_statistics=True)


def _metadata(result: SimResult) -> dict[str, str]:
    return {
        f"{_META_PREFIX}format": FORMAT_VERSION,
        f"{_META_PREFIX}scenario": result.scenario,
        f"{_META_PREFIX}seed": str(int(result.seed)),
        f"{_META_PREFIX}days": repr(float(result.days)),
    }


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_parts(result: SimResult, folder: Path) -> None:
    """Every file of the result into ``folder`` (an empty temporary directory)."""
    paths = ResultPaths.of(folder)
    meta = _metadata(result)
    tables: dict[str, pa.Table] = {}
    for name in _TABLES:
        target = getattr(paths, name)
        tables[name] = to_arrow(getattr(result, name), name, meta, target)
        pq.write_table(tables[name], target, **_PARQUET_OPTIONS)
    text = summary_json(result.summary, paths.summary)
    paths.summary.write_text(text, encoding="utf-8")
    identity = {"scenario": result.scenario, "seed": int(result.seed), "days": float(result.days)}
    counts = {name: tables[name].num_rows for name in _TABLES}
    write_store(paths.duckdb, {"summary": summary_row(identity, result.summary, counts, text), **tables})


def _swap_into_place(new: Path, target: Path) -> None:
    """Rename ``new`` to ``target``, replacing an existing results folder there."""
    if not target.exists():
        os.replace(new, target)
        return
    old = target.with_name(f".{target.name}.old-{uuid.uuid4().hex[:8]}")
    os.replace(target, old)
    try:
        os.replace(new, target)
    except BaseException:
        if not target.exists():
            os.replace(old, target)
        raise
    finally:
        if old.exists():
            shutil.rmtree(old, ignore_errors=True)


#: ``extras`` of a write: file name -> a function that writes that file (given its path in the temporary folder).
Extras = Mapping[str, Callable[[Path], None]]


class Claim:
    """A results folder held for writing (``claim_folder``): ``write`` stores a result there, all at once."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.written = False

    def write(self, result: SimResult, *, extras: Extras | None = None) -> ResultPaths:
        """Store ``result`` and the ``extras`` files (the report, ...) in a temporary folder, then move it in.

        Nothing appears at the target until every file is complete and on
        disk: an interrupt, a full disk or a failing extra leaves the previous
        folder (or none) and no temporary folder.
        """
        target = self.target
        if target.exists() and not looks_like_results(target):
            raise ResultsError(target, "exists and is not a colossus results folder; refusing to replace it")
        tmp: Path | None = None
        try:
            try:
                # (a signal between the folder's creation and the name that removes it would leave it behind:
                # it is held until ``tmp`` names the folder, then raised where the cleanup below sees it)
                with deferred_interrupts():
                    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
            except OSError as exc:
                raise ResultsError(target, f"cannot create the results folder ({_reason(exc)})") from None
            tmp.chmod(0o755)  # mkdtemp makes it private; the renamed result should read like any folder
            _write_parts(result, tmp)
            for name, write in (extras or {}).items():
                write(tmp / name)
            _fsync_all(tmp)
            with deferred_interrupts():
                _swap_into_place(tmp, target)
        except (OSError, duckdb.Error, pa.ArrowException, RuntimeError) as exc:
            if is_interrupt(exc):
                raise KeyboardInterrupt from None
            if isinstance(exc, RuntimeError) and not isinstance(exc, duckdb.Error):
                raise
            raise ResultsError(target, f"cannot write the results ({_reason(exc)})") from None
        finally:
            if tmp is not None and tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        with contextlib.suppress(OSError):
            _fsync(target.parent)
        self.written = True
        log.debug("wrote %s (%d samples, %d events)", target, result.num_samples, result.num_events)
        return ResultPaths.of(target)


def _reason(exc: BaseException) -> str:
    """What went wrong in a few words: ``No space left on device``, without a traceback or a second line."""
    text = getattr(exc, "strerror", None) or str(exc) or type(exc).__name__
    return text.strip().splitlines()[0]


def _fsync_all(folder: Path) -> None:
    for part in sorted(folder.iterdir()):
        if part.is_file():
            _fsync(part)
    _fsync(folder)


def _clean_leftovers(target: Path) -> None:
    """Remove what an earlier writer of ``target`` left when it was killed (call with the lock held).

    A temporary folder is deleted. An older result renamed aside is put back
    if the folder is missing (the writer died between its two renames), else deleted.
    """
    try:
        leftovers = sorted(target.parent.glob(f".{glob.escape(target.name)}.*-*"))
    except OSError:
        return
    for path in leftovers:
        if path.name.startswith(f".{target.name}.old-") and not target.exists():
            with contextlib.suppress(OSError):
                os.replace(path, target)
                continue
        if path.name.startswith((f".{target.name}.tmp-", f".{target.name}.old-")) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)


_LEFTOVER = re.compile(r"^\.(?P<name>.+)\.(?:tmp|old)-[A-Za-z0-9_]+$")


def clean_stale(parent: Path | str) -> list[str]:
    """Remove what killed writers left in ``parent`` (a runs folder), for every result no one is writing now.

    The next writer of a folder cleans up after it anyway; a server whose runs
    all have new names calls this at start so that a worker killed mid-write
    does not leave its temporary folder for good. Returns the names cleaned.
    """
    root = Path(parent)
    try:
        names = sorted({m.group("name") for p in root.iterdir() if (m := _LEFTOVER.match(p.name)) and p.is_dir()})
    except OSError:
        return []
    cleaned = []
    for name in names:
        try:
            with FolderLock(root / name):
                _clean_leftovers(root / name)
        except ResultsError:  # being written right now: its writer cleans up
            continue
        cleaned.append(name)
    return cleaned


@contextlib.contextmanager
def claim_folder(out_dir: Path | str, *, option: str | None = None) -> Iterator[Claim]:
    """Hold ``out_dir`` for writing one result: checked, locked against other writers, leftovers cleaned.

    Take it *before* a long simulation, so a second run to the same folder is
    refused at once, not after minutes. Raises ``ResultsError`` if the folder
    may not be written (``paths.check_out_dir``), is a non-empty folder this
    package did not write, or another run holds it. Parent folders created
    here are removed again if nothing is written.
    """
    target = check_out_dir(out_dir, option=option)
    if target.exists() and not looks_like_results(target):
        raise ResultsError(target, "exists and is not a colossus results folder; refusing to replace it")
    created = _make_parents(target)
    claim = Claim(target)
    try:
        with FolderLock(target):
            _clean_leftovers(target)
            yield claim
    finally:
        if not claim.written:
            for folder in created:  # deepest first; only empty ones go
                with contextlib.suppress(OSError):
                    folder.rmdir()


def _make_parents(target: Path) -> list[Path]:
    missing = []
    parent = target.parent
    while not parent.exists():
        missing.append(parent)
        parent = parent.parent
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(target, f"cannot create the results folder ({_reason(exc)})") from None
    return missing


def write_result(result: SimResult, out_dir: Path | str, *, extras: Extras | None = None) -> ResultPaths:
    """Store ``result`` in ``out_dir``, replacing a results folder already there, atomically.

    Raises ``ResultsError`` if ``out_dir`` is a file or a non-empty folder
    this package did not write (so that ``--out .`` cannot wipe a project),
    if another run is writing it, or if a file cannot be written (full disk,
    permissions). ``extras`` are more files written into the folder before
    it is moved into place (the report).
    """
    with claim_folder(out_dir) as claim:
        return claim.write(result, extras=extras)


def _read_table(path: Path) -> pa.Table:
    if not path.is_file():
        raise ResultsError(path, "missing (not a complete colossus results folder)")
    try:
        return pq.read_table(path)
    except (OSError, pa.ArrowException) as exc:
        raise ResultsError(path, f"cannot read the Parquet file ({exc})") from exc


def _identity(table: pa.Table, path: Path) -> tuple[str, int, float]:
    meta = {k.decode(): v.decode() for k, v in (table.schema.metadata or {}).items()}
    version = meta.get(f"{_META_PREFIX}format")
    if version is None:
        raise ResultsError(path, "no colossus metadata (not written by colossus.results)")
    if version != FORMAT_VERSION:
        raise ResultsError(path, f"results format {version}, this colossus reads {FORMAT_VERSION}")
    try:
        return meta[f"{_META_PREFIX}scenario"], int(meta[f"{_META_PREFIX}seed"]), float(meta[f"{_META_PREFIX}days"])
    except (KeyError, ValueError) as exc:
        raise ResultsError(path, f"malformed colossus metadata ({exc})") from exc


def read_result(out_dir: Path | str) -> SimResult:
    """The ``SimResult`` stored in ``out_dir`` by ``write_result`` (text columns as ``object`` arrays).

    NaN and infinities in the summary come back as ``None`` (strict JSON).
    """
    root = Path(out_dir)
    if not root.is_dir():
        raise ResultsError(root, "no such results folder" if not root.exists() else "not a folder")
    paths = ResultPaths.of(root)
    tables = {name: _read_table(getattr(paths, name)) for name in _TABLES}
    scenario, seed, days = _identity(tables["timeseries"], paths.timeseries)
    if not paths.summary.is_file():
        raise ResultsError(paths.summary, "missing (not a complete colossus results folder)")
    try:
        summary = json.loads(paths.summary.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResultsError(paths.summary, f"cannot read the summary ({exc})") from exc
    if not isinstance(summary, dict):
        raise ResultsError(paths.summary, "must hold a JSON object")
    return SimResult(
        scenario=scenario, seed=seed, days=days,
        timeseries=from_arrow(tables["timeseries"]), events=from_arrow(tables["events"]),
        jobs=from_arrow(tables["jobs"]), summary=summary,
    )


def open_store(out_dir: Path | str) -> duckdb.DuckDBPyConnection:
    """A read-only DuckDB connection to the result in ``out_dir``; close it when done."""
    return connect(ResultPaths.of(out_dir).duckdb)


def export_csv(out_dir: Path | str, csv_dir: Path | str | None = None) -> dict[str, Path]:
    """Write ``timeseries.csv``, ``events.csv``, ``jobs.csv`` from a results folder; returns their paths.

    ``csv_dir`` defaults to ``<out_dir>/csv``. Each file is written to a
    temporary name and renamed, so a reader never sees half a CSV.
    """
    paths = ResultPaths.of(out_dir)
    target = Path(csv_dir) if csv_dir is not None else paths.root / "csv"
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ResultsError(target, f"cannot create the CSV folder ({exc.strerror or exc})") from exc
    written: dict[str, Path] = {}
    for name in _TABLES:
        table = _read_table(getattr(paths, name))
        out = target / f"{name}.csv"
        tmp = out.with_name(f".{out.name}.tmp-{uuid.uuid4().hex[:8]}")
        try:
            pacsv.write_csv(table, tmp)
            os.replace(tmp, out)
        except (OSError, pa.ArrowException) as exc:
            raise ResultsError(out, f"cannot write the CSV ({exc})") from exc
        finally:
            tmp.unlink(missing_ok=True)
        written[name] = out
    return written
