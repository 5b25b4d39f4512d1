"""How much dropless MoE routing costs over force-balanced routing: the fit of ``compute.moe.expert_load_cv``.

Published MoE benchmarks force-balance their routing (Megatron-core
``--moe-router-force-load-balancing``); training lets every token go where the
router sends it. Under dropless routing the experts' loads vary, and each
layer's dispatch, experts and combine wait for the busiest expert-parallel
rank (``compute.expert_load_factor``). The only published pairs of the two on
one layout are the MoE model zoo's long-context Qwen3-235B table: each row's
notes in ``shared/validation/training_runs.yaml`` give its TFLOP/s with forced
balance (the row's measurement) and dropless. ``dropless_pairs`` reads them
from those notes; ``fit_expert_load_cv`` finds the one coefficient of
variation that makes the model's dropless-over-balanced throughput ratios
match them, and leaves each pair out in turn to say how well the others
predict it.

What the fit can and cannot say: the four pairs share one table, one model
and one layout family (EP 8, 16 experts a rank), and differ in sequence length
and context parallelism, so the share of the step the routing touches (the
experts and their all-to-all, not attention) changes from row to row, which is
what the leave-one-out tests. How the imbalance scales with the
expert-parallel degree and the experts a rank holds (independent experts, the
largest of ``ep`` normal draws) is an assumption none of them tests. A
benchmark runs a few hundred steps of a fresh router; a converged router under
its balance loss is likely more even, so the fitted value is the cautious end
for a long training run (``--assume compute.moe.expert_load_cv=...`` to try
another).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
import re

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.compute import LOAD_CV
from colossus.spec import ExpertRouting, RunSpec

#: The constant this module fits (dotted path in catalog/data/perf_compute.toml).
CONSTANT = LOAD_CV
#: Search range of the fit: from even loads to experts whose loads spread three times their mean.
BOUNDS = (0.0, 3.0)
#: The fit stops at this step of the constant (a change of 0.01 moves a ratio by about 0.1%).
XTOL = 1e-2

#: How a row's notes give the pair: "TFLOPS 335 (forced balance) / 277 (dropless)".
_PAIR = re.compile(r"(\d+(?:\.\d+)?)\s*\(forced\s+balance\)\s*/\s*(\d+(?:\.\d+)?)\s*\(dropless\)", re.IGNORECASE)


@dataclass(frozen=True)
class DroplessPair:
    """One published run measured with forced-balance and with dropless routing (same FLOP count)."""

    run: RunSpec
    balanced_tflops: float
    dropless_tflops: float

    @property
    def measured_ratio(self) -> float:
        """Dropless over force-balanced throughput."""
        return self.dropless_tflops / self.balanced_tflops


def dropless_pairs(runs: Sequence[RunSpec]) -> list[DroplessPair]:
    """The runs whose notes state a forced-balance and a dropless figure, with the two."""
    out = []
    for run in runs:
        found = _PAIR.search(" ".join((run.notes or "").split()))
        if found and run.model.moe is not None:
            out.append(DroplessPair(run, float(found.group(1)), float(found.group(2))))
    return out


def dropless(run: RunSpec) -> RunSpec:
    """The same run with dropless routing stated."""
    software = run.software.model_copy(update={"expert_routing": ExpertRouting.DROPLESS})
    return run.model_copy(update={"software": software})


def predicted_ratios(pairs: Sequence[DroplessPair], assumptions: PerfAssumptions,
                     balanced_s: Sequence[float] | None = None) -> list[float]:
    """The model's dropless over force-balanced throughput for each pair (balanced step / dropless step).

    ``balanced_s``: the pairs' balanced step times, if known (they do not read the constant).
    """
    from colossus.perf.estimate import estimate  # noqa: PLC0415

    if balanced_s is None:
        balanced_s = [estimate(p.run, assumptions=assumptions).step_time_s for p in pairs]
    return [b / estimate(dropless(p.run), assumptions=assumptions).step_time_s for b, p in zip(balanced_s, pairs)]


def _fit(pairs: Sequence[DroplessPair], base: PerfAssumptions, balanced_s: Sequence[float]) -> float:
    from scipy.optimize import minimize_scalar  # noqa: PLC0415

    def loss(cv: float) -> float:
        ratios = predicted_ratios(pairs, base.with_overrides({CONSTANT: cv}), balanced_s)
        return sum(math.log(r / p.measured_ratio) ** 2 for r, p in zip(ratios, pairs))

    return float(minimize_scalar(loss, bounds=BOUNDS, method="bounded", options={"xatol": XTOL}).x)


@dataclass(frozen=True)
class RoutingFit:
    """The fitted coefficient of variation, each pair's error in sample and with it left out."""

    value: float
    ids: tuple[str, ...]
    measured: tuple[float, ...]  # dropless / balanced throughput, published
    in_sample: tuple[float, ...]  # the model's ratio at ``value``
    left_out: tuple[float, ...]  # the model's ratio fitted without that pair
    left_out_values: tuple[float, ...]

    def errors(self, which: str = "in_sample") -> list[float]:
        """Relative error of the dropless throughput (the balanced one is the row's measurement)."""
        return [r / m - 1.0 for r, m in zip(getattr(self, which), self.measured)]


def fit_expert_load_cv(runs: Sequence[RunSpec], base: PerfAssumptions | None = None) -> RoutingFit:
    """Fit ``compute.moe.expert_load_cv`` on the published dropless pairs, with leave-one-out."""
    base = base or default_assumptions()
    pairs = dropless_pairs(runs)
    if len(pairs) < 2:
        raise SpecError("fewer than two runs state a forced-balance and a dropless figure in their notes",
                        path=["notes"])
    from colossus.perf.estimate import estimate  # noqa: PLC0415

    balanced_s = [estimate(p.run, assumptions=base).step_time_s for p in pairs]
    value = _fit(pairs, base, balanced_s)
    in_sample = predicted_ratios(pairs, base.with_overrides({CONSTANT: value}), balanced_s)
    left_out, values = [], []
    for i, pair in enumerate(pairs):
        others = [j for j in range(len(pairs)) if j != i]
        without = _fit([pairs[j] for j in others], base, [balanced_s[j] for j in others])
        values.append(without)
        left_out.append(predicted_ratios([pair], base.with_overrides({CONSTANT: without}), [balanced_s[i]])[0])
    return RoutingFit(value, tuple(p.run.id for p in pairs), tuple(p.measured_ratio for p in pairs),
                      tuple(in_sample), tuple(left_out), tuple(values))


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a report: python -m colossus.perf.routing
    import argparse  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from colossus.spec import load_runs  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="refit compute.moe.expert_load_cv on the published dropless pairs")
    parser.add_argument("--validation", type=Path, default=Path("../shared/validation/training_runs.yaml"))
    fit = fit_expert_load_cv(load_runs(parser.parse_args(argv).validation))
    print(f"{CONSTANT} = {fit.value:.3f} (shipped {default_assumptions().f(CONSTANT):.3f})")
    for rid, m, e, lo, v in zip(fit.ids, fit.measured, fit.errors(), fit.errors("left_out"), fit.left_out_values):
        print(f"  {rid:45s} dropless/balanced {m:.3f}  in-sample error {e:+.1%}  left out {lo:+.1%} (cv {v:.3f})")


if __name__ == "__main__":  # pragma: no cover
    main()
