"""``colossus simulate``: the facility over time, with a progress bar, a summary, results and a report."""

from __future__ import annotations

from collections.abc import Callable, Iterator
import contextlib
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus import units
from colossus.cli.app import app, console, interrupted, print_json, within
from colossus.errors import InfeasibleError, SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus.sim import SimResult


@app.command("simulate")
def simulate_cmd(
    scenario_file: Annotated[Path, typer.Argument(help="scenario YAML, e.g. scenarios/colossus-memphis.yaml")],
    days: Annotated[float | None, typer.Option("--days", help="simulated days (default: the scenario's)",
                                               callback=within("Days"))] = None,
    seed: Annotated[int | None, typer.Option("--seed", help="random seed (default: the scenario's)",
                                             callback=within("Seed"))] = None,
    out: Annotated[Path | None, typer.Option("--out", help="results folder (default: runs/<scenario name>)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the summary as one JSON document")] = False,
) -> None:
    """Play the scenario out: build-out, jobs, failures and repairs, power over time; write results and a report.

    The results folder appears only when complete (report included); a second
    run to the same folder while one is writing it is refused.
    """
    from rich.markup import escape  # noqa: PLC0415

    from colossus import api  # noqa: PLC0415
    from colossus.errors import RunInterrupted  # noqa: PLC0415
    from colossus.results import safe_name  # noqa: PLC0415
    from colossus.spec.bounds import telemetry_problem  # noqa: PLC0415

    scenario = api.load(scenario_file)
    if days is not None and (problem := telemetry_problem(days, scenario.simulation.telemetry_interval_min)):
        raise SpecError(problem, path=["--days"])
    out_dir = out if out is not None else Path("runs") / safe_name(scenario.name)
    try:
        with _progress(scenario.name, days if days is not None else scenario.simulation.days, quiet=as_json) as update:
            run = api.simulate(
                scenario,
                days=days,
                seed=seed,
                out=out_dir,
                progress=update,
                base_dir=scenario_file.parent,
                option="--out" if out is not None else None,
            )
    except RunInterrupted as stop:
        interrupted(f"{out_dir}: {stop.left}")
    except SpecError as exc:  # e.g. a workload trace that is missing: say which scenario named it
        raise (exc.located(file=str(scenario_file)) if exc.file is None else exc) from None
    except InfeasibleError as exc:  # e.g. a job whose stated layout cannot run: say which scenario states it
        raise InfeasibleError(f"{scenario_file}: {exc}") from None
    result = run.result
    report_path = Path(run.summary.report_path or out_dir / "report.html")
    if as_json:
        print_json(result.summary)
        return
    _print_summary(result)
    console.print(f"\nReport: [bold]{escape(str(report_path))}[/]  (results: {escape(str(out_dir))}/)",
                  soft_wrap=True)


@contextlib.contextmanager
def _progress(name: str, total_days: float, *, quiet: bool) -> Iterator[Callable[[float], None] | None]:
    """A progress bar on the terminal while the simulation runs (none with ``--json``)."""
    if quiet:
        yield None
        return
    from rich.markup import escape  # noqa: PLC0415
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn  # noqa: PLC0415

    columns = (TextColumn("[bold]simulating[/] {task.description}"), BarColumn(),
               TextColumn("day {task.fields[day]:>6.1f} of {task.fields[of]:g}"), TimeElapsedColumn(),
               TimeRemainingColumn())
    with Progress(*columns, console=console, transient=True) as bar:
        task = bar.add_task(escape(name), total=1.0, day=0.0, of=total_days)

        def update(frac: float) -> None:
            bar.update(task, completed=frac, day=frac * total_days)

        yield update


def _fmt_day(seconds: float | None) -> str:
    return "-" if seconds is None else f"day {seconds / units.DAY:.1f}"


def _print_summary(result: SimResult) -> None:
    from rich.table import Table  # noqa: PLC0415
    s: dict[str, Any] = result.summary
    console.print(f"[bold]{s['scenario']}[/]: {s['days']:g} days, seed {s['seed']}, "
                  f"{s['events_processed']:,} events")
    jobs = Table(title="Named jobs", title_justify="left")
    for col in ("job", "GPUs", "started", "finished", "done", "goodput", "tokens", "restarts", "MWh", "t CO2"):
        jobs.add_column(col, justify="left" if col == "job" else "right", no_wrap=True)
    for j in s["jobs"]:
        jobs.add_row(j["name"], f"{j['num_gpus']:,}", _fmt_day(j["start_s"]), _fmt_day(j["finished_at_s"]),
                     f"{j['progress_frac']:.0%}", "-" if j["goodput"] is None else f"{j['goodput']:.0%}",
                     f"{j['tokens_trained']:.3g}", str(j["restarts"]), f"{j['energy_j'] / units.MWH:,.0f}",
                     f"{j['co2_kg'] / 1000:,.0f}")
    console.print(jobs)
    for j in s["jobs"]:
        if j["layout"]:
            console.print(f"  {j['name']}: {j['layout']}, {j['tokens_per_s'] / 1e6:.2f}M tokens/s", soft_wrap=True)
    power = Table(title="Power by source", title_justify="left")
    for col in ("source", "energy MWh", "mean MW", "peak MW"):
        power.add_column(col, justify="left" if col == "source" else "right")
    p = s["power"]
    for src, e in s["energy_j_by_source"].items():
        power.add_row(src, f"{e / units.MWH:,.0f}", f"{p['mean_w_by_source'][src] / units.MW:.1f}",
                      f"{p['peak_w_by_source'][src] / units.MW:.1f}")
    power.add_row("site demand", f"{s['energy_j']['used'] / units.MWH:,.0f}", f"{p['mean_demand_w'] / units.MW:.1f}",
                  f"{p['peak_demand_w'] / units.MW:.1f}")
    console.print(power)
    g, f, em = s["gpus"], s["fillers"], s["emissions"]
    console.print(f"GPUs: {g['installed_end']:,} of {g['total']:,} installed at the end; "
                  f"mean installed {g['installed_mean']:,.0f}, mean usable {g['usable_mean']:,.0f} (healthy, installed"
                  f" and powered); mean idle {g['idle']:,.0f}, powered off for lack of power {g['powered_off']:,.0f}"
                  f" (most {g['powered_off_max']:,}), capped {g['capped']:,.0f}, parked {g['parked']:,.0f}",
                  soft_wrap=True)
    console.print(f"Power deficit: {s['deficit_hours']:,.1f} h; throughput lost to it "
                  f"{s['throughput_lost_to_deficit_frac']:.1%} of training GPU-time")
    console.print(f"Emissions: {em['co2_kg'] / 1000:,.0f} t CO2, {em['nox_kg'] / 1000:,.1f} t NOx, "
                  f"{em['water_l'] / 1e6:,.1f} ML water")
    c = s["cost"]
    per_m = c["usd_per_million_tokens"]
    console.print(f"Cost: ${c['usd_total'] / 1e6:,.1f} M (power and plant ${c['usd_power'] / 1e6:,.1f} M);"
                  f" ${c['usd_per_gpu_hour']:.2f} per GPU-hour; "
                  + ("-" if per_m is None else f"${per_m:.2f}") + " per million tokens", soft_wrap=True)
    for p in s["dispatch"]["permits"]:
        console.print(f"Permit {p['name']}: " + ("within its limits" if p["compliant"] else "LIMITS EXCEEDED")
                      + f" (NOx {p['most_used_in_a_year']['nox_kg'] / 1000:,.1f} t, starts"
                      f" {p['most_used_in_a_year']['starts']:,.0f} in the worst permit year)", soft_wrap=True)
    fail = s["failures"]
    causes = ", ".join(f"{k} {v}" for k, v in fail["by_cause"].items())
    console.print(f"Failures: {fail['count']:,} ({causes}); {fail['repairs']:,} repairs done")
    if f["submitted"]:
        rep, tr = f["queue_delay"]["replay"], f["queue_delay"]["trace"]
        console.print(f"Filler jobs ({f['source']}): {f['submitted']:,} submitted, {f['started']:,} started, "
                      f"{f['finished']:,} finished, {f['gpu_hours']:,.0f} GPU-hours")
        if rep["count"]:
            console.print(f"  queueing delay p50/p90: {_h(rep['p50_s'])}/{_h(rep['p90_s'])} here vs "
                          f"{_h(tr['p50_s'])}/{_h(tr['p90_s'])} in the trace")


def _h(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / units.HOUR:.2f} h"
