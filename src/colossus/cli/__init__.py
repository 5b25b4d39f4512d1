"""The ``colossus`` command line: a thin shell over the public API."""

from __future__ import annotations

import sys

from rich.markup import escape

from colossus.cli import show  # noqa: F401  (registers its commands)
from colossus.cli.app import EXIT_BAD_INPUT, app, err_console
from colossus.errors import ColossusError


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: run the app, turning ColossusError into exit code 2."""
    try:
        rc = app(args=argv if argv is not None else sys.argv[1:], standalone_mode=False)
    except ColossusError as exc:
        err_console.print(f"[bold red]error:[/] {escape(str(exc))}", soft_wrap=True)
        return EXIT_BAD_INPUT
    except SystemExit as exc:  # typer.Exit / click exits
        return int(exc.code or 0)
    except Exception as exc:  # click usage errors come through here in non-standalone mode
        import click  # noqa: PLC0415

        if isinstance(exc, click.exceptions.ClickException):
            exc.show()
            return EXIT_BAD_INPUT if isinstance(exc, click.exceptions.UsageError) else exc.exit_code
        if isinstance(exc, click.exceptions.Abort):
            err_console.print("aborted")
            return 1
        raise
    return rc if isinstance(rc, int) else 0


def entry() -> None:
    sys.exit(main())


__all__ = ["app", "main"]
