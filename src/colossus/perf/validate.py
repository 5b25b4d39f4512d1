"""Predict measured runs and compare: measured vs predicted, error, MAPE, worst case.

Each run is compared on one metric, the first it gives of ``tflops_per_gpu``,
``mfu``, ``tokens_per_s_per_gpu``, ``step_time_s`` (TFLOP/s and MFU in the
run's own FLOP convention: model or hardware). ``error = (predicted -
measured) / measured``. A run that cannot be predicted (an invalid layout,
a GPU without the precision) is kept, with its reason and no error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from colossus.errors import ColossusError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.estimate import estimate
from colossus.spec import RunSpec

#: The metric a run is compared on: the first of these its ``measured`` block gives.
METRIC_ORDER: tuple[str, ...] = ("tflops_per_gpu", "mfu", "tokens_per_s_per_gpu", "step_time_s")


@dataclass(frozen=True)
class Case:
    id: str
    metric: str
    measured: float
    predicted: float | None
    reason: str = ""  # why there is no prediction
    note: str = ""  # e.g. the layout does not fit the model's memory estimate

    @property
    def error(self) -> float | None:
        if self.predicted is None:
            return None
        return (self.predicted - self.measured) / self.measured

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "metric": self.metric, "measured": self.measured,
            "predicted": self.predicted, "error": self.error,
        }
        if self.reason:
            out["reason"] = self.reason
        if self.note:
            out["note"] = self.note
        return out


@dataclass(frozen=True)
class Validation:
    cases: tuple[Case, ...]

    @property
    def errors(self) -> np.ndarray:
        return np.array([c.error for c in self.cases if c.error is not None])

    @property
    def mape(self) -> float | None:
        return float(np.mean(np.abs(self.errors))) if self.errors.size else None

    @property
    def max_abs_error(self) -> float | None:
        return float(np.max(np.abs(self.errors))) if self.errors.size else None

    @property
    def worst(self) -> Case | None:
        scored = [c for c in self.cases if c.error is not None]
        return max(scored, key=lambda c: abs(c.error or 0.0)) if scored else None

    @property
    def unpredicted(self) -> tuple[Case, ...]:
        return tuple(c for c in self.cases if c.predicted is None)

    def as_dict(self) -> dict[str, Any]:
        worst = self.worst
        return {
            "cases": [c.as_dict() for c in self.cases],
            "mape": self.mape,
            "max_abs_error": self.max_abs_error,
            "worst_id": worst.id if worst else None,
            "num_cases": len(self.cases),
            "num_unpredicted": len(self.unpredicted),
        }


def metric_of(run: RunSpec) -> tuple[str, float]:
    """The metric ``run`` is compared on, and its measured value."""
    assert run.measured is not None
    for name in METRIC_ORDER:
        value = getattr(run.measured, name)
        if value is not None:
            return name, float(value)
    raise AssertionError("MeasuredSpec guarantees one metric")  # pragma: no cover


def predict_case(run: RunSpec, assumptions: PerfAssumptions) -> Case:
    """One run measured vs predicted; the reason instead of a prediction when there is none."""
    metric, measured = metric_of(run)
    try:
        est = estimate(run, assumptions=assumptions)
    except ColossusError as exc:
        return Case(run.id, metric, measured, None, reason=str(exc))
    note = "" if est.fits else "predicted memory exceeds the GPU's HBM; estimated anyway"
    return Case(run.id, metric, measured, est.metric(metric, run.measured.convention), note=note)


def validate_runs(runs: Sequence[RunSpec], *, assumptions: PerfAssumptions | None = None) -> Validation:
    """Predict every run that has a ``measured`` block."""
    assumptions = assumptions or default_assumptions()
    return Validation(tuple(predict_case(r, assumptions) for r in runs if r.measured is not None))
