"""``colossus estimate | plan | validate``: the training performance model from the command line."""

from __future__ import annotations

from collections.abc import Iterable
import math
from pathlib import Path
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus import units
from colossus.cli.app import app, console, print_json, within
from colossus.errors import SpecError
from colossus.vocab import Precision

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus.perf import Case, Estimate, Plan, Validation
    from colossus.perf.assumptions import PerfAssumptions
    from colossus.spec import RunSpec, SoftwareSpec

#: Counts take decimal SI prefixes (15T tokens = 15e12; B for billion, as model sizes are quoted).
#: A batch quoted in binary multiples says so with an IEC prefix: 16Mi = 2**24 = 2048 x 8192 tokens.
COUNT_PREFIXES = {"": 1, "K": 1e3, "M": 1e6, "G": 1e9, "B": 1e9, "T": 1e12,
                  "KI": 2**10, "MI": 2**20, "GI": 2**30, "TI": 2**40}
DEFAULT_TRAIN_TOKENS = 1e12


def parse_count(text: str, *, option: str) -> float:
    """A count as written: ``15T`` -> 15e12, ``4.2e6``, ``16Mi`` -> 16 x 2**20 (IEC, binary)."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGBT]I?)?\s*", text.upper())
    if not match or match.group(2) in ("BI",):
        raise SpecError(f"{option}: '{text}' is not a count (e.g. 15T = 15e12, 4.2e6, 16Mi = 16 x 2^20)")
    return float(match.group(1)) * COUNT_PREFIXES[match.group(2) or ""]


def parse_tokens(text: str, *, option: str) -> float:
    """A token count (``parse_count``) within ``spec.bounds.Tokens``."""
    from colossus.spec.bounds import Tokens  # noqa: PLC0415
    from colossus.spec.loading import check  # noqa: PLC0415
    return check(Tokens, parse_count(text, option=option), option)


SOFTWARE_HELP = "software profile (colossus show --catalog), e.g. torchtitan-compile, megatron-core-2025"
POWER_HELP = "GPU power limit in W, below the TDP (the power-cap curve sets the compute speed)"


SOFTWARE_SET_HELP = ("a software field NAME=VALUE over the profile or the run's own block (repeatable), e.g."
                     " pipeline_schedule=dualpipe, cp_comm_type=all_gather, ep_dispatcher=deepep,"
                     " ep_comm_overlap=true, expert_routing=dropless, optimizer_moments_dtype=bf16")


def _software_fields(pairs: list[str] | None) -> dict[str, str]:
    """``--software-set NAME=VALUE`` pairs as a mapping (values validated with the block they join)."""
    fields: dict[str, str] = {}
    for pair in pairs or ():
        name, sep, value = pair.partition("=")
        if not sep or not name.strip() or not value.strip():
            raise SpecError(f"--software-set: expected NAME=VALUE, got '{pair}'")
        fields[name.strip()] = value.strip()
    return fields


def _software(name: str | None, fields: dict[str, str] | None = None,
              base: SoftwareSpec | None = None) -> SoftwareSpec | None:
    """The stack the command line asks for: a profile by name (in place of ``base``), and single fields over it."""
    from colossus.spec import (
        SoftwareSpec,  # noqa: PLC0415
        lookup,  # noqa: PLC0415
    )
    from colossus.spec.loading import validate  # noqa: PLC0415
    if name is not None:
        lookup("software", name)  # a misspelt name fails here, with the closest one
        base = SoftwareSpec(profile=name)
    if not fields:
        return base
    doc = base.model_dump(mode="json", exclude_unset=True) if base is not None else {}
    return validate(SoftwareSpec, {**doc, **fields}, file="--software-set")


ASSUME_HELP = ("a performance assumption NAME=VALUE by dotted path (repeatable; catalog/data/perf_*.toml names each"
               " with its source), e.g. network.nccl.net_busbw_eff=0.8")


SOFTWARE_SET_OPTION = typer.Option("--software-set", help=SOFTWARE_SET_HELP, metavar="NAME=VALUE")
ASSUME_OPTION = typer.Option("--assume", help=ASSUME_HELP, metavar="NAME=VALUE")


def _assumptions(pairs: list[str] | None, base: PerfAssumptions | None = None,
                 ) -> tuple[PerfAssumptions | None, dict[str, object]]:
    """``--assume NAME=VALUE`` pairs over ``base`` (default: the shipped assumptions), and what they set;
    ``base`` itself (None: the shipped ones) when there are none."""
    if not pairs:
        return base, {}
    from colossus.perf.assumptions import default_assumptions  # noqa: PLC0415
    base = base or default_assumptions()
    values: dict[str, object] = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        name, text = name.strip(), text.strip()
        if not sep or not name or not text:
            raise SpecError(f"--assume: expected NAME=VALUE, got '{pair}'")
        try:
            old = base.get(name)
        except SpecError as exc:
            raise SpecError(f"--assume: {exc}") from None
        values[name] = _assumed_value(name, old, text)
    try:
        return base.with_checked_overrides(values), values
    except SpecError as exc:
        raise SpecError(f"--assume: {exc}") from None


def _assumed_value(name: str, old: object, text: str) -> object:
    """``text`` read as the kind of the assumption's shipped value."""
    if isinstance(old, bool):
        if text.lower() not in ("true", "false"):
            raise SpecError(f"--assume: {name} is true or false (got '{text}')")
        return text.lower() == "true"
    if isinstance(old, (int, float)):
        try:
            value = float(text)
        except ValueError:
            raise SpecError(f"--assume: {name} is a number like {old!r} (got '{text}')") from None
        if not math.isfinite(value):
            raise SpecError(f"--assume: {name} must be finite (got '{text}')")
        return value
    if isinstance(old, str):
        return text
    raise SpecError(f"--assume: {name} is a table, not a value")


def _with_overrides(run: RunSpec, software: str | None, power_limit_w: float | None,
                    fields: dict[str, str] | None = None) -> RunSpec:
    """A run with the command line's stack (a profile in place of the file's block, single fields over it)
    and power limit."""
    from colossus.spec import RunSpec  # noqa: PLC0415
    if software is None and power_limit_w is None and not fields:
        return run
    doc = run.model_dump(mode="json", exclude_unset=True)
    stack = _software(software, fields, run.software)
    if stack is not None:
        doc["software"] = stack.model_dump(mode="json", exclude_unset=True)
    if power_limit_w is not None:
        doc["cluster"]["power_limit_w"] = power_limit_w
    return RunSpec.model_validate(doc)


@app.command("estimate")
def estimate_cmd(
    run_file: Annotated[Path, typer.Argument(help="run YAML (format of shared/validation/README.md), or a"
                                                  " scenario with --job")],
    job: Annotated[str | None, typer.Option("--job", help="estimate this job of a scenario (its pool, model,"
                                                          " layout or the planner's)")] = None,
    train_tokens: Annotated[str | None, typer.Option("--train-tokens", help="tokens to train, for the time to"
                                                     " train: 15T = 15e12 (default: the job's, else 1T)")] = None,
    software: Annotated[str | None, typer.Option("--software", help=SOFTWARE_HELP)] = None,
    software_set: Annotated[list[str] | None, SOFTWARE_SET_OPTION] = None,
    power_limit_w: Annotated[float | None, typer.Option("--power-limit-w", help=POWER_HELP,
                                                        callback=within("PartWatts"))] = None,
    assume: Annotated[list[str] | None, ASSUME_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Step time and breakdown, MFU/HFU, TFLOP/s and tokens/s per GPU, memory per GPU, time to train."""
    from colossus.spec import load_runs  # noqa: PLC0415
    fields = _software_fields(software_set)
    if job is not None:
        _estimate_job(run_file, job, train_tokens, software, power_limit_w, as_json, fields, assume)
        return
    assumptions, assumed = _assumptions(assume)
    tokens = parse_tokens(train_tokens or "1T", option="--train-tokens")
    _software(software, fields)
    given = {"--power-limit-w": power_limit_w is not None, "--software-set attention": "attention" in (fields or {})}
    options = {path: option for path, option in _PLAN_OPTIONS.items() if given.get(option)}  # (errors name them)
    estimates = [_estimate_located(run_file, i, _with_overrides(run, software, power_limit_w, fields), assumptions,
                                   options)
                 for i, run in enumerate(load_runs(run_file))]
    if as_json:
        docs = [_estimate_doc(e, tokens, assumed) for e in estimates]
        print_json(docs[0] if len(docs) == 1 else {"estimates": docs})
        return
    for est in estimates:
        _print_estimate(est, tokens, assumed)


def _estimate_located(run_file: Path, index: int, run: RunSpec, assumptions: PerfAssumptions | None,
                      options: dict[tuple[str | int, ...], str]) -> Estimate:
    """One run's estimate; what the run cannot be estimated for is said with its file and its place there, or
    with the option that set it (``options``: field path -> option, for the options given)."""
    from colossus.errors import InfeasibleError  # noqa: PLC0415
    from colossus.perf import estimate  # noqa: PLC0415
    try:
        return estimate(run, assumptions=assumptions)
    except SpecError as err:  # (a field of the run: its path from the run's entry in the file)
        if err.path in options:
            raise SpecError(err.message, path=[options[err.path]]) from None
        raise err.located(file=str(run_file), prefix=(index,)) from None
    except InfeasibleError as err:  # (an invalid stated layout, a run that cannot fit at all)
        raise InfeasibleError(f"{run_file}: [{index}]: {err}") from None


def _estimate_job(scenario_file: Path, name: str, train_tokens: str | None, software: str | None,
                  power_limit_w: float | None, as_json: bool, fields: dict[str, str] | None = None,
                  assume: list[str] | None = None) -> None:
    """A scenario job estimated as the simulation runs it: its pool, its layout or the planner's, its batch."""
    from colossus.errors import InfeasibleError, did_you_mean  # noqa: PLC0415
    from colossus.perf.jobs import cluster_assumptions, located_job_perf  # noqa: PLC0415
    from colossus.spec import load_scenario  # noqa: PLC0415

    if power_limit_w is not None:
        raise SpecError("--power-limit-w: with --job, the pool's power_limit_w in the scenario sets it")
    spec = load_scenario(scenario_file)
    names = [j.name for j in spec.jobs]
    if name not in names:
        raise SpecError(f"--job: no job '{name}' in the scenario{did_you_mean(name, names)}", file=str(scenario_file))
    chosen = spec.jobs[names.index(name)]
    if software is not None or fields:
        chosen = chosen.model_copy(update={"software": _software(software, fields, chosen.software)})
    # (--assume over the cluster's own performance_assumptions)
    assumptions, assumed = _assumptions(assume, cluster_assumptions(spec.cluster))
    try:  # (a stated layout that cannot run, no layout that fits, a kernel the pool lacks: say where)
        perf = located_job_perf(spec.cluster, chosen, names.index(name), assumptions=assumptions)
    except SpecError as exc:
        raise exc.located(file=str(scenario_file)) from None
    except InfeasibleError as exc:
        raise InfeasibleError(f"{scenario_file}: {exc}") from None
    tokens = parse_tokens(train_tokens, option="--train-tokens") if train_tokens else chosen.train_tokens
    doc = {**_estimate_doc(perf.estimate, tokens, assumed), "scenario": spec.name, "job": chosen.name,
           "pool": perf.pool, "model": chosen.model.name, "planned": perf.planned,
           "global_batch_tokens": perf.global_batch_tokens, "tokens_per_s": perf.tokens_per_s}
    if as_json:
        print_json(doc)
        return
    how = "the planner's best layout" if perf.planned else "the job's own layout"
    console.print(f"[bold]{spec.name}[/]: job {chosen.name} ({chosen.model.name}) on pool {perf.pool}, {how},"
                  f" batch {perf.global_batch_tokens:,.0f} tokens")
    _print_estimate(perf.estimate, tokens, assumed)


def _estimate_doc(est: Estimate, tokens: float, assumed: dict[str, object] | None = None) -> dict[str, Any]:
    time_s = est.time_to_train_s(tokens)
    return {**est.as_dict(), "train_tokens": tokens, "time_to_train_s": time_s,
            "prediction_range": _range_doc(est.tokens_per_s_per_gpu, time_s, moe=est.moe), **_assumed_doc(assumed)}


def _assumed_doc(assumed: dict[str, object] | None) -> dict[str, Any]:
    """The assumptions ``--assume`` set, under ``assumptions_set`` (nothing when none: the shipped model)."""
    return {"assumptions_set": dict(assumed)} if assumed else {}


def _range_factors(*, moe: bool) -> dict[str, Any]:
    """The range the model's left-out errors on runs of the prediction's kind (``moe``: a model with mixture-of-
    experts layers, or a dense one) put around a prediction (``forecast.step_time``), as factors."""
    from colossus.forecast.step_time import prediction_range  # noqa: PLC0415

    r = prediction_range(moe=moe)
    return {"probability": r.probability, "throughput_factor_low": r.low, "throughput_factor_high": r.high,
            "basis": r.basis}


def _range_doc(tokens_per_s_per_gpu: float, time_to_train_s: float, *, moe: bool) -> dict[str, Any]:
    """``_range_factors`` applied to one prediction's tokens/s and time to train."""
    from colossus.forecast.step_time import prediction_range  # noqa: PLC0415

    r = prediction_range(moe=moe)
    (low, high), (short, long) = r.throughput(tokens_per_s_per_gpu), r.duration(time_to_train_s)
    return {**_range_factors(moe=moe), "tokens_per_s_per_gpu_low": low, "tokens_per_s_per_gpu_high": high,
            "time_to_train_s_short": short, "time_to_train_s_long": long}


@app.command("plan")
def plan_cmd(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help="model preset name (colossus show --catalog) or a model"
            " YAML file (a preset with overrides, or a whole shape)",
        ),
    ],
    gpus: Annotated[int, typer.Option("--gpus", help="GPUs of the job", callback=within("GpuCount"))],
    gpu: Annotated[str, typer.Option("--gpu", help="GPU name, e.g. h100-sxm5-80gb")] = "h100-sxm5-80gb",
    seq_len: Annotated[
        int | None, typer.Option("--seq-len", help="sequence length (default: the model's)", callback=within("Width"))
    ] = None,
    global_batch_tokens: Annotated[
        str, typer.Option("--global-batch-tokens", help="tokens per step, e.g. 4M (4e6) or 16Mi (2^24)")
    ] = "4Mi",
    precision: Annotated[Precision, typer.Option(
        "--precision", help="GEMM number format of the training: bf16, fp16 or fp8 (the others are GPU figures"
                            " the performance model does not train in)")] = Precision.BF16,
    gpus_per_node: Annotated[int, typer.Option("--gpus-per-node", callback=within("Parts"))] = 8,
    nic_gbit_per_s: Annotated[
        float | None, typer.Option("--nic-gbit-per-s", help="scale-out Gbit/s per GPU", callback=within("GbitPerS"))
    ] = None,
    software: Annotated[str | None, typer.Option("--software", help=SOFTWARE_HELP)] = None,
    software_set: Annotated[list[str] | None, SOFTWARE_SET_OPTION] = None,
    power_limit_w: Annotated[
        float | None, typer.Option("--power-limit-w", help=POWER_HELP, callback=within("PartWatts"))
    ] = None,
    assume: Annotated[list[str] | None, ASSUME_OPTION] = None,
    top: Annotated[int, typer.Option("--top", callback=within("whole", ge=1, le=1000))] = 10,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Search all valid layouts; print the best that fit in memory and why the best wins."""
    from colossus.perf import plan  # noqa: PLC0415
    from colossus.spec import load_model, lookup  # noqa: PLC0415
    spec = load_model(model)
    if seq_len is not None:
        spec = spec.model_copy(update={"seq_len": seq_len})
    if gpus % gpus_per_node:
        raise SpecError(f"--gpus: {gpus} GPUs do not fill whole servers of {gpus_per_node}")
    assumptions, assumed = _assumptions(assume)
    try:
        result = plan(
            spec, lookup("gpus", gpu), num_gpus=gpus, gpus_per_server=gpus_per_node,
            global_batch_tokens=parse_tokens(global_batch_tokens, option="--global-batch-tokens"),
            precision=precision, nic_gbit_per_s=nic_gbit_per_s,
            software=_software(software, _software_fields(software_set)),
            power_limit_w=power_limit_w, top=top, assumptions=assumptions,
        )
    except SpecError as exc:  # (a field the command's options set: name the option)
        option = _PLAN_OPTIONS.get(exc.path)
        if option is None and len(exc.path) == 2 and exc.path[0] == "software":  # (plan's stack is its options')
            option = f"--software-set {exc.path[1]}"
        raise (SpecError(exc.message, path=[option]) if option else exc) from None
    if as_json:
        print_json({"model": spec.name, "gpus": gpus, "gpu": gpu, "power_limit_w": power_limit_w, **result.as_dict(),
                    "prediction_range": _range_factors(moe=spec.moe is not None), **_assumed_doc(assumed)})
    else:
        _print_plan(result)
        _print_assumed(assumed)


#: The field path of a plan's error -> the option of ``plan`` that set it.
#: (``estimate`` names the two of them it has, where they were given.)
_PLAN_OPTIONS: dict[tuple[str | int, ...], str] = {
    ("precision",): "--precision", ("cluster", "power_limit_w"): "--power-limit-w",
    ("software", "attention"): "--software-set attention", ("software", "profile"): "--software",
}


@app.command("validate")
def validate_cmd(
    runs_file: Annotated[Path, typer.Argument(help="measured runs YAML (shared/validation/training_runs.yaml)")],
    cv: Annotated[str | None, typer.Option(
        "--cv", help="'family': refit the fitted constants leaving each family (id up to its first '-') out in"
                     " turn, and report each family's error when it was not seen")] = None,
    assume: Annotated[list[str] | None, ASSUME_OPTION] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Predict every measured run; print measured vs predicted, error, MAPE and the worst case."""
    from colossus.perf import validate_runs  # noqa: PLC0415
    from colossus.spec import load_runs  # noqa: PLC0415
    if cv is not None and cv != "family":
        raise SpecError(f"--cv: '{cv}' is not a cross-validation scheme (the one there is: family)")
    assumptions, assumed = _assumptions(assume)
    runs = load_runs(runs_file)
    if all(run.measured is None for run in runs):
        raise SpecError("no run has a measured: block; validate compares predictions with measurements"
                        " (estimate predicts a run without one)", file=str(runs_file))
    if cv is None:
        result = validate_runs(runs, assumptions=assumptions)
        if as_json:
            print_json({**result.as_dict(), **_assumed_doc(assumed)})
        else:
            _print_validation(result)
            _print_assumed(assumed)
        return
    from colossus.perf.calibrate import cross_validate

    with console.status("refitting with each family left out ..."):
        crossed = cross_validate(runs, base=assumptions)
    if as_json:
        print_json({**_cv_doc(crossed), "kinds": crossed.by_kind(), **_assumed_doc(assumed)})
    else:
        _print_cv(crossed, crossed.by_kind())
        _print_assumed(assumed)


def _print_assumed(assumed: dict[str, object]) -> None:
    if assumed:
        console.print("assumed on the command line: " + ", ".join(f"{k}={v}" for k, v in assumed.items()))


def _cv_doc(crossed) -> dict[str, Any]:
    doc = crossed.in_sample.as_dict()
    doc["cases"] = [{**c.as_dict(), "cv_error": c.cv_error} for c in crossed.cases]
    doc["families"] = [f.as_dict() for f in crossed.families]
    doc["cv_mape"] = crossed.cv_mape
    doc["in_sample_mape"] = crossed.in_sample.mape
    doc["fitted"] = crossed.fit.as_dict()
    doc["public_prior"] = crossed.public_prior  # (fitted beside what the public runs say: a file of other families)
    return doc


# --- rendering -----------------------------------------------------------------


def _layout_text(est: Estimate) -> str:
    lay = est.layout
    text = f"tp{lay.tp} pp{lay.pp} dp{lay.dp} cp{lay.cp}"
    text += f" ep{lay.ep}" if lay.ep > 1 else ""
    text += f" etp{lay.etp}" if lay.etp > 1 else ""  # (experts split like the attention: to state it again)
    text += f" mb{lay.micro_batch} v{lay.interleave} {lay.recompute.value}"
    policy = est.selective_recompute
    if policy is not None and policy is not est.software.selective_recompute:  # a policy beyond the stack's own
        text += f"({policy.value})"
    text += " sp" if lay.sequence_parallel else ""
    return text + f" zero{lay.zero} {lay.precision.value}"


def _sw_extras(est: Estimate) -> str:
    """The stack's choices beyond the usual that shape this estimate (a schedule, a CP exchange, the expert
    all-to-all, moments)."""
    from colossus.spec import CpCommType, ExpertRouting, MomentDtype, PipelineSchedule  # noqa: PLC0415
    sw, extras = est.software, []
    if sw.pipeline_schedule is not PipelineSchedule.ONE_F_ONE_B and est.layout.pp > 1:
        extras.append(f"{sw.pipeline_schedule.value} pipeline schedule")
    if sw.cp_comm_type is not CpCommType.P2P and est.layout.cp > 1:
        extras.append(f"{sw.cp_comm_type.value} context parallelism")
    if est.layout.ep > 1:
        extras.append(f"{sw.ep_dispatcher.value} token dispatcher")
        if sw.ep_comm_overlap:
            extras.append("expert all-to-all overlapped")
        if sw.expert_routing is ExpertRouting.DROPLESS:
            extras.append("dropless routing")
        if sw.expert_capacity_factor is not None:
            padded = " padded" if sw.expert_pad_to_capacity else ""
            extras.append(f"capacity factor {sw.expert_capacity_factor:g}{padded}")
    if sw.optimizer_moments_dtype is not MomentDtype.FP32:
        extras.append(f"{sw.optimizer_moments_dtype.value} Adam moments")
    return "".join(f", {e}" for e in extras)


def _print_estimate(est: Estimate, tokens: float, assumed: dict[str, object] | None = None) -> None:
    from rich.table import Table  # noqa: PLC0415
    console.print(f"[bold]{est.run_id}[/]: {_layout_text(est)} on {est.num_gpus} GPUs")
    sw = est.software
    stated = f" (stated: {', '.join(sw.stated)})" if sw.stated else ""
    console.print(f"  software: {sw.profile} profile, {sw.attention.value} attention,"
                  f" {'compiled' if sw.compiled else 'eager'}{_sw_extras(est)}{stated}")
    if est.assumed:
        console.print("  defaults applied: " + ", ".join(f"{k}={v}" for k, v in est.assumed.items()))
    if assumed:
        console.print("  assumed on the command line: " + ", ".join(f"{k}={v}" for k, v in assumed.items()))
    console.print(
        f"  step {est.step_time_s:.3f} s   MFU {est.mfu:.1%}   HFU {est.hfu:.1%}   "
        f"{est.tflops_per_gpu:.0f} TFLOP/s/GPU (model)   {est.tokens_per_s_per_gpu:,.0f} tokens/s/GPU"
    )
    table = Table("step part", "s", "share", "memory part", "GiB", box=None)
    parts = list(est.parts_s.items())
    mem = list(est.memory_bytes.items())
    for i in range(max(len(parts), len(mem))):
        p = parts[i] if i < len(parts) else ("", None)
        m = mem[i] if i < len(mem) else ("", None)
        table.add_row(
            p[0].removesuffix("_s"), "" if p[1] is None else f"{p[1]:.3f}",
            "" if p[1] is None else f"{p[1] / est.step_time_s:.1%}",
            m[0].removesuffix("_bytes"), "" if m[1] is None else f"{m[1] / units.GIB:.1f}",
        )
    console.print(table)
    fit = "fits" if est.fits else "[bold red]does NOT fit[/]"
    console.print(f"  memory {est.memory_per_gpu_bytes / units.GIB:.1f} of {est.hbm_bytes / units.GIB:.1f} GiB: {fit}")
    time_s = est.time_to_train_s(tokens)
    console.print(f"  time to train {tokens:.3g} tokens: {time_s / units.DAY:.1f} days")
    r = _range_doc(est.tokens_per_s_per_gpu, time_s, moe=est.moe)
    if math.isfinite(time_s):
        low, high = r["tokens_per_s_per_gpu_low"], r["tokens_per_s_per_gpu_high"]
        short, long = r["time_to_train_s_short"] / units.DAY, r["time_to_train_s_long"] / units.DAY
        console.print(f"  {r['probability']:.0%} range: {low:,.0f}-{high:,.0f} tokens/s/GPU,"
                      f" {short:.1f}-{long:.1f} days (from {r['basis']})")
    for note in est.notes:
        console.print(f"  note: {note}")


def _print_plan(result: Plan) -> None:
    from rich.table import Table  # noqa: PLC0415
    table = Table("#", "layout", "batch", "step s", "TFLOP/s/GPU", "MFU", "tokens/s/GPU", "GiB", "bound")
    for i, est in enumerate(result.best, 1):
        table.add_row(
            str(i), _layout_text(est), f"{est.layout.global_batch:,}", f"{est.step_time_s:.3f}",
            f"{est.tflops_per_gpu:.0f}", f"{est.mfu:.1%}",
            f"{est.tokens_per_s_per_gpu:,.0f}", f"{est.memory_per_gpu_bytes / units.GIB:.1f}", est.bound,
        )
    console.print(table)
    console.print(
        f"explored {result.num_explored} valid layouts ({result.num_candidates} candidates)"
        f" in {result.search_s * 1e3:.0f} ms; {result.num_fitting} fit in memory"
    )
    console.print(f"why: {result.why}")
    r = _range_factors(moe=result.best[0].moe if result.best else False)
    console.print(f"each layout's tokens/s: {r['probability']:.0%} range x{r['throughput_factor_low']:.2f}"
                  f" to x{r['throughput_factor_high']:.2f} (from {r['basis']})")
    console.print(
        f"software assumed: {result.software.profile}"
        f" ({', '.join(f'{k}={v}' for k, v in _sw_brief(result.software).items())})"
    )


def _sw_brief(sw) -> dict[str, Any]:
    return {"attention": sw.attention.value, "compiled": sw.compiled, "tp_overlap": sw.tp_comm_overlap,
            "dp_overlap": sw.dp_comm_overlap, "zero_stages": list(sw.zero_stages)}


def _print_cv(crossed, kinds: list[dict[str, Any]]) -> None:
    from rich.table import Table  # noqa: PLC0415
    table = Table("id", "metric", "measured", "in-sample", "left out", "fits")
    for case in crossed.cases:
        table.add_row(case.id, case.metric, f"{case.measured:.4g}",
                      "-" if case.error is None else f"{case.error:+.1%}",
                      "-" if case.cv_error is None else f"{case.cv_error:+.1%}",
                      "-" if case.fits is None else ("yes" if case.fits else "[bold red]no[/]"))
    console.print(table)
    _print_case_notes(crossed.cases)
    fams = Table("family", "runs", "mean error (left out)", "MAPE (left out)")
    for f in crossed.families:
        fams.add_row(f.family, str(f.n), "-" if f.cv_mean_error is None else f"{f.cv_mean_error:+.1%}",
                     "-" if f.cv_mape is None else f"{f.cv_mape:.1%}")
    console.print(fams)
    fitted = Table("fitted constant", "value", "runs that inform it")
    for name, item in crossed.fit.as_dict().items():
        fitted.add_row(name, f"{item['value']:.4g}", str(len(item["fitted_on"])))
    console.print(fitted)
    from colossus.perf.calibrate import calibration_families  # noqa: PLC0415

    unseen = [f.family for f in crossed.families if f.family not in calibration_families()]
    if len(unseen) == len(crossed.families):
        console.print(f"{', '.join(unseen)}: families the shipped constants were not fitted on; each fit (each left"
                      " out in turn, and all in-sample) is made beside what the public runs say of the constants"
                      " (their fit's curvature at the shipped values, perf_calibration.toml)")
    elif unseen:
        console.print(f"left out, {', '.join(unseen)} (families the shipped constants were not fitted on) keep the"
                      " shipped value of a constant their file's other families do not inform; the other families"
                      " keep its prior")
    if crossed.in_sample.mape is None or crossed.cv_mape is None or crossed.mean_family_mape is None:
        console.print("no case could be predicted")
        return
    console.print(
        f"in-sample MAPE {crossed.in_sample.mape:.1%} (worst {crossed.in_sample.max_abs_error:.1%});"
        f" leave-one-family-out MAPE {crossed.cv_mape:.1%}, mean of family MAPEs {crossed.mean_family_mape:.1%}"
    )
    if len(kinds) > 1:  # (dense and MoE runs apart: their errors differ)
        console.print("; ".join(
            f"{'MoE' if k['kind'] == 'moe' else k['kind']} runs ({k['n']}, {k['families']} families):"
            f" in-sample {_pct(k['in_sample_mape'])},"
            f" left out {_pct(k['cv_mape'])}" for k in kinds))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def _print_case_notes(cases: Iterable[Case]) -> None:
    """Each case's note under the table (what its row could not state, why a prediction is off): the table has
    no room for them, and a reader of an error wants the reason beside it."""
    from rich.markup import escape  # noqa: PLC0415

    for case in cases:
        if case.note:
            console.print(f"[bold]{escape(case.id)}[/]: {escape(case.note)}")


def _print_validation(result: Validation) -> None:
    from rich.table import Table  # noqa: PLC0415
    table = Table("id", "metric", "measured", "predicted", "error")
    for case in result.cases:
        pred = "-" if case.predicted is None else f"{case.predicted:.4g}"
        err = case.reason if case.error is None else f"{case.error:+.1%}"
        table.add_row(case.id, case.metric, f"{case.measured:.4g}", pred, err)
    console.print(table)
    _print_case_notes(result.cases)
    worst = result.worst
    if result.mape is None or worst is None:
        console.print("no case could be predicted")
        return
    console.print(
        f"MAPE {result.mape:.1%}   max |error| {result.max_abs_error:.1%} ({worst.id})"
        f"   cases {len(result.cases)}, unpredicted {len(result.unpredicted)},"
        f" not fitting in memory {sum(1 for c in result.cases if c.fits is False)}"
    )
