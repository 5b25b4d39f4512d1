"""Background simulations: a bounded queue in front of a pool of worker processes.

Why processes: a simulation is a Python event loop that runs for seconds to
minutes; in a thread it would hold the interpreter lock and make every
other request wait, and one that exhausts memory would take the server
with it. The pool's workers are forked from a fork server, as the sweep's
local backend's are (``sweep.backends.worker_context``: never forked from
the server with its threads and DuckDB's, and a worker starts at once).

How the bounds work (documented in the API):

* at most ``max_concurrent`` simulations run at once; the manager hands a
  job to the pool only when a worker is free, so every waiting job stays in
  *our* queue, where it can be cancelled and reports ``queued``;
* at most ``max_queued`` jobs wait; one more is refused (``QueueFull``, the
  API answers 429 with ``Retry-After``);
* the last ``KEEP_FINISHED`` finished jobs are remembered (the results
  themselves stay in the runs folder for good).

Progress arrives from the workers on one multiprocessing queue, read by a
listener thread; the final summary (or the one-line failure) arrives as the
task's return value. ``close`` cancels waiting jobs and stops the workers
at once (a 150-day run is not waited for on shutdown).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
import functools
import logging
import secrets
import threading
import time
from typing import Any

from colossus.errors import NotCancellable, QueueFull  # noqa: F401  (raised here, in the tree)
from colossus.sweep.backends import worker_context
from colossus.web.models import JobInfo, JobKind, JobStatus
from colossus.web.worker import init_worker, one_line, run_forecast, run_simulation

log = logging.getLogger(__name__)

#: Finished jobs remembered for GET /api/jobs/{id}; older ones are forgotten (their runs stay on disk).
KEEP_FINISHED = 200


@dataclass
class Job:
    """One simulation request and what became of it."""

    id: str
    scenario: str
    days: float
    run_id: str
    task: dict[str, Any]  # keyword arguments of ``run_simulation`` (``run_forecast``) except the job id
    notes: list[str]
    kind: JobKind = JobKind.SIMULATE
    created_s: float = field(default_factory=time.time)
    status: JobStatus = JobStatus.QUEUED
    progress_frac: float = 0.0
    phase: str = "waiting for a free worker"
    started_s: float | None = None
    finished_s: float | None = None
    message: str | None = None
    summary: dict[str, Any] | None = None

    def info(self, *, with_summary: bool = True) -> JobInfo:
        done = self.status is JobStatus.DONE
        return JobInfo(
            id=self.id, kind=self.kind, scenario=self.scenario, status=self.status, progress_frac=self.progress_frac,
            phase=self.phase, days=self.days, created_s=self.created_s, started_s=self.started_s,
            finished_s=self.finished_s, run_id=self.run_id if done else None, message=self.message,
            notes=self.notes, summary=self.summary if with_summary else None,
        )


class JobManager:
    """Runs simulation jobs in worker processes, at most ``max_concurrent`` at a time."""

    def __init__(self, *, max_concurrent: int = 2, max_queued: int = 8) -> None:
        if max_concurrent < 1 or max_queued < 0:
            raise ValueError("max_concurrent must be >= 1 and max_queued >= 0")
        self.max_concurrent = max_concurrent
        self.max_queued = max_queued
        self._context = worker_context()
        self._lock = threading.RLock()  # a done-callback may run inside submit
        self._jobs: dict[str, Job] = {}
        self._waiting: deque[str] = deque()
        self._running: set[str] = set()
        self._pool: ProcessPoolExecutor | None = None
        self._progress: Any = None
        self._listener: threading.Thread | None = None
        self._closed = False

    # --- requests ----------------------------------------------------------------------

    def submit(self, *, scenario: str, days: float, run_id: str, task: dict[str, Any], notes: list[str],
               kind: JobKind = JobKind.SIMULATE) -> Job:
        """Queue a simulation (or a forecast); ``QueueFull`` if ``max_queued`` jobs already wait."""
        with self._lock:
            if self._closed:
                raise QueueFull("the server is shutting down")
            if len(self._waiting) >= self.max_queued and len(self._running) >= self.max_concurrent:
                raise QueueFull(f"{len(self._running)} simulations are running and {len(self._waiting)} are"
                                " waiting; try again when one has finished")
            job = Job(id=secrets.token_hex(6), scenario=scenario, days=days, run_id=run_id, task=task, notes=notes,
                      kind=kind)
            self._jobs[job.id] = job
            self._waiting.append(job.id)
            self._dispatch()
            return job

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def jobs(self) -> list[Job]:
        """Every remembered job, newest first."""
        with self._lock:
            return sorted(self._jobs.values(), key=lambda j: j.created_s, reverse=True)

    def cancel(self, job_id: str) -> Job | None:
        """Cancel a queued job; None if unknown, ``NotCancellable`` if it already runs or ended."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                return None
            if job.status is not JobStatus.QUEUED or job_id not in self._waiting:
                raise NotCancellable(f"job {job_id} is {job.status.value}; only a queued job can be cancelled")
            self._waiting.remove(job_id)
            self._finish(job, JobStatus.CANCELLED, phase="cancelled before it started")
            return job

    # --- the pool ----------------------------------------------------------------------

    def _ensure_pool(self) -> ProcessPoolExecutor:
        if self._pool is None:
            self._progress = self._context.Queue()
            self._pool = ProcessPoolExecutor(max_workers=self.max_concurrent, mp_context=self._context,
                                             initializer=init_worker, initargs=(self._progress,))
            self._listener = threading.Thread(target=self._listen, args=(self._progress,),
                                              name="colossus-web-progress", daemon=True)
            self._listener.start()
        return self._pool

    def _dispatch(self) -> None:
        """Hand waiting jobs to the pool while a worker is free (called with the lock held)."""
        while self._waiting and len(self._running) < self.max_concurrent:
            job = self._jobs[self._waiting.popleft()]
            try:
                work: Callable[..., dict[str, Any]] = run_forecast if job.kind is JobKind.FORECAST else run_simulation
                future = self._ensure_pool().submit(work, job.id, **job.task)
            except (BrokenProcessPool, RuntimeError) as exc:  # a dead pool: start a new one for the next job
                self._discard_pool()
                self._finish(job, JobStatus.FAILED, message=f"could not start a worker: {one_line(exc)}")
                continue
            job.status, job.phase, job.started_s = JobStatus.RUNNING, "starting a worker", time.time()
            self._running.add(job.id)
            future.add_done_callback(functools.partial(self._done, job.id))

    def _discard_pool(self) -> None:
        """Forget a broken pool and stop its progress listener (called with the lock held)."""
        pool, queue, self._pool, self._progress, self._listener = self._pool, self._progress, None, None, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)
        if queue is not None:
            try:
                queue.put(None)
            except (OSError, ValueError):
                pass

    def _listen(self, queue: Any) -> None:
        while True:
            try:
                message = queue.get()
            except (EOFError, OSError, ValueError):  # the queue was closed
                return
            if message is None:
                return
            job_id, kind, value = message
            job = self._jobs.get(job_id)
            if job is None or job.status is not JobStatus.RUNNING:
                continue
            if kind == "progress":
                job.progress_frac = min(1.0, max(job.progress_frac, float(value)))
            elif kind == "phase":
                job.phase = str(value)

    def _done(self, job_id: str, future: Future[dict[str, Any]]) -> None:
        with self._lock:
            self._running.discard(job_id)
            job = self._jobs.get(job_id)
            if job is not None and job.status is JobStatus.RUNNING:
                self._settle(job, future)
            if not self._closed:
                self._dispatch()

    def _settle(self, job: Job, future: Future[dict[str, Any]]) -> None:
        if future.cancelled():
            self._finish(job, JobStatus.CANCELLED, phase="stopped when the server shut down")
            return
        exc = future.exception()
        if isinstance(exc, BrokenProcessPool):
            self._discard_pool()  # the next job starts a fresh pool
            self._finish(job, JobStatus.FAILED, message="the simulation process died (out of memory?);"
                                                        " try fewer days or a smaller cluster")
        elif exc is not None:
            log.error("simulation job %s: %s", job.id, exc)
            self._finish(job, JobStatus.FAILED, message=f"internal error ({type(exc).__name__})")
        else:
            outcome = future.result()
            if outcome.get("ok"):
                job.summary = outcome.get("summary")
                self._finish(job, JobStatus.DONE, phase="done")
                job.progress_frac = 1.0
            else:
                self._finish(job, JobStatus.FAILED, message=str(outcome.get("message")))

    def _finish(self, job: Job, status: JobStatus, *, phase: str | None = None, message: str | None = None) -> None:
        job.status, job.finished_s, job.message = status, time.time(), message
        job.phase = phase or status.value
        job.task = {}  # the scenario document is not needed any more
        finished = [j for j in self._jobs.values() if j.finished_s is not None]
        for old in sorted(finished, key=lambda j: j.finished_s or 0.0)[:-KEEP_FINISHED]:
            del self._jobs[old.id]

    # --- start and shutdown -----------------------------------------------------------

    def open(self) -> None:
        """Accept jobs again after ``close`` (an app's lifespan may start again, as test clients do)."""
        with self._lock:
            self._closed = False

    def close(self) -> None:
        """Cancel waiting jobs and stop the workers now; idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            for job_id in list(self._waiting):
                self._finish(self._jobs[job_id], JobStatus.CANCELLED, phase="cancelled: the server shut down")
            self._waiting.clear()
            pool, queue, listener = self._pool, self._progress, self._listener
            self._pool, self._progress, self._listener = None, None, None
            for job_id in list(self._running):
                self._finish(self._jobs[job_id], JobStatus.CANCELLED, phase="stopped: the server shut down")
        if pool is not None:
            processes = list((getattr(pool, "_processes", None) or {}).values())
            pool.shutdown(wait=False, cancel_futures=True)
            for process in processes:  # running simulations are not waited for
                process.terminate()
            for process in processes:
                process.join(timeout=5)
        if queue is not None:
            try:
                queue.put(None)
            except (OSError, ValueError):
                pass
        if listener is not None:
            listener.join(timeout=5)
