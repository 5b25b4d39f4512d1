"""Where the runs of a sweep execute: a local process pool, or Ray (one machine or a cluster).

Both backends do the same thing: call ``run_task`` (``run_one`` per seed of
a point; or the function a task names in ``runner``) on each task somewhere
else and hand back rows *as they finish* (a generator), so the caller can
store each row at once and drive a progress bar. Neither schedules anything
itself: the pool's queue and Ray's task scheduler do that. Stopped early
(Ctrl-C), both stop their running tasks at once (the pool's workers are
terminated, Ray's tasks cancelled with ``force``) and keep the rows of tasks
that had finished in ``leftover``.

* ``LocalBackend``: ``concurrent.futures.ProcessPoolExecutor`` with the
  ``forkserver`` start method (``spawn`` where there is none): workers are
  forked from a fresh server process, never from the caller, so they are safe
  even when the caller has threads (as DuckDB and Ray's client have). The
  server imports the simulation and the models once (``WORKER_MODULES``) and
  lives as long as the caller, so a worker starts at once, and a second sweep
  in the same process (the web service, a notebook, the tests) starts no new
  interpreter; with ``spawn`` every worker imported them again (about 1.5 s
  of CPU each). Default workers: every CPU.
* ``RayBackend``: ``@ray.remote`` tasks, one per run, collected with
  ``ray.wait``. ``address`` connects to a running cluster (``auto`` finds
  the local one); without it a local Ray instance is started with
  ``workers`` CPUs and shut down afterwards. A Ray already initialised in
  this process (a test fixture, a notebook) is used as is and left running.
  On a cluster, every node needs colossus installed in the same version.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
import importlib
import logging
import multiprocessing
import os
import signal
from typing import Any, Protocol

from colossus.errors import ColossusError
from colossus.sweep.plan import RUN_TASK, Task
from colossus.sweep.run import run_task

log = logging.getLogger(__name__)

BACKENDS: tuple[str, ...] = ("local", "ray")


class Backend(Protocol):
    """Runs tasks and yields their rows (one per seed) in the order the tasks finish.

    When the run stops early (Ctrl-C, SIGTERM, an error, or the caller closing
    the generator), the backend stops its running work at once and keeps the
    rows of tasks that had finished but were not yet handed over in
    ``leftover``, so the caller can store them too.
    """

    name: str
    leftover: list[dict[str, Any]]

    def run(self, tasks: list[Task]) -> Generator[dict[str, Any], None, None]: ...


def runner_of(task: Task) -> Callable[..., list[dict[str, Any]]]:
    """The function ``task.runner`` names (``module:function``); ``run_task`` by default."""
    if task.runner == RUN_TASK:
        return run_task
    module, _, name = task.runner.partition(":")
    return getattr(importlib.import_module(module), name)


def _call(task: Task) -> list[dict[str, Any]]:
    return runner_of(task)(task.document, task.seeds, task.kind, task.days, task.inputs, task.base_dir)


#: What a worker needs, imported once by the fork server (a module missing here is imported by the worker).
WORKER_MODULES = ("colossus.sweep.run", "colossus.sim", "colossus.perf.jobs", "colossus.forecast.runner")


def worker_context() -> Any:
    """The fork server (preloading ``WORKER_MODULES``) where the platform has one; else spawn.

    The web service's job pool uses it too: one server per process, whose first start fixes what it preloads.
    """
    if "forkserver" not in multiprocessing.get_all_start_methods():
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(list(WORKER_MODULES))
    return context


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops them (no traceback from every worker)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


#: Seconds a stopped worker gets to exit before it is killed.
STOP_GRACE_S = 5.0


def _terminate(pool: ProcessPoolExecutor) -> None:
    """Cancel queued runs and stop the workers now (a simulation may run for minutes).

    The worker processes are listed *before* ``shutdown``, which forgets them.
    """
    terminate = getattr(pool, "terminate_workers", None)  # Python >= 3.14
    if terminate is not None:
        terminate()
        pool.shutdown(wait=False, cancel_futures=True)
        return
    processes = list((getattr(pool, "_processes", None) or {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        process.terminate()
    for process in processes:
        process.join(timeout=STOP_GRACE_S)
        if process.is_alive():
            process.kill()
            process.join(timeout=STOP_GRACE_S)


def _finished_rows(futures: Iterable[Future[list[dict[str, Any]]]]) -> list[dict[str, Any]]:
    """The rows of the futures that completed without an error."""
    rows: list[dict[str, Any]] = []
    for future in futures:
        if future.done() and not future.cancelled() and future.exception() is None:
            rows += future.result()
    return rows


class LocalBackend:
    """A pool of worker processes on this machine."""

    name = "local"

    def __init__(self, workers: int | None = None) -> None:
        self.workers = workers or os.cpu_count() or 1
        self.leftover: list[dict[str, Any]] = []

    def run(self, tasks: list[Task]) -> Generator[dict[str, Any], None, None]:
        self.leftover = []
        if not tasks:
            return
        pool = ProcessPoolExecutor(max_workers=min(self.workers, len(tasks)), mp_context=worker_context(),
                                   initializer=_ignore_sigint)
        futures: list[Future[list[dict[str, Any]]]] = []
        handed: set[Future[list[dict[str, Any]]]] = set()
        try:
            futures = [pool.submit(_call, task) for task in tasks]
            pending = set(futures)
            while pending:
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    yield from future.result()
                    handed.add(future)
        except BaseException:  # Ctrl-C, an error, or the caller stopped early: do not wait for running runs
            _terminate(pool)
            self.leftover = _finished_rows(f for f in futures if f not in handed)
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
        self.leftover: list[dict[str, Any]] = []

    def _start(self) -> bool:
        """Connect or start Ray; True if this call started it (and so must shut it down)."""
        try:
            import ray  # noqa: PLC0415 (slow to import; only a Ray sweep needs it)
        except ImportError:
            raise ColossusError("--backend ray: Ray is not installed (it is an optional extra:"
                                " pip install 'colossus[ray]')") from None

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

    def run(self, tasks: list[Task]) -> Generator[dict[str, Any], None, None]:
        self.leftover = []
        if not tasks:
            return
        import ray  # noqa: PLC0415

        started = self._start()
        remotes: dict[str, Any] = {}  # one remote function per runner the tasks name
        pending: list[Any] = []
        completed = True
        try:
            documents: dict[int, Any] = {}  # one copy of each point's document in the object store
            for task in tasks:
                if id(task.document) not in documents:
                    documents[id(task.document)] = ray.put(task.document)
                doc_ref = documents[id(task.document)]
                if task.runner not in remotes:
                    remotes[task.runner] = ray.remote(num_cpus=1)(runner_of(task))
                pending.append(remotes[task.runner].remote(doc_ref, task.seeds, task.kind, task.days, task.inputs,
                                                           task.base_dir))
            while pending:
                done, pending = ray.wait(pending, num_returns=min(len(pending), self.BATCH), timeout=0.2)
                for i, ref in enumerate(done):
                    try:
                        rows = ray.get(ref)
                    except ray.exceptions.RayTaskError as exc:
                        pending += done[i + 1:]
                        raise exc.as_instanceof_cause() from None
                    try:
                        yield from rows
                    except BaseException:
                        pending += done[i + 1:]
                        raise
        except BaseException:
            completed = False
            raise
        finally:
            if pending and not completed:
                self.leftover = self._harvest(ray, pending)
            for ref in pending:
                ray.cancel(ref, force=True)
            if started:
                ray.shutdown()

    @staticmethod
    def _harvest(ray: Any, refs: list[Any]) -> list[dict[str, Any]]:
        """Rows of the tasks among ``refs`` that have already finished (without waiting for the others)."""
        try:
            ready, _ = ray.wait(refs, num_returns=len(refs), timeout=0)
        except Exception:  # noqa: BLE001 (a Ray that is going down: nothing more to keep)
            return []
        rows: list[dict[str, Any]] = []
        for ref in ready:
            try:
                rows += ray.get(ref, timeout=0)
            except Exception:  # noqa: BLE001 (a failed or cancelled task has no row)
                continue
        return rows


def make_backend(name: str, *, workers: int | None = None, address: str | None = None) -> Backend:
    """The backend called ``name`` (``local`` or ``ray``)."""
    if name == "local":
        return LocalBackend(workers)
    if name == "ray":
        return RayBackend(address, workers)
    raise ValueError(f"unknown backend '{name}' (one of {', '.join(BACKENDS)})")
