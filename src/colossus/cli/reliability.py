"""``colossus reliability``: interruptions, checkpointing, restarts, goodput, spares and recovery."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
import math
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus import units
from colossus.cli.app import app, console, print_json, within
from colossus.errors import SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus import reliability as rel
    from colossus.spec import GpuSpec, JobSpec, Scenario

#: Monte Carlo histories per policy for --compare-recovery when --runs is not given.
COMPARE_RUNS = 500
DEFAULT_GPU = "h100-sxm5-80gb"
#: Hot spare servers: at most one per GPU of the largest job.


@app.command()
def reliability(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file")] = None,
    job: Annotated[str | None, typer.Option(help="job of the scenario (default: its first)")] = None,
    fleet: Annotated[str | None, typer.Option(help="fleet profile (default: the scenario's, else the default)")] = None,
    model: Annotated[str | None, typer.Option(help="model preset, without a scenario")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs of the job, without a scenario", callback=within("GpuCount"))]
    = None,
    gpu: Annotated[str | None, typer.Option(help=f"GPU type, without a scenario (default: {DEFAULT_GPU})")] = None,
    days: Annotated[float | None, typer.Option(help="failure-free training days (when no token budget)",
                                               callback=within("Days"))] = None,
    tokens: Annotated[float | None, typer.Option(help="token budget (overrides the scenario's)",
                                                 callback=within("Tokens"))] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="job throughput; default: perf model or --mfu",
                                                       callback=within("PositiveFloat"))] = None,
    mfu: Annotated[float | None, typer.Option(help="MFU for the throughput when perf is not used",
                                              callback=within("Efficiency"))] = None,
    interval_min: Annotated[str | None, typer.Option(
        help="checkpoint interval in minutes, or 'auto' (default: the scenario's, else auto)")] = None,
    blocking: Annotated[bool | None, typer.Option("--blocking/--async", help="checkpoint mode")] = None,
    in_memory: Annotated[bool | None, typer.Option("--in-memory/--storage",
                                                   help="checkpoints to peers' memory (Gemini-style)")] = None,
    restart_profile: Annotated[str | None, typer.Option(help="restart profile (default: the fleet's)")] = None,
    runs: Annotated[int, typer.Option(help="Monte Carlo histories (0: closed form only)",
                                      callback=within("MonteCarloRuns"))] = 0,
    seed: Annotated[int | None, typer.Option(help="seed (default: the scenario's, else 0)",
                                             callback=within("Seed"))] = None,
    deadline: Annotated[str | None, typer.Option(help="days after the start, or an ISO date with --start")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start date, for a dated --deadline")] = None,
    spares: Annotated[int | None, typer.Option(help="hot spare servers (default: sized at the confidence)",
                                               callback=within("whole", ge=0, le="MAX_GPUS"))] = None,
    rate_scale: Annotated[float | None, typer.Option(help="multiply every failure rate (what-if)",
                                                     callback=within("RateScale"))] = None,
    compare_recovery_: Annotated[bool, typer.Option(
        "--compare-recovery", help="compare waiting for repairs, hot spares and elastic restarts")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Failure model per fleet, checkpoint and restart cost, interval, goodput (closed form and
    Monte Carlo), spares, and recovery policies compared."""
    import numpy as np  # noqa: PLC0415

    from colossus import reliability as rel  # noqa: PLC0415
    from colossus.reliability.recovery import compare_recovery  # noqa: PLC0415
    from colossus.reliability.scenario import (
        pick_job,  # noqa: PLC0415
        scope_document,  # noqa: PLC0415
    )
    from colossus.spec import load_scenario  # noqa: PLC0415
    if scenario is not None:
        ignored = [name for name, value in (("--model", model), ("--gpus", gpus), ("--gpu", gpu)) if value is not None]
        if ignored:
            raise SpecError(f"{', '.join(ignored)}: describe a job without a scenario; with a scenario,"
                            " choose its job with --job")
    elif job is not None:
        raise SpecError("--job: names a job of a scenario; give the scenario file too")
    gpu = gpu or DEFAULT_GPU
    if scenario is None and model is None:
        if gpus is None:
            raise SpecError("give a scenario file, or --gpus (with --model for checkpoints and goodput)")
        _rates_only(fleet, gpus, gpu, rate_scale, as_json)
        return
    job_spec: JobSpec | None = None
    spec: Scenario | None = None
    if scenario is not None:
        spec = load_scenario(scenario)
        job_spec = pick_job(spec, job)
        job_input, source = _from_scenario(spec, job_spec, tokens, days, tokens_per_s, mfu)
        job_seed = spec.seed
    else:
        if gpus is None or model is None:
            raise SpecError("give --gpus with --model")
        job_input, source = _from_flags(model, gpus, gpu, tokens, days, tokens_per_s, mfu)
        job_seed = 0
    job_input = _overrides(job_input, fleet=fleet, restart_profile=restart_profile, spec=spec,
                           interval_min=interval_min, blocking=blocking, in_memory=in_memory, spares=spares,
                           rate_scale=rate_scale)
    an = rel.analyse(job_input)
    seed = job_seed if seed is None else seed
    deadline_s = _deadline_s(deadline, start)
    mc = rel.simulate_job(an, num_runs=runs, rng=np.random.default_rng(seed)) if runs else None
    doc = rel.document(an, mc, deadline_s)
    doc["throughput"] = {"tokens_per_s": job_input.tokens_per_s, "source": source}
    doc["scope"] = scope_document(spec, job_spec)
    # the same question, answered whole
    if scenario is not None and deadline is not None and deadline_s is not None and job_spec is not None:
        doc["scope"]["forecast_command"] = _forecast_command(scenario, job_spec.name, deadline, deadline_s,
                                                             doc["scope"].get("earliest_start_s"))
    if compare_recovery_:
        doc["recovery"] = [p.as_dict() for p in compare_recovery(an, num_runs=runs or COMPARE_RUNS, seed=seed)]
    if as_json:
        print_json(doc)
    else:
        _print(an, doc, days)


# --- inputs ------------------------------------------------------------------------


def _positive(value: float, name: str) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise SpecError(f"{name} must be a finite number > 0 (got {value})")
    return value


def _interval_s(text: str) -> float | None:
    """``--interval-min``: minutes, or ``auto`` (None)."""
    from colossus.spec.bounds import CheckpointMinutes  # noqa: PLC0415
    from colossus.spec.loading import check  # noqa: PLC0415
    if text.strip().lower() == "auto":
        return None
    try:
        minutes = float(text)
    except ValueError:
        raise SpecError(f"--interval-min must be minutes or 'auto' (got '{text}')") from None
    return check(CheckpointMinutes, minutes, "--interval-min") * units.MINUTE


def _overrides(job: rel.JobInput, *, fleet: str | None, restart_profile: str | None, spec: Scenario | None,
               interval_min: str | None, blocking: bool | None, in_memory: bool | None, spares: int | None,
               rate_scale: float | None) -> rel.JobInput:
    from colossus import reliability as rel  # noqa: PLC0415
    changes: dict[str, Any] = {"num_spares": spares}
    if fleet is not None:
        rel.fleet(fleet)  # unknown names fail here, with the closest one
        changes["fleet"] = fleet
        scenario_profile = spec.reliability.restart.profile if spec is not None else None
        if scenario_profile is None:  # the new fleet's tooling, with the scenario's phase overrides
            overrides = spec.reliability.restart.overrides() if spec is not None else {}
            changes["restart"] = rel.with_overrides(rel.restart_profile(rel.fleet(fleet).restart), overrides)
    if restart_profile is not None:
        overrides = spec.reliability.restart.overrides() if spec is not None else {}
        changes["restart"] = rel.with_overrides(rel.restart_profile(restart_profile), overrides)
    if rate_scale is not None:
        changes["rate_scale"] = rate_scale
    if interval_min is not None:
        changes["interval_s"] = _interval_s(interval_min)
    if blocking is not None:
        changes["asynchronous"] = not blocking
    if in_memory is not None:
        if in_memory and blocking:
            raise SpecError("--in-memory snapshots asynchronously: it cannot be --blocking")
        changes["in_memory"] = in_memory
        if in_memory:
            changes["asynchronous"] = True
    job = replace(job, **changes)
    rel.mode_of(asynchronous=job.asynchronous, in_memory=job.in_memory)  # --blocking with --in-memory
    return job


def _work_tokens(tokens: float | None, days: float | None, tokens_per_s: float, default: float | None) -> float:
    if tokens is not None:
        return _positive(tokens, "--tokens")
    if days is not None:
        return _positive(days, "--days") * units.DAY * tokens_per_s
    if default is None:
        raise SpecError("give a token budget (--tokens) or failure-free training days (--days)")
    return default


def _throughput(model, gpu: GpuSpec, num_gpus: int, tokens_per_s: float | None,
                mfu: float | None) -> tuple[float, str]:
    """The job's tokens/s and where it came from: given, else at an MFU."""
    from colossus import reliability as rel  # noqa: PLC0415
    if tokens_per_s is not None:
        return _positive(tokens_per_s, "--tokens-per-s"), "--tokens-per-s"
    share = rel.default_assumptions().mfu if mfu is None else mfu
    source = "--mfu" if mfu is not None else "MFU assumption (reliability_assumptions.toml)"
    return rel.tokens_per_s_from_mfu(model, gpu, num_gpus=num_gpus, mfu=share), f"{source} = {share:g}"


def _flag_gpu(gpu: str, num_gpus: int) -> GpuSpec:
    from colossus.spec import lookup  # noqa: PLC0415
    if num_gpus <= 0:
        raise SpecError(f"--gpus must be > 0 (got {num_gpus})")
    return lookup("gpus", gpu)


def _from_flags(model: str, num_gpus: int, gpu: str, tokens, days, tokens_per_s, mfu) -> tuple[rel.JobInput, str]:
    from colossus import reliability as rel  # noqa: PLC0415
    from colossus.spec import lookup  # noqa: PLC0415
    model_spec = lookup("models", model)
    gpu_spec = _flag_gpu(gpu, num_gpus)
    rate, source = _throughput(model_spec, gpu_spec, num_gpus, tokens_per_s, mfu)
    job_input = rel.JobInput(
        model=model_spec, num_gpus=num_gpus, gpus_per_server=8, fabric=rel.default_fabric(),
        tokens_per_s=rate, train_tokens=_work_tokens(tokens, days, rate, None), gpu_arch=gpu_spec.architecture,
    )
    return job_input, source


def _from_scenario(spec: Scenario, j: JobSpec, tokens, days, tokens_per_s, mfu) -> tuple[rel.JobInput, str]:
    from colossus.reliability.scenario import scenario_job_input  # noqa: PLC0415
    if tokens_per_s is not None:
        tokens_per_s = _positive(tokens_per_s, "--tokens-per-s")
    job_input, source = scenario_job_input(spec, j, tokens_per_s=tokens_per_s, mfu=mfu)
    if tokens_per_s is not None:
        source = "--tokens-per-s"
    elif mfu is not None:
        source = source.replace("given MFU", "--mfu")
    budget = _work_tokens(tokens, days, job_input.tokens_per_s, None if days is not None else j.train_tokens)
    return replace(job_input, train_tokens=budget), source


def _rates_only(fleet: str | None, num_gpus: int, gpu: str, rate_scale: float | None, as_json: bool) -> None:
    """``--fleet NAME --gpus N --gpu G``: the failure model alone (no model, no checkpoints)."""
    from colossus import reliability as rel  # noqa: PLC0415
    gpu_spec = _flag_gpu(gpu, num_gpus)
    name = fleet or rel.default_fleet_name()
    f = rel.fleet(name)
    fp = rel.reference_footprint(num_gpus)
    causes = rel.fleet_causes(name, rate_scale=1.0 if rate_scale is None else rate_scale,
                              arch=gpu_spec.architecture)
    doc = rel.rates_document(name, fp, rel.job_rates(fp, causes))
    doc["gpu"] = gpu_spec.name
    doc["fleet_source"] = {"source": f.source, "record": f.record, "measured_on": f.gpu}
    if as_json:
        print_json(doc)
        return
    console.print(f"[bold]{num_gpus:,} x {gpu_spec.name}[/], fleet [bold]{name}[/] ({f.source})")
    _print_rates(doc, None)


def _forecast_command(scenario: Path, job: str, deadline: str, deadline_s: float, start_s: float | None) -> str:
    """The ``colossus forecast`` command for this deadline: it counts from day 0 of the scenario, this one from
    the job's start, so a deadline in days moves by the earliest start the build-out allows."""
    try:
        float(deadline)
    except ValueError:  # an ISO date: the forecast needs the date of the scenario's day 0 (start_date or --start)
        return f"colossus forecast {scenario} --job {job} --by {deadline} (with the scenario's start_date or --start)"
    by_day = (deadline_s + (start_s or 0.0)) / units.DAY
    return f"colossus forecast {scenario} --job {job} --by {by_day:.1f}" + (
        f" (day {start_s / units.DAY:.1f}, the earliest start, plus {deadline_s / units.DAY:g} days)"
        if start_s else "")


def _deadline_s(deadline: str | None, start: str | None) -> float | None:
    from colossus.spec.bounds import Days  # noqa: PLC0415
    from colossus.spec.loading import check  # noqa: PLC0415
    if deadline is None:
        return None
    try:
        number = float(deadline)
    except ValueError:
        pass
    else:
        return check(Days, number, "--deadline") * units.DAY
    try:
        end = date.fromisoformat(deadline)
    except ValueError:
        raise SpecError(f"--deadline must be days or an ISO date (got '{deadline}')") from None
    if start is None:
        raise SpecError("a dated --deadline needs --start (an ISO date)")
    try:
        begin = date.fromisoformat(start)
    except ValueError:
        raise SpecError(f"--start must be an ISO date (got '{start}')") from None
    return check(Days, float((end - begin).days), "--deadline (days after --start)") * units.DAY


# --- rendering ---------------------------------------------------------------------


def _days(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / units.DAY:,.2f}"


def _hours(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / units.HOUR:,.2f} h"


def _print_rates(doc: dict[str, Any], span_days: float | None) -> None:
    from rich.table import Table  # noqa: PLC0415
    title = f"1. Failure model (fleet {doc['fleet']}, scaled to this job)"
    causes = Table(title=title, title_justify="left")
    cols = ["cause", "per day"] + ([f"in {span_days:,.1f} days"] if span_days else [])
    for col in cols:
        causes.add_column(col, justify="left" if col == "cause" else "right")
    for cause, per_day in doc["by_cause_per_day"].items():
        causes.add_row(cause, f"{per_day:.3f}", *([f"{per_day * span_days:,.1f}"] if span_days else []))
    total = doc["interruptions_per_day"]
    causes.add_row("total", f"{total:.3f}", *([f"{total * span_days:,.1f}"] if span_days else []), style="bold")
    console.print(causes)
    console.print(f"mean time to interruption (all): {_hours(doc['mtti_s'])}; to an unexpected one:"
                  f" {_hours(doc['mttf_unplanned_s'])}; hardware share of unexpected:"
                  f" {doc['hardware_share_of_unplanned']:.0%}")


def _print(an: rel.Analysis, doc: dict[str, Any], days: float | None) -> None:
    job = an.job
    console.print(f"[bold]{job.model.name}[/] on {job.num_gpus:,} GPUs ({an.footprint.num_servers:,} servers,"
                  f" {an.footprint.num_racks:,} racks, {an.footprint.num_switches:,} switches);"
                  f" {job.tokens_per_s:,.0f} tokens/s")
    console.print(f"throughput from: {doc['throughput']['source']}")
    _print_rates(doc, days if days is not None else an.work_s / units.DAY)
    _print_checkpoint(doc)
    _print_goodput(doc)
    if "recovery" in doc:
        _print_recovery(doc["recovery"])
    scope = doc["scope"]
    console.print(f"[bold]Leaves out:[/] {', '.join(scope['leaves_out'])}. Times count from the job's start.")
    if "note" in scope:
        console.print(f"[bold]Note:[/] {scope['note']}.")
    console.print(scope["forecast"] + ".")
    if "forecast_command" in scope:
        from rich.markup import escape  # noqa: PLC0415
        console.print(f"[bold]For this deadline with build-out, power and every source of doubt:[/]"
                      f" {escape(scope['forecast_command'])}")


def _print_checkpoint(doc: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415
    c, r = doc["checkpoint"], doc["restart"]
    t = Table(title="2. Checkpointing and restart", title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    mode = {"blocking": "blocking", "async": "asynchronous (snapshot to host)",
            "in_memory": "in memory (replicas on peers)"}[c["mode"]]
    used = _minutes(c["interval_s"]) + (" (auto)" if c["interval_is_auto"] else "")
    rows = [
        ("size (TB)", f"{c['size_bytes'] / units.TB:,.2f}"), ("mode", mode),
        ("write to storage (s)", f"{c['write_s']:,.1f}"), ("training stall (s)", f"{c['stall_s']:,.1f}"),
        ("restart: detect / schedule / start (s)",
         f"{r['detect_s']:,.0f} / {r['schedule_s']:,.0f} / {r['process_start_s']:,.0f}"),
        ("restart: collective init / load / warm-up (s)",
         f"{r['collective_init_s']:,.0f} / {r['load_s']:,.1f} / {r['warmup_s']:,.0f}"),
        ("restart in total (min)", f"{r['total_s'] / units.MINUTE:,.1f}"),
        ("optimal interval, Young/Daly (min)", _minutes(c["optimal_interval_s"])),
        ("interval used (min)", used),
        ("ETTR at used / optimal interval",
         f"{doc['goodput']['ettr']:.3f} / {doc['goodput']['ettr_at_optimal_interval']:.3f}"),
    ]
    for what, value in rows:
        t.add_row(what, value)
    console.print(t)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / units.MINUTE:,.1f}"


def _print_goodput(doc: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415
    g, s = doc["goodput"], doc["spares"]
    t = Table(title="3. Goodput and 4. spares", title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("effective training time ratio", f"{g['ettr']:.1%}")
    t.add_row("failure-free training (days)", _days(g["work_s"]))
    t.add_row("expected finish after the job starts, closed form (days)", _days(g["expected_finish_s"]))
    mc = doc.get("monte_carlo")
    if mc:
        t.add_row(f"finish P10 / P50 / P90, {mc['runs']:,} runs (days)",
                  f"{_days(mc['finish_s_p10'])} / {_days(mc['finish_s_p50'])} / {_days(mc['finish_s_p90'])}")
        t.add_row("mean time waiting for repairs (h)", f"{mc['spare_wait_s_mean'] / units.HOUR:,.2f}")
        if "p_by_deadline" in mc:
            t.add_row(f"P(finish by day {mc['deadline_s'] / units.DAY:,.1f} of the job)", f"{mc['p_by_deadline']:.1%}")
    t.add_row(f"hot spare servers for {s['confidence']:.0%} of failures", f"{s['recommended']:,}")
    t.add_row("servers in repair on average", f"{s['mean_in_repair_servers']:,.1f}")
    console.print(t)


def _print_recovery(rows: list[dict[str, Any]]) -> None:
    from rich.table import Table  # noqa: PLC0415
    t = Table(title="5. Recovery policies (Monte Carlo, same seed)", title_justify="left")
    for col in ("policy", "spares", "goodput", "finish mean (days)", "P50 / P90 (days)", "waiting (h)"):
        t.add_column(col, justify="left" if col == "policy" else "right")
    for r in rows:
        t.add_row(r["policy"], f"{r['num_spares']:,}", f"{r['goodput']:.1%}", _days(r["finish_s_mean"]),
                  f"{_days(r['finish_s_p50'])} / {_days(r['finish_s_p90'])}", f"{r['wait_s_mean'] / units.HOUR:,.1f}")
    console.print(t)

