"""Sub-second swings: the waveform's spectrum sits where the step period puts it, and the mitigations work."""

from __future__ import annotations

import numpy as np
import pytest

from colossus import units
from colossus.power.mitigation import SwingSetup, band_fraction, peak_ramp, study

MW = units.MW


def setup(**over) -> SwingSetup:
    """20,000 GPUs on a 2.0 s step: 1.6 s of compute at 700 W, 0.4 s of exposed communication at 300 W."""
    base = dict(num_gpus=20_000, phase_times_s=(1.6, 0.4), phase_draws_w=(700.0, 300.0), idle_w=90.0,
                it_gain=1.1, site_gain=1.35, mean_site_w=40 * MW, power_step_s=0.1, samples_per_power_step=10,
                window_s=64.0, stall_s=5.0, band_hz=(0.2, 3.0), generator_ramp_w_per_s=7 * MW / 60,
                generators_follow=True)
    base.update(over)
    return SwingSetup(**base)


def test_spectrum_has_its_lines_at_the_step_frequency_and_its_harmonics():
    s = study(setup())
    x = s.natural_w[: s.steady_samples]
    frac, dominant, freqs, spec = band_fraction(x, s.dt_s, 0.2, 3.0)
    f0 = 1.0 / 2.0
    assert dominant == pytest.approx(f0, abs=1e-9)  # a whole number of steps: the line falls on a bin
    df = freqs[1]
    harmonic = np.abs(freqs / f0 - np.round(freqs / f0)) * f0 < df / 2
    assert spec[1:][harmonic[1:]].sum() / spec[1:].sum() > 0.999  # all the variance sits on k / step time
    # a 20% duty dip: the fundamental carries most of it, and most of it lies in 0.2-3 Hz
    assert frac > 0.8 and s.metrics["band_fraction"] == pytest.approx(frac)


def test_a_faster_step_moves_the_energy_up():
    slow = study(setup())
    fast = study(setup(phase_times_s=(0.4, 0.1)))
    assert fast.metrics["dominant_hz"] == pytest.approx(2.0, abs=1e-9)
    assert fast.metrics["dominant_hz"] > slow.metrics["dominant_hz"]


def test_swing_and_ramp_are_what_the_step_says():
    s = study(setup())
    step_swing = 20_000 * 1.1 * (700.0 - 300.0)  # 8.8 MW
    assert s.metrics["step_swing_w"] == pytest.approx(step_swing, rel=1e-6)
    # within the steps the board's 0.1 s response sets the ramp; the failure drops to idle as fast
    assert peak_ramp(s.natural_w[: s.steady_samples], 10, s.dt_s) == pytest.approx(step_swing / 0.1, rel=1e-6)
    full = 20_000 * 1.1 * (700.0 - 90.0)
    assert s.metrics["swing_w"] == pytest.approx(full, rel=1e-6)
    assert s.metrics["natural_peak_ramp_w_per_s"] == pytest.approx(full / 0.1, rel=1e-6)
    # generators ramping 7 MW/min cannot follow: they stay within their ramp, the grid takes the rest
    assert s.metrics["generator_peak_ramp_w_per_s"] <= 7 * MW / 60 * (1 + 1e-9)
    assert not s.metrics["limits"]["generators_can_follow"]
    assert s.metrics["grid_peak_ramp_w_per_s"] > 50 * MW


def test_battery_keeps_the_grid_side_ramp_under_the_declared_limit():
    limit = 1.0 * MW  # per second
    free = study(setup(grid_limit_w_per_s=limit, generators_follow=False, generator_ramp_w_per_s=0.0))
    assert free.metrics["grid_peak_ramp_w_per_s"] > 50 * limit
    assert free.metrics["limits"]["grid_within_limit"] is False
    smooth = study(setup(grid_limit_w_per_s=limit, generators_follow=False, generator_ramp_w_per_s=0.0,
                         battery_power_w=150 * MW, battery_energy_j=600 * units.MWH))
    assert smooth.metrics["grid_peak_ramp_w_per_s"] <= limit * (1 + 1e-9)
    assert smooth.metrics["limits"]["grid_within_limit"] is True
    assert smooth.metrics["battery_peak_w"] <= 150 * MW
    assert smooth.metrics["battery_micro_cycles_per_day"] == pytest.approx(86400 / 2.0)
    assert 0 < smooth.metrics["battery_equivalent_cycles_per_day"] < 5


def test_a_battery_too_small_cannot_hold_the_limit():
    limit = 1.0 * MW
    small = study(setup(grid_limit_w_per_s=limit, generators_follow=False, battery_power_w=1 * MW,
                        battery_energy_j=1 * units.MWH))
    assert small.metrics["limits"]["grid_within_limit"] is False


def test_power_floor_cuts_the_step_swing_and_costs_energy():
    plain = study(setup())
    floored = study(setup(floor_w=600.0))
    assert floored.metrics["mitigated_step_swing_w"] == pytest.approx(20_000 * 1.1 * (700.0 - 600.0), rel=1e-6)
    # the floor burns (600 - 300) W on every GPU for 0.4 s of each 2.0 s step, at the site's gain
    assert floored.metrics["floor_w"] == pytest.approx(20_000 * 1.35 * 300.0 * 0.4 / 2.0, rel=1e-3)
    assert floored.metrics["floor_j_per_day"] == pytest.approx(floored.metrics["floor_w"] * 86400)
    assert plain.metrics["floor_w"] == 0.0
    # a failure still drops the job to idle: the floor alone does not hold the site's full swing
    assert floored.metrics["swing_w"] > 5 * floored.metrics["mitigated_step_swing_w"]


def test_floor_at_tdp_with_a_battery_meets_a_tight_limit():
    limit = 0.5 * MW
    s = study(setup(floor_w=700.0, grid_limit_w_per_s=limit, generators_follow=False,
                    battery_power_w=60 * MW, battery_energy_j=200 * units.MWH))
    assert s.metrics["limits"]["grid_within_limit"] is True
    assert s.metrics["battery_peak_w"] < 60 * MW


def test_gpu_ramp_limit_slows_the_site_ramp():
    s = study(setup(gpu_ramp_w_per_s=400.0))  # each GPU changes at most 400 W/s
    assert s.metrics["site_peak_ramp_w_per_s"] <= 20_000 * 1.1 * 400.0 * (1 + 1e-6)
    assert s.metrics["throttled_frac"] > 0  # ramping up slowly withholds power the compute wanted


def test_peak_ramp_of_a_line():
    p = np.arange(100, dtype=float) * 2.0  # 2 W per sample
    assert peak_ramp(p, 10, 0.01) == pytest.approx(200.0)
