"""Site power as an affine function of what the GPUs are doing, and the deficit response.

The bottom-up demand model (``power.demand.site_demand``) is affine in the
number of idle and working GPUs of each pool and in the working GPUs' draw
(server parts, power-supply losses, distribution, cooling and lighting all
scale linearly with them). The simulation evaluates it at a state every
event, so it reads the coefficients off once, the way ``power.deficit.job_power``
does for one job, and then evaluates a dot product:

    site_w = installed_frac * base_w + sum_p [ idle_p * i_p + sum_jobs n_j * (f_p + g_p * w_j) ]

``base_w`` (fabric, storage, racks, the facility share of those) scales with
the installed share of servers: a rack not yet built draws nothing, and its
switches are assumed to arrive with it. The IT-only coefficients are read off
the same way so that the report can split GPUs, other IT and facility power.

Deficit response (``respond``): with ``supply_w`` below the unconstrained
demand, the strategy parks jobs (their GPUs idle), caps every training GPU at
one power limit (each job's throughput falls along its cap table, which comes
from the Zeus-fitted cap curve of ``power.capping``), or both. ``mix`` parks
filler jobs first (lowest priority, most recently started first: they lose
least), then caps the rest, then parks named jobs: the flagship is the last to
stop. The cap grid is shared (fractions of each GPU's TDP) so one cap applies
site-wide.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.power.assumptions import PowerAssumptions
from colossus.power.capping import CapCurve
from colossus.power.deficit import capped_step
from colossus.power.demand import LoadPoint, PoolLoad, load_fractions, site_demand
from colossus.power.profile import StepProfile
from colossus.spec import GpuSpec, Scenario
from colossus.topology import ClusterInventory


@dataclass(frozen=True)
class SitePower:
    """Affine coefficients of site and IT power, per pool (arrays indexed by pool)."""

    base_site_w: float  # everything with every server off, at full build-out
    base_it_w: float
    idle_site_w: np.ndarray  # per idle (powered, no work) GPU, with its server share
    idle_it_w: np.ndarray
    fixed_site_w: np.ndarray  # per working GPU, its server/rack/facility share, GPU draw excluded
    fixed_it_w: np.ndarray
    gain_site: np.ndarray  # site W per W of GPU draw
    gain_it: np.ndarray
    idle_gpu_w: np.ndarray  # an idle GPU's own draw

    def site_w(self, installed_frac: float, idle: np.ndarray, working: np.ndarray, working_gpu_w: np.ndarray) -> float:
        """Site power: ``idle`` and ``working`` GPUs per pool, ``working_gpu_w`` their summed draw per pool."""
        return float(installed_frac * self.base_site_w + idle @ self.idle_site_w
                     + working @ self.fixed_site_w + working_gpu_w @ self.gain_site)

    def it_w(self, installed_frac: float, idle: np.ndarray, working: np.ndarray, working_gpu_w: np.ndarray) -> float:
        return float(installed_frac * self.base_it_w + idle @ self.idle_it_w
                     + working @ self.fixed_it_w + working_gpu_w @ self.gain_it)


def site_power(scenario: Scenario, inv: ClusterInventory, a: PowerAssumptions) -> SitePower:
    """Read the coefficients off ``site_demand`` (three evaluations per pool, one for the base)."""
    busy, idle = load_fractions(LoadPoint.TRAINING, a), load_fractions(LoadPoint.IDLE, a)
    pools = scenario.cluster.pools

    def at(pool_name: str | None, working: int, gpu_w: float, idle_gpus: int) -> tuple[float, float]:
        loads = [PoolLoad(p.name, working, gpu_w, idle_gpus) for p in pools if p.name == pool_name]
        d = site_demand(scenario, inv, loads, busy=busy, idle=idle, a=a)
        return d.site_w, d.it_w

    base_site, base_it = at(None, 0, 0.0, 0)
    coeffs: dict[str, list[float]] = {k: [] for k in ("is", "ii", "fs", "fi", "gs", "gi", "idle")}
    for p in pools:
        n, tdp = p.num_gpus, p.gpu.tdp_w
        idle_s, idle_i = at(p.name, 0, 0.0, n)
        zero_s, zero_i = at(p.name, n, 0.0, 0)
        tdp_s, tdp_i = at(p.name, n, tdp, 0)
        coeffs["is"].append((idle_s - base_site) / n)
        coeffs["ii"].append((idle_i - base_it) / n)
        coeffs["fs"].append((zero_s - base_site) / n)
        coeffs["fi"].append((zero_i - base_it) / n)
        coeffs["gs"].append((tdp_s - zero_s) / (n * tdp))
        coeffs["gi"].append((tdp_i - zero_i) / (n * tdp))
        coeffs["idle"].append(p.gpu.idle_w)
    arr = {k: np.array(v) for k, v in coeffs.items()}
    return SitePower(base_site, base_it, arr["is"], arr["ii"], arr["fs"], arr["fi"], arr["gs"], arr["gi"], arr["idle"])


@dataclass(frozen=True)
class CapTable:
    """A job's mean GPU draw and throughput kept at each cap of the shared grid (fractions of TDP).

    ``floor_w``: of ``draw_w``, what a GPU power floor burns beyond the work's own draw (None: no floor).
    """

    draw_w: np.ndarray
    kept_frac: np.ndarray
    floor_w: np.ndarray | None = None


def cap_fracs(gpus: list[GpuSpec], num_points: int) -> np.ndarray:
    """The shared cap grid: from the highest minimum cap (as a share of TDP) of any GPU to 1."""
    low = max(g.min_power_cap_w / g.tdp_w for g in gpus)
    return np.linspace(low, 1.0, num_points)


def profile_table(profile: StepProfile, curve: CapCurve, fracs: np.ndarray, floor_w: float = 0.0) -> CapTable:
    """Cap table of a named job from its step profile (phases draw differently, ``power.deficit``).

    ``floor_w``: the GPU power floor of ``power.swings`` (0: none), which raises the draw, not the speed.
    """
    tdp = profile.gpu.tdp_w
    steps = [capped_step(profile, curve, float(f * tdp), floor_w) for f in fracs]
    draw = np.array([s.mean_gpu_w for s in steps])
    extra = None
    if floor_w > 0:
        extra = draw - np.array([capped_step(profile, curve, float(f * tdp)).mean_gpu_w for f in fracs])
    return CapTable(draw, np.array([s.throughput_frac for s in steps]), extra)


def flat_table(gpu: GpuSpec, draw_frac: float, curve: CapCurve, fracs: np.ndarray) -> CapTable:
    """Cap table of a job that draws ``draw_frac`` of TDP throughout (a filler job)."""
    u_w = draw_frac * gpu.tdp_w
    caps = fracs * gpu.tdp_w
    return CapTable(np.asarray(curve.drawn_w(caps, u_w), dtype=float),
                    np.asarray(curve.throughput_frac(caps, u_w, reference_cap_w=gpu.tdp_w), dtype=float))


@dataclass(frozen=True)
class Group:
    """Training GPUs that share a pool, a cap table and a priority rank (one job, or fillers)."""

    pool: int
    num_gpus: int
    table: CapTable
    rank: tuple  # park order: smaller parks first


@dataclass(frozen=True)
class Response:
    cap_index: int  # into the cap grid; the last is TDP
    parked: frozenset[int]  # group indices parked
    site_w: float
    demand_w: float  # with no response


def respond(power: SitePower, *, fixed_w: float, groups: list[Group], supply_w: float, strategy: str) -> Response:
    """Choose parked groups and one cap so that site power fits ``supply_w``.

    ``fixed_w`` is site power of everything but the training GPUs of ``groups``
    (base, idle and burn-in GPUs, jobs restarting). A parked group's GPUs count
    as idle. If nothing fits (even all parked), everything is parked.
    """
    top = len(groups[0].table.draw_w) - 1 if groups else 0
    if not groups:
        return Response(top, frozenset(), fixed_w, fixed_w)
    pools = np.array([g.pool for g in groups])
    n = np.array([g.num_gpus for g in groups], dtype=float)
    draws = np.stack([g.table.draw_w for g in groups])  # groups x caps
    run_w = n[:, None] * (power.fixed_site_w[pools][:, None] + power.gain_site[pools][:, None] * draws)
    park_w = n * power.idle_site_w[pools]  # a parked group's GPUs as idle
    demand = fixed_w + float(run_w[:, top].sum())
    if demand <= supply_w:
        return Response(top, frozenset(), demand, demand)
    order = np.array(sorted(range(len(groups)), key=lambda i: groups[i].rank), dtype=np.int64)
    fillers = order[[groups[i].rank[0] == 0 for i in order]] if len(order) else order

    def totals(cand: np.ndarray) -> np.ndarray:
        """Site power (rows: the first k of ``cand`` parked, k = 0..len; columns: caps)."""
        cum_run = np.vstack([np.zeros(run_w.shape[1]), np.cumsum(run_w[cand], axis=0)])
        cum_park = np.concatenate([[0.0], np.cumsum(park_w[cand])])
        return fixed_w + run_w.sum(axis=0)[None, :] - cum_run + cum_park[:, None]

    def first_fit(cand: np.ndarray, cap: int) -> Response | None:
        t = totals(cand)
        ok = np.flatnonzero(t[:, cap] <= supply_w)
        if not ok.size:
            return None
        k = int(ok[0])
        return Response(cap, frozenset(int(i) for i in cand[:k]), float(t[k, cap]), demand)

    def best_cap(cand: np.ndarray) -> Response | None:
        t = totals(cand)[-1]
        ok = np.flatnonzero(t <= supply_w)
        if not ok.size:
            return None
        c = int(ok[-1])
        return Response(c, frozenset(int(i) for i in cand), float(t[c]), demand)

    if strategy == "park":
        found = first_fit(order, top)
    elif strategy == "cap":
        found = best_cap(order[:0]) or first_fit(order, 0)
    else:  # mix: fillers first at full power, then cap the named jobs, then park them too
        found = first_fit(fillers, top) or best_cap(fillers) or first_fit(order, 0)
    if found is not None:
        return found
    return Response(0, frozenset(range(len(groups))), fixed_w + float(park_w.sum()), demand)
