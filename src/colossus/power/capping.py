"""A GPU under a power cap: throughput kept and power drawn, and their fit to measurements.

With ``h = cap / u`` (``u``: the power the work would draw with no cap), the
fraction of uncapped throughput kept and the average power drawn are

    r(h) = (1 + (knee / h)^n) ^ (-g / n)           (g: low_exponent, n: sharpness)
    d(h) = u * (1 + (draw_knee / h)^m) ^ (-1 / m)  (m: draw_sharpness)

``r`` is 1 with ample headroom and falls as a power law ``h^g`` deep below the
knee (DVFS lowers clock and voltage together, so throughput falls faster than
power); ``d`` is ``u`` with headroom and about the cap itself below it. Both
are monotone in the cap: a lower cap never raises power or throughput.

The shape is fitted to the Zeus power-limit sweeps (You et al., NSDI 2023) by
``fit_cap_curve``; the fitted figures ship in ``catalog/data/power_capping.toml``.
Carrying them to H100/H200 assumes the same curve in ``h`` (see that file).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy.optimize import least_squares

from colossus.perf.powercap import CapCurve
from colossus.power.assumptions import PowerAssumptions


def cap_curve(assumptions: PowerAssumptions) -> CapCurve:
    """The curve the catalog ships (``power_capping.toml [curve]``)."""
    get = assumptions.f
    return CapCurve(
        knee=get("capping.curve.knee"),
        sharpness=get("capping.curve.sharpness"),
        low_exponent=get("capping.curve.low_exponent"),
        draw_knee=get("capping.curve.draw_knee"),
        draw_sharpness=get("capping.curve.draw_sharpness"),
    )


# --- measurements and the fit ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CapPoint:
    """One measured run under a power limit, normalised to the same workload without one."""

    gpu: str
    workload: str
    cap_frac_of_uncapped: float  # h = power limit / the workload's draw at the GPU's maximum limit
    max_cap_frac_of_uncapped: float  # the same for the GPU's maximum limit (the reference run)
    throughput_kept_frac: float  # throughput / throughput at the maximum limit
    drawn_frac_of_uncapped: float  # average power / the workload's draw at the maximum limit


def read_zeus_sweeps(path: str | Path, gpu: str) -> list[CapPoint]:
    """Points of one Zeus ``summary_power_<gpu>.csv`` (columns: dataset, network, batch_size,
    optimizer, power_limit, time_per_epoch, average_power).

    A workload is one (dataset, network, batch size, optimizer); its reference is its run
    at the GPU's highest power limit in the file. Workloads without that run are skipped.
    """
    runs: dict[str, list[tuple[float, float, float]]] = defaultdict(list)
    with open(path, newline="") as fh:
        for row in csv.DictReader(fh):
            key = "/".join((row["dataset"], row["network"], row["batch_size"], row["optimizer"]))
            runs[key].append((float(row["power_limit"]), float(row["time_per_epoch"]), float(row["average_power"])))
    max_limit_w = max(limit for rows in runs.values() for limit, _, _ in rows)
    return [p for key, rows in runs.items() for p in _normalise(gpu, key, rows, max_limit_w)]


def _normalise(gpu: str, key: str, rows: list[tuple[float, float, float]], max_limit_w: float) -> list[CapPoint]:
    ref = [r for r in rows if r[0] == max_limit_w]
    if not ref:
        return []
    _, ref_time_s, uncapped_w = ref[0]
    return [
        CapPoint(gpu, key, limit_w / uncapped_w, max_limit_w / uncapped_w, ref_time_s / time_s, power_w / uncapped_w)
        for limit_w, time_s, power_w in rows
    ]


@dataclass(frozen=True, slots=True)
class CapFit:
    curve: CapCurve
    rmse_frac: float  # throughput kept, per run
    draw_rmse_frac: float  # drawn / uncapped power, per run
    num_points: int


def predict(curve: CapCurve, points: Sequence[CapPoint]) -> tuple[np.ndarray, np.ndarray]:
    """Predicted (throughput kept, drawn / uncapped) for each measured point."""
    h = np.array([p.cap_frac_of_uncapped for p in points])
    h_ref = np.array([p.max_cap_frac_of_uncapped for p in points])
    return curve.throughput_frac(h, 1.0, reference_cap_w=h_ref), curve.drawn_w(h, 1.0)


def fit_cap_curve(points: Iterable[CapPoint]) -> CapFit:
    """Least-squares fit of ``CapCurve`` to measured points (throughput and draw fitted apart)."""
    pts = list(points)
    h = np.array([p.cap_frac_of_uncapped for p in pts])
    h_ref = np.array([p.max_cap_frac_of_uncapped for p in pts])
    kept = np.array([p.throughput_kept_frac for p in pts])
    drawn = np.array([p.drawn_frac_of_uncapped for p in pts])

    def thr_residual(x: np.ndarray) -> np.ndarray:
        c = CapCurve(x[0], x[1], x[2], 1.0, 1.0)
        return c.throughput_frac(h, 1.0, reference_cap_w=h_ref) - kept

    def draw_residual(x: np.ndarray) -> np.ndarray:
        return CapCurve(1.0, 1.0, 1.0, x[0], x[1]).drawn_w(h, 1.0) - drawn

    thr = least_squares(thr_residual, [0.9, 4.0, 1.5], bounds=([0.1, 0.5, 0.2], [3.0, 50.0, 5.0]))
    drw = least_squares(draw_residual, [1.0, 6.0], bounds=([0.3, 0.5], [3.0, 50.0]))
    curve = CapCurve(*map(float, thr.x), *map(float, drw.x))
    return CapFit(
        curve=curve,
        rmse_frac=float(np.sqrt(np.mean(thr.fun**2))),
        draw_rmse_frac=float(np.sqrt(np.mean(drw.fun**2))),
        num_points=len(pts),
    )
