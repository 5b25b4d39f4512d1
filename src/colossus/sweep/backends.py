"""Where the runs of a sweep execute: a local process pool, or Ray (one machine or a cluster).

Both backends do the same thing: call ``run_task`` (``run_one`` per seed of
a point) on each task somewhere else and hand back rows *as they finish* (a generator), so the caller can
store each row at once and drive a progress bar. Neither schedules anything
itself: the pool's queue and Ray's task scheduler do that.

* ``LocalBackend``: ``concurrent.futures.ProcessPoolExecutor`` with the
  ``spawn`` start method (a fresh interpreter per worker: safe even when the
  parent process has threads, as DuckDB and Ray's client have). Default
  workers: every CPU.
* ``RayBackend``: ``@ray.remote`` tasks, one per run, collected with
  ``ray.wait``. ``address`` connects to a running cluster (``auto`` finds
  the local one); without it a local Ray instance is started with
  ``workers`` CPUs and shut down afterwards. A Ray already initialised in
  this process (a test fixture, a notebook) is used as is and left running.
  On a cluster, every node needs colossus installed in the same version.
"""

from __future__ import annotations

from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
import logging
import multiprocessing
import os
import signal
from typing import Any, Protocol

from colossus.sweep.plan import Task
from colossus.sweep.run import run_task

log = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("local", "ray")


class Backend(Protocol):
    """Runs tasks and yields their rows (one per seed) in the order the tasks finish."""

    name: str

    def run(self, tasks: list[Task]) -> Iterator[dict[str, Any]]: ...


def _call(task: Task) -> list[dict[str, Any]]:
    return run_task(task.document, task.seeds, task.kind, task.days, task.inputs, task.base_dir)


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel queued runs and stop the workers now (a simulation may run for minutes)."""
    pool.shutdown(wait=False, cancel_futures=True)
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        return
    for process in list((getattr(pool, "_processes", None) or {}).values()):
        process.terminate()


class LocalBackend:
    """A pool of worker processes on this machine."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1

    def run(self, tasks: list[Task]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        context = multiprocessing.get_context("spawn")
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)), mp_context=context,
                                   initializer=_ignore_sigint)
        try:
            pending: set[Future[list[dict[str, Any]]]] = {pool.submit(_call, task) for task in tasks}
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
        except BaseException:  # Ctrl-C, an error, or the caller stopped early: do not wait for running runs
            _terminate(pool)
            raise
        pool.shutdown(wait=True)


class RayBackend:
    """Ray tasks on a local instance or a cluster."""

    name = "ray"

    #: Rows fetched per ``ray.wait`` at most: large enough to keep up with fast
    #: estimate runs, small enough that the progress bar moves smoothly.
    BATCH = 64

    def __init__(self, address: str | None = None, workers: int | None = None) -> None:
        self.address = address
        self.workers = workers

    def _start(self) -> bool:
        """Connect or start Ray; True if this call started it (and so must shut it down)."""
        import ray  # noqa: PLC0415 (slow to import; only a Ray sweep needs it)

        if ray.is_initialized():
            if self.address:
                log.warning("Ray is already running in this process; --address %s is not used", self.address)
            return False
        options: dict[str, Any] = {"include_dashboard": False, "logging_level": logging.WARNING}
        if self.address:
            ray.init(address=self.address, **options)
        else:
            ray.init(num_cpus=self.workers or os.cpu_count() or 1, **options)
        return True

    def run(self, tasks: list[Task]) -> Iterator[dict[str, Any]]:
        if not tasks:
            return
        import ray  # noqa: PLC0415

        started = self._start()
        remote = ray.remote(num_cpus=1)(run_task)
        pending: list[Any] = []
        try:
            documents: dict[int, Any] = {}  # one copy of each point's document in the object store
            for task in tasks:
                if id(task.document) not in documents:
                    documents[id(task.document)] = ray.put(task.document)
                doc_ref = documents[id(task.document)]
                pending.append(remote.remote(doc_ref, task.seeds, task.kind, task.days, task.inputs, task.base_dir))
            while pending:
                done, pending = ray.wait(pending, num_returns=min(len(pending), self.BATCH), timeout=0.2)
                for ref in done:
                    try:
                        yield from ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        raise exc.as_instanceof_cause() from None
        finally:
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()


def make_backend(name: str, *, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(address, workers)
    raise ValueError(f"unknown backend '{name}' (one of {', '.join(BACKENDS)})")
