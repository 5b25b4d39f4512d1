"""A scenario job as the reliability model sees it (``JobInput``), with its throughput's source.

The one adapter from a scenario to ``reliability.analyse``, shared by the CLI
and the web service: the job's tokens/s is the perf model's (its layout or the
planner's best) unless given; when perf cannot estimate the job, the MFU
assumption (``reliability_assumptions.toml``) stands in, and the source says so.
"""

from __future__ import annotations

from colossus import units
from colossus.errors import ColossusError, SpecError
from colossus.perf.jobs import job_perf, job_pool
from colossus.reliability.assumptions import default_assumptions
from colossus.reliability.job import JobInput, tokens_per_s_from_mfu
from colossus.spec import JobSpec, Scenario


def pick_job(scenario: Scenario, name: str | None) -> JobSpec:
    """The job called ``name``, or the scenario's first; ``SpecError`` naming the choices if none."""
    if not scenario.jobs:
        raise SpecError("the scenario has no jobs", path=["jobs"])
    if name is None:
        return scenario.jobs[0]
    for job in scenario.jobs:
        if job.name == name:
            return job
    raise SpecError(f"no job '{name}'; the scenario has: {', '.join(j.name for j in scenario.jobs)}", path=["jobs"])


def scenario_job_input(scenario: Scenario, job: JobSpec, *, tokens_per_s: float | None = None,
                       mfu: float | None = None, train_tokens: float | None = None) -> tuple[JobInput, str]:
    """``job`` of ``scenario`` as a ``JobInput``, and where its tokens/s came from (for the report)."""
    pool = job_pool(scenario.cluster, job)
    layout = job.layout
    note = ""
    if tokens_per_s is not None:
        rate, source = tokens_per_s, "given tokens/s"
    else:
        rate = None
        if mfu is None:
            try:
                perf = job_perf(scenario.cluster, job)
            except ColossusError as exc:
                note = f" (perf could not estimate the job: {exc})"
            else:
                rate, layout = perf.tokens_per_s, perf.estimate.layout
                how = "planner's best layout" if perf.planned else "job's layout"
                source = f"perf model, {how}: {perf.estimate.layout.label}"
        if rate is None:
            share = default_assumptions().mfu if mfu is None else mfu
            rate = tokens_per_s_from_mfu(job.model, pool.gpu, num_gpus=job.num_gpus, mfu=share)
            what = "given MFU" if mfu is not None else "MFU assumption (reliability_assumptions.toml)"
            source = f"{what} = {share:g}{note}"
    job_input = JobInput(
        model=job.model, num_gpus=job.num_gpus, gpus_per_server=scenario.cluster.gpus_per_server,
        fabric=scenario.cluster.fabric, tokens_per_s=rate,
        train_tokens=job.train_tokens if train_tokens is None else train_tokens, layout=layout,
        storage_write_bytes_per_s=scenario.storage.write_bytes_per_s,
        storage_read_bytes_per_s=scenario.storage.read_bytes_per_s,
        interval_s=job.checkpoint.interval_min * units.MINUTE, asynchronous=job.checkpoint.asynchronous,
    )
    return job_input, source
