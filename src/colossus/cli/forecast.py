"""``colossus forecast``: will a job finish by a date, with every source of doubt in the answer."""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from pathlib import Path
import time
from typing import Annotated, Any

import typer

from colossus.cli.app import app, console, err_console, interrupted, print_json, within
from colossus.errors import InfeasibleError, SpecError

#: Draws of one forecast (each a facility simulation and a row of the store), and worker processes: bounds
#: looked up when the option is given (``within``), so that the command line starts without the specs.
RUNS_LIMITS = {"ge": 1, "le": 100_000}
WORKERS_LIMITS = {"ge": 1, "le": 1024}
#: Width of a tornado bar in the terminal, characters.
BAR = 28


class BackendName(StrEnum):
    LOCAL = "local"
    RAY = "ray"


BY_HELP = "the date: a day of the scenario (40) or an ISO date (2024-12-31, with the scenario's start_date or --start)"
RUNS_HELP = "draws (each a facility simulation); more runs reuse the stored ones"
SEED_HELP = "seed of the draws (default: the scenario's); the same seed gives the same answer"
DAYS_HELP = "a period of this many days for every draw (default: 1.5 x its own expected finish, longer if need be)"
START_HELP = "ISO date of day 0, for a dated --by (default: the scenario's start_date)"
OUT_HELP = "folder of draws.duckdb, forecast.json and report.html (default: runs/forecast-<scenario name>)"
WORKERS_HELP = "worker processes (local) or CPUs of a new local Ray; default: all cores"
ADDRESS_HELP = "Ray cluster address ('auto': the one running here); without it, a local Ray"


def _start(text: str | None) -> date | None:
    if text is None:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise SpecError(f"--start: must be an ISO date such as 2024-05-02 (got '{text}')") from None


@app.command("forecast")
def forecast_cmd(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML, e.g. scenarios/colossus-memphis.yaml")],
    by: Annotated[str, typer.Option("--by", help=BY_HELP)],
    job: Annotated[str | None, typer.Option("--job", help="job of the scenario (default: its first)")] = None,
    runs: Annotated[int, typer.Option("--runs", help=RUNS_HELP, callback=within("whole", **RUNS_LIMITS))] = 64,
    seed: Annotated[int | None, typer.Option("--seed", help=SEED_HELP, callback=within("Seed"))] = None,
    backend: Annotated[BackendName, typer.Option("--backend", help="local process pool or Ray")] = BackendName.LOCAL,
    address: Annotated[str | None, typer.Option("--address", help=ADDRESS_HELP)] = None,
    workers: Annotated[int | None, typer.Option("--workers", help=WORKERS_HELP,
                                                callback=within("whole", **WORKERS_LIMITS))] = None,
    days: Annotated[float | None, typer.Option("--days", help=DAYS_HELP, callback=within("Days"))] = None,
    start: Annotated[str | None, typer.Option("--start", help=START_HELP)] = None,
    out: Annotated[Path | None, typer.Option("--out", help=OUT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the answer as one JSON document")] = False,
) -> None:
    """Run the facility simulation over many draws of what is uncertain; the probability of finishing by
    the date, the finish-day P10/P50/P90, tokens by the date, and what drives the risk.

    Every draw samples the performance model's measured error, the failure rates' spread between
    published fleets, build-out slip and supply availability (the scenario's forecast: block). Draws
    are stored as they finish, so the same command resumes and more --runs reuse the stored ones.
    """
    from rich.progress import (  # noqa: PLC0415 (rich's progress: loaded when a forecast runs)
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    from colossus.forecast import ForecastInterrupted, forecast  # noqa: PLC0415 (DuckDB, the engine: slow imports)
    from colossus.forecast.runner import by_day_of  # noqa: PLC0415
    from colossus.forecast.store import STORE_NAME, check_folder, default_folder, write_outputs  # noqa: PLC0415
    from colossus.spec import load_scenario  # noqa: PLC0415

    if address is not None and backend is not BackendName.RAY:
        raise SpecError("--address: a cluster address needs --backend ray")
    scenario = load_scenario(scenario_file)
    by_day, _ = by_day_of(by, _start(start) or scenario.start_date, option="--by")
    if days is not None and days < by_day:
        raise SpecError(f"--days: the draws must be simulated at least to the date (day {by_day:g}; got {days:g})")
    if out is not None:
        check_folder(out, option="--out")
    folder = check_folder(out if out is not None else default_folder(scenario.name))
    began = time.perf_counter()
    counts = {"ran": 0}
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True, disable=as_json) as bar:
        task = bar.add_task("forecast", total=None)

        def progress(done: int, total: int) -> None:
            counts["ran"] += 1
            bar.update(task, completed=done, total=total)

        def on_pass(horizon: float, todo: int) -> None:
            bar.update(task, description=f"{todo} draws to day {horizon:g} at most", completed=0, total=todo)

        try:
            result = forecast(scenario, job=job, by_day=by, runs=runs, seed=seed, backend=backend.value,
                              workers=workers, address=address, days=days, store=folder / STORE_NAME,
                              progress=progress, on_pass=on_pass, base_dir=str(scenario_file.resolve().parent),
                              start_date=_start(start))
        except ForecastInterrupted as stop:
            interrupted(f"{stop.stored} finished draws stored in {stop.store}; run the same command again to resume")
        except SpecError as exc:
            raise (exc.located(file=str(scenario_file)) if exc.file is None else exc) from None
        except InfeasibleError as exc:  # e.g. the job's stated layout cannot run: say which scenario states it
            raise InfeasibleError(f"{scenario_file}: {exc}") from None
    paths = write_outputs(result, folder)
    wall_s = time.perf_counter() - began
    if as_json:
        print_json({**result.as_dict(), "report": str(paths["report"])})
        return
    _print(result, paths, ran=counts["ran"], wall_s=wall_s)


def _day(value: float | None) -> str:
    return "beyond the period" if value is None else f"day {value:.1f}"


def _swing(driver: dict[str, Any]) -> str:
    """The swing in days with its chance part (one standard error); 'chance' when within two of them."""
    swing, noise = driver["swing_days"], driver["noise_days"]
    if swing is None:
        return "beyond the period" if driver["swing_beyond_period"] else "-"
    text = f"{swing:.1f} d" + (f" +-{noise:.1f}" if noise is not None else "")
    return text + (" (chance)" if noise is not None and swing < 2 * noise else "")


def _bar(lo: float | None, hi: float | None, left: float, right: float) -> str:
    """The span from ``lo`` to ``hi`` on a ``left``..``right`` scale, as text."""
    if right <= left:
        return ""
    a, b = (right if v is None else v for v in (lo, hi))
    a, b = min(a, b), max(a, b)
    start = int(round((a - left) / (right - left) * (BAR - 1)))
    stop = int(round((b - left) / (right - left) * (BAR - 1)))
    return " " * start + "#" * max(1, stop - start + 1)


def _print(result: Any, paths: dict[str, Path], *, ran: int, wall_s: float) -> None:
    from rich.markup import escape  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415

    d = result.as_dict()
    when = f"day {d['by_day']:g}" + (f" ({d['by_date']})" if d["by_date"] else "")
    console.print(f"[bold]{escape(d['scenario'])}[/]: will [bold]{escape(d['job'])}[/] finish by {when}?"
                  f"  {d['runs']} draws (seed {d['seed']}), {ran} simulated now, {d['runs'] - ran} from the store;"
                  f" {wall_s:.1f} s")
    table = Table(show_header=False, title="Answer", title_justify="left")
    table.add_column("what")
    table.add_column("value", justify="right")
    table.add_row(f"P(finish by {when})", f"{100 * d['p_finish_by']:.0f}% (+-{100 * d['p_finish_by_se']:.0f}%,"
                  " one Monte Carlo standard error)")
    for p in (10, 50, 90):
        table.add_row(f"finish day P{p}", _day(d[f"finish_day_p{p}"]))
    low, high = d["finish_day_p50_band"]
    table.add_row("P50's 90% band (Monte Carlo: more --runs narrow it)", f"{_day(low)} to {_day(high)}")
    table.add_row(f"expected tokens by {when}",
                  f"{d['expected_tokens_by'] / 1e12:,.2f} T of {d['train_tokens'] / 1e12:,.2f} T"
                  f" ({100 * d['expected_progress_by']:.0f}%)")
    table.add_row("job starts (P50)", _day(d["start_day_p50"]))
    table.add_row("expected finish as planned (closed form)", _day(d["nominal_finish_day"]))
    table.add_row("draws finished in their period", f"{100 * d['finished_frac']:.0f}% (periods up to day"
                  f" {d['horizon_day']:g})")
    console.print(table)
    drivers = d["drivers"]
    if drivers:
        days = [v for dr in drivers for v in (dr["p50_low_day"], dr["p50_high_day"]) if v is not None]
        left, right = (min(days), max(days)) if days else (0.0, 1.0)
        tor = Table(title="What drives the risk (P50 finish day with one source held near its P10 / P90)",
                    title_justify="left")
        for name, just in (("source of doubt", "left"), ("at P10", "right"), ("at P90", "right"),
                           ("swing", "right"), ("", "left"), ("what moves it", "left")):
            tor.add_column(name, justify=just)  # type: ignore[arg-type]
        for dr in drivers:
            tor.add_row(dr["label"], _day(dr["p50_low_day"]), _day(dr["p50_high_day"]), _swing(dr),
                        _bar(dr["p50_low_day"], dr["p50_high_day"], left, right), dr["lever"])
        console.print(tor)
    if d["errors"]:
        console.print(f"[yellow]{d['errors']} draws could not run the job:[/] {escape(str(d['first_error']))}")
    console.print("[bold]Leaves out:[/] " + escape("; ".join(d["scope"]["leaves_out"])) + ".")
    console.print(f"report: {escape(str(paths['report']))}; draws: {escape(str(d['store']))} (table runs)")


__all__ = ["forecast_cmd"]
