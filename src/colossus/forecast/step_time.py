"""The step time's error, as data: how far the performance model was off on validation families it had not seen.

``perf.calibrate.cross_validate`` refits the model's shared constants with
each family of ``../shared/validation/training_runs.yaml`` left out and
predicts that family. A family the model has not seen is the honest analogue
of a user's new model or software stack, so a forecast draws the error of its
job's predicted throughput from these left-out errors.

Each case gives a *rate ratio*: measured throughput over predicted (for a
throughput-like metric, ``1 / (1 + cv_error)``; for a step time,
``1 + cv_error``). A draw multiplies the job's predicted tokens/s by one.
Every family weighs the same (a 22-run paper table does not outvote a
one-run release, as in the calibration itself), and the quantile function
interpolates in log space between the weighted cases' mid-points, so the
multiplier never leaves the range the cases span. A prediction takes the
cases of runs of its kind, dense or mixture of experts (``of_kind``), where
enough families of that kind were left out.

The cross-validation takes about half a minute, so the errors ship as data
(``catalog/data/forecast_step_time_error.toml``), written by

    python -m colossus.forecast.step_time --write [--validation PATH]

with the validation file's sha256 and the fitted constants as provenance;
``--check`` recomputes and compares (a slow test does the same).
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cache
import hashlib
import math
from pathlib import Path
import sys
from typing import Any

import numpy as np

from colossus.catalog import read_table
from colossus.errors import CatalogError

#: The data file's stem under ``catalog/data``.
STEM = "forecast_step_time_error"
#: Metrics whose error has the sign of the throughput's (a step time's is the opposite).
THROUGHPUT_METRICS = frozenset({"tokens_per_s_per_gpu", "tflops_per_gpu", "mfu"})
#: A prediction's range comes from the runs of its own kind (dense or mixture of experts) when that many families
#: of the kind were left out; else from every run. The public set's dense runs were predicted 0.90-1.10 times
#: their measured throughput, its MoE runs 0.98-1.20 (they are slower to predict and the model's MoE constants
#: rest on four families): one range for both put MoE's upper tail on every dense estimate and hid MoE's bias.
MIN_FAMILIES_OF_KIND = 3
#: Absolute tolerance on a left-out error when shipped data is checked against a fresh fit
#: (the fit is a numerical optimisation; its last digits may differ between BLAS builds).
CHECK_TOLERANCE = 1e-3


@dataclass(frozen=True, slots=True)
class ErrorCase:
    """One validation run's left-out error."""

    id: str
    family: str
    metric: str
    cv_error: float  # (predicted - measured) / measured of the metric, constants fitted without the family
    moe: bool = False  # the run's model has mixture-of-experts layers

    @property
    def rate_ratio(self) -> float:
        """Measured throughput over predicted: the multiplier that makes the prediction right."""
        if self.metric in THROUGHPUT_METRICS:
            return 1.0 / (1.0 + self.cv_error)
        return 1.0 + self.cv_error  # a step time: predicted step / measured step


@dataclass(frozen=True, slots=True)
class PredictionRange:
    """Where a predicted throughput really lands, from the model's errors on families it was not fitted to.

    ``low`` and ``high`` multiply a predicted tokens/s (and divide a time to train): in ``probability`` of
    the left-out cases, each family weighing the same, measured over predicted lay between them.
    """

    probability: float
    low: float
    high: float
    cases: int
    families: int
    kind: str = ""  # "dense" or "MoE" when the range is of runs of the prediction's kind

    @property
    def basis(self) -> str:
        runs = f"{self.kind} runs" if self.kind else "runs"
        return (f"the performance model's error on {self.cases} published {runs} of {self.families} families,"
                " each predicted with its family left out of the fit")

    def throughput(self, value: float) -> tuple[float, float]:
        """(low, high) of a predicted throughput (tokens/s, TFLOP/s, MFU)."""
        return value * self.low, value * self.high

    def duration(self, value_s: float) -> tuple[float, float]:
        """(short, long) of a predicted duration (a step, a time to train)."""
        return value_s / self.high, value_s / self.low


@dataclass(frozen=True)
class StepTimeError:
    """The empirical distribution of the throughput multiplier, each family weighing the same."""

    cases: tuple[ErrorCase, ...]
    validation_sha256: str
    fitted: tuple[str, ...]
    kind: str = ""  # "dense" or "MoE" when the cases are of one kind (``of_kind``)

    def __post_init__(self) -> None:
        if not self.cases:
            raise CatalogError("no validation cases", file=f"catalog/data/{STEM}.toml")

    @property
    def families(self) -> tuple[str, ...]:
        return tuple(sorted({c.family for c in self.cases}))

    def of_kind(self, moe: bool | None) -> StepTimeError:
        """The cases of runs of the same kind (``moe``: with mixture-of-experts layers or not), when at least
        ``MIN_FAMILIES_OF_KIND`` families of that kind were left out; else every case (and for ``None``)."""
        if moe is None:
            return self
        kind = tuple(c for c in self.cases if c.moe is moe)
        if len({c.family for c in kind}) < MIN_FAMILIES_OF_KIND:
            return self
        return StepTimeError(kind, self.validation_sha256, self.fitted, "MoE" if moe else "dense")

    def _sorted(self) -> tuple[np.ndarray, np.ndarray]:
        logs = np.log(np.array([c.rate_ratio for c in self.cases]))
        counts: dict[str, int] = {}
        for c in self.cases:
            counts[c.family] = counts.get(c.family, 0) + 1
        weights = np.array([1.0 / counts[c.family] for c in self.cases])
        order = np.argsort(logs, kind="stable")
        weights = weights[order] / weights.sum()
        mids = np.cumsum(weights) - weights / 2.0  # each case's weight is centred on it
        return mids, logs[order]

    def quantile(self, u: float | np.ndarray) -> float | np.ndarray:
        """The multiplier of predicted tokens/s at probability ``u`` (0..1)."""
        mids, logs = self._sorted()
        return np.exp(np.interp(u, mids, logs))

    def prediction_range(self, probability: float = 0.8) -> PredictionRange:
        """The central ``probability`` range of the throughput multiplier (0.8: from P10 to P90)."""
        if not 0.0 < probability < 1.0:
            raise ValueError(f"probability {probability} is not between 0 and 1")
        tail = (1.0 - probability) / 2.0
        low, high = (float(self.quantile(u)) for u in (tail, 1.0 - tail))
        return PredictionRange(probability, low, high, len(self.cases), len(self.families), self.kind)

    def summary(self) -> dict[str, Any]:
        """What a forecast says about this source: its quantiles and where it comes from."""
        p10, p50, p90 = (float(self.quantile(p)) for p in (0.1, 0.5, 0.9))
        return {"cases": len(self.cases), "families": len(self.families), "p10": p10, "p50": p50, "p90": p90,
                "validation_sha256": self.validation_sha256, **({"model_kind": self.kind} if self.kind else {})}


def _case(run_id: str, row: Mapping[str, Any]) -> ErrorCase:
    try:
        moe = row.get("moe", False)
        if not isinstance(moe, bool):
            raise TypeError(f"moe is {moe!r}, not true or false")
        return ErrorCase(run_id, str(row["family"]), str(row["metric"]), float(row["cv_error"]), moe)
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"broken case ({exc})", file=f"catalog/data/{STEM}.toml", path=["runs", run_id]) from None


@cache
def shipped() -> StepTimeError:
    """The errors shipped with the package (``catalog/data/forecast_step_time_error.toml``)."""
    table = read_table(STEM)
    prov = table.get("provenance", {})
    cases = tuple(_case(run_id, row) for run_id, row in table.get("runs", {}).items())
    return StepTimeError(cases, str(prov.get("validation_sha256", "")), tuple(prov.get("fitted", ())))


@cache
def prediction_range(probability: float = 0.8, moe: bool | None = None) -> PredictionRange:
    """The shipped errors' central range: what ``estimate`` and ``plan`` state beside each prediction (``moe``:
    whether the predicted model has mixture-of-experts layers, for the range of its kind; None: every run)."""
    return shipped().of_kind(moe).prediction_range(probability)


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def compute(validation: Path) -> StepTimeError:
    """Cross-validate the performance model on ``validation`` (about half a minute)."""
    from colossus.perf.calibrate import cross_validate  # noqa: PLC0415 (scipy's optimiser: slow to import)
    from colossus.spec import load_runs  # noqa: PLC0415

    return from_cross_validation(cross_validate(load_runs(validation)), validation)


def from_cross_validation(crossed: Any, validation: Path) -> StepTimeError:
    """The step-time errors of a cross-validation already run (``perf.calibrate.cross_validate``) on ``validation``."""
    from colossus.perf.calibrate import FITTED  # noqa: PLC0415
    from colossus.perf.validate import family_of  # noqa: PLC0415

    cases = tuple(ErrorCase(c.id, family_of(c.id), c.metric, float(c.cv_error), c.id in crossed.moe_ids)
                  for c in crossed.cases if c.cv_error is not None and math.isfinite(c.cv_error))
    return StepTimeError(cases, sha256_of(validation), tuple(FITTED))


def render(error: StepTimeError, validation_name: str) -> str:
    """The data file's text (TOML, every figure with the comment the catalog test asks for)."""
    lines = [
        "# The step time's error: the performance model's leave-one-family-out error on each validation run.",
        "# GENERATED: do not edit by hand. Regenerate with",
        "#     python -m colossus.forecast.step_time --write --validation ../shared/validation/training_runs.yaml",
        "# (perf.calibrate.cross_validate refits the constants listed under provenance with each family left",
        "# out and predicts it). A forecast draws the multiplier of its job's predicted tokens/s from these,",
        "# each family weighing the same (colossus.forecast.step_time).",
        "",
        "[provenance]",
        f'validation_file = "{validation_name}"',
        f'validation_sha256 = "{error.validation_sha256}"',
        'command = "python -m colossus.forecast.step_time --write"',
        "fitted = [" + ", ".join(f'"{name}"' for name in error.fitted) + "]",
        "",
    ]
    for case in error.cases:
        lines += [
            f'[runs."{case.id}"]',
            f'family = "{case.family}"',
            f'metric = "{case.metric}"',
            f"moe = {'true' if case.moe else 'false'}  # source: the run's model in the validation file",
            f"cv_error = {case.cv_error!r}  # derived: left-out error of {case.metric}, "
            f"constants fitted without family {case.family}",
            "",
        ]
    return "\n".join(lines)


def data_path() -> Path:
    return Path(__file__).resolve().parents[1] / "catalog" / "data" / f"{STEM}.toml"


def differences(shipped_error: StepTimeError, fresh: StepTimeError, tolerance: float = CHECK_TOLERANCE) -> list[str]:
    """Where the shipped errors differ from a fresh computation (empty: they agree)."""
    problems = []
    if shipped_error.validation_sha256 != fresh.validation_sha256:
        problems.append("the validation file changed since the data was generated")
    old = {c.id: c for c in shipped_error.cases}
    new = {c.id: c for c in fresh.cases}
    if set(old) != set(new):
        problems.append(f"cases differ: {sorted(set(old) ^ set(new))[:5]}")
    for run_id in sorted(set(old) & set(new)):
        a, b = old[run_id], new[run_id]
        if (a.family, a.metric, a.moe) != (b.family, b.metric, b.moe) or abs(a.cv_error - b.cv_error) > tolerance:
            problems.append(f"{run_id}: shipped {a.cv_error:.6f}, fresh {b.cv_error:.6f}")
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m colossus.forecast.step_time", description=__doc__.split("\n")[0])
    parser.add_argument("--validation", type=Path, default=Path("../shared/validation/training_runs.yaml"))
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true", help="recompute and write the data file")
    action.add_argument("--check", action="store_true", help="recompute and compare with the data file")
    args = parser.parse_args(argv)
    fresh = compute(args.validation)
    if args.write:
        data_path().write_text(render(fresh, args.validation.name), encoding="utf-8")
        print(f"wrote {len(fresh.cases)} cases of {len(fresh.families)} families to {data_path().name}")
        return 0
    problems = differences(shipped(), fresh)
    for line in problems:
        print(line)
    print("shipped data agrees with a fresh computation" if not problems else f"{len(problems)} differences")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
