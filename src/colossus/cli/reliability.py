"""``colossus reliability``: interruptions, checkpointing, goodput and spares of a job."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
import math
from pathlib import Path
from typing import Annotated, Any

import numpy as np
from rich.table import Table
import typer

from colossus import reliability as rel
from colossus.reliability.scenario import pick_job, scenario_job_input
from colossus import units
from colossus.cli.app import app, console, print_json, within
from colossus.errors import ColossusError, SpecError
from colossus.spec import GpuSpec, Scenario, load_scenario, lookup
from colossus.spec.bounds import (
    MAX_GPUS,
    CheckpointMinutes,
    Days,
    Efficiency,
    GpuCount,
    MonteCarloRuns,
    PositiveFloat,
    RateScale,
    Seed,
    Tokens,
    whole,
)
from colossus.spec.loading import check

DEFAULT_GPU = "h100-sxm5-80gb"
#: Hot spare servers: at most one per GPU of the largest job.
SPARES = whole(ge=0, le=MAX_GPUS)


@app.command()
def reliability(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file")] = None,
    job: Annotated[str | None, typer.Option(help="job of the scenario (default: its first)")] = None,
    model: Annotated[str | None, typer.Option(help="model preset, without a scenario")] = None,
    gpus: Annotated[int | None, typer.Option(help="GPUs of the job, without a scenario", callback=within(GpuCount))]
    = None,
    gpu: Annotated[str | None, typer.Option(help=f"GPU type, without a scenario (default: {DEFAULT_GPU})")] = None,
    days: Annotated[float | None, typer.Option(help="failure-free training days (when no token budget)",
                                               callback=within(Days))] = None,
    tokens: Annotated[float | None, typer.Option(help="token budget (overrides the scenario's)",
                                                 callback=within(Tokens))] = None,
    tokens_per_s: Annotated[float | None, typer.Option(help="job throughput; default: perf model or --mfu",
                                                       callback=within(PositiveFloat))] = None,
    mfu: Annotated[float | None, typer.Option(help="MFU for the throughput when perf is not used",
                                              callback=within(Efficiency))] = None,
    interval_min: Annotated[float | None, typer.Option(help="checkpoint interval (default: scenario, else optimum)",
                                                       callback=within(CheckpointMinutes))] = None,
    blocking: Annotated[bool | None, typer.Option("--blocking/--async", help="checkpoint mode")] = None,
    runs: Annotated[int, typer.Option(help="Monte Carlo histories (0: closed form only)",
                                      callback=within(MonteCarloRuns))] = 0,
    seed: Annotated[int | None, typer.Option(help="seed (default: the scenario's, else 0)",
                                             callback=within(Seed))] = None,
    deadline: Annotated[str | None, typer.Option(help="days after the start, or an ISO date with --start")] = None,
    start: Annotated[str | None, typer.Option(help="ISO start date, for a dated --deadline")] = None,
    spares: Annotated[int | None, typer.Option(help="hot spare servers (default: sized at the confidence)",
                                               callback=within(SPARES))] = None,
    rate_scale: Annotated[float, typer.Option(help="multiply every failure rate (what-if)",
                                              callback=within(RateScale))] = 1.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Failure model, checkpoint cost and interval, goodput (closed form and Monte Carlo), spares."""
    if scenario is not None:
        ignored = [name for name, value in (("--model", model), ("--gpus", gpus), ("--gpu", gpu)) if value is not None]
        if ignored:
            raise SpecError(f"{', '.join(ignored)}: describe a job without a scenario; with a scenario,"
                            " choose its job with --job")
        spec = load_scenario(scenario)
        job_input, source = _from_scenario(spec, job, tokens, days, tokens_per_s, mfu)
        job_seed = spec.seed
    else:
        if job is not None:
            raise SpecError("--job: names a job of a scenario; give the scenario file too")
        if model is None or gpus is None:
            raise SpecError("give a scenario file, or --model and --gpus")
        job_input, source = _from_flags(model, gpus, gpu or DEFAULT_GPU, tokens, days, tokens_per_s, mfu)
        job_seed = 0
    overrides: dict[str, Any] = {"rate_scale": rate_scale, "num_spares": spares}
    if interval_min is not None:
        overrides["interval_s"] = interval_min * units.MINUTE
    if blocking is not None:
        overrides["asynchronous"] = not blocking
    job_input = _replace(job_input, **overrides)
    an = rel.analyse(job_input)
    deadline_s = _deadline_s(deadline, start)
    mc = None
    if runs:
        mc = rel.simulate_job(an, num_runs=runs, rng=np.random.default_rng(job_seed if seed is None else seed))
    doc = rel.document(an, mc, deadline_s)
    doc["throughput"] = {"tokens_per_s": job_input.tokens_per_s, "source": source}
    if as_json:
        print_json(doc)
    else:
        _print(an, doc, days)


# --- inputs ------------------------------------------------------------------------


def _replace(job: rel.JobInput, **changes: Any) -> rel.JobInput:
    return replace(job, **changes)


def _positive(value: float, name: str) -> float:
    if not (value > 0 and math.isfinite(value)):
        raise SpecError(f"{name} must be a finite number > 0 (got {value})")
    return value


def _work_tokens(tokens: float | None, days: float | None, tokens_per_s: float, default: float | None) -> float:
    if tokens is not None:
        return _positive(tokens, "--tokens")
    if days is not None:
        return _positive(days, "--days") * units.DAY * tokens_per_s
    if default is None:
        raise SpecError("give a token budget (--tokens) or failure-free training days (--days)")
    return default


def _throughput(model, gpu: GpuSpec, num_gpus: int, tokens_per_s: float | None,
                mfu: float | None, perf: Any = None) -> tuple[float, str]:
    """The job's tokens/s and where it came from: given; else the perf model; else at an MFU.

    ``perf`` is a zero-argument callable returning a ``JobPerf`` (scenario jobs), or None.
    """
    if tokens_per_s is not None:
        return _positive(tokens_per_s, "--tokens-per-s"), "--tokens-per-s"
    note = ""
    if perf is not None and mfu is None:
        try:
            found = perf()
        except ColossusError as exc:
            note = f" (perf could not estimate the job: {exc})"
        else:
            how = "planner's best layout" if found.planned else "job's layout"
            return found.tokens_per_s, f"perf model, {how}: {found.estimate.layout.label}"
    share = rel.default_assumptions().mfu if mfu is None else mfu
    source = "--mfu" if mfu is not None else "MFU assumption (reliability_assumptions.toml)"
    return rel.tokens_per_s_from_mfu(model, gpu, num_gpus=num_gpus, mfu=share), f"{source} = {share:g}{note}"


def _from_flags(model: str, num_gpus: int, gpu: str, tokens, days, tokens_per_s, mfu) -> rel.JobInput:
    model_spec, gpu_spec = lookup("models", model), lookup("gpus", gpu)
    if num_gpus <= 0:
        raise SpecError(f"--gpus must be > 0 (got {num_gpus})")
    rate, source = _throughput(model_spec, gpu_spec, num_gpus, tokens_per_s, mfu)
    job_input = rel.JobInput(
        model=model_spec, num_gpus=num_gpus, gpus_per_server=8, fabric=rel.default_fabric(),
        tokens_per_s=rate, train_tokens=_work_tokens(tokens, days, rate, None),
    )
    return job_input, source


def _from_scenario(spec: Scenario, name: str | None, tokens, days, tokens_per_s, mfu) -> tuple[rel.JobInput, str]:
    j = pick_job(spec, name)
    if tokens_per_s is not None:
        tokens_per_s = _positive(tokens_per_s, "--tokens-per-s")
    job_input, source = scenario_job_input(spec, j, tokens_per_s=tokens_per_s, mfu=mfu)
    if tokens_per_s is not None:
        source = "--tokens-per-s"
    elif mfu is not None:
        source = source.replace("given MFU", "--mfu")
    budget = _work_tokens(tokens, days, job_input.tokens_per_s, None if days is not None else j.train_tokens)
    return replace(job_input, train_tokens=budget), source


def _deadline_s(deadline: str | None, start: str | None) -> float | None:
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


def _print(an: rel.Analysis, doc: dict[str, Any], days: float | None) -> None:
    job = an.job
    console.print(f"[bold]{job.model.name}[/] on {job.num_gpus:,} GPUs ({an.footprint.num_servers:,} servers,"
                  f" {an.footprint.num_switches:,} switches); {job.tokens_per_s:,.0f} tokens/s")
    console.print(f"throughput from: {doc['throughput']['source']}")
    span = days if days is not None else an.work_s / units.DAY
    causes = Table(title="1. Failure model (rates from Llama 3's log, scaled to this job)", title_justify="left")
    for col in ("cause", "per day", f"in {span:,.1f} days"):
        causes.add_column(col, justify="left" if col == "cause" else "right")
    for cause, per_day in doc["by_cause"].items():
        causes.add_row(cause, f"{per_day:.3f}", f"{per_day * span:,.1f}")
    causes.add_row("total", f"{doc['interruptions_per_day']:.3f}", f"{doc['interruptions_per_day'] * span:,.1f}",
                   style="bold")
    console.print(causes)
    mtti = doc["mtti_s"]
    console.print(f"mean time to interruption: {'-' if mtti is None else f'{mtti / units.HOUR:.2f} h'};"
                  f" hardware share of unexpected: {doc['hardware_share_of_unplanned']:.0%}")
    _print_checkpoint(an, doc)
    _print_goodput(doc)


def _print_checkpoint(an: rel.Analysis, doc: dict[str, Any]) -> None:
    c = doc["checkpoint"]
    t = Table(title="2. Checkpointing", title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    mode = "asynchronous (snapshot to host)" if c["asynchronous"] else "blocking"
    rows = [
        ("size (TB)", f"{c['size_bytes'] / units.TB:,.2f}"), ("mode", mode),
        ("write to storage (s)", f"{c['write_s']:,.1f}"), ("training stall (s)", f"{c['stall_s']:,.1f}"),
        ("restart: detect+drain+reschedule+load+warm-up (min)", f"{c['restart_s'] / units.MINUTE:,.1f}"),
        ("optimal interval, Young/Daly (min)", _minutes(c["optimal_interval_s"])),
        ("interval used (min)", _minutes(c["interval_s"])),
        ("ETTR at used / optimal interval", f"{doc['goodput']['ettr']:.3f} / {doc['goodput']['ettr_at_optimal_interval']:.3f}"),
    ]
    for what, value in rows:
        t.add_row(what, value)
    console.print(t)


def _minutes(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds / units.MINUTE:,.1f}"


def _print_goodput(doc: dict[str, Any]) -> None:
    g, s = doc["goodput"], doc["spares"]
    t = Table(title="3. Goodput and 4. spares", title_justify="left", show_header=False)
    t.add_column("what")
    t.add_column("value", justify="right")
    t.add_row("effective training time ratio", f"{g['ettr']:.1%}")
    t.add_row("failure-free training (days)", _days(g["work_s"]))
    t.add_row("expected finish, closed form (days)", _days(g["expected_finish_s"]))
    mc = doc.get("monte_carlo")
    if mc:
        t.add_row(f"finish P10 / P50 / P90, {mc['runs']:,} runs (days)",
                  f"{_days(mc['finish_s_p10'])} / {_days(mc['finish_s_p50'])} / {_days(mc['finish_s_p90'])}")
        t.add_row("mean time waiting for repairs (h)", f"{mc['spare_wait_s_mean'] / units.HOUR:,.2f}")
        if "p_by_deadline" in mc:
            t.add_row(f"P(finish by day {mc['deadline_s'] / units.DAY:,.1f})", f"{mc['p_by_deadline']:.1%}")
    t.add_row(f"hot spare servers for {s['confidence']:.0%} of failures", f"{s['recommended']:,}")
    t.add_row("servers in repair on average", f"{s['mean_in_repair_servers']:,.1f}")
    console.print(t)
