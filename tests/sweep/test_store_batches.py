"""The sweep store writes finished runs in batches: what it stores never depends on where a batch ended."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st
import pytest

from colossus.sweep.store import RunStore

KEY = {"kind": "estimate", "days": 0.0, "scenario": "s", "wall_s": 0.1}
values = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 62), 2 ** 62),
                   st.floats(allow_nan=False, allow_infinity=False, width=64), st.text(max_size=5))
rows = st.lists(st.fixed_dictionaries(
    {"content_hash": st.sampled_from(["a", "b"]), "seed": st.integers(0, 3), "error": st.none() | st.just("x")},
    optional={"x": values, "y": values, "z.w": values}), min_size=1, max_size=6)


def _stored(batch: list[dict[str, Any]], *, flush_interval_s: float,
            flush_every: int | None = None) -> tuple[list[tuple[str, str]], list[tuple[Any, ...]]]:
    with RunStore(":memory:", flush_interval_s=flush_interval_s) as store:
        for i, row in enumerate(batch):
            store.insert({**KEY, **row})
            if flush_every and i % flush_every == flush_every - 1:
                store.flush()
        store.flush()
        types = store._read_types()
        got = store._con.execute("SELECT * FROM runs ORDER BY content_hash, seed").fetchall()
    return list(types.items()), got


@settings(max_examples=8, deadline=None)
@given(batch=rows, flush_every=st.integers(2, 5))
@example(batch=[  # one column holding text, a float and a bool over three keys: each value cast as DuckDB casts it
    {"content_hash": "a", "seed": 0, "error": None},
    {"content_hash": "a", "seed": 0, "error": None, "x": False, "y": ""},
    {"content_hash": "a", "seed": 2, "error": None, "x": 0, "z.w": None, "y": 0.0},
    {"content_hash": "a", "seed": 1, "error": None, "y": False}], flush_every=2)
@example(batch=[  # new keys naming different columns go in as one statement: the missing ones are NULL
    {"content_hash": "a", "seed": 0, "error": None, "x": 1.5},
    {"content_hash": "a", "seed": 1, "error": None, "y": "gpu"},
    {"content_hash": "b", "seed": 0, "error": "x", "x": None, "z.w": True},
    {"content_hash": "a", "seed": 0, "error": None, "y": "again"}], flush_every=3)
def test_batches_store_what_row_by_row_writes_store(batch, flush_every):
    one_by_one = _stored(batch, flush_interval_s=0.0)
    at_once = _stored(batch, flush_interval_s=math.inf)
    in_pieces = _stored(batch, flush_interval_s=math.inf, flush_every=flush_every)
    assert at_once == one_by_one
    assert in_pieces == one_by_one


def test_rows_wait_at_most_the_interval_and_reads_see_them(tmp_path):
    with RunStore(tmp_path / "s.duckdb", flush_interval_s=math.inf) as store:
        store.insert({**KEY, "content_hash": "a", "seed": 1, "error": None, "x": 1.5})
        assert store.count() == 1  # a read writes what waits first
        store.insert({**KEY, "content_hash": "a", "seed": 2, "error": None, "x": 2.5})
    with RunStore(tmp_path / "s.duckdb") as store:
        assert store.count() == 2  # close wrote it


def test_an_interrupted_write_keeps_the_rows_waiting_and_stores_them_whole_later(monkeypatch):
    """Ctrl-C in the middle of a batch that widens a column: nothing of it is stored, the column keeps its
    type, and the next write stores what row-by-row writes would have (the runner stores what finished)."""
    batch = [{"content_hash": "a", "seed": 1, "error": None, "x": 1},
             {"content_hash": "a", "seed": 2, "error": None, "x": 2.5},
             {"content_hash": "a", "seed": 3, "error": None, "x": "gpu"}]
    store = RunStore(":memory:", flush_interval_s=math.inf)
    for row in batch:
        store.insert({**KEY, **row})
    real = store._write_segment
    calls = []

    def interrupted(rows):
        calls.append(len(rows))
        if len(calls) == 2:
            raise KeyboardInterrupt
        real(rows)

    monkeypatch.setattr(store, "_write_segment", interrupted)
    with pytest.raises(KeyboardInterrupt):
        store.flush()
    assert store._read_types().get("x") is None and store._con.execute("SELECT count(*) FROM runs").fetchall() == [(0,)]
    assert store.count() == 3
    stored = store._con.execute("SELECT * FROM runs ORDER BY seed").fetchall()
    store.close()
    assert ([("x", "VARCHAR")], stored) == (
        [t for t in _stored(batch, flush_interval_s=0.0)[0] if t[0] == "x"], _stored(batch, flush_interval_s=0.0)[1])
