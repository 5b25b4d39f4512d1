"""Running a training job on less power than it needs: cap every GPU, park replicas, or both.

A job of ``R`` data-parallel replicas runs ``k <= R`` replicas with every
running GPU capped at ``c``. Its throughput kept (fraction of running all
replicas at the default limit, the GPU's TDP) is

    kept(k, c) = k / R * T(tdp) / T(c),   T(c) = sum_i t_i * r(tdp / u_i) / r(c / u_i)

with ``t_i`` and ``u_i`` the duration and uncapped draw of step phase ``i`` and
``r`` the fitted cap curve (``capping``): communication-bound phases draw less,
so a cap slows them less. Parked replicas are assumed to cost throughput in
proportion (the global batch is kept with more gradient-accumulation steps, or
the batch shrinks; either way tokens/s scale with the replicas running).

Site power is affine in the running GPUs and their mean draw ``g(c)``:
``site(k, c) = base + k * G * (fixed + gain * g(c))`` (``G`` GPUs per replica),
with the three coefficients read off ``demand.site_demand`` (``job_power``).
Strategies: ``uniform cap`` (k = R, the highest cap that fits), ``park
replicas`` (c = TDP, the most replicas that fit), ``mix`` (the best (k, c) on
the grid). The chosen one keeps the most throughput; since more supply only
adds feasible (k, c), more supply never keeps less.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from colossus.power.assumptions import PowerAssumptions
from colossus.power.capping import CapCurve
from colossus.power.demand import LoadPoint, PoolLoad, load_fractions, site_demand
from colossus.power.profile import StepProfile
from colossus.spec import Scenario
from colossus.topology import ClusterInventory


@dataclass(frozen=True, slots=True)
class CappedStep:
    cap_w: float
    step_time_s: float
    throughput_frac: float  # relative to the GPU's default limit (TDP)
    mean_gpu_w: float
    phase_times_s: tuple[float, ...]
    phase_draws_w: tuple[float, ...]


def capped_step(profile: StepProfile, curve: CapCurve, cap_w: float, floor_w: float = 0.0) -> CappedStep:
    """One step with every GPU capped at ``cap_w``: phase times, draws and the mean draw.

    ``floor_w``: a power floor (GPU power smoothing) raises every phase's draw to
    at least ``min(floor_w, cap_w)`` without changing its time: the extra is burned.
    """
    tdp_w = profile.gpu.tdp_w
    floor = min(floor_w, cap_w)
    times, draws = [], []
    for ph in profile.phases:
        u_w = ph.draw_frac * tdp_w
        times.append(ph.duration_s / float(curve.throughput_frac(cap_w, u_w, reference_cap_w=tdp_w)))
        draws.append(max(float(curve.drawn_w(cap_w, u_w)), floor))
    step_s = sum(times)
    mean_w = sum(t * d for t, d in zip(times, draws)) / step_s
    return CappedStep(cap_w, step_s, profile.step_time_s / step_s, mean_w, tuple(times), tuple(draws))


@dataclass(frozen=True, slots=True)
class JobPower:
    """Site power with ``n`` of the job's GPUs running at mean draw ``g``: ``base + n * (fixed + gain * g)``."""

    base_w: float  # the rest of the site with the job's servers off (or idle: events.deficit.unused_servers_off)
    fixed_w_per_gpu: float  # a running GPU's share of its server, rack and facility power, GPU itself excluded
    gain: float  # site W per W of GPU draw (power supplies, distribution, cooling)
    it_gain: float  # the same without cooling and misc (what swings within seconds)

    def site_w(self, num_gpus, gpu_w):
        return self.base_w + num_gpus * (self.fixed_w_per_gpu + self.gain * gpu_w)


def job_power(
    scenario: Scenario, inv: ClusterInventory, profile: StepProfile, pool: str, a: PowerAssumptions
) -> JobPower:
    """Read the affine coefficients off the bottom-up demand model (three evaluations)."""
    busy, idle = load_fractions(LoadPoint.TRAINING, a), load_fractions(LoadPoint.IDLE, a)
    others_on = not a.get("events.deficit.unused_servers_off")

    def site(n: int, g: float) -> tuple[float, float]:
        loads = []
        for p in scenario.cluster.pools:
            idle_gpus = (p.num_gpus - (n if p.name == pool else 0)) if others_on else 0
            loads.append(PoolLoad(p.name, n if p.name == pool else 0, g, idle_gpus))
        d = site_demand(scenario, inv, loads, busy=busy, idle=idle, a=a)
        return d.site_w, d.it_w + d.facility.distribution_loss_w

    n, tdp_w = profile.num_gpus, profile.gpu.tdp_w
    base, _ = site(0, 0.0)
    (at_zero, it_zero), (at_tdp, it_tdp) = site(n, 0.0), site(n, tdp_w)
    return JobPower(base, (at_zero - base) / n, (at_tdp - at_zero) / (n * tdp_w), (it_tdp - it_zero) / (n * tdp_w))


@dataclass(frozen=True, slots=True)
class Choice:
    strategy: str
    gpu_cap_w: float
    num_replicas_running: int
    num_gpus_running: int
    throughput_kept_frac: float
    site_w: float
    mean_gpu_w: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy, "gpu_cap_w": self.gpu_cap_w, "num_replicas_running": self.num_replicas_running,
            "num_gpus_running": self.num_gpus_running, "throughput_kept_frac": self.throughput_kept_frac,
            "site_w": self.site_w, "mean_gpu_w": self.mean_gpu_w,
        }


@dataclass(frozen=True, slots=True)
class CapTable:
    """The capped step on a grid of caps (ascending, TDP last)."""

    caps_w: np.ndarray
    kept_frac: np.ndarray
    mean_gpu_w: np.ndarray


def cap_table(profile: StepProfile, curve: CapCurve, a: PowerAssumptions, floor_w: float = 0.0) -> CapTable:
    gpu = profile.gpu
    step_w = a.f("events.deficit.cap_step_w")
    caps = np.unique(np.append(np.arange(gpu.min_power_cap_w, gpu.tdp_w, step_w), gpu.tdp_w))
    steps = [capped_step(profile, curve, float(c), floor_w) for c in caps]
    return CapTable(caps, np.array([s.throughput_frac for s in steps]), np.array([s.mean_gpu_w for s in steps]))


def _best(mask: np.ndarray, kept: np.ndarray, power: np.ndarray) -> tuple[int, int] | None:
    """Index (k, c) of the most throughput among feasible cells; ties go to the lower power."""
    if not mask.any():
        return None
    score = np.where(mask, kept, -1.0)
    top = score.max()
    cand = np.where(mask & (score >= top - 1e-12), power, np.inf)
    k, c = np.unravel_index(int(np.argmin(cand)), cand.shape)
    return int(k), int(c)


def strategies(profile: StepProfile, table: CapTable, jp: JobPower, supply_w: float) -> dict[str, Choice | None]:
    """The best choice of each strategy under ``supply_w`` (None where none fits)."""
    replicas = np.arange(1, profile.num_replicas + 1)[:, None]
    gpus = replicas * profile.gpus_per_replica
    power = jp.site_w(gpus, table.mean_gpu_w[None, :])
    kept = replicas / profile.num_replicas * table.kept_frac[None, :]
    fits = power <= supply_w
    full = np.zeros_like(fits)
    full[-1, :] = True  # every replica running
    tdp = np.zeros_like(fits)
    tdp[:, -1] = True  # default limit
    out: dict[str, Choice | None] = {}
    for name, mask in (("uniform cap", fits & full), ("park replicas", fits & tdp), ("mix", fits)):
        cell = _best(mask, kept, power)
        out[name] = None if cell is None else _choice(name, cell, profile, table, power, kept)
    return out


def _choice(name: str, cell: tuple[int, int], profile: StepProfile, table: CapTable, power, kept) -> Choice:
    k, c = cell
    return Choice(name, float(table.caps_w[c]), k + 1, (k + 1) * profile.gpus_per_replica, float(kept[k, c]),
                  float(power[k, c]), float(table.mean_gpu_w[c]))


@dataclass(frozen=True, slots=True)
class Deficit:
    supply_w: float
    demand_w: float  # the site with the job unconstrained
    options: dict[str, Choice | None]
    chosen: Choice

    @property
    def deficit_w(self) -> float:
        return max(0.0, self.demand_w - self.supply_w)


def respond(profile: StepProfile, table: CapTable, jp: JobPower, supply_w: float) -> Deficit:
    """Compare the strategies and choose the one keeping the most throughput."""
    demand_w = float(jp.site_w(profile.num_gpus, table.mean_gpu_w[-1]))
    tdp = float(table.caps_w[-1])
    if demand_w <= supply_w:
        full = Choice("none needed", tdp, profile.num_replicas, profile.num_gpus, 1.0, demand_w,
                      float(table.mean_gpu_w[-1]))
        return Deficit(supply_w, demand_w, {"uniform cap": full, "park replicas": full, "mix": full}, full)
    options = strategies(profile, table, jp, supply_w)
    feasible = [c for c in options.values() if c is not None]
    if not feasible:
        stop = Choice("stop", 0.0, 0, 0, 0.0, float(jp.base_w), 0.0)
        return Deficit(supply_w, demand_w, options, stop)
    order = {"uniform cap": 0, "park replicas": 1, "mix": 2}  # on a tie prefer the simpler strategy
    best = max(feasible, key=lambda c: (round(c.throughput_kept_frac, 9), -order[c.strategy]))
    return Deficit(supply_w, demand_w, options, best)
