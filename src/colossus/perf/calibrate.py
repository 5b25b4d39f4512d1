"""Fit a few shared assumptions to measured runs, and hold some runs out to check them.

Only parameters shared by every run of a GPU generation are fitted (a GEMM
efficiency ceiling, an overlap fraction), never a per-run constant. The fit
minimises the mean absolute relative error with Nelder-Mead within bounds.
``family_split`` divides runs into a calibration and a held-out half by
alternating within each source family, so both halves span every family.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
from scipy.optimize import minimize

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.validate import Validation, validate_runs
from colossus.spec import RunSpec

#: The shared parameters ``fit`` adjusts by default, with their bounds.
DEFAULT_PARAMETERS: Mapping[str, tuple[float, float]] = {
    "compute.gemm.ampere.bf16.eff_max": (0.5, 0.95),
    "compute.gemm.hopper.fp8.eff_max": (0.3, 0.9),
    "software.ampere.zero3_overlap_frac": (0.0, 1.0),
}


@dataclass(frozen=True)
class Fit:
    values: dict[str, float]
    assumptions: PerfAssumptions
    calibration: Validation


def family(run_id: str) -> str:
    """The source family of a run id: its first two dash-separated parts."""
    return "-".join(run_id.split("-")[:2])


def family_split(runs: Sequence[RunSpec]) -> tuple[list[RunSpec], list[RunSpec]]:
    """(calibration, held-out): every other run of each family, in file order."""
    seen: dict[str, int] = {}
    calibration, held_out = [], []
    for run in runs:
        k = seen.get(family(run.id), 0)
        seen[family(run.id)] = k + 1
        (calibration if k % 2 == 0 else held_out).append(run)
    return calibration, held_out


def _loss(validation: Validation) -> float:
    errors = validation.errors
    if errors.size == 0:
        return float("inf")
    return float(np.mean(np.abs(errors)) + 0.5 * np.max(np.abs(errors)))


def fit(
    runs: Sequence[RunSpec],
    parameters: Mapping[str, tuple[float, float]] = DEFAULT_PARAMETERS,
    *,
    base: PerfAssumptions | None = None,
) -> Fit:
    """Shared parameters that minimise mean + half the worst absolute error on ``runs``."""
    base = base or default_assumptions()
    names = list(parameters)
    lows = np.array([parameters[n][0] for n in names])
    highs = np.array([parameters[n][1] for n in names])

    def build(x: np.ndarray) -> PerfAssumptions:
        return base.with_overrides({n: float(v) for n, v in zip(names, np.clip(x, lows, highs))})

    start = np.array([float(base.get(n)) for n in names])
    result = minimize(lambda x: _loss(validate_runs(runs, assumptions=build(x))), start, method="Nelder-Mead",
                      options={"xatol": 1e-3, "fatol": 1e-4, "maxiter": 200})
    best = build(result.x)
    values = {n: float(v) for n, v in zip(names, np.clip(result.x, lows, highs))}
    return Fit(values, best, validate_runs(runs, assumptions=best))
