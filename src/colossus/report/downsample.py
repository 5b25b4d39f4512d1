"""Thin long time series for plotting, so a 180-day run at 1-minute samples stays a few MB of HTML.

Samples are grouped into equal consecutive buckets (at most ``max_points``
of them). Power columns are interval means, so a bucket's value is the mean
of its samples: the plotted area still integrates to the same energy. GPU
and job counts are states at a sample, so a bucket takes its last sample's
value: the plotted state existed, and stacked counts still sum to the
cluster. Every bucket is drawn at its last sample's time, which is where
both conventions put it.
"""

from __future__ import annotations

import numpy as np

#: Default ceiling of points per trace: ~1 point per screen pixel of a wide plot.
MAX_POINTS = 4000


def bucket_starts(n: int, max_points: int = MAX_POINTS) -> np.ndarray:
    """Start index of each bucket: ``ceil(n / max_points)`` samples per bucket, the last one shorter."""
    if max_points < 1:
        raise ValueError(f"max_points must be >= 1 (got {max_points})")
    step = max(1, -(-n // max_points))
    return np.arange(0, n, step)


def bucket_last(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """The last value of each bucket (for states and counts, and for the time axis)."""
    values = np.asarray(values)
    if values.size <= max_points:
        return values
    starts = bucket_starts(values.size, max_points)
    ends = np.append(starts[1:], values.size) - 1
    return values[ends]


def bucket_mean(values: np.ndarray, max_points: int = MAX_POINTS) -> np.ndarray:
    """The mean of each bucket (for power, which is already a mean over each interval)."""
    values = np.asarray(values, dtype=np.float64)
    if values.size <= max_points:
        return values
    starts = bucket_starts(values.size, max_points)
    sizes = np.diff(np.append(starts, values.size))
    return np.add.reduceat(values, starts) / sizes
