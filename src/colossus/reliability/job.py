"""One job's reliability picture: rates, checkpoint, restart, interval, goodput, spares.

``analyse`` composes the pure pieces for a ``JobInput``; ``simulate_job`` runs the
Monte Carlo on the result; ``document`` is the JSON form the CLI prints.
``plan_allocation`` is the part the facility simulation needs for each
allocation a job gets (checkpoint, restart and interval at that size).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np

from colossus import units
from colossus.errors import InfeasibleError, SpecError
from colossus.perf.flops import token_flops
from colossus.reliability import checkpoint as ck
from colossus.reliability import rates as rt
from colossus.reliability.assumptions import Assumptions, default_assumptions
from colossus.reliability.fleets import default_fabric, default_fleet_name, fleet, fleet_causes
from colossus.reliability.goodput import Goodput, goodput
from colossus.reliability.montecarlo import Causes, History, MonteCarlo, simulate
from colossus.reliability.restart import Restart, RestartProfile, plan_restart, restart_profile
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
    interval_s: float | None = None  # the user's checkpoint interval; None: the optimum ("auto")
    asynchronous: bool = True
    in_memory: bool = False  # redundant in-memory replicas (Gemini-style)
    rate_scale: float = 1.0  # multiplies every failure rate
    num_spares: int | None = None  # hot spare servers; None: sized at the spare confidence
    fleet: str | None = None  # fleet profile; None: the default fleet
    restart: RestartProfile | None = None  # None: the fleet's restart profile
    servers_per_rack: int | None = None  # None: the placement assumption
    gpu_arch: str | None = None  # the GPUs' architecture; None: the fleet's own
    domain_per_rack_per_year: Mapping[str, float] = field(default_factory=dict)  # rack domain overrides

    @property
    def mode(self) -> str:
        return ck.mode_of(asynchronous=self.asynchronous, in_memory=self.in_memory)


@dataclass(frozen=True, slots=True)
class Analysis:
    job: JobInput
    fleet: str
    footprint: rt.Footprint
    rates: tuple[rt.JobRate, ...]
    mtti_s: float  # all interruptions, planned included
    mttf_unplanned_s: float  # unexpected interruptions only
    checkpoint: ck.Checkpoint
    restart: Restart
    optimal_interval_s: float
    interval_s: float  # the interval used: the user's, else the optimum
    goodput: Goodput  # at ``interval_s``
    goodput_optimal: Goodput
    spares: SparePool  # the recommended pool
    num_spares: int  # the pool simulated: the user's, else the recommended one

    @property
    def restart_s(self) -> float:
        return self.restart.total_s

    @property
    def work_s(self) -> float:
        return self.job.train_tokens / self.job.tokens_per_s


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


def job_footprint(job: JobInput, a: Assumptions | None = None) -> rt.Footprint:
    a = a or default_assumptions()
    per_rack = a.servers_per_rack if job.servers_per_rack is None else job.servers_per_rack
    return rt.footprint(job.num_gpus, gpus_per_server=job.gpus_per_server, fabric=job.fabric,
                        servers_per_rack=per_rack)


def job_rates(job: JobInput, fp: rt.Footprint) -> tuple[rt.JobRate, ...]:
    """Each cause's rate for ``job`` on its fleet, rate scale and rack-domain overrides."""
    causes = fleet_causes(job.fleet, rate_scale=job.rate_scale, arch=job.gpu_arch,
                          domain_per_rack_per_year=job.domain_per_rack_per_year)
    return rt.job_rates(fp, causes)


def job_checkpoint(job: JobInput, a: Assumptions | None = None) -> ck.Checkpoint:
    a = a or default_assumptions()
    write, read = _storage(job, a)
    return ck.plan_checkpoint(
        ck.checkpoint_size_bytes(job.model, a), writers=ck.num_writers(job.num_gpus, job.layout, a),
        gpus_per_server=job.gpus_per_server, storage_write_bytes_per_s=write,
        storage_read_bytes_per_s=read, mode=job.mode, a=a,
    )


def job_restart(job: JobInput, ckpt: ck.Checkpoint) -> Restart:
    """The restart phases of ``job``: its profile (or its fleet's) at its size."""
    profile = job.restart or restart_profile(fleet(job.fleet or default_fleet_name()).restart)
    return plan_restart(profile, num_gpus=job.num_gpus, checkpoint_load_s=ckpt.load_s)


def fallback_per_s(rates: tuple[rt.JobRate, ...], ckpt: ck.Checkpoint) -> float:
    """Rate of faults that lose every in-memory replica (rack domains: the copy stays in the rack)."""
    if ckpt.mode != "in_memory":
        return 0.0
    return sum(r.per_s for r in rates if r.cause.per == "rack" and r.cause.needs_spare)


def auto_interval_s(ckpt: ck.Checkpoint, rates: tuple[rt.JobRate, ...], work_s: float = math.inf) -> float:
    """The Young/Daly interval for this checkpoint and these rates (what ``auto`` means).

    Only unexpected interruptions lose work, so the mean time between them sets the
    interval; never longer than the job itself.
    """
    unplanned = rt.total_per_s(rates, planned=False)
    best = ck.optimal_interval_s(ckpt, 1.0 / unplanned if unplanned else math.inf)
    return min(best, work_s)


@dataclass(frozen=True, slots=True)
class Allocation:
    """What one allocation of a job costs in checkpoints and restarts (for the simulation)."""

    checkpoint: ck.Checkpoint
    restart: Restart
    interval_s: float
    stall_s: float  # at ``interval_s``
    mttf_unplanned_s: float

    @property
    def persist_every(self) -> int:
        """In memory: every n-th checkpoint also goes to storage (0: every checkpoint is durable)."""
        if self.checkpoint.mode != "in_memory" or not math.isfinite(self.interval_s):
            return 0
        return max(1, round(self.checkpoint.persistent_interval_s / self.interval_s))

    @property
    def ckpt_eff(self) -> float:
        """Share of running time not stalled on checkpoints."""
        return self.interval_s / (self.interval_s + self.stall_s) if math.isfinite(self.interval_s) else 1.0


def plan_allocation(job: JobInput, a: Assumptions | None = None) -> Allocation:
    """Checkpoint, restart and interval of ``job`` at its size (``interval_s`` None: auto)."""
    a = a or default_assumptions()
    fp = job_footprint(job, a)
    rates = job_rates(job, fp)
    ckpt = job_checkpoint(job, a)
    restart = job_restart(job, ckpt)
    interval = auto_interval_s(ckpt, rates) if job.interval_s is None else job.interval_s
    return Allocation(ckpt, restart, interval, ck.effective_stall_s(ckpt, interval), rt.mttf_unplanned_s(rates))


def _goodput_at(interval_s: float, *, work_s: float, rates, ckpt: ck.Checkpoint, restart: float) -> Goodput:
    return goodput(
        work_s, interval_s=interval_s, stall_s=ck.effective_stall_s(ckpt, interval_s),
        unplanned_per_s=rt.total_per_s(rates, planned=False), planned_per_s=rt.total_per_s(rates, planned=True),
        restart_s=restart, durability_lag_s=ckpt.durability_lag_s,
        fallback_per_s=fallback_per_s(rates, ckpt), fallback_loss_s=ckpt.fallback_loss_s,
    )


def analyse(job: JobInput, a: Assumptions | None = None) -> Analysis:
    """The closed-form picture of ``job``: rates, checkpoint, restart, interval, goodput and spares."""
    a = a or default_assumptions()
    if job.tokens_per_s <= 0 or job.train_tokens <= 0:
        raise SpecError("tokens per second and the token budget must be > 0")
    if job.interval_s is not None and not (job.interval_s > 0 and math.isfinite(job.interval_s)):
        raise SpecError(f"checkpoint interval must be a finite number > 0 (got {job.interval_s})")
    fp = job_footprint(job, a)
    rates = job_rates(job, fp)
    ckpt = job_checkpoint(job, a)
    restart = job_restart(job, ckpt)
    work_s = job.train_tokens / job.tokens_per_s
    best = auto_interval_s(ckpt, rates, work_s)
    interval = best if job.interval_s is None else job.interval_s
    spares = size_spares(rates, a.spare_confidence, fp)
    return Analysis(
        job=job, fleet=job.fleet or default_fleet_name(), footprint=fp, rates=rates, mtti_s=rt.mtti_s(rates),
        mttf_unplanned_s=rt.mttf_unplanned_s(rates), checkpoint=ckpt, restart=restart,
        optimal_interval_s=best, interval_s=interval,
        goodput=_goodput_at(interval, work_s=work_s, rates=rates, ckpt=ckpt, restart=restart.total_s),
        goodput_optimal=_goodput_at(best, work_s=work_s, rates=rates, ckpt=ckpt, restart=restart.total_s),
        spares=spares, num_spares=spares.num_spares if job.num_spares is None else job.num_spares,
    )


def causes_arrays(rates: tuple[rt.JobRate, ...], fp: rt.Footprint | None = None,
                  ckpt: ck.Checkpoint | None = None) -> Causes:
    """The Monte Carlo's per-cause arrays (servers lost per fault from ``fp``: a rack for domains)."""
    lost = [fp.servers_lost(r.cause) if fp is not None else int(r.cause.needs_spare) for r in rates]
    in_memory = ckpt is not None and ckpt.mode == "in_memory"
    return Causes(
        per_s=np.array([r.per_s for r in rates]),
        planned=np.array([r.cause.planned for r in rates]),
        needs_spare=np.array([r.cause.needs_spare for r in rates]),
        repair_s=np.array([r.cause.repair_s for r in rates]),
        servers=np.array(lost, dtype=np.int64),
        fallback=np.array([in_memory and r.cause.per == "rack" and r.cause.needs_spare for r in rates]),
    )


#: Below this effective training time ratio the Monte Carlo is not run: the job barely progresses
#: (a restart far longer than the mean time to interruption) and its histories would not end.
MIN_ETTR_FOR_MONTE_CARLO = 0.01


def simulate_job(an: Analysis, *, num_runs: int, rng: np.random.Generator,
                 interval_s: float | None = None, policy: str = "spares") -> MonteCarlo:
    """Monte Carlo of ``an``'s job at its interval (or ``interval_s``) under a recovery ``policy``.

    ``InfeasibleError`` when the closed form says the job barely progresses (ETTR under 1%).
    """
    if an.goodput_optimal.ettr < MIN_ETTR_FOR_MONTE_CARLO:
        raise InfeasibleError(
            f"the job barely progresses (ETTR {an.goodput_optimal.ettr:.1e} at the best interval): a restart of"
            f" {an.restart_s / units.MINUTE:,.0f} min against an interruption every"
            f" {an.mtti_s / units.MINUTE:,.1f} min; shorten the restart (reliability.restart) or the job")
    tau = an.interval_s if interval_s is None else interval_s
    c = an.checkpoint
    history = History(
        work_s=an.work_s, interval_s=tau, stall_s=ck.effective_stall_s(c, tau),
        durability_lag_s=c.durability_lag_s, restart_s=an.restart_s, num_spares=an.num_spares, policy=policy,
        num_servers=an.footprint.num_servers,
        persistent_work_s=c.persistent_interval_s if c.mode == "in_memory" else math.inf,
        fallback_restart_s=max(0.0, c.storage_load_s - c.load_s) if c.mode == "in_memory" else 0.0,
    )
    return simulate(history, causes_arrays(an.rates, an.footprint, c), num_runs=num_runs, rng=rng)


def _finite(x: float) -> float | None:
    return x if math.isfinite(x) else None


def rates_document(fleet_name: str, fp: rt.Footprint, rates: tuple[rt.JobRate, ...]) -> dict[str, Any]:
    """The failure model of a job: interruption rates by cause, MTTI and MTTF (SI units)."""
    return {
        "fleet": fleet_name,
        "num_gpus": fp.num_gpus,
        "footprint": {"num_gpus": fp.num_gpus, "num_servers": fp.num_servers, "num_nic_links": fp.num_nic_links,
                      "num_switches": fp.num_switches, "num_racks": fp.num_racks},
        "interruptions_per_day": rt.total_per_s(rates) * units.DAY,
        "unplanned_per_day": rt.total_per_s(rates, planned=False) * units.DAY,
        "hardware_share_of_unplanned": rt.hardware_share(rates),
        "mtti_s": _finite(rt.mtti_s(rates)),
        "mttf_unplanned_s": _finite(rt.mttf_unplanned_s(rates)),
        "by_cause_per_day": rt.by_cause_per_day(rates),
        "rack_domains_per_day": sum(r.per_s for r in rates if r.cause.domain) * units.DAY,
    }


def document(an: Analysis, mc: MonteCarlo | None = None, deadline_s: float | None = None) -> dict[str, Any]:
    """The JSON document of ``colossus reliability --json`` (SI units, keys end in their unit)."""
    doc = rates_document(an.fleet, an.footprint, an.rates)
    c = an.checkpoint
    doc["checkpoint"] = {
        "size_bytes": c.size_bytes, "num_writers": c.num_writers, "mode": c.mode,
        "write_s": c.write_s, "stall_s": c.stall_s, "asynchronous": c.asynchronous, "load_s": c.load_s,
        "replicate_s": c.replicate_s, "durability_lag_s": c.durability_lag_s,
        "restart_s": an.restart_s,
        "optimal_interval_s": _finite(an.optimal_interval_s),
        "interval_s": _finite(an.interval_s),
        "interval_is_auto": an.job.interval_s is None,
    }
    doc["restart"] = an.restart.as_dict()
    doc["goodput"] = {
        "ettr": an.goodput.ettr, "ettr_at_optimal_interval": an.goodput_optimal.ettr,
        "tokens_per_s": an.job.tokens_per_s, "train_tokens": an.job.train_tokens,
        "work_s": an.work_s, "expected_finish_s": _finite(an.goodput.expected_finish_s),
    }
    doc["spares"] = {"recommended": an.spares.num_spares, "confidence": an.spares.confidence,
                     "mean_in_repair_servers": an.spares.mean_in_repair, "simulated": an.num_spares,
                     "p_ready_simulated": p_spare_ready(an.num_spares, an.spares.mean_in_repair)
                     if an.spares.mean_in_repair else 1.0}
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


__all__ = [
    "Allocation", "Analysis", "JobInput", "analyse", "auto_interval_s", "causes_arrays", "default_fabric",
    "document", "fallback_per_s", "job_checkpoint", "job_footprint", "job_rates", "job_restart",
    "plan_allocation", "rates_document", "simulate_job", "tokens_per_s_from_mfu",
]
