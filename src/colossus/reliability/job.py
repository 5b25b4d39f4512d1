"""One job's reliability picture: rates, checkpoint, restart, interval, goodput, spares.

``analyse`` composes the pure pieces for a ``JobInput``; ``simulate_job`` runs the
Monte Carlo on the result; ``document`` is the JSON form the CLI prints.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

import numpy as np

from colossus import units
from colossus.errors import SpecError
from colossus.perf.flops import token_flops
from colossus.reliability import checkpoint as ck
from colossus.reliability import rates as rt
from colossus.reliability.assumptions import Assumptions, default_assumptions
from colossus.reliability.goodput import Goodput, goodput
from colossus.reliability.montecarlo import Causes, History, MonteCarlo, simulate
from colossus.reliability.spares import SparePool, p_spare_ready, size_spares
from colossus.spec import FabricSpec, GpuSpec, LayoutSpec, ModelSpec, Precision


@dataclass(frozen=True, slots=True)
class JobInput:
    """What the reliability model needs to know about a job (SI units)."""

    model: ModelSpec
    num_gpus: int
    gpus_per_server: int
    fabric: FabricSpec
    tokens_per_s: float  # training throughput of the whole job, failure-free
    train_tokens: float
    layout: LayoutSpec | None = None
    storage_write_bytes_per_s: float | None = None  # None: the default storage assumption
    storage_read_bytes_per_s: float | None = None
    interval_s: float | None = None  # the user's checkpoint interval; None: the optimum
    asynchronous: bool = True
    rate_scale: float = 1.0  # multiplies every failure rate
    num_spares: int | None = None  # hot spare servers; None: sized at the spare confidence


@dataclass(frozen=True, slots=True)
class Analysis:
    job: JobInput
    footprint: rt.Footprint
    rates: tuple[rt.JobRate, ...]
    mtti_s: float
    checkpoint: ck.Checkpoint
    restart_s: float
    optimal_interval_s: float
    interval_s: float  # the interval used: the user's, else the optimum
    goodput: Goodput  # at ``interval_s``
    goodput_optimal: Goodput
    spares: SparePool  # the recommended pool
    num_spares: int  # the pool simulated: the user's, else the recommended one

    @property
    def work_s(self) -> float:
        return self.job.train_tokens / self.job.tokens_per_s


def default_fabric() -> FabricSpec:
    """The fabric assumed without a scenario: Spectrum-X SN5600 at 400 Gbit/s per GPU,
    rail-optimised, as many tiers as the job needs (assumption: Colossus-like, NVIDIA's
    reference design; only its switch count matters here)."""
    return FabricSpec.model_validate({
        "name": "default-400g", "switch": "sn5600", "nic_gbit_per_s": 400, "link_gbit_per_s": 400,
        "tiers": "auto", "rail_optimized": True, "nic_link_optical": True, "optic": "osfp-800g-2xsr4",
        "cable_latency_ns_per_hop": 50,
    })


def tokens_per_s_from_mfu(model: ModelSpec, gpu: GpuSpec, *, num_gpus: int, mfu: float,
                          precision: Precision = Precision.BF16) -> float:
    """Throughput at a model FLOPs utilisation: ``N x peak x MFU / (model FLOPs per token)``
    (PaLM, Chowdhery et al. 2022, App. B)."""
    if not 0 < mfu <= 1:
        raise SpecError(f"mfu must be in (0, 1] (got {mfu})")
    return num_gpus * gpu.peak_flop_per_s(precision) * mfu / token_flops(model).model_flop


def _storage(job: JobInput, a: Assumptions) -> tuple[float, float]:
    w = a.storage_write_bytes_per_s if job.storage_write_bytes_per_s is None else job.storage_write_bytes_per_s
    r = a.storage_read_bytes_per_s if job.storage_read_bytes_per_s is None else job.storage_read_bytes_per_s
    return w, r


def _goodput_at(interval_s: float, *, work_s: float, rates, ckpt: ck.Checkpoint, restart: float) -> Goodput:
    return goodput(
        work_s, interval_s=interval_s, stall_s=ck.effective_stall_s(ckpt, interval_s),
        unplanned_per_s=rt.total_per_s(rates, planned=False), planned_per_s=rt.total_per_s(rates, planned=True),
        restart_s=restart, durability_lag_s=ckpt.durability_lag_s,
    )


def analyse(job: JobInput, a: Assumptions | None = None) -> Analysis:
    """The closed-form picture of ``job``: rates, checkpoint, interval, goodput and spares."""
    a = a or default_assumptions()
    if job.tokens_per_s <= 0 or job.train_tokens <= 0:
        raise SpecError("tokens per second and the token budget must be > 0")
    fp = rt.footprint(job.num_gpus, gpus_per_server=job.gpus_per_server, fabric=job.fabric)
    rates = rt.job_rates(fp, rate_scale=job.rate_scale)
    write, read = _storage(job, a)
    ckpt = ck.plan_checkpoint(
        ck.checkpoint_size_bytes(job.model, a), writers=ck.num_writers(job.num_gpus, job.layout, a),
        gpus_per_server=job.gpus_per_server, storage_write_bytes_per_s=write,
        storage_read_bytes_per_s=read, asynchronous=job.asynchronous, a=a,
    )
    restart = ck.restart_s(ckpt, a)
    mtti = rt.mtti_s(rates)
    work_s = job.train_tokens / job.tokens_per_s
    best = ck.optimal_interval_s(ckpt, 1.0 / rt.total_per_s(rates, planned=False)
                                 if rt.total_per_s(rates, planned=False) else math.inf)
    best = min(best, work_s)  # a checkpoint interval longer than the job is no checkpoint
    interval = best if job.interval_s is None else job.interval_s
    spares = size_spares(rates, a.spare_confidence)
    return Analysis(
        job=job, footprint=fp, rates=rates, mtti_s=mtti, checkpoint=ckpt, restart_s=restart,
        optimal_interval_s=best, interval_s=interval,
        goodput=_goodput_at(interval, work_s=work_s, rates=rates, ckpt=ckpt, restart=restart),
        goodput_optimal=_goodput_at(best, work_s=work_s, rates=rates, ckpt=ckpt, restart=restart),
        spares=spares, num_spares=spares.num_spares if job.num_spares is None else job.num_spares,
    )


def causes_arrays(rates: tuple[rt.JobRate, ...]) -> Causes:
    return Causes(
        per_s=np.array([r.per_s for r in rates]),
        planned=np.array([r.cause.planned for r in rates]),
        needs_spare=np.array([r.cause.needs_spare for r in rates]),
        repair_s=np.array([r.cause.repair_s for r in rates]),
    )


def simulate_job(an: Analysis, *, num_runs: int, rng: np.random.Generator,
                 interval_s: float | None = None) -> MonteCarlo:
    """Monte Carlo of ``an``'s job at its interval (or ``interval_s``)."""
    tau = an.interval_s if interval_s is None else interval_s
    history = History(
        work_s=an.work_s, interval_s=tau, stall_s=ck.effective_stall_s(an.checkpoint, tau),
        durability_lag_s=an.checkpoint.durability_lag_s, restart_s=an.restart_s, num_spares=an.num_spares,
    )
    return simulate(history, causes_arrays(an.rates), num_runs=num_runs, rng=rng)


def document(an: Analysis, mc: MonteCarlo | None = None, deadline_s: float | None = None) -> dict[str, Any]:
    """The JSON document of ``colossus reliability --json`` (SI units, keys end in their unit)."""
    per_day = rt.total_per_s(an.rates) * units.DAY
    doc: dict[str, Any] = {
        "num_gpus": an.job.num_gpus,
        "footprint": {"num_gpus": an.footprint.num_gpus, "num_servers": an.footprint.num_servers,
                      "num_nic_links": an.footprint.num_nic_links, "num_switches": an.footprint.num_switches},
        "interruptions_per_day": per_day,
        "unplanned_per_day": rt.total_per_s(an.rates, planned=False) * units.DAY,
        "hardware_share_of_unplanned": rt.hardware_share(an.rates),
        "mtti_s": an.mtti_s if math.isfinite(an.mtti_s) else None,
        "by_cause": rt.by_cause_per_day(an.rates),
        "checkpoint": {
            "size_bytes": an.checkpoint.size_bytes, "num_writers": an.checkpoint.num_writers,
            "write_s": an.checkpoint.write_s, "stall_s": an.checkpoint.stall_s,
            "asynchronous": an.checkpoint.asynchronous, "load_s": an.checkpoint.load_s,
            "restart_s": an.restart_s,
            "optimal_interval_s": an.optimal_interval_s if math.isfinite(an.optimal_interval_s) else None,
            "interval_s": an.interval_s if math.isfinite(an.interval_s) else None,
        },
        "goodput": {
            "ettr": an.goodput.ettr, "ettr_at_optimal_interval": an.goodput_optimal.ettr,
            "tokens_per_s": an.job.tokens_per_s, "train_tokens": an.job.train_tokens,
            "work_s": an.work_s, "expected_finish_s": an.goodput.expected_finish_s,
        },
        "spares": {"recommended": an.spares.num_spares, "confidence": an.spares.confidence,
                   "mean_in_repair_servers": an.spares.mean_in_repair, "simulated": an.num_spares,
                   "p_ready_simulated": p_spare_ready(an.num_spares, an.spares.mean_in_repair)
                   if an.spares.mean_in_repair else 1.0},
    }
    if mc is not None:
        doc["monte_carlo"] = {
            "runs": int(mc.finish_s.size), "finish_s_mean": float(mc.finish_s.mean()),
            "finish_s_p10": mc.quantile_s(0.1), "finish_s_p50": mc.quantile_s(0.5),
            "finish_s_p90": mc.quantile_s(0.9), "interruptions_mean": float(mc.interruptions.mean()),
            "spare_wait_s_mean": float(mc.spare_wait_s.mean()),
            "p_any_spare_wait": float(np.mean(mc.spare_wait_s > 0)),
        }
        if deadline_s is not None:
            doc["monte_carlo"]["deadline_s"] = deadline_s
            doc["monte_carlo"]["p_by_deadline"] = mc.p_by(deadline_s)
    return doc
