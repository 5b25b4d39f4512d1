"""The one registry of a run's key numbers: key, where it is in the summary, its SI unit, its label.

Every place that shows or compares the key numbers of a simulation reads
this table: ``RunSummary`` (``colossus.api``) takes its typed fields and
``metrics()`` from it, the dashboard's comparison (``web.runs.compare``)
lists it, a sweep names its columns by the same paths, and tables convert
with ``display_scale`` to ``display_unit``. A number added here appears in
all of them; nothing keeps a second list in step by hand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from colossus import units


@dataclass(frozen=True)
class Metric:
    """One key number: ``key`` (unit-suffixed), its ``path`` in the summary, SI ``unit``, ``label``."""

    key: str
    path: tuple[str, ...]
    unit: str
    label: str
    display_unit: str
    display_scale: float = 1.0

    def value(self, summary: Mapping[str, Any]) -> float | None:
        """The number at ``path`` in ``summary`` (None where absent or not a number)."""
        node: Any = summary
        for part in self.path:
            if not isinstance(node, Mapping):
                return None
            node = node.get(part)
        if isinstance(node, bool) or not isinstance(node, (int, float)):
            return None
        return float(node)


def _m(key: str, path: tuple[str, ...], unit: str, label: str, display_unit: str, scale: float = 1.0) -> Metric:
    return Metric(key, path, unit, label, display_unit, scale)


#: The site's key numbers, in the order they are shown.
METRICS: tuple[Metric, ...] = (
    _m("period_s", ("days",), "s", "simulated period", "days", 1 / units.DAY),  # the summary keeps days (SUMMARY_SCALE)
    _m("energy_used_j", ("energy_j", "used"), "J", "energy used", "MWh", 1 / units.MWH),
    _m("energy_grid_j", ("energy_j_by_source", "grid"), "J", "energy from the grid", "MWh", 1 / units.MWH),
    _m("energy_generators_j", ("energy_j_by_source", "generators"), "J", "energy from generators", "MWh",
       1 / units.MWH),
    _m("energy_battery_j", ("energy_j_by_source", "battery"), "J", "energy from batteries", "MWh", 1 / units.MWH),
    _m("peak_demand_w", ("power", "peak_demand_w"), "W", "peak demand", "MW", 1 / units.MW),
    _m("mean_demand_w", ("power", "mean_demand_w"), "W", "mean demand", "MW", 1 / units.MW),
    _m("co2_kg", ("emissions", "co2_kg"), "kg", "CO\u2082", "t", 1 / units.TONNE),
    _m("nox_kg", ("emissions", "nox_kg"), "kg", "NO\u2093", "kg", 1.0),
    _m("water_m3", ("emissions", "water_l"), "m3", "cooling water", "m\u00b3", 1.0),
    _m("deficit_s", ("deficit_hours",), "s", "hours in power deficit", "h", 1 / units.HOUR),
    _m("throughput_lost_to_deficit_frac", ("throughput_lost_to_deficit_frac",), "1",
       "throughput lost to the deficit", "%", 100.0),
    _m("failures", ("failures", "count"), "1", "failures", "", 1.0),
    _m("gpus_installed_end", ("gpus", "installed_end"), "1", "GPUs installed at end", "GPUs", 1.0),
    _m("gpus_usable_mean", ("gpus", "usable_mean"), "1", "GPUs usable: healthy, installed, powered (mean)", "GPUs",
       1.0),
    _m("gpus_idle_mean", ("gpus", "idle"), "1", "GPUs idle (mean)", "GPUs", 1.0),
    _m("gpus_powered_off_mean", ("gpus", "powered_off"), "1", "GPUs powered off for lack of power (mean)", "GPUs",
       1.0),
    _m("gpus_capped_mean", ("gpus", "capped"), "1", "GPUs capped (mean)", "GPUs", 1.0),
    _m("gpus_parked_mean", ("gpus", "parked"), "1", "GPUs parked (mean)", "GPUs", 1.0),
    _m("unserved_j", ("energy_j", "unserved"), "J", "energy unserved while units started or ramped", "MWh",
       1 / units.MWH),
    _m("reserve_short_s", ("dispatch", "reserve", "short_hours"), "s", "hours short of N-1 reserve", "h",
       1 / units.HOUR),
    _m("grid_peak_ramp_w_per_s", ("swings", "grid_peak_ramp_w_per_s"), "W/s", "peak ramp seen by the grid", "MW/s",
       1 / units.MW),
    _m("usd_total", ("cost", "usd_total"), "USD", "cost", "M USD", 1e-6),
    _m("usd_per_gpu_hour", ("cost", "usd_per_gpu_hour"), "USD", "cost per GPU-hour", "USD", 1.0),
    _m("usd_per_million_tokens", ("cost", "usd_per_million_tokens"), "USD", "cost per million tokens", "USD", 1.0),
)

#: A named job's key numbers (``path`` inside one entry of the summary's ``jobs``).
JOB_METRICS: tuple[Metric, ...] = (
    _m("num_gpus", ("num_gpus",), "1", "GPUs", "GPUs", 1.0),
    _m("progress_frac", ("progress_frac",), "1", "progress", "%", 100.0),
    _m("tokens_trained", ("tokens_trained",), "1", "tokens trained", "B tokens", 1e-9),
    _m("finished_at_s", ("finished_at_s",), "s", "finished", "day", 1 / units.DAY),
    _m("goodput_frac", ("goodput",), "1", "goodput", "%", 100.0),
    _m("restarts", ("restarts",), "1", "restarts", "", 1.0),
)

#: Factors from what the summary stores to the metric's SI unit, where the summary keeps a file unit.
SUMMARY_SCALE: dict[str, float] = {"period_s": units.DAY, "deficit_s": units.HOUR, "reserve_short_s": units.HOUR,
                                   "water_m3": 1e-3}

BY_KEY: dict[str, Metric] = {m.key: m for m in METRICS}


def si_value(metric: Metric, summary: Mapping[str, Any]) -> float | None:
    """The metric in its SI unit (the summary keeps days and hours where its readers expect them)."""
    raw = metric.value(summary)
    return None if raw is None else raw * SUMMARY_SCALE.get(metric.key, 1.0)


def display_value(metric: Metric, summary: Mapping[str, Any]) -> float | None:
    """The metric in its display unit (tables and the dashboard)."""
    si = si_value(metric, summary)
    return None if si is None else si * metric.display_scale


__all__ = ["BY_KEY", "JOB_METRICS", "METRICS", "Metric", "SUMMARY_SCALE", "display_value", "si_value"]
