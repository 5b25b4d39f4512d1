"""Telemetry: the state after every event, resampled exactly onto the sample grid.

Between two events nothing changes: power is constant and progress is
linear. So the engine records one row per event time (``Recorder``), and the
grid comes from it in a few vectorised passes (``resample``):

* power columns: the mean over each sample interval, from the cumulative
  energy (piecewise linear, so ``np.interp`` is exact). The sample at time 0
  holds the power at time 0. The supply columns of a row are the means over
  the interval it opens (generators ramping and starting inside it), written
  when the engine closes the interval, so the energy is exact;
* counts: the value in force at the sample time (last event at or before it);
  GPUs are counted by one state each (``sim.result.GPU_STATES``): idle GPUs
  switched off for lack of power are ``gpus_powered_off``, not idle; training
  GPUs under a power cap are ``gpus_capped``, paused ones ``gpus_parked``;
* named jobs' durable progress (tokens in the last checkpoint, which never
  decreases: a failure loses only work after it) is a count too: every
  checkpoint of a named job is an event;
* battery charge: linear interpolation (exact, the charge rate is constant
  between events).
"""

from __future__ import annotations

import numpy as np

#: Power columns (mean over the interval), in row order after ``time_s``.
POWER_COLUMNS: tuple[str, ...] = (
    "grid_w", "generators_w", "battery_discharge_w", "battery_charge_w", "supply_available_w", "demand_w",
    "demand_unconstrained_w", "shed_w", "gpus_w", "it_other_w", "facility_w", "unserved_w", "dumped_w", "fuel_w",
)
#: State columns (value at the sample).
STATE_COLUMNS: tuple[str, ...] = (
    "gpus_not_installed", "gpus_burn_in", "gpus_idle", "gpus_busy", "gpus_failed", "gpus_repair",
    "gpus_installed", "gpu_cap_w", "gpus_parked", "gpus_powered_off", "filler_running", "filler_queued",
    "filler_busy_gpus", "gpus_capped", "generators_running",
)
#: Linearly interpolated columns besides the per-job progress.
LINEAR_COLUMNS: tuple[str, ...] = ("battery_soc_j",)


class Recorder:
    """Rows of the state after each event time; columns appended as Python floats (cheap)."""

    def __init__(self, job_names: list[str]) -> None:
        self.job_names = job_names
        self.time_s: list[float] = []
        self.power: list[tuple[float, ...]] = []
        self.states: list[tuple[float, ...]] = []
        self.linear: list[tuple[float, ...]] = []  # battery state of charge

    def add(self, t: float, power: tuple[float, ...], states: tuple[float, ...], linear: tuple[float, ...]) -> None:
        if self.time_s and self.time_s[-1] == t:  # several passes at one time: keep the last
            self.power[-1], self.states[-1], self.linear[-1] = power, states, linear
            return
        self.time_s.append(t)
        self.power.append(power)
        self.states.append(states)
        self.linear.append(linear)

    def arrays(self, end_s: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Event times, power, states, linear columns, and each interval's duration up to ``end_s``."""
        t = np.array(self.time_s)
        dt = np.diff(np.append(t, end_s))
        return (t, np.array(self.power, dtype=float).reshape(t.size, len(POWER_COLUMNS)),
                np.array(self.states, dtype=float).reshape(t.size, len(STATE_COLUMNS) + len(self.job_names)),
                np.array(self.linear, dtype=float).reshape(t.size, 1), dt)


def resample(rec: Recorder, *, end_s: float, interval_s: float) -> dict[str, np.ndarray]:
    """The time series on ``0, interval, 2 interval, ..., end`` (the last sample at ``end_s``)."""
    t, power, states, linear, dt = rec.arrays(end_s)
    grid = np.arange(0.0, end_s, interval_s)
    grid = np.append(grid, end_s) if grid[-1] < end_s else grid
    out: dict[str, np.ndarray] = {"time_s": grid}
    energy = np.vstack([np.zeros(power.shape[1]), np.cumsum(power * dt[:, None], axis=0)])
    knots = np.append(t, end_s)
    at = np.column_stack([np.interp(grid, knots, energy[:, k]) for k in range(power.shape[1])])
    mean = np.empty_like(at)
    mean[1:] = np.diff(at, axis=0) / np.diff(grid)[:, None]
    mean[0] = power[0]
    for k, name in enumerate(POWER_COLUMNS):
        out[name] = mean[:, k]
    idx = np.clip(np.searchsorted(t, grid, side="right") - 1, 0, t.size - 1)
    for k, name in enumerate(STATE_COLUMNS):
        col = states[idx, k]
        out[name] = col.astype(np.int64) if name != "gpu_cap_w" else col
    out["battery_soc_j"] = np.interp(grid, t, linear[:, 0]) if t.size > 1 else np.full(grid.size, linear[0, 0])
    for j, name in enumerate(rec.job_names):
        out[f"tokens:{name}"] = states[idx, len(STATE_COLUMNS) + j]
    return out


def energy_j(rec: Recorder, end_s: float) -> dict[str, float]:
    """Exact energy of each power column over the run (sum of power x interval)."""
    _, power, _, _, dt = rec.arrays(end_s)
    totals = power.T @ dt
    return {name: float(v) * 1.0 for name, v in zip(POWER_COLUMNS, totals)}
