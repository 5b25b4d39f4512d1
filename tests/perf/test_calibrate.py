"""The calibration machinery on synthetic measurements whose true constants are known.

The synthetic runs are a world of their own: they are fitted without what the public runs say of the
constants (``with_public=False``); ``test_a_held_back_file_is_fitted_beside_what_the_public_runs_say``
checks that prior.
"""

from __future__ import annotations

import numpy as np
import pytest

from colossus.perf import default_assumptions, estimate
from colossus.perf.calibrate import cross_validate, fit
from colossus.spec import RunSpec

TRUE = {"compute.gemm.ampere.bf16.eff_max": 0.62, "compute.gemm.hopper.bf16.eff_max": 0.55}
PARAMS = {"compute.gemm.ampere.bf16.eff_max": (0.4, 0.95), "compute.gemm.hopper.bf16.eff_max": (0.4, 0.95)}
MODEL = {"layers": 24, "hidden": 4096, "heads": 32, "activation": "swiglu", "ffn_hidden": 11008, "vocab": 32000,
         "seq_len": 4096}


def _run(rid: str, gpu: str, tp: int, dp: int) -> RunSpec:
    return RunSpec.model_validate({
        "id": rid, "model": MODEL, "cluster": {"gpu": gpu, "gpus": tp * dp},
        "layout": {"tp": tp, "dp": dp, "global_batch": 4 * dp, "recompute": "none", "zero": 1},
        "software": {"framework": "megatron-lm", "version": "2024"},
        "measured": {"tokens_per_s_per_gpu": 1.0},
    })


@pytest.fixture(scope="module")
def runs() -> list[RunSpec]:
    """Two A100 families and one H100 family, 'measured' by the model with the TRUE constants."""
    shapes = [("alpha", "a100-sxm4-80gb", 1, 8), ("alpha", "a100-sxm4-80gb", 2, 8), ("beta", "a100-sxm4-80gb", 4, 4),
              ("beta", "a100-sxm4-80gb", 8, 2), ("gamma", "h100-sxm5-80gb", 1, 8), ("gamma", "h100-sxm5-80gb", 4, 4)]
    truth = default_assumptions().with_overrides(TRUE)
    out = []
    for i, (fam, gpu, tp, dp) in enumerate(shapes):
        run = _run(f"{fam}-{i}", gpu, tp, dp)
        value = estimate(run, assumptions=truth).tokens_per_s_per_gpu
        out.append(run.model_copy(update={"measured": run.measured.model_copy(update={"tokens_per_s_per_gpu": value})}))
    return out


def test_the_fit_recovers_the_constants_that_made_the_data(runs):
    result = fit(runs, PARAMS, with_public=False)
    for name, value in TRUE.items():
        assert result.values[name] == pytest.approx(value, rel=0.01)
    assert result.calibration.mape < 0.002


def test_a_constant_is_informed_only_by_runs_that_depend_on_it(runs):
    result = fit(runs, PARAMS, with_public=False)
    hopper = result.informed_by["compute.gemm.hopper.bf16.eff_max"]
    assert hopper and all(rid.startswith("gamma") for rid in hopper)
    assert not any(rid.startswith("gamma") for rid in result.informed_by["compute.gemm.ampere.bf16.eff_max"])


def test_leaving_a_family_out_predicts_it_from_the_others(runs):
    """alpha and beta share the A100 constant: each is predicted out of sample from the other; gamma alone
    informs the H100 constant, so left out it falls back on the shipped value and shows that error."""
    crossed = cross_validate(runs, PARAMS, with_public=False)
    by_family = {f.family: f for f in crossed.families}
    assert abs(by_family["alpha"].cv_mean_error) < 0.005
    assert abs(by_family["beta"].cv_mean_error) < 0.005
    shipped = default_assumptions().get("compute.gemm.hopper.bf16.eff_max")
    assert abs(by_family["gamma"].cv_mean_error) > 0.02 or abs(shipped - 0.55) < 0.01
    assert all(c.cv_error is not None for c in crossed.cases)
    assert crossed.in_sample.mape < 0.002


def test_dense_constants_are_fitted_on_dense_runs_only(runs):
    """A MoE run's expert GEMMs run at eff_max x grouped_gemm_eff: it must not move the dense ceiling."""
    moe = RunSpec.model_validate({
        "id": "delta-0", "model": {**MODEL, "moe": {"experts": 8, "top_k": 2, "expert_ffn_hidden": 11008}},
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
        "layout": {"tp": 1, "dp": 8, "ep": 8, "global_batch": 32, "recompute": "none", "zero": 1},
        "software": {"framework": "megatron-lm", "version": "2024"},
        "measured": {"tokens_per_s_per_gpu": 1.0},  # far off: whatever explains it, it is not the dense ceiling
    })
    params = {**PARAMS, "compute.moe.grouped_gemm_eff": (0.3, 1.0, 0.8)}
    result = fit([*runs, moe], params, with_public=False)
    assert result.values["compute.gemm.hopper.bf16.eff_max"] == pytest.approx(TRUE["compute.gemm.hopper.bf16.eff_max"],
                                                                              rel=0.01)
    assert result.informed_by["compute.moe.grouped_gemm_eff"] == ["delta-0"]
    assert "delta-0" not in result.informed_by["compute.gemm.hopper.bf16.eff_max"]


def test_a_held_back_file_is_fitted_beside_what_the_public_runs_say(runs):
    """Runs of none of the public families (the held-back ones) are fitted as if the public runs stood beside
    them: the public fit's curvature holds each constant near its shipped value, so a few runs move it only
    part of the way toward what they alone would say."""
    from colossus.perf.calibrate import public_prior

    hopper = "compute.gemm.hopper.bf16.eff_max"
    shipped = default_assumptions().get(hopper)
    alone = fit(runs, PARAMS, with_public=False).values[hopper]
    beside = fit(runs, PARAMS).values[hopper]
    assert alone == pytest.approx(TRUE[hopper], rel=0.01)
    assert min(alone, shipped) < beside < max(alone, shipped)
    # the prior's residuals square to d^T I d, with d the constants' log change
    prior = public_prior()
    names = list(prior.names)
    x = prior.center * np.exp(np.linspace(-0.05, 0.05, len(names)))
    d = np.log(x / prior.center)
    assert np.sum(prior.residuals(names, x) ** 2) == pytest.approx(d @ prior.information @ d, rel=1e-9)
    assert prior.residuals(names, prior.center) == pytest.approx(np.zeros(len(names)), abs=1e-12)
    # and the fit's soft-L1 loss takes them as squares at any size (the prior stays quadratic)
    from colossus.perf.calibrate import LOSS_SCALE, _unrobust

    q = np.linspace(-0.5, 0.5, 21)
    p = _unrobust(q)
    assert LOSS_SCALE**2 * 2.0 * (np.sqrt(1.0 + (p / LOSS_SCALE) ** 2) - 1.0) == pytest.approx(q**2, abs=1e-12)
