"""The ``colossus`` command line: a thin shell over the public API."""

from __future__ import annotations

import sys

from rich.markup import escape

from colossus.cli import show  # noqa: F401  (registers its commands)
from colossus.cli import power  # noqa: F401
from colossus.cli import perf  # noqa: F401
from colossus.cli import reliability  # noqa: F401
from colossus.cli import simulate  # noqa: F401
from colossus.cli import sweep  # noqa: F401
from colossus.cli import serve  # noqa: F401
from colossus.cli.app import EXIT_BAD_INPUT, app, err_console
from colossus.errors import ColossusError


def main(argv: list[str] | None = None) -> int:
    """Run the CLI and return its exit code; a ``ColossusError`` becomes one line and code 2.

    Usage errors (unknown option, missing argument) exit with 2 through typer itself.
    """
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="colossus")
    except ColossusError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
