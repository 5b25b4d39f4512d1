"""Ctrl-C on a sweep: running workers stop at once, every finished row is stored, the count is said.

The pool's workers are real spawned processes running for a minute; stopping
them must take seconds. The rows of tasks that finished but had not been
handed over when the interrupt came (``leftover``) are stored too.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import time
from typing import Any

import pytest

from colossus.cli import main
from colossus.sweep import RunStore, SweepInterrupted, Task, plan_sweep, run_sweep, run_task
from colossus.sweep.backends import (
    LocalBackend,
    RayBackend,
    _finished_rows,
    _ignore_sigint,
    _terminate,
    worker_context,
)


def _sleep(seconds: float) -> float:
    time.sleep(seconds)
    return seconds


@pytest.mark.slow
def test_terminate_stops_running_workers_at_once():
    pool = ProcessPoolExecutor(max_workers=2, mp_context=worker_context(),
                               initializer=_ignore_sigint)
    futures = [pool.submit(_sleep, 60) for _ in range(4)]
    deadline = time.monotonic() + 60
    while len(pool._processes or {}) < 2 and time.monotonic() < deadline:  # workers started
        time.sleep(0.05)
    processes = list(pool._processes.values())
    start = time.perf_counter()
    _terminate(pool)
    # Stopped well before the 60 s tasks end (a behaviour bound, not a speed one). The pool's own manager thread
    # reaps the same children, so a child can read as alive for a moment after it died: poll, then decide.
    while any(p.is_alive() for p in processes) and time.perf_counter() - start < 30:
        time.sleep(0.1)
    assert not any(p.is_alive() for p in processes)
    assert time.perf_counter() - start < 45
    # The queued runs are cancelled, or (one already handed to the call queue) failed by the pool's manager
    # thread once it sees the workers gone: either way done, soon, not after 60 s.
    while not all(f.cancelled() or f.done() for f in futures[2:]) and time.perf_counter() - start < 30:
        time.sleep(0.1)
    assert all(f.cancelled() or f.done() for f in futures[2:])


class LeavingBackend:
    """Hands over ``given`` rows, then Ctrl-C arrives; ``held`` rows had finished but were not handed over."""

    name = "leaving"

    def __init__(self, given: int) -> None:
        self.given = given
        self.leftover: list[dict[str, Any]] = []

    def run(self, tasks: list[Task]) -> Iterator[dict[str, Any]]:
        rows = [row for task in tasks for row in run_task(task.document, task.seeds, task.kind, task.days,
                                                          task.inputs, task.base_dir)]
        self.leftover = rows[self.given:self.given + 2]
        yield from rows[:self.given]
        raise KeyboardInterrupt


def test_finished_rows_not_yet_handed_over_are_stored(small_scenario: Path, tmp_path: Path):
    plan = plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128,256"], seeds=2, kind="estimate")
    with RunStore(tmp_path / "s.duckdb") as store:
        with pytest.raises(SweepInterrupted) as stop:
            run_sweep(plan, store, LeavingBackend(given=3))
        assert store.count() == 5 and stop.value.stored == 5 and stop.value.total_in_store == 5


def test_the_local_backend_keeps_rows_of_finished_tasks():
    class Done:
        def __init__(self, rows: list[dict[str, Any]] | None, exc: BaseException | None = None) -> None:
            self.rows, self.exc = rows, exc

        def done(self) -> bool:
            return self.rows is not None or self.exc is not None

        def cancelled(self) -> bool:
            return False

        def exception(self) -> BaseException | None:
            return self.exc

        def result(self) -> list[dict[str, Any]]:
            return self.rows or []

    futures = [Done([{"a": 1}, {"a": 2}]), Done(None), Done(None, ValueError("x")), Done([{"a": 3}])]
    assert _finished_rows(futures) == [{"a": 1}, {"a": 2}, {"a": 3}]
    assert LocalBackend(1).leftover == [] and RayBackend().leftover == []


def test_ray_harvest_takes_only_what_is_ready():
    class FakeRay:
        def wait(self, refs: list[str], num_returns: int, timeout: float) -> tuple[list[str], list[str]]:
            assert timeout == 0
            return [r for r in refs if r.startswith("ready")], [r for r in refs if not r.startswith("ready")]

        def get(self, ref: str, timeout: float) -> list[dict[str, Any]]:
            if ref == "ready-failed":
                raise RuntimeError("task failed")
            return [{"ref": ref}]

    rows = RayBackend._harvest(FakeRay(), ["ready-1", "running", "ready-failed", "ready-2"])
    assert rows == [{"ref": "ready-1"}, {"ref": "ready-2"}]


def test_the_cli_says_how_many_runs_are_stored(small_scenario: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]):
    def interrupted(plan: Any, store: RunStore, runner: Any, **_: Any) -> None:
        raise SweepInterrupted(3, 7, store.path)

    monkeypatch.setattr("colossus.sweep.run_sweep", interrupted)  # the command loads it when it runs
    code = main(["sweep", str(small_scenario), "--vary", "jobs.train70b.gpus=64,128", "--out", str(tmp_path / "sw")])
    err = capsys.readouterr().err
    assert code == 130 and "interrupted:" in err and "3 finished runs of this sweep stored (7 in" in err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
