"""One writer per results folder: an advisory lock beside it, and signals held off while it is swapped.

Why a lock: two ``colossus simulate --out X`` at once used to race, the last
to rename won, and the other printed a report path that held the first's
result. The lock is ``.<name>.lock`` in the folder's parent, taken with
``flock`` before the simulation starts, so the second run is refused at once
with the first one's process id, and released (the file removed) when the
writer ends, however it ends: the kernel drops the lock of a killed process,
so a stale lock file never blocks anyone.

Why defer signals: moving a finished result into place is two renames when
an older result is there (old aside, new in). A Ctrl-C between them would
leave the folder missing; ``deferred_interrupts`` holds SIGINT and SIGTERM
for those few system calls and delivers them right after.
"""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import os
from pathlib import Path
import signal
import threading
from typing import Any

from colossus.results.paths import ResultsError

try:  # POSIX; elsewhere the lock is best effort (the O_EXCL temporary folders still never collide)
    import fcntl
except ImportError:  # pragma: no cover
    fcntl = None  # type: ignore[assignment]


def lock_path(target: Path) -> Path:
    return target.with_name(f".{target.name}.lock")


class FolderLock:
    """An exclusive, non-blocking lock on writing ``target``; use as a context manager."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.path = lock_path(target)
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ResultsError naming its holder.

        A Ctrl-C or SIGTERM while the lock is taken is held off until it is (``deferred_interrupts``), and if
        the lock is not handed over, whatever this call took is given back: an interrupted start once left
        its lock file behind (an early signal, between creating the file and holding it).
        """
        try:
            with deferred_interrupts():
                self._acquire()
        except BaseException:  # (a signal held off is delivered as the block ends, the lock ours: given back)
            self.release()
            raise

    def _acquire(self) -> None:
        while True:
            try:
                fd = os.open(self.path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
            except OSError as exc:
                raise ResultsError(self.target, f"cannot create the lock file ({exc.strerror or exc})") from None
            if fcntl is None:  # pragma: no cover
                self._fd = fd
                return
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                holder = _read_pid(fd)
                os.close(fd)
                who = f" (process {holder})" if holder else ""
                raise ResultsError(self.target, f"another colossus run is writing this folder now{who};"
                                                " wait for it to finish or choose another --out") from None
            # The holder may have removed the file between our open and our flock: lock the file
            # that is at the path now, or try again.
            try:
                same = os.path.samestat(os.fstat(fd), os.stat(self.path))
            except FileNotFoundError:
                same = False
            if not same:
                os.close(fd)
                continue
            self._fd = fd  # ours from here: release() unlinks and closes it
            with contextlib.suppress(OSError):
                os.ftruncate(fd, 0)
                os.write(fd, f"{os.getpid()}\n".encode())
            return

    def release(self) -> None:
        if self._fd is None:
            return
        with contextlib.suppress(OSError):
            os.unlink(self.path)  # while still holding it: a waiting writer retries on the new file
        os.close(self._fd)
        self._fd = None

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _read_pid(fd: int) -> int | None:
    try:
        text = os.pread(fd, 32, 0).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


@contextlib.contextmanager
def deferred_interrupts() -> Iterator[None]:
    """Hold SIGINT and SIGTERM until the block ends, then deliver them (main thread only).

    In another thread Python delivers no signals, so there is nothing to hold.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, Any] = {}
    for signum in (int(signal.SIGINT), int(signal.SIGTERM)):
        handler = signal.getsignal(signum)
        if callable(handler) or handler == signal.default_int_handler:
            previous[signum] = signal.signal(signum, lambda n, _f: caught.append(n))
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
        for number in caught[:1]:
            old = previous.get(number)
            if callable(old):
                old(number, None)
