"""What running the site costs: fuel, grid energy and demand, generators, batteries, GPUs.

Every price is a scenario input (``power.prices``) with a documented default
in ``catalog/data/power_prices.toml``; ``prices(scenario)`` resolves them and
converts each once to SI (USD per J, per W per second, ...).

Items of a cost breakdown (USD):

* ``fuel``: fuel burned (HHV) x gas price;
* ``generator_om``: on-site generation x variable O&M;
* ``grid_energy``: grid energy x energy price;
* ``grid_demand``: each billing month's highest ``demand_interval`` mean
  import x demand charge (a part month pro rata);
* ``generator_rental``: rating x units x time on site x rental rate (per kind);
* ``scr``: rating controlled x time x SCR rate;
* ``battery_capital``: energy capacity x installed price x capital recovery
  factor ``r (1+r)^n / ((1+r)^n - 1)`` per year, for the time covered;
* ``gpus``: installed GPU-hours x capital and hosting rate.

Beside them: the cost of the energy lost to a GPU power floor (a share of the
energy items, not an extra item), and cost per GPU-hour and per million tokens.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colossus import units
from colossus.power.assumptions import PowerAssumptions, scenario_assumptions
from colossus.spec import Scenario

#: Scenario field -> (catalog path, converts the file's unit to SI).
_FIELDS: dict[str, str] = {
    "fuel_usd_per_mmbtu": "prices.fuel.usd_per_mmbtu",
    "grid_energy_usd_per_mwh": "prices.grid.energy_usd_per_mwh",
    "grid_demand_usd_per_kw_month": "prices.grid.demand_usd_per_kw_month",
    "reciprocating_rental_usd_per_kw_month": "prices.generators.reciprocating_rental_usd_per_kw_month",
    "turbine_rental_usd_per_kw_month": "prices.generators.turbine_rental_usd_per_kw_month",
    "generator_om_usd_per_mwh": "prices.generators.om_usd_per_mwh",
    "scr_usd_per_kw_month": "prices.generators.scr_usd_per_kw_month",
    "battery_usd_per_kwh": "prices.batteries.usd_per_kwh",
    "battery_life_years": "prices.batteries.life_years",
    "discount_rate": "prices.batteries.discount_rate",
    "gpu_usd_per_hour": "prices.gpus.usd_per_gpu_hour",
}


@dataclass(frozen=True)
class Prices:
    """Prices in SI: USD per J, per W per second, per GPU-second."""

    fuel_usd_per_j: float  # per J of fuel (HHV)
    grid_energy_usd_per_j: float
    grid_demand_usd_per_w_month: float
    demand_interval_s: float
    month_s: float
    rental_usd_per_w_s: Mapping[str, float]  # generator kind -> USD per W of rating per second on site
    generator_om_usd_per_j: float
    scr_usd_per_w_s: float
    battery_usd_per_j_s: float  # capital recovery per J of capacity per second
    gpu_usd_per_s: float
    quoted: Mapping[str, float]  # the prices as quoted (file units), by scenario field name
    from_scenario: tuple[str, ...]  # fields the scenario set

    def as_dict(self) -> dict[str, Any]:
        return {"quoted": dict(self.quoted), "from_scenario": list(self.from_scenario),
                "defaults": "catalog/data/power_prices.toml (each price with its source)"}


def capital_recovery_factor(rate: float, years: float) -> float:
    """Share of a capital cost paid each year to recover it over ``years`` at ``rate``."""
    if rate <= 0:
        return 1.0 / years
    g = (1.0 + rate) ** years
    return rate * g / (g - 1.0)


def prices(scenario: Scenario, a: PowerAssumptions | None = None) -> Prices:
    """The scenario's prices, each from ``power.prices`` or else the catalog default."""
    a = a or scenario_assumptions(scenario)
    given = scenario.power.prices
    q: dict[str, float] = {}
    set_here = []
    for name, path in _FIELDS.items():
        value = getattr(given, name)
        if value is None:
            value = a.f(path)
        else:
            set_here.append(name)
        q[name] = float(value)
    month_s = a.f("prices.grid.month_days") * units.DAY
    per_kw_month = 1.0 / (units.KW * month_s)
    crf = capital_recovery_factor(q["discount_rate"], q["battery_life_years"])
    return Prices(
        fuel_usd_per_j=q["fuel_usd_per_mmbtu"] / units.MMBTU,
        grid_energy_usd_per_j=q["grid_energy_usd_per_mwh"] / units.MWH,
        grid_demand_usd_per_w_month=q["grid_demand_usd_per_kw_month"] / units.KW,
        demand_interval_s=a.f("prices.grid.demand_interval_min") * units.MINUTE,
        month_s=month_s,
        rental_usd_per_w_s={"reciprocating": q["reciprocating_rental_usd_per_kw_month"] * per_kw_month,
                            "turbine": q["turbine_rental_usd_per_kw_month"] * per_kw_month},
        generator_om_usd_per_j=q["generator_om_usd_per_mwh"] / units.MWH,
        scr_usd_per_w_s=q["scr_usd_per_kw_month"] * per_kw_month,
        battery_usd_per_j_s=q["battery_usd_per_kwh"] / units.KWH * crf / units.YEAR,
        gpu_usd_per_s=q["gpu_usd_per_hour"] / units.HOUR,
        quoted=q, from_scenario=tuple(set_here),
    )


def monthly_peaks_w(time_s: np.ndarray, grid_w: np.ndarray, p: Prices) -> list[tuple[float, float]]:
    """(peak demand W, share of a month) per billing month of a series of interval means.

    The billed demand is the highest mean over a demand interval; the series'
    intervals are averaged into demand intervals by their energy (exact for
    interval means), then the maximum is taken per month.
    """
    if time_s.size < 2:
        return []
    dt = np.diff(time_s)
    energy = np.concatenate([[0.0], np.cumsum(grid_w[1:] * dt)])  # grid_w[k] is the mean over (t[k-1], t[k]]
    end = float(time_s[-1])
    edges = np.arange(float(time_s[0]), end, p.demand_interval_s)
    edges = np.append(edges, end)
    e = np.interp(edges, time_s, energy)
    means = np.diff(e) / np.diff(edges)
    mid = (edges[:-1] + edges[1:]) / 2.0
    out = []
    month = np.floor(mid / p.month_s).astype(np.int64)
    for m in np.unique(month):
        sel = month == m
        start, stop = max(m * p.month_s, float(time_s[0])), min((m + 1) * p.month_s, end)
        out.append((float(means[sel].max()), (stop - start) / p.month_s))
    return out


@dataclass(frozen=True)
class FleetTime:
    """A generator fleet's exposure to fixed costs: rating x units x seconds on site."""

    kind: str
    rating_w: float
    count: int
    on_site_s: float
    scr: bool


def cost_breakdown(p: Prices, *, fuel_j: float, generators_j: float, grid_j: float,
                   demand_peaks: Sequence[tuple[float, float]], fleets: Sequence[FleetTime],
                   battery_energy_j: float, duration_s: float, gpu_s: float, floor_j: float = 0.0,
                   tokens: float = 0.0, busy_gpu_s: float | None = None) -> dict[str, Any]:
    """The cost of a period, by item, with cost per GPU-hour and per million tokens."""
    items = {
        "fuel": fuel_j * p.fuel_usd_per_j,
        "generator_om": generators_j * p.generator_om_usd_per_j,
        "grid_energy": grid_j * p.grid_energy_usd_per_j,
        "grid_demand": sum(w * share for w, share in demand_peaks) * p.grid_demand_usd_per_w_month,
        "generator_rental": sum(f.rating_w * f.count * f.on_site_s * p.rental_usd_per_w_s[f.kind] for f in fleets),
        "scr": sum(f.rating_w * f.count * f.on_site_s * p.scr_usd_per_w_s for f in fleets if f.scr),
        "battery_capital": battery_energy_j * p.battery_usd_per_j_s * duration_s,
        "gpus": gpu_s * p.gpu_usd_per_s,
    }
    total = float(sum(items.values()))
    energy_j = grid_j + generators_j
    energy_usd = items["fuel"] + items["generator_om"] + items["grid_energy"]
    per_j = energy_usd / energy_j if energy_j > 0 else 0.0
    gpu_h = gpu_s / units.HOUR
    return {
        "usd_total": total,
        "usd_by_item": {k: float(v) for k, v in items.items()},
        "usd_power": total - items["gpus"],
        "usd_per_gpu_hour": total / gpu_h if gpu_h > 0 else None,
        "usd_power_per_gpu_hour": (total - items["gpus"]) / gpu_h if gpu_h > 0 else None,
        "usd_per_busy_gpu_hour": (total / (busy_gpu_s / units.HOUR)) if busy_gpu_s else None,
        "usd_per_million_tokens": total / (tokens / 1e6) if tokens > 0 else None,
        "usd_per_mwh": energy_usd / (energy_j / units.MWH) if energy_j > 0 else None,
        "floor_energy_j": floor_j,
        "usd_floor_energy": floor_j * per_j,
        "gpu_hours": gpu_h,
        "tokens": tokens,
        "inputs": {
            "usd_per_gpu_hour": "usd_total / installed GPU-hours (GPUs paid for, used or not)",
            "usd_per_million_tokens": "usd_total / (tokens trained by the named jobs / 1e6)",
            "usd_floor_energy": "energy the GPU power floor burned x the period's mean energy cost"
            " (part of the energy items)",
            "grid_demand": "each billing month's highest demand-interval mean import x demand charge,"
            " part months pro rata",
        },
    }
