"""``run_sweep``: run a planned sweep on a backend, storing each row as it finishes, then plot.

The order of work is what makes a sweep safe to interrupt and cheap to
resume: the plan is validated in full first (``plan.py``); runs whose key
is already in the store are skipped; each finished run is written before
the next is awaited; the plot is drawn from the store at the end, so a
resumed sweep plots every run, old and new.
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import logging
from pathlib import Path
import time
from typing import Any

from colossus.errors import ColossusError, SweepInterrupted
from colossus.sweep.backends import Backend
from colossus.sweep.plan import SweepPlan
from colossus.sweep.plot import figure, stats, write_html
from colossus.sweep.store import RunStore

log = logging.getLogger(__name__)

#: ``progress(done, total)`` after each finished run (total: the runs not skipped).
Progress = Callable[[int, int], None]


def main_output(plan: SweepPlan, rows: list[dict[str, Any]]) -> str | None:
    """The column a sweep is plotted by.

    estimate: the first job's ``tokens_per_s``. simulate: the first job's
    ``finished_at_days`` when every run finished it, else its
    ``progress_frac`` (a finish day that exists for some runs only would
    hide the slow ones); ``deficit_hours`` for a scenario without jobs.
    """
    job = plan.first_job
    if plan.kind == "estimate":
        return f"{job}.tokens_per_s" if job else None
    if job is None:
        return "deficit_hours"
    finished = f"{job}.finished_at_days"
    if rows and all(r.get(finished) is not None for r in rows):
        return finished
    return f"{job}.progress_frac"


@dataclass
class SweepOutcome:
    """What a sweep did: its rows (every run of the plan, old and new) and where they are."""

    plan: SweepPlan
    rows: list[dict[str, Any]]
    ran: int
    skipped: int
    wall_s: float
    backend: str
    store_path: Path
    plot_path: Path | None
    main: str | None

    @property
    def num_errors(self) -> int:
        return sum(1 for r in self.rows if r.get("error"))

    @property
    def runs_per_s(self) -> float | None:
        return self.ran / self.wall_s if self.ran and self.wall_s > 0 else None

    def points(self) -> list[dict[str, Any]]:
        """Per point: its inputs and the main output's mean, spread and count over seeds."""
        by_hash: dict[str, list[dict[str, Any]]] = {}
        for row in self.rows:
            by_hash.setdefault(row["content_hash"], []).append(row)
        out = []
        for point in self.plan.points:
            runs = by_hash.get(point.content_hash, [])
            values = [float(r[self.main]) for r in runs if self.main and isinstance(r.get(self.main), (int, float))]
            errors = sorted({str(r["error"]) for r in runs if r.get("error")})
            num_errors = sum(1 for r in runs if r.get("error"))
            out.append({"inputs": dict(point.inputs), **stats(values), "errors": num_errors,
                        "error": errors[0] if errors else None})
        return out


def run_sweep(
    plan: SweepPlan, store: RunStore, backend: Backend, *,
    progress: Progress | None = None, plot_path: str | Path | None = None,
) -> SweepOutcome:
    """Run the runs of ``plan`` not yet in ``store`` on ``backend``; write the plot if ``plot_path``."""
    keys = plan.keys()
    stored = store.keys(plan.kind) & set(keys)
    reused = {key[0] for key in stored}
    store.fill_inputs(plan.kind, {p.content_hash: p.inputs for p in plan.points if p.content_hash in reused})
    tasks = plan.tasks(stored)
    total = sum(len(t.seeds) for t in tasks)
    expected = set(keys)
    log.info("sweep %s: %d runs, %d already stored, %d to run on %s",
             plan.scenario, len(keys), len(stored), total, backend.name)
    if progress:
        progress(0, total)
    start = time.perf_counter()
    done = 0
    before = store.count()

    def keep(row: dict[str, Any]) -> None:
        key = (row["content_hash"], row["seed"], row["kind"], row["days"])
        if key not in expected:
            raise RuntimeError(f"a run came back with key {key}, which the plan does not have")
        store.insert(row)

    try:
        with contextlib.closing(backend.run(tasks)) as finished:
            for row in finished:
                keep(row)
                done += 1
                if progress:
                    progress(done, total)
    except KeyboardInterrupt:
        # The backend has stopped its workers; store what finished but was not handed over yet.
        for row in getattr(backend, "leftover", ()):
            keep(row)
        now = store.count()
        raise SweepInterrupted(now - before, now, store.path) from None
    wall_s = time.perf_counter() - start
    rows = store.rows(keys)
    main = main_output(plan, rows)
    written = None
    if plot_path is not None and main is not None and rows:
        try:
            written = write_html(figure(plan, rows, main), plot_path)
        except OSError as exc:
            raise ColossusError(f"{plot_path}: cannot write the plot ({exc.strerror or exc});"
                                f" the runs are stored in {store.path}") from None
    return SweepOutcome(plan, rows, ran=done, skipped=len(stored), wall_s=wall_s, backend=backend.name,
                        store_path=store.path, plot_path=written, main=main)
