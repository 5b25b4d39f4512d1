"""Power swings of a synchronous training job, and what it takes to follow or smooth them.

All GPUs of a synchronous job change phase together, so site power follows
the step: high while computing, low during exposed communication and bubbles
(step level, period = step time), and it collapses for seconds at a
checkpoint stall and for minutes after a failure (event level). Cooling and
facility loads respond over minutes (``events.swings.cooling_follows_swings``),
so only IT power (through power supplies and distribution) swings within a step.

A ``Waveform`` is piecewise constant. ``follow`` runs a ramp-limited follower
(the generators: sum of ``count x ramp``) over it; a battery must cover the
difference: its power is the largest gap and its energy the range of the
gap's running integral (Llama 3 paper, Sec. 3.3.4, reports such swings of
"tens of megawatts" on 16k H100).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from colossus.power.assumptions import PowerAssumptions
from colossus.power.deficit import CappedStep, JobPower


@dataclass(frozen=True, slots=True)
class Waveform:
    """Piecewise-constant power: segment ``i`` lasts ``durations_s[i]`` at ``power_w[i]``."""

    labels: tuple[str, ...]
    durations_s: np.ndarray
    power_w: np.ndarray

    @property
    def duration_s(self) -> float:
        return float(self.durations_s.sum())

    @property
    def energy_j(self) -> float:
        return float(np.dot(self.durations_s, self.power_w))

    @property
    def mean_w(self) -> float:
        return self.energy_j / self.duration_s

    def sample(self, dt_s: float) -> np.ndarray:
        """Power on a uniform grid of ``dt_s`` (each sample the segment it falls in)."""
        edges = np.cumsum(self.durations_s)
        t = (np.arange(int(np.ceil(self.duration_s / dt_s))) + 0.5) * dt_s
        return self.power_w[np.minimum(np.searchsorted(edges, t, side="right"), len(edges) - 1)]


def step_waveform(
    step: CappedStep, labels: tuple[str, ...], num_gpus: int, jp: JobPower, *, num_steps: int = 3
) -> Waveform:
    """Site power over ``num_steps`` steps; non-GPU and cooling loads held at the step mean."""
    mean_site_w = jp.site_w(num_gpus, step.mean_gpu_w)
    phase_w = [mean_site_w + num_gpus * jp.it_gain * (d - step.mean_gpu_w) for d in step.phase_draws_w]
    return Waveform(labels * num_steps, np.tile(step.phase_times_s, num_steps), np.tile(phase_w, num_steps))


def event_waveform(train_w: float, stalled_w: float, *, checkpoint_stall_s: float, restart_s: float,
                   interval_s: float) -> Waveform:
    """One checkpoint interval with its stall, then a failure: idle through the restart, then training."""
    lead_s = max(interval_s - checkpoint_stall_s, 0.0)
    return Waveform(
        ("training", "checkpoint stall", "training", "failure: restart", "training"),
        np.array([lead_s, checkpoint_stall_s, interval_s / 2, restart_s, interval_s / 2]),
        np.array([train_w, stalled_w, train_w, stalled_w, train_w]),
    )


@dataclass(frozen=True, slots=True)
class Smoothing:
    swing_w: float  # highest minus lowest power
    needed_rate_w_per_s: float  # swing over the time the load takes to change
    follower_rate_w_per_s: float
    can_follow: bool  # the follower stays within 1% of the swing
    battery_w: float
    battery_j: float

    def as_dict(self) -> dict[str, Any]:
        return {
            "swing_w": self.swing_w, "needed_rate_w_per_s": self.needed_rate_w_per_s,
            "follower_rate_w_per_s": self.follower_rate_w_per_s, "can_follow": self.can_follow,
            "battery_w": self.battery_w, "battery_j": self.battery_j,
        }


def follow(power_w: np.ndarray, dt_s: float, rate_w_per_s: float, start_w: float | None = None) -> np.ndarray:
    """Output of a follower that tracks ``power_w`` but changes at most ``rate_w_per_s``."""
    out = np.empty_like(power_w)
    level = float(power_w[0] if start_w is None else start_w)
    step = rate_w_per_s * dt_s
    for i, target in enumerate(power_w):
        level += min(max(target - level, -step), step)
        out[i] = level
    return out


def smoothing(
    wave: Waveform, rate_w_per_s: float, *, change_s: float, dt_s: float, start_w: float | None = None
) -> Smoothing:
    """Battery power and energy that make ``wave`` look ramp-limited to the follower.

    The follower starts at ``start_w`` (default: the wave's mean, as generators
    holding the average of a fast periodic load would).
    """
    p = wave.sample(dt_s)
    f = follow(p, dt_s, rate_w_per_s, wave.mean_w if start_w is None else start_w)
    gap = p - f
    stored = np.cumsum(gap) * dt_s
    swing = float(p.max() - p.min())
    battery_w = float(np.abs(gap).max())
    return Smoothing(swing, swing / change_s, rate_w_per_s, battery_w <= 0.01 * max(swing, 1.0),
                     battery_w, float(max(stored.max(), 0.0) - min(stored.min(), 0.0)))


def step_dt_s(step: CappedStep) -> float:
    """A sampling step fine enough for the shortest phase."""
    return max(min(step.phase_times_s) / 20.0, 1e-4)


def event_params(a: PowerAssumptions, interval_s: float, asynchronous: bool) -> dict[str, float]:
    stall = "checkpoint_stall_s" if asynchronous else "sync_checkpoint_stall_s"
    return {"checkpoint_stall_s": a.f(f"events.swings.{stall}"),
            "restart_s": a.f("events.swings.failure_restart_s"), "interval_s": interval_s}
