"""``colossus sweep``: many runs of a scenario, on this machine or a Ray cluster, into one DuckDB table."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus.cli.app import EXIT_INTERRUPTED, app, console, err_console, interrupted, print_json, within
from colossus.errors import SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus.sweep import RunStore, SweepOutcome

#: The sweep's store in its folder (the dashboard looks for this name).
STORE_NAME = "sweep.duckdb"
#: Seeds per point, and worker processes (more than a machine's cores only queue).
#: Points listed in the human summary; the rest are in the store.
MAX_POINTS_SHOWN = 40


class RunKind(StrEnum):
    AUTO = "auto"
    ESTIMATE = "estimate"
    SIMULATE = "simulate"


class BackendName(StrEnum):
    LOCAL = "local"
    RAY = "ray"


VARY_HELP = (
    "PATH=VALUES, repeatable. PATH: a dotted scenario path, may start below the root and use list item"
    " names (supply.generators.count, jobs.grok2.gpus; 'gpus' = num_gpus). VALUES: start:stop:step"
    " (stop included when on the grid) or a comma list (10000,20000 or h100-sxm5-80gb,h200-sxm-141gb)."
)
SEEDS_HELP = "runs per point; run i uses the scenario's seed + i"
KIND_HELP = ("estimate (the perf model; deterministic: one run per point) or simulate (the facility over time);"
             " auto: estimate when only cluster and job fields vary, else simulate")
DAYS_HELP = "simulated days (simulate only; default: the scenario's simulation.days)"
ADDRESS_HELP = "Ray cluster address ('auto': the one running here); without it, a local Ray"
WORKERS_HELP = "worker processes (local) or CPUs of a new local Ray; default: all cores"
OUT_HELP = ("folder of sweep.duckdb and the plot (default: runs/sweep-<scenario name>-<8 hex naming the varied"
            " fields, values, kind and days>, so each sweep has its own store and the same command resumes)")


@app.command("sweep")
def sweep_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML")],
    vary: Annotated[list[str], typer.Option("--vary", help=VARY_HELP, metavar="PATH=VALUES")],
    seeds: Annotated[
        int, typer.Option("--seeds", help=SEEDS_HELP, callback=within("whole", ge=1, le="MAX_SWEEP_RUNS"))
    ] = 1,
    kind: Annotated[RunKind, typer.Option("--kind", help=KIND_HELP)] = RunKind.AUTO,
    days: Annotated[float | None, typer.Option("--days", help=DAYS_HELP, callback=within("Days"))] = None,
    backend: Annotated[BackendName, typer.Option("--backend", help="local process pool or Ray")] = BackendName.LOCAL,
    address: Annotated[str | None, typer.Option("--address", help=ADDRESS_HELP)] = None,
    workers: Annotated[
        int | None, typer.Option("--workers", help=WORKERS_HELP, callback=within("whole", ge=1, le=1024))
    ] = None,
    out: Annotated[Path | None, typer.Option("--out", help=OUT_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Run the cartesian product of the varied fields times the seeds; store every run; plot the main output.

    Every point is validated before anything runs. Runs already in the store
    (same scenario content, seed, kind and days) are skipped, so an
    interrupted sweep resumes where it stopped.
    """
    from colossus.results import (
        check_out_dir,  # noqa: PLC0415
        safe_name,  # noqa: PLC0415
    )
    from colossus.sweep import (
        RunStore,  # noqa: PLC0415
        SweepInterrupted,  # noqa: PLC0415
        make_backend,  # noqa: PLC0415
        plan_sweep,  # noqa: PLC0415
    )
    if address is not None and backend is not BackendName.RAY:
        raise SpecError("--address: a cluster address needs --backend ray")
    if out is not None:
        check_out_dir(out, option="--out", kind="a sweep")
    plan = plan_sweep(scenario, vary, seeds=seeds, kind=kind.value, days=days)
    if plan.kind == "estimate" and seeds > 1:  # deterministic: one run per point, whatever --seeds says
        err_console.print(f"note: an estimate does not depend on the seed: one run per point, not {seeds}")
        plan = plan_sweep(scenario, vary, seeds=1, kind=plan.kind, days=days)
    folder = out if out is not None else Path("runs") / f"sweep-{safe_name(plan.scenario)}-{plan.identity}"
    folder = check_out_dir(folder, kind="a sweep")
    if folder.is_dir() and any(folder.iterdir()) and not (folder / STORE_NAME).is_file():
        raise SpecError(f"--out: {folder} holds other files and no {STORE_NAME}; give a sweep a folder of its own")
    runner = make_backend(backend.value, workers=workers, address=address)
    with RunStore(folder / STORE_NAME) as store:
        try:
            outcome = _run_with_progress(plan, store, runner, plot_path=folder / f"sweep-{plan.kind}.html")
        except SweepInterrupted as stop:
            interrupted(f"{stop.stored} finished runs of this sweep stored ({stop.total_in_store} in"
                        f" {store.path}); run the same command again to resume")
        except KeyboardInterrupt:
            interrupted(f"{store.count()} runs are stored in {store.path}; run the same command again to resume")
    if as_json:
        print_json(_document(outcome))
    else:
        _print_outcome(outcome)


def _run_with_progress(plan: Any, store: RunStore, runner: Any, *, plot_path: Path) -> SweepOutcome:
    from rich.progress import (
        BarColumn,  # noqa: PLC0415
        MofNCompleteColumn,  # noqa: PLC0415
        Progress,  # noqa: PLC0415
        TextColumn,  # noqa: PLC0415
        TimeElapsedColumn,  # noqa: PLC0415
        TimeRemainingColumn,  # noqa: PLC0415
    )

    from colossus.sweep import run_sweep  # noqa: PLC0415
    columns = (TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
               TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn())
    with Progress(*columns, console=err_console, transient=True) as bar:
        task = bar.add_task(f"{plan.kind} sweep on {runner.name}", total=None)

        def progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        return run_sweep(plan, store, runner, progress=progress, plot_path=plot_path)


def _document(outcome: SweepOutcome) -> dict[str, Any]:
    plan = outcome.plan
    return {
        "scenario": plan.scenario, "kind": plan.kind, "backend": outcome.backend,
        "store": str(outcome.store_path), "table": "runs",
        "plot": None if outcome.plot_path is None else str(outcome.plot_path),
        "varied": {target.column: list(v.values) for v, target in plan.varied},
        "seeds": plan.seeds, "runs": plan.num_runs, "ran": outcome.ran, "skipped": outcome.skipped,
        "errors": outcome.num_errors, "wall_s": outcome.wall_s, "runs_per_s": outcome.runs_per_s,
        "main_output": outcome.main, "points": outcome.points(),
    }


def _print_outcome(outcome: SweepOutcome) -> None:
    from rich.markup import escape  # noqa: PLC0415
    from rich.table import (
        Column,  # noqa: PLC0415
        Table,  # noqa: PLC0415
    )
    plan = outcome.plan
    rate = f", {outcome.runs_per_s:.2f} runs/s" if outcome.runs_per_s else ""
    console.print(
        f"[bold]{escape(plan.scenario)}[/]: {plan.kind} sweep, {len(plan.points)} points x {plan.seeds} seed(s)"
        f" = {plan.num_runs} runs: ran {outcome.ran} on {outcome.backend} in {outcome.wall_s:.1f} s{rate};"
        f" {outcome.skipped} already stored; {outcome.num_errors} infeasible"
    )
    headers = [*plan.columns, f"{outcome.main} mean", "std", "n", "note"]
    table = Table(*(Column(escape(h), overflow="fold") for h in headers))
    points = outcome.points()
    for point in points[:MAX_POINTS_SHOWN]:
        mean, std = point["mean"], point["std"]
        note = escape(f"{point['errors']} infeasible: {point['error']}") if point["errors"] else ""
        table.add_row(*(escape(str(point["inputs"][c])) for c in plan.columns),
                      "-" if mean is None else f"{mean:.4g}", "-" if std is None else f"{std:.3g}",
                      str(point["n"]), note)
    console.print(table)
    if len(points) > MAX_POINTS_SHOWN:
        console.print(f"... {len(points) - MAX_POINTS_SHOWN} more points: query the store")
    console.print(f"store: {escape(str(outcome.store_path))} (table runs)")
    if outcome.plot_path is not None:
        console.print(f"plot: {escape(str(outcome.plot_path))}")


__all__ = ["EXIT_INTERRUPTED", "sweep_cmd"]
