"""Fit the model's few shared constants to measured runs, and cross-validate by leaving families out.

Only constants shared by every run that uses a mechanism are fitted (a GEMM
efficiency ceiling of one GPU generation and precision, a collective's bus
efficiency, the per-step overhead), never a per-run or per-family constant.
``FITTED`` lists them with their bounds; ``informed_by`` says which runs
actually move each one (a constant is only informed by runs whose prediction
depends on it).

The fit minimises a robust (soft-L1) loss of the log errors, each family
weighted equally (a 22-run paper table does not outvote a one-run release),
with ``scipy.optimize.least_squares``. ``cross_validate`` refits everything
with one family left out at a time and predicts that family: a family the
model has not seen is what a user's new model or stack looks like, so the
left-out error is the honest one to quote. A constant none of the remaining
families informs keeps its prior when the left-out family is one the shipped
constants were fitted on, else its shipped value (``starting_from``).

A file of other runs (the held-back ones: no family of the public file) is fitted
with what the public runs say of the constants too (``PublicPrior``): the public
fit's curvature at the shipped values, shipped in ``perf_calibration.toml``, stands
in for the public runs, so each fold is fitted as on the public runs and the file's
other families together, not on a few runs alone.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from typing import Any

import numpy as np

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.estimate import PreparedRuns, policy_of
from colossus.perf.flops import token_flops
from colossus.perf.layout import RC_SELECTIVE, RECOMPUTE_CODES
from colossus.perf.validate import Case, Validation, family_of, metric_of, validate_runs
from colossus.spec import Convention, RunSpec, SelectiveRecompute

#: The shared constants the calibration fits: dotted path -> (low, high, prior). The prior is what the
#: model assumes *without* data (a kernel benchmark, or "no penalty"); every fit starts there, so a
#: constant that no run of a fold informs (one only the left-out family moves) keeps its prior rather
#: than a value fitted on the family being predicted.
FITTED: Mapping[str, tuple[float, float, float]] = {
    "compute.gemm.ampere.bf16.eff_max": (0.4, 0.95, 0.75),  # prior: ~0.85 isolated cuBLAS less training overheads
    "compute.gemm.hopper.bf16.eff_max": (0.4, 0.95, 0.70),  # prior: ~0.78 isolated cuBLAS less training overheads
    "compute.gemm.hopper.fp8.eff_max": (0.25, 0.9, 0.62),  # prior: 0.88 x the BF16 prior
    "compute.overheads.step_overhead_s": (0.0, 1.0, 0.05),  # prior: data loader + logging, ~50 ms
    "network.nccl.a2a_busbw_eff": (0.2, 1.0, 0.6),  # prior: DeepSpeed-MoE's ~50-70% of link rate
    "compute.moe.grouped_gemm_eff": (0.3, 1.0, 0.8),  # prior: grouped GEMMs a little behind dense ones
    "compute.moe.expert_overhead_s": (0.0, 1e-3, 0.0),  # prior: no fixed per-expert cost
    "overlap.zero3.unaggregated_contention_frac": (0.0, 1.0, 0.1),  # prior: as overlap.dp.contention_frac
}
#: Constants of the mixture-of-experts mechanisms: fitted on MoE runs only, after the dense ones (``fit_predictor``).
MOE_FITTED = frozenset({"network.nccl.a2a_busbw_eff", "compute.moe.grouped_gemm_eff", "compute.moe.expert_overhead_s"})
#: Priors from kernel benchmarks, as (constant, reference constant, ratio, relative sigma): the fit pays
#: ``log(x / (ratio x ref)) / sigma`` for straying from it. FP8 GEMMs: isolated cuBLASLt FP8 GEMMs on H100
#: reach ~1,300-1,450 of 1,979 TFLOP/s where BF16 reaches ~750-800 of 989 (NVIDIA cuBLAS and TE
#: benchmarks), an efficiency ratio of ~0.88; training-only FP8 costs (casts, amax) are modelled apart.
#: Without the prior the FP8 ceiling, informed by few runs, swings with whichever family is left out.
PRIORS: tuple[tuple[str, str, float, float], ...] = (
    ("compute.gemm.hopper.fp8.eff_max", "compute.gemm.hopper.bf16.eff_max", 0.88, 0.08),
)
#: Robust-loss scale: log errors beyond ~5% count linearly, not squared.
LOSS_SCALE = 0.05
#: A run "informs" a constant when moving the constant by this factor moves its prediction by ...
PROBE_FACTOR = 1.10
#: ... at least this much (relative).
PROBE_MIN_EFFECT = 0.005


class Predictor:
    """Measured runs prepared once; predicted metric values under any assumptions, fast."""

    def __init__(self, runs: Sequence[RunSpec], base: PerfAssumptions) -> None:
        self.runs = [r for r in runs if r.measured is not None]
        self.base = base
        self.prepared = PreparedRuns.prepare(self.runs, base)
        self._subsets: dict[bytes, tuple[PreparedRuns, np.ndarray]] = {}
        self.measured = np.array([metric_of(r)[1] for r in self.runs])
        self.metric = [metric_of(r)[0] for r in self.runs]
        self.families = np.array([family_of(r.id) for r in self.runs])
        self.is_moe = np.array([r.model.moe is not None for r in self.runs], dtype=bool)
        self.index = np.array([i for i, _ in self.prepared.meta], dtype=np.int64)  # run of each prepared row
        self._flop_per_token: dict[tuple[int, int, SelectiveRecompute | None], float] = {}

    def predict(self, assumptions: PerfAssumptions, mask: np.ndarray | None = None) -> np.ndarray:
        """Predicted metric per run (NaN where the run cannot be predicted, and outside ``mask`` if given).

        With a mask only the selected runs are evaluated (a fit's training runs: a run's prediction does
        not depend on the runs beside it, bit for bit, ``tests/perf/test_batching.py``).
        """
        out = np.full(len(self.runs), np.nan)
        prepared, index = (self.prepared, self.index) if mask is None or mask.all() else self._subset(mask)
        if not prepared.inputs:
            return out
        batch, _, picks, _ = prepared.evaluate_batch(assumptions)
        ok = picks >= 0
        rows = picks[ok]
        lay = batch.lay
        ctx_rows = rows if batch.ctx.size > 1 else np.zeros_like(rows)  # one run's row is not repeated
        seq, gpus, peak = (getattr(batch.ctx, f)[ctx_rows] for f in ("seq", "num_gpus", "peak_bf16_flop_per_s"))
        tokens = lay.gb[rows] * seq
        tps = tokens / batch.parts.step_time_s[rows] / gpus
        for k, (value, j, row) in enumerate(zip(tps, np.flatnonzero(ok), rows)):
            i = int(index[j])
            policy = (policy_of(int(lay.sel[row]), prepared.inputs[j].software) if int(lay.rc[row]) == RC_SELECTIVE
                      else None)
            out[i] = self._metric(i, float(value), int(lay.rc[row]), policy, float(peak[k]), float(tokens[k]))
        return out

    def _subset(self, mask: np.ndarray) -> tuple[PreparedRuns, np.ndarray]:
        """The selected runs prepared on their own (kept per mask), and each prepared row's run index."""
        key = np.asarray(mask, dtype=bool).tobytes()
        if key not in self._subsets:
            chosen = np.flatnonzero(mask)
            prepared = PreparedRuns.prepare([self.runs[i] for i in chosen], self.base)
            self._subsets[key] = (prepared, np.array([chosen[i] for i, _ in prepared.meta], dtype=np.int64))
        return self._subsets[key]

    def _metric(self, i: int, tps: float, rc: int, policy: SelectiveRecompute | None, peak: float,
                tokens_per_step: float) -> float:
        run, name = self.runs[i], self.metric[i]
        if name == "tokens_per_s_per_gpu":
            return tps
        if name == "step_time_s":
            return tokens_per_step / (tps * run.cluster.gpus)
        per_token = self._flop_per_token.get((i, rc, policy))
        if per_token is None:  # a run's FLOP per token under its convention: the same in every fit step
            flops = token_flops(run.model)
            assert run.measured is not None
            conv = run.measured.convention
            per_token = (flops.hardware_flop(RECOMPUTE_CODES[rc], policy) if conv is Convention.HARDWARE
                         else flops.model_causal_flop if conv is Convention.MODEL_CAUSAL else flops.model_flop)
            self._flop_per_token[(i, rc, policy)] = per_token
        flop_s = tps * per_token
        return flop_s / 1e12 if name == "tflops_per_gpu" else flop_s / peak

    def errors(self, assumptions: PerfAssumptions) -> np.ndarray:
        return self.predict(assumptions) / self.measured - 1.0


@dataclass(frozen=True)
class Fit:
    values: dict[str, float]
    assumptions: PerfAssumptions
    calibration: Validation
    informed_by: dict[str, list[str]]  # constant -> ids of the runs that move it

    def as_dict(self) -> dict[str, Any]:
        return {name: {"value": v, "fitted_on": self.informed_by.get(name, [])} for name, v in self.values.items()}


def calibration_families() -> frozenset[str]:
    """The families the shipped constants were fitted on (``catalog/data/perf_calibration.toml``)."""
    from colossus.catalog import read_table

    return frozenset(read_table("perf_calibration")["calibration"]["families"])


def starting_from(parameters: Mapping[str, tuple[float, ...]], families: Iterable[str]
                  ) -> Mapping[str, tuple[float, ...]]:
    """``parameters`` with the start (and, for a constant no run informs, the value kept) a fit on runs of
    ``families`` should use: the priors where any of them is a family the shipped constants were fitted on
    (their shipped values would carry that family's own fit), else the shipped values (``base``), fitted on
    other data: a held-back file's constant that none of its other families informs keeps what the public
    runs say, not a kernel benchmark's guess."""
    if set(families) & calibration_families():
        return parameters
    return {name: bounds[:2] for name, bounds in parameters.items()}


def _build(base: PerfAssumptions, names: list[str], x: np.ndarray) -> PerfAssumptions:
    return base.with_overrides({n: float(v) for n, v in zip(names, x)})


def _run_residuals(pred: Predictor, mask: np.ndarray, base: PerfAssumptions, names: list[str],
                   x: np.ndarray) -> np.ndarray:
    """Each selected run's log error, weighted so that each family counts alike (1 / sqrt of its runs)."""
    errors = pred.predict(_build(base, names, x), mask)[mask] / pred.measured[mask]
    fams = pred.families[mask]
    counts = {f: int((fams == f).sum()) for f in set(fams.tolist())}
    weights = np.array([1.0 / np.sqrt(counts[f]) for f in fams])
    return weights * np.log(np.where(np.isfinite(errors) & (errors > 0), errors, 1.0))


def _residuals(pred: Predictor, mask: np.ndarray, base: PerfAssumptions, names: list[str], x: np.ndarray,
               public: PublicPrior | None = None) -> np.ndarray:
    values = dict(zip(names, x))
    priors = [np.log(values[c] / (ratio * values[ref])) / sigma
              for c, ref, ratio, sigma in PRIORS if c in values and ref in values]
    extra = _unrobust(public.residuals(names, x)) if public is not None else np.zeros(0)
    return np.concatenate([_run_residuals(pred, mask, base, names, x), np.array(priors, dtype=np.float64), extra])


def _unrobust(q: np.ndarray) -> np.ndarray:
    """Residuals whose soft-L1 loss is ``q**2`` exactly: the public prior is quadratic (the public runs' own
    robust loss is already in its curvature), and soft-L1 would otherwise let it go linear past ``LOSS_SCALE``.
    (``C^2 rho(p^2 / C^2) = q^2`` for ``p = q sqrt(1 + (q / 2C)^2)``, ``rho(z) = 2 (sqrt(1 + z) - 1)``.)"""
    return q * np.sqrt(1.0 + (q / (2.0 * LOSS_SCALE)) ** 2)


@dataclass(frozen=True)
class PublicPrior:
    """What the public runs say of the fitted constants, for a fit on runs of none of their families.

    Fitting on the public runs and another file's runs together would add the public runs' residuals to
    the file's; near the shipped values (the public fit) their sum of squares is ``d^T I d`` in the
    constants' log change ``d``, with ``I = J^T W J`` the public fit's Gauss-Newton curvature (``J`` the
    weighted log errors' change with the log constants, ``W`` the soft-L1 loss's weights there), one
    block per fitting stage (dense runs, MoE runs). ``residuals`` returns ``L^T d`` (``L L^T = I``), whose
    squares sum to that: a few held-back runs then move a constant only as far as they would beside the
    73 public ones. Computed by ``public_information`` and shipped in ``perf_calibration.toml``."""

    names: tuple[str, ...]
    information: np.ndarray  # len(names) x len(names), block-diagonal by stage
    center: np.ndarray  # the shipped values the curvature was taken at
    _factors: dict[tuple[int, ...], np.ndarray] = field(default_factory=dict, compare=False, repr=False)

    def residuals(self, names: Sequence[str], x: np.ndarray) -> np.ndarray:
        idx = tuple(self.names.index(n) for n in names if n in self.names)
        if not idx:
            return np.zeros(0)
        values = dict(zip(names, x))
        d = np.log(np.array([values[self.names[i]] for i in idx]) / self.center[list(idx)])
        return self._factor(idx).T @ d

    def _factor(self, idx: tuple[int, ...]) -> np.ndarray:
        """``L`` with ``L L^T`` the curvature of the constants ``idx`` (the others held where they are), once
        per set of constants: a fit asks for it at every step."""
        if idx not in self._factors:
            w, v = np.linalg.eigh(self.information[np.ix_(idx, idx)])
            self._factors[idx] = v * np.sqrt(np.clip(w, 0.0, None))
        return self._factors[idx]


@cache
def public_prior() -> PublicPrior:
    """The shipped ``[calibration.information]`` of ``perf_calibration.toml``."""
    from colossus.catalog import read_table

    table = read_table("perf_calibration")["calibration"]["information"]
    names = tuple(table["constants"])
    base = default_assumptions()
    return PublicPrior(names, np.array(table["matrix"], dtype=np.float64),
                       np.array([float(base.get(n)) for n in names]))


def public_information(runs: Sequence[RunSpec], parameters: Mapping[str, tuple[float, ...]] = FITTED, *,
                       base: PerfAssumptions | None = None, step: float = 0.02) -> tuple[list[str], np.ndarray]:
    """The public fit's curvature at ``base``'s values (``PublicPrior``): constant names and their matrix."""
    base = base or default_assumptions()
    pred = Predictor(runs, base)
    names = list(parameters)
    info = np.zeros((len(names), len(names)))
    for stage in (False, True):  # (the dense constants on the dense runs, the MoE ones on the MoE runs)
        block = [n for n in names if (n in MOE_FITTED) is stage]
        mask = pred.is_moe if stage else ~pred.is_moe
        if not block or not mask.any():
            continue
        x0 = np.array([float(base.get(n)) for n in block])
        r0 = _run_residuals(pred, mask, base, block, x0)
        jac = np.zeros((r0.size, len(block)))
        for k, name in enumerate(block):
            h = step if x0[k] * (1.0 + step) <= parameters[name][1] else -step  # (downward at an upper bound)
            x = x0.copy()
            x[k] *= 1.0 + h
            jac[:, k] = (_run_residuals(pred, mask, base, block, x) - r0) / np.log1p(h)
        weights = 1.0 / np.sqrt(1.0 + (r0 / LOSS_SCALE) ** 2)  # soft-L1's Gauss-Newton weights at the fit
        idx = [names.index(n) for n in block]
        info[np.ix_(idx, idx)] = jac.T @ (weights[:, None] * jac)
    return names, info


def _public_for(families: Iterable[str], with_public: bool) -> PublicPrior | None:
    """The public runs' prior for a fit on runs of ``families``: only where none of them is a public family
    (a fit that has public runs in it has their residuals already), and where asked for."""
    return None if not with_public or set(families) & calibration_families() else public_prior()


def informed_by(
    pred: Predictor, mask: np.ndarray, assumptions: PerfAssumptions, names: Sequence[str]
) -> dict[str, list[str]]:
    """Per constant, the runs (of ``mask``) whose prediction moves when the constant moves by 10%."""
    base = pred.predict(assumptions)
    out: dict[str, list[str]] = {}
    for name in names:
        moved = pred.predict(assumptions.with_overrides({name: float(assumptions.get(name)) * PROBE_FACTOR}))
        effect = np.abs(moved / base - 1.0)
        out[name] = [pred.runs[i].id for i in np.flatnonzero(mask & (effect >= PROBE_MIN_EFFECT))]
    return out


def fitted_on(
    pred: Predictor, mask: np.ndarray, assumptions: PerfAssumptions, names: Sequence[str]
) -> dict[str, list[str]]:
    """Per constant, the runs it was fitted on: those of its stage (dense or MoE, ``fit_predictor``) that it moves."""
    dense = [n for n in names if n not in MOE_FITTED]
    moe = [n for n in names if n in MOE_FITTED]
    return {**informed_by(pred, mask & ~pred.is_moe, assumptions, dense),
            **informed_by(pred, mask & pred.is_moe, assumptions, moe)}


def _bounds(
    parameters: Mapping[str, tuple[float, ...]], base: PerfAssumptions
) -> tuple[list[str], np.ndarray, np.ndarray, np.ndarray]:
    names = list(parameters)
    lows = np.array([parameters[n][0] for n in names])
    highs = np.array([parameters[n][1] for n in names])
    priors = np.array([parameters[n][2] if len(parameters[n]) > 2 else float(base.get(n)) for n in names])
    return names, lows, highs, np.clip(priors, lows + 1e-6, highs - 1e-6)


def _fit_stage(
    pred: Predictor, mask: np.ndarray, parameters: Mapping[str, tuple[float, ...]], base: PerfAssumptions,
    public: PublicPrior | None = None,
) -> tuple[dict[str, float], PerfAssumptions]:
    from scipy.optimize import least_squares

    if not parameters:
        return {}, base
    names, lows, highs, start = _bounds(parameters, base)
    if not np.any(mask):  # nothing of this kind to fit on: the priors stand
        return {n: float(v) for n, v in zip(names, start)}, _build(base, names, start)
    # x_scale: the constants live on very different scales (an efficiency ~0.7, an overhead ~1e-4 s);
    # xtol/ftol: a step below 1e-4 of a constant's range, or a loss change below 1e-6, moves no prediction
    # by more than a hundredth of a percent, far below what 73 runs determine (tighter took a third longer)
    result = least_squares(lambda x: _residuals(pred, mask, base, names, x, public), start, bounds=(lows, highs),
                           loss="soft_l1", f_scale=LOSS_SCALE, diff_step=1e-2, x_scale=highs - lows,
                           xtol=1e-4, ftol=1e-6, max_nfev=400)
    values = {n: float(v) for n, v in zip(names, result.x)}
    return values, _build(base, names, result.x)


def fit_predictor(
    pred: Predictor,
    mask: np.ndarray,
    parameters: Mapping[str, tuple[float, ...]] = FITTED,
    *,
    base: PerfAssumptions,
    public: PublicPrior | None = None,
) -> tuple[dict[str, float], PerfAssumptions]:
    """The constants that best predict the runs selected by ``mask``, starting from their priors (and, with
    ``public``, held near the shipped values as firmly as the public runs hold them).

    Each constant is fitted on measurements of its own kind, in two stages: the
    dense-model constants (GEMM ceilings, per-step overhead, ZeRO-3 rings) on the
    dense runs, then the mixture-of-experts ones (``MOE_FITTED``: all-to-all,
    grouped GEMMs, per-expert cost) on the MoE runs with the first stage fixed. A
    MoE run's expert GEMMs run at ``eff_max x grouped_gemm_eff``, so fitting both
    on it at once cannot tell them apart; and what the MoE mechanisms get wrong
    must not move the dense ceiling every other run rests on.
    """
    dense = {n: v for n, v in parameters.items() if n not in MOE_FITTED}
    moe = {n: v for n, v in parameters.items() if n in MOE_FITTED}
    values, stage1 = _fit_stage(pred, mask & ~pred.is_moe, dense, base, public)
    moe_values, fitted = _fit_stage(pred, mask & pred.is_moe, moe, stage1, public)
    return {**values, **moe_values}, fitted


def fit(
    runs: Sequence[RunSpec],
    parameters: Mapping[str, tuple[float, ...]] = FITTED,
    *,
    base: PerfAssumptions | None = None,
    with_public: bool = True,
) -> Fit:
    """Shared constants fitted on ``runs``, with which runs inform each; runs of none of the public families
    are fitted beside what the public runs say (``PublicPrior``) unless ``with_public`` is false (a world of
    its own: synthetic runs that check the fit)."""
    base = base or default_assumptions()
    pred = Predictor(runs, base)
    mask = np.ones(len(pred.runs), dtype=bool)
    families = pred.families.tolist()
    values, fitted = fit_predictor(pred, mask, starting_from(parameters, families), base=base,
                                   public=_public_for(families, with_public))
    return Fit(
        values, fitted, validate_runs(pred.runs, assumptions=fitted), fitted_on(pred, mask, fitted, list(values))
    )


@dataclass(frozen=True)
class FamilyScore:
    family: str
    n: int
    cv_mean_error: float | None
    cv_mape: float | None
    values: dict[str, float]  # the constants fitted without this family

    def as_dict(self) -> dict[str, Any]:
        return {"family": self.family, "n": self.n, "cv_mean_error": self.cv_mean_error, "cv_mape": self.cv_mape,
                "fitted_without": self.values}


@dataclass(frozen=True)
class CrossValidation:
    """In-sample fit and leave-one-family-out predictions of the same runs."""

    in_sample: Validation  # every case under the constants fitted on all families
    cases: tuple[Case, ...]  # the same cases with cv_predicted filled
    families: tuple[FamilyScore, ...]
    fit: Fit
    public_prior: bool = False  # the fits were made beside what the public runs say (a file of other families)
    moe_ids: frozenset[str] = frozenset()  # the runs whose models have mixture-of-experts layers

    @property
    def cv_errors(self) -> np.ndarray:
        return np.array([c.cv_error for c in self.cases if c.cv_error is not None])

    @property
    def cv_mape(self) -> float | None:
        return float(np.mean(np.abs(self.cv_errors))) if self.cv_errors.size else None

    @property
    def mean_family_mape(self) -> float | None:
        scores = [f.cv_mape for f in self.families if f.cv_mape is not None]
        return float(np.mean(scores)) if scores else None

    def by_kind(self) -> list[dict[str, Any]]:
        """In-sample and left-out MAPE of the dense runs and of the mixture-of-experts runs apart: the two kinds'
        errors differ, and a prediction's range is its kind's (``forecast.step_time``)."""
        out = []
        for kind, is_moe in (("dense", False), ("moe", True)):
            cases = [c for c in self.cases if (c.id in self.moe_ids) is is_moe]
            if not cases:
                continue
            inside = [abs(c.error) for c in cases if c.error is not None]
            left_out = [abs(c.cv_error) for c in cases if c.cv_error is not None]
            out.append({"kind": kind, "n": len(cases), "families": len({family_of(c.id) for c in cases}),
                        "in_sample_mape": float(np.mean(inside)) if inside else None,
                        "cv_mape": float(np.mean(left_out)) if left_out else None})
        return out


def cross_validate(
    runs: Sequence[RunSpec],
    parameters: Mapping[str, tuple[float, ...]] = FITTED,
    *,
    base: PerfAssumptions | None = None,
    with_public: bool = True,
) -> CrossValidation:
    """Refit with each family left out in turn; predict it; also fit on everything (in-sample); a fit on runs
    of none of the public families adds what the public runs say (``fit``'s ``with_public``)."""
    base = base or default_assumptions()
    pred = Predictor(runs, base)
    everything = np.ones(len(pred.runs), dtype=bool)
    families = pred.families.tolist()
    values, fitted = fit_predictor(pred, everything, starting_from(parameters, families), base=base,
                                   public=_public_for(families, with_public))
    in_sample = validate_runs(pred.runs, assumptions=fitted)
    full_fit = Fit(values, fitted, in_sample, fitted_on(pred, everything, fitted, list(values)))
    cv_pred = np.full(len(pred.runs), np.nan)
    scores: list[FamilyScore] = []
    by_family: dict[str, list[int]] = defaultdict(list)
    for i, fam in enumerate(pred.families):
        by_family[str(fam)].append(i)
    for fam, idx in by_family.items():
        train = pred.families != fam
        # a fit leaving out a family the shipped constants were fitted on starts from the priors, not the
        # shipped values: a constant that only the left-out family informs must not carry that family's own
        # fit into its prediction; one leaving out another file's family may keep the shipped values
        fam_values, fam_assumptions = fit_predictor(pred, train, starting_from(parameters, [fam]), base=base,
                                                    public=_public_for(pred.families[train].tolist(), with_public))
        predicted = pred.predict(fam_assumptions, ~train)
        cv_pred[idx] = predicted[idx]
        errs = predicted[idx] / pred.measured[idx] - 1.0
        errs = errs[np.isfinite(errs)]
        scores.append(FamilyScore(fam, len(idx), float(np.mean(errs)) if errs.size else None,
                                  float(np.mean(np.abs(errs))) if errs.size else None, fam_values))
    cases = tuple(replace(c, cv_predicted=None if not np.isfinite(v) else float(v))
                  for c, v in zip(in_sample.cases, cv_pred))
    return CrossValidation(in_sample, cases, tuple(scores), full_fit,
                           public_prior=_public_for(families, with_public) is not None,
                           moe_ids=frozenset(run.id for run in runs if run.model.moe is not None))


def information_toml(runs: Sequence[RunSpec]) -> str:
    """``perf_calibration.toml``'s ``[calibration.information]`` for the shipped values, from the public runs."""
    names, info = public_information(runs)
    rows = ",\n".join("  [" + ", ".join(f"{v:.6g}" for v in row) + "]" for row in info)
    return ("[calibration.information]\n"
            "constants = [" + ", ".join(f'"{n}"' for n in names) + "]\n"
            f"matrix = [\n{rows},\n]\n")


def main(argv: Sequence[str] | None = None) -> None:  # pragma: no cover - a maintenance report
    """``python -m colossus.perf.calibrate``: the information block to ship after the constants are refit."""
    import argparse  # noqa: PLC0415
    from pathlib import Path  # noqa: PLC0415

    from colossus.spec import load_runs  # noqa: PLC0415

    parser = argparse.ArgumentParser(description="print perf_calibration.toml's [calibration.information]")
    parser.add_argument("--validation", type=Path, default=Path("../shared/validation/training_runs.yaml"))
    print(information_toml(load_runs(parser.parse_args(argv).validation)), end="")


if __name__ == "__main__":  # pragma: no cover
    main()
