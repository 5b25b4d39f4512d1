"""The power supply over time: generator outages drawn up front, the grid's contract date, batteries.

Each generating unit alternates between up and down (an alternating renewal
process): down spells last ``generator_mttr_h`` on average, up spells are
exponential with the mean that gives the unit's catalog ``availability``
(``mean_up = mttr * A / (1 - A)``). Each unit starts up with probability
``A`` (the process in steady state). The draws are vectorised over a fleet's
units; a fleet so large that its outages would be more than
``MAX_OUTAGE_EVENTS`` events is held at its mean number of units down.
How the supply is dispatched is ``sim.dispatch`` (on ``power.dispatch``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus import units
from colossus.power.supply import supply_summary
from colossus.spec import SimPowerSpec, SupplySpec


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


#: Above this many expected outage events per fleet, the fleet's outages are taken at their mean
#: (a constant number of units down) instead of drawn unit by unit: for a fleet of millions of
#: units the count down is, by the law of large numbers, its mean.
MAX_OUTAGE_EVENTS = 200_000


def _fleet_outages(count: int, availability: float, mttr_s: float, duration_s: float,
                   rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, int]:
    """Transition times and new states (True = up) of ``count`` units, and how many are down at 0."""
    if count == 0 or availability >= 1.0:
        return np.zeros(0), np.zeros(0, dtype=bool), 0
    mean_up = mttr_s * availability / (1.0 - availability)
    per_unit = 2.0 * duration_s / (mean_up + mttr_s)
    if count * per_unit > MAX_OUTAGE_EVENTS:
        return np.zeros(0), np.zeros(0, dtype=bool), int(round(count * (1.0 - availability)))
    up0 = rng.uniform(size=count) < availability
    cols = int(per_unit * 1.5) + 4
    times_all, states_all = [], []
    start = np.zeros(count)
    up = up0.copy()
    rows = np.arange(count)
    while rows.size:
        parity = np.arange(cols) % 2 == 0  # spell j is in the unit's state at its start when j is even
        state = np.where(parity[None, :], up[rows, None], ~up[rows, None])
        spells = rng.exponential(1.0, (rows.size, cols)) * np.where(state, mean_up, mttr_s)
        ends = start[rows, None] + np.cumsum(spells, axis=1)
        keep = ends < duration_s
        times_all.append(ends[keep])
        states_all.append(~state[keep])  # at the end of a spell the unit flips
        more = keep[:, -1]
        start[rows[more]] = ends[more, -1]
        up[rows[more]] = ~state[more, -1]
        rows = rows[more]
    times = np.concatenate(times_all) if times_all else np.zeros(0)
    states = np.concatenate(states_all) if states_all else np.zeros(0, dtype=bool)
    return times, states, int((~up0).sum())


def supply_model(spec: SupplySpec, sim: SimPowerSpec, *, duration_s: float, rng: np.random.Generator) -> SupplyModel:
    """Generator outages drawn for the whole period (vectorised over units), grid and batteries."""
    s = supply_summary(spec)
    ratings = np.array([f.rating_w for f in s.fleets])
    counts = np.array([f.count for f in s.fleets], dtype=np.int64)
    co2 = np.array([f.heat_rate_j_per_j * f.co2_kg_per_j_fuel for f in s.fleets])
    nox = np.array([f.nox_kg_per_j for f in s.fleets])
    mttr_s = sim.generator_mttr_h * units.HOUR
    times, fleets, ups, down0 = [], [], [], []
    for i, f in enumerate(s.fleets):
        t, up, d0 = _fleet_outages(f.count, f.availability, mttr_s, duration_s, rng)
        times.append(t)
        ups.append(up)
        fleets.append(np.full(t.size, i, dtype=np.int64))
        down0.append(d0)
    t_all = np.concatenate(times) if times else np.zeros(0)
    order = np.argsort(t_all, kind="stable")
    ev = GeneratorEvents(t_all[order], (np.concatenate(fleets) if fleets else np.zeros(0, dtype=np.int64))[order],
                         (np.concatenate(ups) if ups else np.zeros(0, dtype=bool))[order],
                         np.array(down0, dtype=np.int64))
    grid = spec.grid
    start = None if grid.contract_start_day is None else grid.contract_start_day * units.DAY
    rte = (sum(b.round_trip_efficiency * b.energy_j for b in s.batteries) / s.battery_energy_j
           if s.battery_energy_j > 0 else 1.0)
    return SupplyModel(ratings, counts, co2, nox, tuple(f.label for f in spec.generators),
                       grid.interim_mw * units.MW, grid.contract_mw * units.MW, start, s.grid_co2_kg_per_j,
                       s.battery_energy_j, s.battery_power_w, rte, ev)
