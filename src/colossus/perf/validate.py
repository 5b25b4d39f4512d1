"""Predict measured runs and compare: measured vs predicted, error, MAPE, worst case.

Each run is compared on one metric, the first it gives of
``tokens_per_s_per_gpu``, ``step_time_s``, ``tflops_per_gpu``, ``mfu``:
throughput first, because it does not depend on how the source counted FLOPs
(some count a multi-token-prediction layer, some halve causal attention);
TFLOP/s and MFU are compared in the run's own FLOP convention (model,
model_causal or hardware). ``error = (predicted - measured) / measured``. A run
that cannot be predicted (an invalid layout, a GPU without the precision) is
kept, with its reason and no error. Every run is predicted in one vectorised
pass (``perf.estimate.estimate_many``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from colossus.errors import ColossusError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.case_notes import case_note
from colossus.perf.estimate import RESERVE_DECIDES, estimate_many
from colossus.spec import RunSpec

#: The metric a run is compared on: the first of these its ``measured`` block gives.
METRIC_ORDER: tuple[str, ...] = ("tokens_per_s_per_gpu", "step_time_s", "tflops_per_gpu", "mfu")


def family_of(run_id: str) -> str:
    """A run's family for cross-validation: its id up to the first ``-`` (shared/validation/README.md)."""
    return run_id.split("-", 1)[0]


@dataclass(frozen=True)
class Case:
    id: str
    metric: str
    measured: float
    predicted: float | None
    reason: str = ""  # why there is no prediction
    note: str = ""  # e.g. the layout does not fit the model's memory estimate
    fits: bool | None = None
    memory_per_gpu_bytes: float | None = None
    software: str | None = None  # the profile assumed
    cv_predicted: float | None = None  # the prediction with the run's family left out of the fit
    #: the layout options the run left open and the value the model took for each (fastest that fits among
    #: what the stack offers): what a reader checks first when a prediction is off
    assumed: dict[str, Any] | None = None

    @property
    def family(self) -> str:
        return family_of(self.id)

    @property
    def error(self) -> float | None:
        if self.predicted is None:
            return None
        return (self.predicted - self.measured) / self.measured

    @property
    def cv_error(self) -> float | None:
        if self.cv_predicted is None:
            return None
        return (self.cv_predicted - self.measured) / self.measured

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": self.id, "family": self.family, "metric": self.metric, "measured": self.measured,
            "predicted": self.predicted, "error": self.error, "fits": self.fits,
            "memory_per_gpu_bytes": self.memory_per_gpu_bytes, "software": self.software,
        }
        if self.assumed is not None:
            out["assumed"] = {k: getattr(v, "value", v) for k, v in self.assumed.items()}
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
            "num_not_fitting": sum(1 for c in self.cases if c.fits is False),
        }


def metric_of(run: RunSpec) -> tuple[str, float]:
    """The metric ``run`` is compared on, and its measured value."""
    assert run.measured is not None
    for name in METRIC_ORDER:
        value = getattr(run.measured, name)
        if value is not None:
            return name, float(value)
    raise AssertionError("MeasuredSpec guarantees one metric")  # pragma: no cover


def validate_runs(runs: Sequence[RunSpec], *, assumptions: PerfAssumptions | None = None) -> Validation:
    """Predict every run that has a ``measured`` block."""
    assumptions = assumptions or default_assumptions()
    measured = [r for r in runs if r.measured is not None]
    cases = []
    for run, est in zip(measured, estimate_many(measured, assumptions=assumptions)):
        metric, value = metric_of(run)
        if isinstance(est, ColossusError):
            cases.append(Case(run.id, metric, value, None, reason=str(est)))
            continue
        notes = [] if est.fits else ["predicted memory exceeds the GPU's HBM; estimated anyway"] + [
            n for n in est.notes if n.startswith("needs ") and RESERVE_DECIDES in n]  # (by how much, and why)
        notes += [case_note(run.id)] if case_note(run.id) else []
        note = "; ".join(notes)
        assert run.measured is not None
        cases.append(Case(run.id, metric, value, est.metric(metric, run.measured.convention), note=note,
                          fits=est.fits, memory_per_gpu_bytes=est.memory_per_gpu_bytes,
                          software=est.software.profile, assumed=dict(est.assumed)))
    return Validation(tuple(cases))
