"""One writer per results folder (a lock), leftovers of killed writers cleaned, output paths checked."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest
from results_synthetic import make_result
import yaml

from colossus.cli import main
from colossus.results import REPORT, ResultsError, check_out_dir, claim_folder, clean_stale, read_result, safe_name
from colossus.results.lock import lock_path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_helpers import tiny_doc  # noqa: E402


def test_a_second_writer_is_refused_at_once_naming_the_first(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    out = tmp_path / "run"
    scenario = tmp_path / "tiny.yaml"
    scenario.write_text(yaml.safe_dump(tiny_doc()))
    with claim_folder(out):
        assert lock_path(out).is_file()
        code = main(["simulate", str(scenario), "--days", "0.05", "--out", str(out)])
        with pytest.raises(ResultsError, match="another colossus run is writing"):
            with claim_folder(out):
                pass
    err = capsys.readouterr().err
    assert code == 2 and "another colossus run is writing this folder now (process" in err
    assert len(err.strip().splitlines()) == 1
    assert not out.exists() and not lock_path(out).exists()  # released, the lock file removed


def test_a_signal_while_the_lock_is_taken_leaves_no_lock_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A Ctrl-C that lands while the lock is being taken (here: while flock runs) is held off until it is held,
    then delivered: the start is interrupted and its lock file removed, so the folder is free (an early signal in
    the signal test once left '.run-1.lock' behind)."""
    import os
    import signal

    from colossus.results import lock as lock_module

    flock = lock_module.fcntl.flock

    def interrupted(fd: int, op: int) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        flock(fd, op)

    monkeypatch.setattr(lock_module.fcntl, "flock", interrupted)
    out = tmp_path / "run"
    with pytest.raises(KeyboardInterrupt):
        lock_module.FolderLock(out).acquire()
    assert not lock_path(out).exists()
    monkeypatch.setattr(lock_module.fcntl, "flock", flock)
    with lock_module.FolderLock(out):  # free again
        assert lock_path(out).is_file()
    assert not lock_path(out).exists()


def test_extras_are_written_before_the_folder_appears(tmp_path: Path):
    seen = []

    def report(path: Path) -> None:
        seen.append((path.parent.name, (tmp_path / "run").exists()))
        path.write_text("<html></html>")

    with claim_folder(tmp_path / "run") as claim:
        claim.write(make_result(), extras={REPORT: report})
    assert seen[0][0].startswith(".run.tmp-") and seen[0][1] is False
    assert (tmp_path / "run" / REPORT).read_text() == "<html></html>"


def test_a_failing_extra_leaves_nothing(tmp_path: Path):
    def broken(path: Path) -> None:
        raise OSError(28, "No space left on device")

    with pytest.raises(ResultsError, match="No space left on device"):
        with claim_folder(tmp_path / "run") as claim:
            claim.write(make_result(), extras={REPORT: broken})
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_signal_as_the_temporary_folder_is_made_leaves_nothing(tmp_path: Path, signal_after):
    """A real SIGINT the moment the temporary folder exists, before the writer holds its name (the signal test
    once found `.run-1.tmp-...` left by a SIGINT 37 ms into a run): the interrupt is raised where the cleanup
    sees the folder, and nothing is left."""
    from colossus.results import store

    signal_after(store.tempfile, "mkdtemp")
    with pytest.raises(KeyboardInterrupt):
        with claim_folder(tmp_path / "run") as claim:
            claim.write(make_result())
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_leftovers_of_a_killed_writer_are_cleaned(tmp_path: Path):
    (tmp_path / ".run.tmp-abc123").mkdir()
    (tmp_path / ".run.tmp-abc123" / "timeseries.parquet").write_bytes(b"half")
    (tmp_path / ".other.tmp-x1").mkdir()
    with claim_folder(tmp_path / "run") as claim:
        assert not (tmp_path / ".run.tmp-abc123").exists()
        claim.write(make_result())
    assert (tmp_path / ".other.tmp-x1").exists()  # another folder's: its own next writer cleans it
    assert clean_stale(tmp_path) == ["other"] and not (tmp_path / ".other.tmp-x1").exists()


def test_an_old_result_moved_aside_by_a_killed_writer_is_put_back(tmp_path: Path):
    with claim_folder(tmp_path / "run") as claim:
        claim.write(make_result(seed=5))
    (tmp_path / "run").rename(tmp_path / ".run.old-deadbeef")  # killed between its two renames
    with claim_folder(tmp_path / "run"):
        assert read_result(tmp_path / "run").seed == 5


def test_parents_made_for_a_failed_run_are_removed(tmp_path: Path):
    out = tmp_path / "a" / "b" / "run"
    with pytest.raises(RuntimeError):
        with claim_folder(out):
            raise RuntimeError("the simulation failed")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(("path", "words"), [
    (".", "working directory"), ("..", "working directory"), ("/", "working directory"),
])
def test_out_may_not_hold_the_working_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, path: str,
                                                words: str):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ResultsError, match=words):
        check_out_dir(path, option="--out")


def test_out_may_not_be_in_the_source_tree():
    import colossus

    with pytest.raises(ResultsError, match="source tree"):
        check_out_dir(Path(colossus.__file__).parent / "runs")


@pytest.mark.parametrize(("name", "safe"), [
    ("colossus-memphis", "colossus-memphis"), ("../../x", "x"), ("/etc/passwd", "etc-passwd"), ("", "scenario"),
    ("..", "scenario"), ("a b/c", "a-b-c"), (".hidden", "hidden"), ("x" * 500, "x" * 96),
])
def test_safe_names(name: str, safe: str):
    assert safe_name(name) == safe
