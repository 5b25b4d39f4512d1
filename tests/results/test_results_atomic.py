"""Writing is all or nothing, and identical input gives identical Parquet and JSON bytes."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest
from results_synthetic import make_result

from colossus.results import ResultsError, read_result, write_result
import colossus.results.store as store
from colossus.sim.result import SimResult


def _digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _fail(*_args, **_kwargs):
    raise KeyboardInterrupt  # what a Ctrl-C raises, between two files


@pytest.mark.parametrize("error", [KeyboardInterrupt, RuntimeError])
def test_interrupted_first_write_leaves_nothing(tmp_path: Path, small_result: SimResult, monkeypatch, error):
    def fail(*_args, **_kwargs):
        raise error("interrupted")

    monkeypatch.setattr(store, "write_store", fail)  # after the Parquet files and the JSON
    with pytest.raises(error):
        write_result(small_result, tmp_path / "run")
    assert list(tmp_path.iterdir()) == []


def test_interrupted_rewrite_keeps_the_old_result(tmp_path: Path, small_result: SimResult, monkeypatch):
    target = write_result(small_result, tmp_path / "run").root
    before = _digests(target)
    monkeypatch.setattr(store, "write_store", _fail)
    with pytest.raises(KeyboardInterrupt):
        write_result(make_result(seed=99), target)
    assert _digests(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_failed_swap_restores_the_old_result(tmp_path: Path, small_result: SimResult, monkeypatch):
    target = write_result(small_result, tmp_path / "run").root
    before = _digests(target)
    real_replace = os.replace
    calls: list[tuple[str, str]] = []

    def flaky_replace(src, dst):
        calls.append((str(src), str(dst)))
        if len(calls) == 2:  # old moved aside; moving the new one in fails
            raise OSError(28, "No space left on device")
        real_replace(src, dst)

    monkeypatch.setattr(store.os, "replace", flaky_replace)
    with pytest.raises(ResultsError, match="No space left on device"):
        write_result(make_result(seed=99), target)
    assert _digests(target) == before
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_rewrite_replaces(tmp_path: Path, small_result: SimResult):
    target = tmp_path / "run"
    write_result(small_result, target)
    write_result(make_result(seed=99, scenario="other"), target)
    assert read_result(target).scenario == "other"
    assert [p.name for p in tmp_path.iterdir()] == ["run"]


def test_refuses_to_replace_a_folder_it_did_not_write(tmp_path: Path, small_result: SimResult):
    (tmp_path / "notes.txt").write_text("precious")
    with pytest.raises(ResultsError, match="not a colossus results folder; refusing"):
        write_result(small_result, tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "precious"
    file = tmp_path / "file"
    file.write_text("x")
    with pytest.raises(ResultsError, match="refusing"):
        write_result(small_result, file)


def test_an_empty_folder_may_be_used(tmp_path: Path, small_result: SimResult):
    (tmp_path / "run").mkdir()
    write_result(small_result, tmp_path / "run")
    assert read_result(tmp_path / "run").seed == small_result.seed


def test_parquet_and_json_are_byte_identical(tmp_path: Path):
    """DuckDB's file is not byte-identical across writes (its header and block layout vary); the rest is."""
    a = _digests(write_result(make_result(), tmp_path / "a").root)
    b = _digests(write_result(make_result(), tmp_path / "b").root)
    canonical = ("events.parquet", "jobs.parquet", "summary.json", "timeseries.parquet")
    assert {k: a[k] for k in canonical} == {k: b[k] for k in canonical}
    write_result(make_result(), tmp_path / "a")  # rewriting in place gives the same bytes too
    assert {k: _digests(tmp_path / "a")[k] for k in canonical} == {k: a[k] for k in canonical}


def test_a_signal_as_an_atomic_text_file_is_made_leaves_nothing(tmp_path: Path, signal_after):
    """A real SIGINT the moment ``write_text_atomic``'s temporary file exists: the interrupt is raised where its
    cleanup sees the file, and neither it nor a half target is left."""
    from colossus.results import paths

    signal_after(paths.tempfile, "mkstemp")
    with pytest.raises(KeyboardInterrupt):
        paths.write_text_atomic(tmp_path / "report.html", "<html></html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == []
