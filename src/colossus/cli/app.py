"""The typer application and the error boundary every command shares.

Commands live in one module per topic (``show``, ``perf``, ...) and register
themselves on ``app``. ``colossus.cli.main`` runs them with one error path:

* a ``ColossusError`` (bad input, a full disk, a folder that may not be
  written) is one line on stderr and exit code 2;
* a wrong *value* of an option (``--days abc``, ``--days 1e9``) is one line
  naming the option, the value and the rule, exit code 2 (options are checked
  against the same limits as files, ``spec.bounds``, by ``within``);
* a wrong *flag* (an unknown option, a missing argument) gets typer's usage
  box, exit code 2;
* Ctrl-C and SIGTERM stop the command: it cleans up what it was writing, says
  so in one line, and exits with 130 (SIGINT) or 143 (SIGTERM).

Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, NoReturn

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape
import typer

from colossus.errors import one_line
from colossus.units import si_document

app = typer.Typer(
    name="colossus",
    help="A digital twin of an AI supercluster: inventory, performance, power, reliability.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # plain help text: typer's rich help loads markdown and rich's layout (~0.1 s) before the first line
    rich_markup_mode=None,
)

class SafeConsole(Console):
    """A rich console that prints any text a user wrote as it is.

    Names come from files (a scenario, a job, a catalog item): a ``[/]`` in
    one must not end the command in rich's ``MarkupError``, and a terminal
    escape sequence must not reach the terminal. Text whose markup does not
    parse is printed plain; control characters (but newlines and tabs) are
    shown escaped.
    """

    def render_str(self, text: str, **kwargs: Any) -> Any:  # noqa: D102
        if not text.isprintable():
            text = "".join(ch if ch.isprintable() or ch in "\n\t" else repr(ch)[1:-1] for ch in text)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})


#: Width of tables written to a file or a pipe: wide enough that no column is cut or folded
#: (a terminal's own width is used on a terminal; ``--width`` or ``COLUMNS`` set it either way).
PIPE_WIDTH = 1000


def _width(stream: Any) -> int | None:
    """None (rich asks the terminal) on a terminal or where COLUMNS is set; else ``PIPE_WIDTH``."""
    if "COLUMNS" in os.environ:
        return None
    try:
        return None if stream.isatty() else PIPE_WIDTH
    except (AttributeError, ValueError):
        return PIPE_WIDTH


#: Human output goes to stdout through rich; machine output (--json) bypasses rich.
console = SafeConsole(highlight=False, width=_width(sys.stdout))
err_console = SafeConsole(stderr=True, highlight=False)

EXIT_BAD_INPUT = 2
#: Exit code of a command stopped by Ctrl-C (128 + SIGINT, as shells report it).
EXIT_INTERRUPTED = 130


@app.callback()
def _root(
    width: int | None = typer.Option(None, "--width", min=40, max=10_000,
                                     help="table width in characters (default: the terminal's; unlimited in a file)"),
) -> None:
    """A digital twin of an AI supercluster: inventory, performance, power, reliability."""
    console.width = width if width is not None else (_width(sys.stdout) or console.size.width)


def print_json(document: Any) -> None:
    """Print one strict JSON document on stdout (sorted keys, stable across runs; NaN and infinities as null).

    A model can answer "infinite" (a job that never finishes at a vanishing
    rate); strict JSON has no such number, and ``null`` is what the documents
    already use for "none". Keys in a human unit (``rating_mw``) are converted
    to SI (``rating_w``) by ``units.si_document``: tables show human units, JSON
    never does.
    """
    document = si_document(document)
    sys.stdout.write(json.dumps(_finite(document), indent=2, sort_keys=True, allow_nan=False) + "\n")
    _answered.append(True)


def _finite(value: Any) -> Any:
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def error_line(message: str, *, label: str = "error") -> None:
    """Print one line on stderr: ``error: message`` (the message is not markup and stays on one line)."""
    colour = "red" if label == "error" else "yellow"
    err_console.print(f"[bold {colour}]{label}:[/] {escape(one_line(message))}", soft_wrap=True)


def fail(message: str) -> NoReturn:
    """Report a bad-input error in one line and exit with code 2."""
    error_line(message)
    raise typer.Exit(EXIT_BAD_INPUT)


def interrupted(message: str) -> None:
    """Say in one line what an interrupt left behind, and exit with code 130."""
    error_line(message, label="interrupted")
    _reported.append(True)
    raise typer.Exit(EXIT_INTERRUPTED)


_reported: list[bool] = []


_answered: list[bool] = []


def answer_was_printed(*, reset: bool = False) -> bool:
    """True once a command has printed its whole answer as JSON: a signal after it stops nothing, the command
    is done (``main`` exits 0 without a word rather than print "interrupted" under a complete answer)."""
    seen = bool(_answered)
    if reset:
        _answered.clear()
    return seen


def interrupt_was_reported(*, reset: bool = False) -> bool:
    """True once a command has said what its interrupt left (``main`` then adds nothing)."""
    seen = bool(_reported)
    if reset:
        _reported.clear()
    return seen


def within(kind: Any, **whole: int | str):  # noqa: ANN201 (a click callback)
    """An option callback holding the value to a kind of ``spec.bounds`` (the limits files obey).

    ``typer.Option("--days", callback=within("Days"))``: ``--days 1e9`` is one
    line, ``Invalid value for '--days': must be <= 3650 (got 1000000000.0)``.
    The kind is named (a name in ``spec.bounds``, or ``"whole"`` with ``ge``
    and ``le``) and looked up when an option is given, so that the command
    line starts without loading the specs.
    """

    def callback(value: Any) -> Any:
        if value is None:
            return None
        from colossus.spec import bounds  # noqa: PLC0415 (loaded when an option is checked)
        from colossus.spec.loading import check  # noqa: PLC0415

        limits = {k: getattr(bounds, v) if isinstance(v, str) else v for k, v in whole.items()}
        bound = (
            kind if not isinstance(kind, str) else bounds.whole(**limits) if kind == "whole" else getattr(bounds, kind)
        )
        try:
            return check(bound, value, "")
        except Exception as exc:  # SpecError from the check: the option name comes from click
            raise typer.BadParameter(getattr(exc, "message", str(exc))) from None

    return callback
