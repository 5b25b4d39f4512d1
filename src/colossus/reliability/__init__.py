"""Failure rates, checkpoint and restart cost, optimal interval, goodput (closed form and
Monte Carlo) and spare pools of a training job.

Typical use::

    an = analyse(JobInput(model, num_gpus=16384, gpus_per_server=8, fabric=default_fabric(),
                          tokens_per_s=..., train_tokens=...))
    mc = simulate_job(an, num_runs=1000, rng=np.random.default_rng(seed))
    document(an, mc)
"""

from colossus.reliability.assumptions import Assumptions, default_assumptions
from colossus.reliability.checkpoint import (
    Checkpoint,
    checkpoint_size_bytes,
    daly_interval_s,
    effective_stall_s,
    num_writers,
    optimal_interval_s,
    plan_checkpoint,
    restart_s,
    young_interval_s,
)
from colossus.reliability.goodput import Goodput, cycle_wall_s, ettr, goodput
from colossus.reliability.job import (
    Analysis,
    JobInput,
    analyse,
    causes_arrays,
    default_fabric,
    document,
    simulate_job,
    tokens_per_s_from_mfu,
)
from colossus.reliability.montecarlo import Causes, History, MonteCarlo, simulate
from colossus.reliability.rates import (
    CAUSES,
    CauseRate,
    Footprint,
    JobRate,
    by_cause_per_day,
    calibration_footprint,
    catalog_causes,
    footprint,
    hardware_share,
    job_rates,
    mtti_s,
    total_per_s,
)
from colossus.reliability.spares import SparePool, mean_in_repair, p_spare_ready, size_spares

__all__ = [
    "CAUSES", "Analysis", "Assumptions", "CauseRate", "Causes", "Checkpoint", "Footprint", "Goodput",
    "History", "JobInput", "JobRate", "MonteCarlo", "SparePool", "analyse", "by_cause_per_day",
    "calibration_footprint", "catalog_causes", "causes_arrays", "checkpoint_size_bytes", "cycle_wall_s",
    "daly_interval_s", "default_assumptions", "default_fabric", "document", "effective_stall_s", "ettr",
    "footprint", "goodput", "hardware_share", "job_rates", "mean_in_repair", "mtti_s", "num_writers",
    "optimal_interval_s", "p_spare_ready", "plan_checkpoint", "restart_s", "simulate", "simulate_job",
    "size_spares", "tokens_per_s_from_mfu", "total_per_s", "young_interval_s",
]
