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


def supply_model(spec: SupplySpec, sim: SimPowerSpec, *, duration_s: float, rng: np.random.Generator) -> SupplyModel:
    s = supply_summary(spec)
    ratings = np.array([f.rating_w for f in s.fleets])
    counts = np.array([f.count for f in s.fleets], dtype=np.int64)
    co2 = np.array([f.heat_rate_j_per_j * f.co2_kg_per_j_fuel for f in s.fleets])
    nox = np.array([f.nox_kg_per_j for f in s.fleets])
    mttr_s = sim.generator_mttr_h * units.HOUR
    times, fleets, ups, down0 = [], [], [], []
    for i, f in enumerate(s.fleets):
        a = f.availability
        mean_up = np.inf if a >= 1.0 else mttr_s * a / (1.0 - a)
        down_now = 0
        for _ in range(f.count):
            up = rng.uniform() < a
            down_now += not up
            t = 0.0
            while True:
                mean = mean_up if up else mttr_s
                if not np.isfinite(mean):
                    break
                t += rng.exponential(mean)
                if t >= duration_s:
                    break
                up = not up
                times.append(t)
                fleets.append(i)
                ups.append(up)
        down0.append(down_now)
    order = np.argsort(np.array(times), kind="stable")
    ev = GeneratorEvents(np.array(times)[order], np.array(fleets, dtype=np.int64)[order],
                         np.array(ups, dtype=bool)[order], np.array(down0, dtype=np.int64))
    grid = spec.grid
    start = None if grid.contract_start_day is None else grid.contract_start_day * units.DAY
    rte = (sum(b.round_trip_efficiency * b.energy_j for b in s.batteries) / s.battery_energy_j
           if s.battery_energy_j > 0 else 1.0)
    return SupplyModel(ratings, counts, co2, nox, tuple(f.unit for f in s.fleets),
                       grid.interim_mw * units.MW, grid.contract_mw * units.MW, start, s.grid_co2_kg_per_j,
                       s.battery_energy_j, s.battery_power_w, rte, ev)
