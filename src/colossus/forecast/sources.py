"""The sources of doubt of a forecast, and the draws that sample them.

Five sources, each a quantity (or two) a draw sets before the facility
simulation runs:

=============  ===============================================  ==================================
source         what a draw sets                                 distribution
=============  ===============================================  ==================================
step_time      the named job's ``throughput_scale``             measured: the perf model's left-out
                                                                errors (``forecast.step_time``)
failure_rates  a multiplier of every failure rate               measured: lognormal, median 1, the
               (``simulation.failures.rate_scale``)             published fleets' log spread
                                                                (``reliability.fleet_spread``)
buildout       days every pool's build-out starts late, and a   the scenario's three-point
               multiplier of its ``ramp_days`` (one draw moves  estimates (``forecast.buildout``)
               both: late parts make a late and slow build)
generators     a multiplier of every generator's forced-outage  ``forecast.supply``
               share ``1 - availability``
grid           days the grid contract starts late               ``forecast.supply``
=============  ===============================================  ==================================

A source is *active* when it applies to the scenario (a build-out, generators,
a contract date) and its distribution has a spread; only active sources are
drivers in the tornado. Each draw's probabilities ``u`` (one per source, in
``SOURCES`` order) come from a randomly shifted quasi-random sequence seeded by
the forecast's seed (``unit_points``): point i is the same whatever N, so
asking for more runs extends a forecast, and each fifth of every source's
range gets its share of draws (which steadies the tornado). A draw's simulation seed is drawn
from ``SeedSequence([seed, index])``, so draws are independent histories.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
import math
from statistics import NormalDist
from typing import Any

import numpy as np

from colossus.catalog import read_table
from colossus.forecast.step_time import shipped
from colossus.spec import Scenario
from colossus.spec.bounds import MAX_DAYS, MAX_RATE_SCALE, MAX_SEED

#: Every source, in the order of the Sobol dimensions (fixed, so that a source's draws do not depend
#: on which others apply).
SOURCES: tuple[str, ...] = ("step_time", "failure_rates", "buildout", "generators", "grid")
LABELS: Mapping[str, str] = {
    "step_time": "step time (perf model error)",
    "failure_rates": "failure rates (fleet spread)",
    "buildout": "build-out slip",
    "generators": "generator availability",
    "grid": "grid contract date",
}
#: What a planner can do about each (the tornado's reading).
LEVERS: Mapping[str, str] = {
    "step_time": "measure the stack at scale, or a faster one",
    "failure_rates": "spares, in-memory or faster checkpoints, a better-run fleet",
    "buildout": "earlier orders, more install crews",
    "generators": "more or spare generators, batteries",
    "grid": "an earlier or interim grid connection",
}
#: The column of each quantity a draw sets, and its neutral value (what a source that does not apply sets).
NEUTRAL: Mapping[str, float] = {
    "step_time.throughput_scale": 1.0,
    "failure_rates.multiplier": 1.0,
    "buildout.slip_days": 0.0,
    "buildout.ramp_factor": 1.0,
    "generators.outage_factor": 1.0,
    "grid.slip_days": 0.0,
}
#: Largest forced-outage share a drawn factor may give a generator (it must come back up some time).
MAX_OUTAGE_SHARE = 0.99
#: Keeps the normal quantile finite at a Sobol point of exactly 0.
_U_EPS = 1e-12


@cache
def defaults() -> Mapping[str, Any]:
    """``catalog/data/forecast.toml``."""
    return read_table("forecast")


def default(dotted: str) -> Any:
    node: Any = defaults()
    for part in dotted.split("."):
        node = node[part]
    return node


@dataclass(frozen=True, slots=True)
class Triangle:
    """A three-point estimate (triangular distribution)."""

    low: float
    mode: float
    high: float

    @property
    def spread(self) -> bool:
        return self.high > self.low

    def quantile(self, u: float) -> float:
        a, c, b = self.low, self.mode, self.high
        if b <= a:
            return a
        if u < (c - a) / (b - a):
            return a + math.sqrt(u * (b - a) * (c - a))
        return b - math.sqrt((1.0 - u) * (b - a) * (b - c))

    def as_dict(self) -> dict[str, Any]:
        return {"kind": "triangular", "low": self.low, "mode": self.mode, "high": self.high}


def _triangle(given: Any, dotted: str) -> Triangle:
    """The scenario's estimate, else the catalog default."""
    src = given if given is not None else None
    if src is not None:
        return Triangle(float(src.low), float(src.mode), float(src.high))
    d = default(dotted)
    return Triangle(float(d["low"]), float(d["mode"]), float(d["high"]))


@dataclass(frozen=True)
class Source:
    """One source of doubt: what it sets, from which distribution, and whether it applies here."""

    name: str
    active: bool
    applies: bool
    distribution: dict[str, Any]
    at: Callable[[float], dict[str, float]]  # probability -> the columns it sets

    @property
    def label(self) -> str:
        return LABELS[self.name]

    def as_dict(self) -> dict[str, Any]:
        low, high = self.at(0.1), self.at(0.9)
        return {"name": self.name, "label": self.label, "active": self.active, "applies": self.applies,
                "lever": LEVERS[self.name], "distribution": self.distribution, "at_p10": low, "at_p90": high}


def _step_time(scenario: Scenario, job: str | None) -> Source:
    measured = scenario.forecast.step_time_error == "measured"
    # the left-out errors of runs of the job's kind (dense or mixture of experts; every run's for no one job)
    moe = next((j.model.moe is not None for j in scenario.jobs if j.name == job), None)
    error = shipped().of_kind(moe)
    dist = {"kind": "measured", **error.summary(), "file": "catalog/data/forecast_step_time_error.toml"} \
        if measured else {"kind": "none"}
    return Source("step_time", measured, True, dist,
                  lambda u: {"step_time.throughput_scale": float(error.quantile(u)) if measured else 1.0})


def _failure_rates(scenario: Scenario) -> Source:
    from colossus.reliability.fleets import default_fleet_name, fleet_spread  # noqa: PLC0415

    measured = scenario.forecast.failure_rate_spread == "measured"
    spread = fleet_spread(scenario.reliability.fleet or default_fleet_name())
    sd = spread.log_sd
    dist = ({"kind": "lognormal", "median": 1.0, "log_sd": sd, "fleets": sorted(spread.multipliers),
             "reference": spread.reference} if measured else {"kind": "none"})
    normal = NormalDist()

    def at(u: float) -> dict[str, float]:
        if not measured:
            return {"failure_rates.multiplier": 1.0}
        z = normal.inv_cdf(min(max(u, _U_EPS), 1.0 - _U_EPS))
        return {"failure_rates.multiplier": math.exp(sd * z)}

    return Source("failure_rates", measured and sd > 0, True, dist, at)


def _buildout(scenario: Scenario) -> Source:
    doubt = scenario.forecast.buildout
    slip = _triangle(doubt.slip_days, "buildout.slip_days")
    ramp = _triangle(doubt.ramp_factor, "buildout.ramp_factor")
    applies = bool(scenario.simulation.buildout)

    def at(u: float) -> dict[str, float]:
        if not applies:
            return {"buildout.slip_days": 0.0, "buildout.ramp_factor": 1.0}
        return {"buildout.slip_days": slip.quantile(u), "buildout.ramp_factor": ramp.quantile(u)}

    dist = {"slip_days": slip.as_dict(), "ramp_factor": ramp.as_dict(), "together": True}
    return Source("buildout", applies and (slip.spread or ramp.spread), applies, dist, at)


def _generators(scenario: Scenario) -> Source:
    factor = _triangle(scenario.forecast.supply.generator_outage_factor, "supply.generator_outage_factor")
    applies = any(f.count > 0 for f in scenario.power.supply.generators)

    def at(u: float) -> dict[str, float]:
        return {"generators.outage_factor": factor.quantile(u) if applies else 1.0}

    return Source("generators", applies and factor.spread, applies, {"outage_factor": factor.as_dict()}, at)


def _grid(scenario: Scenario) -> Source:
    slip = _triangle(scenario.forecast.supply.grid_slip_days, "supply.grid_slip_days")
    applies = scenario.power.supply.grid.contract_start_day is not None

    def at(u: float) -> dict[str, float]:
        return {"grid.slip_days": slip.quantile(u) if applies else 0.0}

    return Source("grid", applies and slip.spread, applies, {"slip_days": slip.as_dict()}, at)


def sources(scenario: Scenario, job: str | None = None) -> tuple[Source, ...]:
    """Every source, in ``SOURCES`` order, for this scenario and the job it forecasts."""
    return (_step_time(scenario, job), _failure_rates(scenario), _buildout(scenario), _generators(scenario),
            _grid(scenario))


@dataclass(frozen=True)
class Draw:
    """One draw: its index, simulation seed, probabilities per source, and the columns they set."""

    index: int
    sim_seed: int
    u: dict[str, float]
    values: dict[str, float]

    def inputs(self) -> tuple[tuple[str, Any], ...]:
        """The draw as (column, value) pairs, in a fixed order (stored with its outputs)."""
        return (("draw.index", self.index), *((f"u.{n}", self.u[n]) for n in SOURCES),
                *((f"draw.{k}", self.values[k]) for k in NEUTRAL))


def _r_sequence_alphas(dims: int) -> np.ndarray:
    """Roberts' R_d steps: 1 / phi_d^k, phi_d the positive root of x^(d+1) = x + 1 (the golden ratio for d=1)."""
    phi = 2.0
    for _ in range(64):  # fixed-point iteration, converges to double precision long before 64 steps
        phi = (1.0 + phi) ** (1.0 / (dims + 1))
    return np.array([phi ** -(k + 1) for k in range(dims)])


def unit_points(seed: int, num: int) -> np.ndarray:
    """Points ``0 .. num-1`` of the forecast's quasi-random sequence (one column per source).

    Roberts' R_d sequence (``frac(shift + i * alpha)``, "The unreasonable effectiveness of
    quasirandom sequences", 2018), randomly shifted by the seed (Cranley and Patterson, 1976):
    every point is uniform on its own, so estimates stay unbiased, while the points of every
    prefix spread evenly over each source's range. Point ``i`` does not depend on ``num``.
    """
    alphas = _r_sequence_alphas(len(SOURCES))
    shift = np.random.default_rng(np.random.SeedSequence([seed, len(SOURCES)])).random(len(SOURCES))
    index = np.arange(num, dtype=np.float64)[:, None]
    return np.mod(shift[None, :] + index * alphas[None, :], 1.0)


def sim_seed(seed: int, index: int) -> int:
    """The simulation seed of draw ``index`` (independent of how many draws there are)."""
    state = np.random.SeedSequence([seed, index]).generate_state(1, np.uint64)[0]
    return int(state) & MAX_SEED


def make_draws(all_sources: tuple[Source, ...], seed: int, num: int) -> list[Draw]:
    """Draws ``0 .. num-1`` of a forecast seeded ``seed``."""
    points = unit_points(seed, num)
    out = []
    for i in range(num):
        u = {name: float(points[i, k]) for k, name in enumerate(SOURCES)}
        values: dict[str, float] = {}
        for source in all_sources:
            values.update(source.at(u[source.name]))
        out.append(Draw(i, sim_seed(seed, i), u, values))
    return out


# --- a draw's scenario -----------------------------------------------------------------------


def apply_draw(scenario: Scenario, job_name: str, values: Mapping[str, float], *, days: float,
               fillers: bool) -> Scenario:
    """The scenario one draw simulates: every drawn quantity set, each within its field's bounds.

    Built with ``model_copy`` from the validated scenario, not by dumping and validating it again: a
    dump writes every default, and a field a file left out can mean "open" (a layout's recompute or
    ZeRO stage left to the planner), which a dump would turn into a fixed choice.
    """
    scale = float(values["step_time.throughput_scale"])
    jobs = [j.model_copy(update={"throughput_scale": scale}) if j.name == job_name else j for j in scenario.jobs]
    sim = scenario.simulation
    failures = sim.failures.model_copy(update={
        "rate_scale": min(MAX_RATE_SCALE, sim.failures.rate_scale * float(values["failure_rates.multiplier"]))})
    slip, ramp = float(values["buildout.slip_days"]), float(values["buildout.ramp_factor"])
    buildout = [b.model_copy(update={"start_day": min(MAX_DAYS, max(0.0, b.start_day + slip)),
                                     "ramp_days": min(MAX_DAYS, b.ramp_days * ramp)}) for b in sim.buildout]
    workload = sim.workload if fillers else sim.workload.model_copy(update={"source": "none"})
    interval = max(sim.telemetry_interval_min, float(default("draws.telemetry_interval_min")))
    sim = sim.model_copy(update={"days": float(days), "telemetry_interval_min": interval, "failures": failures,
                                 "buildout": buildout, "workload": workload})
    supply = scenario.power.supply
    outage = float(values["generators.outage_factor"])
    fleets = [f.model_copy(update={"unit": f.unit.model_copy(update={
        "availability": 1.0 - min(MAX_OUTAGE_SHARE, (1.0 - f.unit.availability) * outage)})})
        for f in supply.generators]
    grid = supply.grid
    if grid.contract_start_day is not None:
        start = min(MAX_DAYS, max(0.0, grid.contract_start_day + float(values["grid.slip_days"])))
        grid = grid.model_copy(update={"contract_start_day": start})
    power = scenario.power.model_copy(update={"supply": supply.model_copy(update={"generators": fleets,
                                                                                  "grid": grid})})
    return scenario.model_copy(update={"jobs": jobs, "simulation": sim, "power": power})


__all__ = [
    "Draw", "LABELS", "LEVERS", "NEUTRAL", "SOURCES", "Source", "Triangle", "apply_draw", "default", "defaults",
    "make_draws", "sim_seed", "sources", "unit_points",
]
