"""Sub-second swings of a synchronous training job at the site, and how the site rides them out.

The waveform. Every GPU of a synchronous job changes phase together, so each
GPU's draw follows the job's step: the phases of ``power.profile`` (compute,
pipeline bubble, exposed gradient sync, optimizer) at the draws the power cap
leaves (``power.deficit.capped_step``). A GPU's board power loop follows a
phase change within ``power_step_s``; the draw is that signal averaged over
the last ``power_step_s`` (a causal moving average: a step becomes a ramp of
that length, and phases shorter than it blur). The waveform strings together
``window_s`` of steps, an asynchronous checkpoint stall (GPUs at idle draw,
the job alive), more steps, a failure (the job gone: idle draw, no floor) and
the restart, sampled every ``power_step_s / samples_per_power_step``. Site
power within a second is ``mean + N x it_gain x (g - mean g)``: IT power and
distribution losses follow the GPUs, cooling holds its mean (it follows heat
over minutes).

Mitigations (scenario options, ``power.swings``):

* GPU power floor: each GPU draws at least ``floor`` while its job runs (as
  NVIDIA's power smoothing for GB200/GB300 does); the extra energy is burned
  to no purpose and is counted (``floor_w``, ``floor_j_per_day``);
* GPU ramp limit: each GPU's draw changes at most ``rate`` (a ramp-up limit
  slows the work: ``throttled_frac``; a ramp-down limit burns energy, counted
  with the floor's);
* battery smoothing: the batteries supply the difference between the site's
  power and a version of it ramp-limited to the declared grid limit (else the
  generators' ramp), within their power.

What takes the swing: the on-site generators if they run at the operating
point and the grid feeder is held flat (``events.swings.grid_follows_swings``
false), else the grid. Generators ramp at most their rate; what they cannot
follow lands on the grid (if connected; else it is ``unfollowed_w``, a
frequency excursion). Ramps are measured over ``power_step_s``.

The spectrum: the steady window is a whole number of steps, so the periodic
part of the waveform has its lines at multiples of ``1 / step time``; the
share of its variance in the 0.2-3 Hz band is reported (Choukse et al. 2025,
"Power stabilization for AI training datacenters", put the concern there).
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math
from typing import Any

import numpy as np

from colossus import units
from colossus.power.swings import follow


@dataclass(frozen=True)
class SwingSetup:
    """Everything the swing study needs, in SI (built by ``power.analysis``)."""

    num_gpus: int
    phase_times_s: tuple[float, ...]  # one step, per phase, at the operating point's cap
    phase_draws_w: tuple[float, ...]  # per GPU
    idle_w: float  # a GPU's draw while the job is stalled or gone
    it_gain: float  # site W within seconds per W of GPU draw
    site_gain: float  # site W per W of GPU draw once cooling follows (for energy)
    mean_site_w: float  # site power at the operating point (step mean)
    power_step_s: float
    samples_per_power_step: int
    window_s: float
    stall_s: float
    band_hz: tuple[float, float]
    floor_w: float | None = None
    gpu_ramp_w_per_s: float | None = None
    battery_power_w: float = 0.0  # 0 = no battery smoothing
    battery_energy_j: float = 0.0
    grid_limit_w_per_s: float | None = None
    generator_ramp_w_per_s: float = 0.0
    generators_follow: bool = False
    grid_connected: bool = True

    @property
    def step_time_s(self) -> float:
        return float(sum(self.phase_times_s))

    @property
    def dt_s(self) -> float:
        return self.power_step_s / self.samples_per_power_step


@dataclass(frozen=True)
class SwingStudy:
    """The waveforms (W, per sample) and what they mean."""

    dt_s: float
    steady_samples: int  # the first samples: whole steps, no events
    natural_w: np.ndarray  # site power with no mitigation
    site_w: np.ndarray  # with the GPU floor and ramp limit
    battery_w: np.ndarray  # battery output (+ discharge)
    grid_side_w: np.ndarray  # what the supply sees
    generators_w: np.ndarray  # change of generator output
    grid_w: np.ndarray  # change of grid import
    metrics: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return dict(self.metrics)


def _steps(setup: SwingSetup, num_steps: int) -> np.ndarray:
    """Per-GPU draw over ``num_steps`` steps, one value per sample (the phase it falls in)."""
    dt = setup.dt_s
    step = setup.step_time_s
    n = int(round(num_steps * step / dt))
    t = (np.arange(n) + 0.5) * dt % step
    edges = np.cumsum(setup.phase_times_s)
    idx = np.minimum(np.searchsorted(edges, t, side="right"), len(edges) - 1)
    return np.asarray(setup.phase_draws_w, dtype=float)[idx]


def gpu_waveform(setup: SwingSetup) -> tuple[np.ndarray, np.ndarray, int]:
    """Per-GPU draw (before the board's smoothing), whether the job is alive, and the steady samples."""
    step = setup.step_time_s
    steady_steps = max(1, round(setup.window_s / step))
    short = max(1, math.ceil(10.0 / step))  # ~10 s of steps between events
    dt = setup.dt_s
    steady = _steps(setup, steady_steps)
    stall = np.full(max(1, round(setup.stall_s / dt)), setup.idle_w)
    between = _steps(setup, short)
    failed = np.full(max(1, round(10.0 / dt)), setup.idle_w)
    restart = _steps(setup, short)
    parts = (steady, stall, between, failed, restart)
    alive = np.concatenate([np.full(p.size, k != 3) for k, p in enumerate(parts)])
    return np.concatenate(parts), alive, steady.size


def _board(x: np.ndarray, m: int, period: int) -> np.ndarray:
    """Causal moving average over ``m`` samples; before the start the job was already stepping.

    The first samples are preceded by the last ``m`` of the first ``period``
    samples (the steady steps repeat), so the steady window stays periodic.
    """
    if m <= 1:
        return x.copy()
    lead = np.resize(x[:period][-m:], m) if period >= m else np.full(m, x[0])
    c = np.cumsum(np.concatenate([lead, x]))
    return (c[m:] - c[:-m]) / m


def peak_ramp(p: np.ndarray, window: int, dt_s: float) -> float:
    """Largest |change| over ``window`` samples, per second."""
    if p.size <= window:
        return 0.0
    return float(np.max(np.abs(p[window:] - p[:-window])) / (window * dt_s))


def band_fraction(
    p: np.ndarray, dt_s: float, lo_hz: float, hi_hz: float
) -> tuple[float, float, np.ndarray, np.ndarray]:
    """(share of the variance in [lo, hi] Hz, dominant frequency, frequencies, power spectrum) of ``p``."""
    x = p - p.mean()
    spec = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(x.size, dt_s)
    total = spec[1:].sum()
    if total <= 0:
        return 0.0, 0.0, freqs, spec
    in_band = spec[(freqs >= lo_hz) & (freqs <= hi_hz)].sum()
    return float(in_band / total), float(freqs[1 + int(np.argmax(spec[1:]))]), freqs, spec


def study(setup: SwingSetup) -> SwingStudy:
    """The swing study of one operating point (see the module docstring)."""
    dt, m = setup.dt_s, setup.samples_per_power_step
    g, alive, n_steady = gpu_waveform(setup)
    g_mit = g.copy()
    if setup.floor_w is not None:
        g_mit = np.where(alive, np.maximum(g_mit, setup.floor_w), g_mit)
    if setup.gpu_ramp_w_per_s is not None:  # start where the steady steps leave the follower: periodic
        warm = follow(g_mit[:n_steady], dt, setup.gpu_ramp_w_per_s, start_w=float(g_mit[0]))[-1]
        g_mit = follow(g_mit, dt, setup.gpu_ramp_w_per_s, start_w=float(warm))
    nat, mit = _board(g, m, n_steady), _board(g_mit, m, n_steady)
    n = setup.num_gpus
    mean_g = float(nat[:n_steady].mean())
    natural = setup.mean_site_w + n * setup.it_gain * (nat - mean_g)
    site = setup.mean_site_w + n * setup.it_gain * (mit - mean_g)
    battery = np.zeros_like(site)
    if setup.battery_power_w > 0:
        rate = setup.grid_limit_w_per_s or setup.generator_ramp_w_per_s
        warm = follow(site[:n_steady], dt, rate, start_w=float(site[:n_steady].mean()))[-1]
        target = follow(site, dt, rate, start_w=float(warm))
        battery = np.clip(site - target, -setup.battery_power_w, setup.battery_power_w)
    grid_side = site - battery
    start = float(grid_side[:n_steady].mean())
    if setup.generators_follow and setup.generator_ramp_w_per_s > 0:
        gens = follow(grid_side, dt, setup.generator_ramp_w_per_s, start_w=start) - start
        rest = grid_side - start - gens
    else:
        gens = np.zeros_like(grid_side)
        rest = grid_side - start
    grid = rest if setup.grid_connected else np.zeros_like(rest)
    unfollowed = 0.0 if setup.grid_connected else float(np.abs(rest).max())
    metrics = _metrics(setup, g, g_mit, alive, n_steady, natural, site, battery, grid, gens, unfollowed, mean_g)
    return SwingStudy(dt, n_steady, natural, site, battery, grid_side, gens, grid, metrics)


def _metrics(setup: SwingSetup, g: np.ndarray, g_mit: np.ndarray, alive: np.ndarray, n_steady: int,
             natural: np.ndarray, site: np.ndarray, battery: np.ndarray, grid: np.ndarray, gens: np.ndarray,
             unfollowed: float, mean_g: float) -> dict[str, Any]:
    dt, w = setup.dt_s, setup.samples_per_power_step
    n = setup.num_gpus
    step = setup.step_time_s
    lo, hi = setup.band_hz
    frac, dominant, _, _ = band_fraction(natural[:n_steady], dt, lo, hi)
    frac_grid, _, _, _ = band_fraction((site - battery)[:n_steady], dt, lo, hi)
    extra = np.where(alive, g_mit - g, 0.0)[:n_steady]  # per GPU, while training
    burned_w = n * setup.site_gain * float(np.clip(extra, 0.0, None).mean())
    throttled = float(np.clip(-extra, 0.0, None).sum() / max(g[:n_steady].sum(), 1e-9))
    discharge = np.clip(battery[:n_steady], 0.0, None)
    per_day = units.DAY / (n_steady * dt)
    stored = np.cumsum(battery[:n_steady]) * dt
    grid_ramp = peak_ramp(grid, w, dt)
    limit = setup.grid_limit_w_per_s
    gen_ramp = peak_ramp(gens, w, dt)
    return {
        "step_time_s": step, "step_hz": 1.0 / step, "dominant_hz": dominant,
        "band_hz": [lo, hi], "band_fraction": frac, "band_fraction_grid_side": frac_grid,
        "swing_w": float(natural.max() - natural.min()),
        "step_swing_w": float(natural[:n_steady].max() - natural[:n_steady].min()),
        "mitigated_step_swing_w": float(site[:n_steady].max() - site[:n_steady].min()),
        "natural_peak_ramp_w_per_s": peak_ramp(natural, w, dt),
        "site_peak_ramp_w_per_s": peak_ramp(site, w, dt),
        "grid_peak_ramp_w_per_s": grid_ramp,
        "generator_peak_ramp_w_per_s": gen_ramp,
        "unfollowed_w": unfollowed,
        "floor_w": burned_w,
        "floor_j_per_day": burned_w * units.DAY,
        "floor_energy_frac": burned_w / max(setup.mean_site_w, 1e-9),
        "throttled_frac": throttled,
        "battery_peak_w": float(np.abs(battery).max()),
        "battery_energy_range_j": float(stored.max() - stored.min()) if stored.size else 0.0,
        "battery_discharge_j_per_day": float(discharge.sum() * dt * per_day),
        "battery_equivalent_cycles_per_day": (float(discharge.sum() * dt * per_day) / setup.battery_energy_j
                                              if setup.battery_energy_j > 0 and setup.battery_power_w > 0 else 0.0),
        "battery_micro_cycles_per_day": units.DAY / step if setup.battery_power_w > 0 else 0.0,
        "limits": {
            "grid_ramp_limit_w_per_s": limit,
            "grid_within_limit": None if limit is None else grid_ramp <= limit * (1 + 1e-9),
            "generator_ramp_w_per_s": setup.generator_ramp_w_per_s,
            "generators_take_the_swing": setup.generators_follow,
            "generators_within_ramp": gen_ramp <= setup.generator_ramp_w_per_s * (1 + 1e-9) + 1e-6,
            "generators_can_follow": setup.generators_follow
                                     and peak_ramp(site - battery, w, dt) <= setup.generator_ramp_w_per_s * (1 + 1e-9),
        },
        "mitigations": {"gpu_power_floor_w": setup.floor_w, "gpu_ramp_w_per_s": setup.gpu_ramp_w_per_s,
                        "battery_smoothing_w": setup.battery_power_w or None},
        "inputs": {"num_gpus": n, "mean_gpu_w": mean_g, "power_step_s": setup.power_step_s, "dt_s": dt,
                   "window_s": n_steady * dt, "checkpoint_stall_s": setup.stall_s,
                   "it_gain": setup.it_gain, "mean_site_w": setup.mean_site_w,
                   "ramp_measured_over_s": w * dt},
    }
