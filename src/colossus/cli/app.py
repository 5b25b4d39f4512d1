"""The typer application and the error boundary every command shares.

Commands live in one module per topic (``show``, ``perf``, ...) and register
themselves on ``app``. ``main`` turns any ``ColossusError`` into one line on
stderr and exit code 2; everything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.console import Console
import typer


app = typer.Typer(
    name="colossus",
    help="A digital twin of an AI supercluster: inventory, performance, power, reliability.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

#: Human output goes to stdout through rich; machine output (--json) bypasses rich.
console = Console(highlight=False)
err_console = Console(stderr=True, highlight=False)

EXIT_BAD_INPUT = 2


@app.callback()
def _root() -> None:
    """A digital twin of an AI supercluster: inventory, performance, power, reliability."""


def print_json(document: Any) -> None:
    """Print one JSON document on stdout (sorted keys, stable across runs)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, allow_nan=False) + "\n")


def fail(message: str) -> None:
    """Report a bad-input error in one line and exit with code 2."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, markup=True)
    raise typer.Exit(EXIT_BAD_INPUT)
