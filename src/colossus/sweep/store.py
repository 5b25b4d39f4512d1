"""The sweep store: one DuckDB file, one table ``runs``, one row per run.

Why one wide table: a planner asks questions across runs ("mean finish day
by generator count", "which points were infeasible") and a single table of
inputs and outputs answers them with one ``SELECT``. Its columns:

* the key ``(content_hash, seed, kind, days)``: the sha256 of the validated
  scenario, the seed, ``estimate`` or ``simulate``, the simulated days
  (0 for estimates). A run is stored once; a sweep started again skips the
  keys already here (resume), whatever sweep stored them;
* ``scenario`` (name), ``error`` (why a run is infeasible, else NULL),
  ``wall_s`` (run time: the one column that is not a function of the key);
* one column per varied path (``power.supply.generators[0].count``) and one
  per output (``grok2.tokens_per_s``), added the first time a row has them.
  A column's type widens when needed (BIGINT -> DOUBLE -> VARCHAR).

Rows are written in batches as runs finish: a row waits at most
``FLUSH_INTERVAL_S`` before its batch goes in, one transaction (in or out,
whole), and any read, ``flush`` or ``close`` writes what waits first. Why
batches: one DuckDB statement costs about the same for one row as for a
hundred (binding a few hundred columns, 30-90 ms), so a forecast of fast draws
spent half its time storing them one by one; for the same reason the keys a
batch brings new go in as one statement over the union of their columns (draws
differ in the failure causes they saw), not one per set of columns. An interrupted sweep or forecast
(Ctrl-C) still keeps every run that finished: the runners store what is
waiting before they stop; a killed process loses at most the last interval.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
import time
from typing import Any

import duckdb

from colossus.errors import ColossusError
from colossus.results.duck import is_interrupt
from colossus.sweep.run import KEY_COLUMNS

TABLE = "runs"

_FIXED = (
    ("content_hash", "VARCHAR NOT NULL"),
    ("seed", "BIGINT NOT NULL"),
    ("kind", "VARCHAR NOT NULL"),
    ("days", "DOUBLE NOT NULL"),
    ("scenario", "VARCHAR NOT NULL"),
    ("error", "VARCHAR"),
    ("wall_s", "DOUBLE"),
)
_FIXED_NAMES = frozenset(n for n, _ in _FIXED)
#: Column types from narrowest to widest; a column only ever widens.
_WIDTH = {"BOOLEAN": 0, "BIGINT": 1, "DOUBLE": 2, "VARCHAR": 3}

Key = tuple[str, int, str, float]

#: The longest a finished run waits in memory before it is written (see the module's docstring).
FLUSH_INTERVAL_S = 1.0


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def sql_type(value: Any) -> str | None:
    """The DuckDB type a Python scalar needs; None for None (any type holds NULL)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "BOOLEAN"
    if isinstance(value, int):
        return "BIGINT"
    if isinstance(value, float):
        return "DOUBLE"
    return "VARCHAR"


def _wider(a: str, b: str) -> str:
    return a if _WIDTH.get(a, 3) >= _WIDTH.get(b, 3) else b


class RunStore:
    """A DuckDB file holding the ``runs`` table; open it with ``with RunStore(path) as store``."""

    def __init__(self, path: str | Path, *, flush_interval_s: float = FLUSH_INTERVAL_S) -> None:
        self.path = Path(path)
        self._pending: list[Mapping[str, Any]] = []
        self._flush_interval_s = flush_interval_s
        self._last_flush = time.monotonic()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ColossusError(f"{self.path.parent}: cannot create the sweep folder ({exc.strerror or exc})") from None
        try:
            self._con = duckdb.connect(str(self.path))
        except duckdb.Error as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ColossusError(f"{self.path}: cannot open the sweep store ({reason})") from None
        fixed = ", ".join(f"{_quote(n)} {t}" for n, t in _FIXED)
        key = ", ".join(_quote(n) for n in KEY_COLUMNS)
        self._con.execute(f"CREATE TABLE IF NOT EXISTS {TABLE} ({fixed}, PRIMARY KEY ({key}))")
        self._types = self._read_types()

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Write what waits, then close the file."""
        try:
            self.flush()
        finally:
            self._con.close()

    def _read_types(self) -> dict[str, str]:
        rows = self._con.execute(
            "SELECT column_name, data_type FROM information_schema.columns"
            " WHERE table_name = ? ORDER BY ordinal_position", [TABLE],
        ).fetchall()
        return {name: kind for name, kind in rows}

    @property
    def columns(self) -> list[str]:
        self.flush()
        return list(self._types)

    def ensure_columns(self, types: Mapping[str, str]) -> None:
        """Add missing columns, widen narrower ones (``name -> DuckDB type``)."""
        for name, kind in types.items():
            have = self._types.get(name)
            if have is None:
                self._con.execute(f"ALTER TABLE {TABLE} ADD COLUMN {_quote(name)} {kind}")
                self._types[name] = kind
            elif _wider(have, kind) != have:
                self._con.execute(f"ALTER TABLE {TABLE} ALTER {_quote(name)} TYPE {kind}")
                self._types[name] = kind

    def keys(self, kind: str | None = None) -> set[Key]:
        """Keys of the stored runs (of one kind, if given)."""
        self.flush()
        sql = f"SELECT content_hash, seed, kind, days FROM {TABLE}"
        cur = self._con.execute(sql + " WHERE kind = ?", [kind]) if kind else self._con.execute(sql)
        rows = cur.fetchall()
        return {(h, int(s), k, float(d)) for h, s, k, d in rows}

    def insert(self, row: Mapping[str, Any]) -> None:
        """Store one run (replacing a row with the same key), adding columns it brings.

        The row is written with the next batch (at the latest ``flush_interval_s`` after the last write,
        or at the next read, ``flush`` or ``close``). A NULL needs no column: a column first seen as None
        is added when a value arrives.
        """
        self._pending.append(row)
        if time.monotonic() - self._last_flush >= self._flush_interval_s:
            self.flush()

    def flush(self) -> None:
        """Write the waiting rows in one transaction: all of them or none (they keep waiting).

        A full disk is a ``ColossusError`` naming the store; Ctrl-C during the write stays an interrupt
        (and the rows stay waiting, so the interrupted runner can still store them).
        """
        if not self._pending:
            return
        try:
            self._con.execute("BEGIN TRANSACTION")
            try:
                self._write(self._pending)
            except BaseException:
                self._con.execute("ROLLBACK")
                self._types = self._read_types()  # columns added or widened in the batch are gone again
                raise
            self._con.execute("COMMIT")
        except (duckdb.Error, RuntimeError) as exc:
            if is_interrupt(exc):
                raise KeyboardInterrupt from None  # Ctrl-C during the write: the batch is in or out, whole
            if not isinstance(exc, duckdb.Error):
                raise
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ColossusError(f"{self.path}: cannot store a run ({reason})") from None
        self._pending = []
        self._last_flush = time.monotonic()

    def _write(self, rows: list[Mapping[str, Any]]) -> None:
        """Rows in order, in as few statements as give what row-by-row writes give.

        A column that widens (BIGINT -> DOUBLE) converts the values already in it, so the rows before
        a widening go in first: what is stored never depends on where a batch happened to end.
        """
        segment: list[Mapping[str, Any]] = []
        for row in rows:
            types = {k: t for k, v in row.items() if (t := sql_type(v)) and k not in _FIXED_NAMES}
            if segment and any(k in self._types and _wider(self._types[k], t) != self._types[k]
                               for k, t in types.items()):
                self._write_segment(segment)
                segment = []
            self.ensure_columns(types)
            segment.append(row)
        self._write_segment(segment)

    def _write_segment(self, rows: list[Mapping[str, Any]]) -> None:
        import pyarrow as pa

        # A key stored again keeps the columns the new row does not bring (DuckDB's INSERT OR REPLACE
        # updates the columns named): the same within a segment, so its rows merge by key in order.
        merged: dict[Key, dict[str, Any]] = {}
        for row in rows:
            merged.setdefault((row["content_hash"], row["seed"], row["kind"], row["days"]), {}).update(row)
        # A key not stored yet has NULL in every column its row does not name, so new keys go in together
        # over the union of their columns (rows of draws differ in the failure causes they saw, and each
        # statement costs tens of milliseconds); a stored key keeps the columns its row does not name, so
        # those rows go in grouped by the columns they name. Within a statement every column holds one
        # kind of value: Arrow would coerce a mix (False beside 0.0 becomes 0.0) where DuckDB, binding
        # values one by one, casts each (False into VARCHAR is 'false').
        stored = self._stored_keys(merged)
        by_columns: list[tuple[tuple[str, ...] | None, dict[str, str], list[dict[str, Any]]]] = []
        for key, row in merged.items():
            named = tuple(k for k in row if k in self._types) if key in stored else None
            kinds = {k: t for k, v in row.items() if k in self._types and (t := sql_type(v))}
            for names, group_kinds, batch in by_columns:
                if names == named and all(group_kinds.get(k, t) == t for k, t in kinds.items()):
                    group_kinds.update(kinds)
                    batch.append(row)
                    break
            else:
                by_columns.append((named, dict(kinds), [row]))
        for named, _, batch in by_columns:
            union = dict.fromkeys(k for row in batch for k in row if k in self._types)
            names = named if named is not None else tuple(union)
            columns = ", ".join(_quote(n) for n in names)
            try:  # Arrow infers each column's type; DuckDB casts it to the column's on insert
                table = pa.table({n: pa.array([r.get(n) for r in batch]) for n in names})
            except (pa.ArrowException, TypeError, ValueError, OverflowError):
                table = None  # beyond Arrow (an integer over 64 bits): row by row, DuckDB casting each value
            if table is not None:
                self._con.register("_colossus_batch", table)
                try:
                    self._con.execute(f"INSERT OR REPLACE INTO {TABLE} ({columns})"
                                      f" SELECT {columns} FROM _colossus_batch")
                finally:
                    self._con.unregister("_colossus_batch")
                continue
            marks = ", ".join("?" for _ in names)
            for row in batch:
                self._con.execute(f"INSERT OR REPLACE INTO {TABLE} ({columns}) VALUES ({marks})",
                                  [row.get(n) for n in names])

    def _stored_keys(self, merged: Mapping[Key, Any]) -> set[Key]:
        """Which of these keys the table holds already: one query over just these keys (a forecast's draws
        share one scenario hash, so matching by hash alone would read back every stored draw at each flush)."""
        import pyarrow as pa

        keys = list(merged)
        wanted = pa.table({"content_hash": [k[0] for k in keys], "seed": pa.array([k[1] for k in keys], pa.int64()),
                           "kind": [k[2] for k in keys], "days": pa.array([k[3] for k in keys], pa.float64())})
        self._con.register("_colossus_keys", wanted)
        try:
            found = self._con.execute(
                f"SELECT r.content_hash, r.seed, r.kind, r.days FROM {TABLE} r"
                " JOIN _colossus_keys k USING (content_hash, seed, kind, days)").fetchall()
        finally:
            self._con.unregister("_colossus_keys")
        return {(h, int(s), k, float(d)) for h, s, k, d in found}

    def fill_inputs(self, kind: str, inputs_by_hash: Mapping[str, Iterable[tuple[str, Any]]]) -> int:
        """Set the input columns of stored runs that a sweep reuses (they may predate the column).

        A run stored by a sweep over one field is reused by a sweep over
        another when the scenario is the same; it gets the new sweep's input
        columns. One query finds the runs missing one; returns how many points were filled.
        """
        self.flush()
        wanted = {h: [(c, v) for c, v in inputs if v is not None] for h, inputs in inputs_by_hash.items()}
        columns = {c: t for pairs in wanted.values() for c, v in pairs if (t := sql_type(v))}
        if not columns:
            return 0
        self.ensure_columns(columns)
        missing = " OR ".join(f"{_quote(c)} IS NULL" for c in columns)
        stale = self._con.execute(
            f"SELECT DISTINCT content_hash FROM {TABLE} WHERE kind = ? AND list_contains(?, content_hash)"
            f" AND ({missing})", [kind, sorted(wanted)],
        ).fetchall()
        for (digest,) in stale:
            pairs = wanted[digest]
            sets = ", ".join(f"{_quote(c)} = ?" for c, _ in pairs)
            self._con.execute(f"UPDATE {TABLE} SET {sets} WHERE content_hash = ? AND kind = ?",
                              [v for _, v in pairs] + [digest, kind])
        return len(stale)

    def rows(self, keys: Iterable[Key]) -> list[dict[str, Any]]:
        """The stored rows of these keys, in the order given (missing keys are left out)."""
        self.flush()
        wanted = list(keys)
        hashes = sorted({k[0] for k in wanted})
        cur = self._con.execute(f"SELECT * FROM {TABLE} WHERE list_contains(?, content_hash)", [hashes])
        names = [d[0] for d in cur.description]
        found: dict[Key, dict[str, Any]] = {}
        for values in cur.fetchall():
            row = dict(zip(names, values))
            found[(row["content_hash"], int(row["seed"]), row["kind"], float(row["days"]))] = row
        return [found[k] for k in wanted if k in found]

    def count(self) -> int:
        self.flush()
        ((n,),) = self._con.execute(f"SELECT count(*) FROM {TABLE}").fetchall()  # all: no result left open
        return int(n)
