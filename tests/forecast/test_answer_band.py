"""The P50's band and P(by)'s standard error say how sure the Monte Carlo answer is."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colossus.forecast.answer import median_band, quantile


@pytest.mark.parametrize("n", [16, 64, 256])
def test_the_band_covers_the_true_median_nine_times_in_ten(n: int):
    """Exponential draws (true median ln 2): over 2,000 forecasts the 90% band holds it 90% of the time,
    within the binomial error of 2,000 trials and the discreteness of ranks (coverage is at least nominal)."""
    rng = np.random.default_rng(5)
    trials = 2000
    covered = 0
    for _ in range(trials):
        values = rng.exponential(1.0, n).tolist()
        lo, hi = median_band(values, 1.645)
        covered += lo <= math.log(2.0) <= hi
    coverage = covered / trials
    assert 0.88 <= coverage <= 0.97, coverage


def test_the_band_holds_the_p50_and_narrows_with_more_draws():
    rng = np.random.default_rng(1)
    values = rng.normal(30.0, 5.0, 1024).tolist()
    widths = []
    for n in (16, 64, 256, 1024):
        lo, hi = median_band(values[:n], 1.645)
        assert lo <= quantile(values[:n], 0.5) <= hi
        widths.append(hi - lo)
    assert widths == sorted(widths, reverse=True) and widths[-1] < widths[0] / 4


def test_unfinished_draws_make_the_band_open_ended():
    lo, hi = median_band([10.0, 11.0, 12.0, math.inf, math.inf, math.inf], 1.645)
    assert lo == 10.0 and hi == math.inf
