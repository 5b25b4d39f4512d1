"""The ``colossus`` command line: a thin shell over the public API."""

from __future__ import annotations

from collections.abc import Iterator
import contextlib
import functools
import os
import signal
import sys
import threading
from typing import Any

import typer
import typer.main

from colossus.cli import (
    forecast,  # noqa: F401
    mission,  # noqa: F401
    perf,  # noqa: F401
    power,  # noqa: F401
    reliability,  # noqa: F401
    serve,  # noqa: F401
    show,  # noqa: F401  (registers its commands)
    simulate,  # noqa: F401
    sweep,  # noqa: F401
)
from colossus.cli.app import (
    EXIT_BAD_INPUT,
    EXIT_INTERRUPTED,
    answer_was_printed,
    app,
    error_line,
    interrupt_was_reported,
)
from colossus.errors import ColossusError

#: Exit code after SIGTERM (128 + 15, as shells report it).
EXIT_TERMINATED = 128 + signal.SIGTERM

# click's exceptions as typer raises them (recent typer ships its own copy of click).
_click = sys.modules[typer.BadParameter.__module__]
BadParameter, MissingParameter, ClickException = _click.BadParameter, _click.MissingParameter, _click.ClickException
Abort = typer.Abort


class _Stopped:
    """Which signal stopped the command, if one did."""

    signum: int | None = None


@contextlib.contextmanager
def _terminate_as_interrupt() -> Iterator[type[_Stopped]]:
    """SIGTERM raises ``KeyboardInterrupt`` like Ctrl-C, so every command cleans up the same way.

    Only in the main thread (where Python delivers signals) and only when
    SIGTERM has its default action (a caller that set its own is respected).
    """
    _Stopped.signum = None
    previous = {}
    hook = sys.unraisablehook

    def unraisable(args: Any) -> None:
        if args.exc_type is not None and issubclass(args.exc_type, KeyboardInterrupt):
            # Ctrl-C (or SIGTERM) landed in a callback Python cannot raise from (a module lock's, during a
            # first import): Python would print "Exception ignored" and a traceback, and carry on. Deliver
            # the signal again, so that it stops the command where it can, and say nothing here.
            signal.raise_signal(_Stopped.signum or signal.SIGINT)
            return
        hook(args)

    sys.unraisablehook = unraisable
    if threading.current_thread() is threading.main_thread():
        def stop(signum: int, _frame: object) -> None:
            _Stopped.signum = signum
            raise KeyboardInterrupt

        for signum in (signal.SIGTERM,):
            if signal.getsignal(signum) is signal.SIG_DFL:
                previous[signum] = signal.signal(signum, stop)
    try:
        yield _Stopped
    finally:
        sys.unraisablehook = hook
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@functools.cache
def _command() -> Any:
    """The click command typer builds from ``app`` (built once: typer rebuilds it on every call, ~0.1 s)."""
    return typer.main.get_command(app)


def _usage_box(exc: Any) -> None:
    """typer's usage box for a wrong flag (plain click text where typer has no rich formatting)."""
    try:
        from typer import rich_utils  # noqa: PLC0415

        rich_utils.rich_format_error(exc)
    except (ImportError, AttributeError):
        exc.show()


def _bad_value(exc: Any) -> str:
    """``--days: must be <= 3650 (got 1e9)``: the option and what is wrong with its value, one line."""
    return exc.format_message()


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code (see ``colossus.cli.app`` for the error path)."""
    interrupt_was_reported(reset=True)
    answer_was_printed(reset=True)
    with _terminate_as_interrupt() as stopped:
        try:
            code = _command().main(args=argv if argv is not None else sys.argv[1:], prog_name="colossus",
                                   standalone_mode=False)
        except ColossusError as exc:
            error_line(str(exc))
            return EXIT_BAD_INPUT
        except BadParameter as exc:
            if isinstance(exc, MissingParameter):  # a missing argument: the usage box helps
                _usage_box(exc)
                return EXIT_BAD_INPUT
            error_line(_bad_value(exc))
            return EXIT_BAD_INPUT
        except ClickException as exc:  # an unknown flag, an extra argument: the usage box
            _usage_box(exc)
            return exc.exit_code
        except Abort:  # Ctrl-C at a prompt, or EOF
            code = EXIT_INTERRUPTED
        except KeyboardInterrupt:
            code = EXIT_INTERRUPTED
        except BrokenPipeError:  # the reader of stdout went away (| head): stop quietly
            with contextlib.suppress(OSError):
                os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
            return 1
        except MemoryError:
            error_line("out of memory: ask for less (fewer days, runs or GPUs)")
            return EXIT_BAD_INPUT
        except OSError as exc:  # a file the command opened itself: permissions, a full disk
            where = f"{exc.filename}: " if getattr(exc, "filename", None) else ""
            error_line(f"{where}{exc.strerror or exc}")
            return EXIT_BAD_INPUT
    code = 0 if code is None else code if isinstance(code, int) else 1
    if code == EXIT_INTERRUPTED and answer_was_printed() and not interrupt_was_reported():
        return 0  # the signal came after the whole answer was printed: nothing was left unfinished
    if code == EXIT_INTERRUPTED:
        if not interrupt_was_reported():
            error_line("stopped before finishing", label="interrupted")
        if stopped.signum == signal.SIGTERM:
            return EXIT_TERMINATED
    return code


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
