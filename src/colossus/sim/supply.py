"""The power supply over time: generator outages drawn up front, the grid's contract date, batteries.

Each generating unit alternates between up and down (an alternating renewal
process): down spells last ``generator_mttr_h`` on average, up spells are
exponential with the mean that gives the unit's catalog ``availability``
(``mean_up = mttr * A / (1 - A)``). Each unit starts up with probability
``A`` (the process in steady state). Generator output is dispatched after the
grid (the grid is cheaper and cleaner), and batteries cover what is left
within their power and energy, recharging from any surplus.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus import units
from colossus.power.supply import supply_summary
from colossus.errors import SpecError
from colossus.spec import SimPowerSpec, SupplySpec
from colossus.spec.bounds import MAX_GENERATOR_OUTAGES


@dataclass(frozen=True)
class GeneratorEvents:
    """Times at which a unit goes down or comes back, in time order."""

    time_s: np.ndarray
    fleet: np.ndarray  # index of the fleet
    up: np.ndarray  # bool: True = comes back up
    initially_down: np.ndarray  # units per fleet down at time 0


@dataclass(frozen=True)
class SupplyModel:
    fleet_rating_w: np.ndarray
    fleet_count: np.ndarray
    fleet_co2_kg_per_j: np.ndarray  # per J electric
    fleet_nox_kg_per_j: np.ndarray
    fleet_names: tuple[str, ...]
    grid_interim_w: float
    grid_contract_w: float
    contract_start_s: float | None
    grid_co2_kg_per_j: float
    battery_energy_j: float
    battery_power_w: float
    battery_rte: float
    events: GeneratorEvents

    def grid_w(self, t: float) -> float:
        on = self.contract_start_s is not None and t >= self.contract_start_s
        return self.grid_contract_w if on else self.grid_interim_w


def _mean_up_s(availability: float, mttr_s: float) -> float:
    return np.inf if availability >= 1.0 else mttr_s * availability / (1.0 - availability)


def _check_outages(fleets, mttr_s: float, duration_s: float) -> None:
    """Refuse a supply whose expected outages are too many to simulate (each is an event)."""
    expected = sum(f.count * duration_s / (_mean_up_s(f.availability, mttr_s) + mttr_s) for f in fleets)
    if expected > MAX_GENERATOR_OUTAGES:
        raise SpecError(f"the generators would have about {expected:,.0f} outages in the period"
                        f" (limit {MAX_GENERATOR_OUTAGES:,}); raise generator_mttr_h, or use fewer units or days",
                        path=["simulation", "power", "generator_mttr_h"])


def _fleet_events(count: int, availability: float, mttr_s: float, duration_s: float,
                  rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Up/down switching times of ``count`` identical units: times, the state entered, units down at 0.

    All units of a fleet advance together, one spell per round (numpy over
    the units still inside the period), so the work grows with the number of
    spells, not with a Python loop per unit.
    """
    mean_up = _mean_up_s(availability, mttr_s)
    up = rng.uniform(size=count) < availability
    down_now = int(count - np.count_nonzero(up))
    t = np.zeros(count)
    live = np.arange(count)
    times, states = [], []
    while live.size:
        mean = np.where(up[live], mean_up, mttr_s)
        keep = np.isfinite(mean)  # a unit that never fails stays up
        live, mean = live[keep], mean[keep]
        t[live] += rng.exponential(mean)
        live = live[t[live] < duration_s]
        up[live] = ~up[live]
        times.append(t[live])
        states.append(up[live])
    return (np.concatenate(times) if times else np.zeros(0), np.concatenate(states) if states else np.zeros(0, bool),
            down_now)


def supply_model(spec: SupplySpec, sim: SimPowerSpec, *, duration_s: float, rng: np.random.Generator) -> SupplyModel:
    s = supply_summary(spec)
    ratings = np.array([f.rating_w for f in s.fleets])
    counts = np.array([f.count for f in s.fleets], dtype=np.int64)
    co2 = np.array([f.heat_rate_j_per_j * f.co2_kg_per_j_fuel for f in s.fleets])
    nox = np.array([f.nox_kg_per_j for f in s.fleets])
    mttr_s = sim.generator_mttr_h * units.HOUR
    _check_outages(s.fleets, mttr_s, duration_s)
    times, fleets, ups, down0 = [], [], [], []
    for i, f in enumerate(s.fleets):
        t, up, down_now = _fleet_events(f.count, f.availability, mttr_s, duration_s, rng)
        times.append(t)
        fleets.append(np.full(t.size, i, dtype=np.int64))
        ups.append(up)
        down0.append(down_now)
    times, fleets, ups = (np.concatenate(x) if x else np.zeros(0) for x in (times, fleets, ups))
    order = np.argsort(times, kind="stable")
    ev = GeneratorEvents(times.astype(float)[order], fleets.astype(np.int64)[order],
                         ups.astype(bool)[order], np.array(down0, dtype=np.int64))
    grid = spec.grid
    start = None if grid.contract_start_day is None else grid.contract_start_day * units.DAY
    rte = (sum(b.round_trip_efficiency * b.energy_j for b in s.batteries) / s.battery_energy_j
           if s.battery_energy_j > 0 else 1.0)
    return SupplyModel(ratings, counts, co2, nox, tuple(f.unit for f in s.fleets),
                       grid.interim_mw * units.MW, grid.contract_mw * units.MW, start, s.grid_co2_kg_per_j,
                       s.battery_energy_j, s.battery_power_w, rte, ev)
