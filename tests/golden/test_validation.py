"""Golden check: the performance model against the published runs of shared/validation.

Most of these are **in-sample** checks: the model's calibrated constants were
set on these runs. The out-of-sample check is ``test_leave_one_family_out``:
every fitted constant is refitted with each family left out, and that
family is predicted from the rest. Two kinds of bound:

* the families the model was first built against (``ORIGINAL_FAMILIES``: Megatron-LM
  2021, Korthikanti et al. 2022, NeMo 24.07, MegaScale's Megatron-LM baseline)
  keep issue 3's bounds: MAPE <= 10 %, no case worse than 20 %, every case
  predicted;
* every family added later is held to its recorded error by
  ``perf_ratchet.json``, which fails on any regression and is tightened (never
  loosened) by ``python tests/golden/perf_ratchet.py`` as the model improves.

When ``../shared`` is missing the test fails under CI (``CI`` set) and skips
otherwise, so a CI run can never be green without its validation data.
"""

from __future__ import annotations

import numpy as np
import pytest

from colossus.forecast.step_time import differences, from_cross_validation, shipped
from colossus.perf import family_of, validate_runs
from colossus.perf.calibrate import cross_validate
from tests.golden.perf_ratchet import RUNS, cv_figures, cv_regressions, family_figures, load, load_cv, regressions

MAPE_BOUND = 0.10
WORST_BOUND = 0.20
ORIGINAL_FAMILIES = ("megatron2021", "korthikanti", "nemo2407", "megascale")


@pytest.fixture(scope="module")
def runs(published_runs):
    return published_runs


@pytest.fixture(scope="module")
def result(runs):
    return validate_runs(runs)


def test_original_families_within_bounds(runs):
    original = [r for r in runs if family_of(r.id) in ORIGINAL_FAMILIES]
    assert len(original) == 46
    result = validate_runs(original)
    assert not result.unpredicted, [c.reason for c in result.unpredicted]
    assert result.mape <= MAPE_BOUND
    worst = result.worst
    assert abs(worst.error) <= WORST_BOUND, f"{worst.id}: {worst.error:+.1%}"


def test_no_family_regresses_past_its_ratchet(result):
    recorded = load()
    now = family_figures(result)
    unknown = sorted(set(now) - set(recorded) - set(ORIGINAL_FAMILIES))
    assert not unknown, f"families without bounds (add them to perf_ratchet.json): {unknown}"
    worse = regressions(recorded, now)
    assert not worse, worse


def test_every_published_run_is_predicted_with_its_memory(result):
    """Every case carries fits and memory; those that do not fit say so (and why) in their note."""
    assert not result.unpredicted, [c.reason for c in result.unpredicted]
    for case in result.cases:
        assert case.memory_per_gpu_bytes is not None and case.memory_per_gpu_bytes > 0
        assert case.fits or "exceeds" in case.note


@pytest.mark.slow
def test_leave_one_family_out(runs):
    """Out of sample: each family predicted by constants fitted without it (ratcheted, never loosened)."""
    crossed = cross_validate(runs)
    assert {f.family for f in crossed.families} == {family_of(r.id) for r in runs}
    assert all(c.cv_error is not None for c in crossed.cases)
    worse = cv_regressions(load_cv(), cv_figures(crossed))
    assert not worse, worse
    # the forecast draws the step time's error from these left-out errors: its shipped data must be them
    # (checked here, on the one cross-validation the suite runs; regenerate with
    # python -m colossus.forecast.step_time --write)
    problems = differences(shipped(), from_cross_validation(crossed, RUNS))
    assert not problems, "\n".join(problems[:10])
    # the dense and the MoE runs apart (what a prediction's range is drawn from): every run in one kind
    kinds = {k["kind"]: k for k in crossed.by_kind()}
    assert set(kinds) == {"dense", "moe"} and kinds["dense"]["n"] + kinds["moe"]["n"] == len(runs)
    assert kinds["moe"]["families"] >= 3 and all(k["cv_mape"] is not None for k in kinds.values())
    # what the issue asks for, where the model already meets it: the original families out of sample
    for fam in crossed.families:
        if fam.family in ORIGINAL_FAMILIES:
            assert abs(fam.cv_mean_error) <= 0.12, fam


def test_case_notes_name_published_runs_and_keep_their_figures(runs, result):
    """A note names what a run's row cannot state; where it quotes what the model predicts once that is
    stated, the figure must still hold (a note must not rot as the model changes)."""
    from colossus.perf import estimate
    from colossus.perf.assumptions import default_assumptions
    from colossus.perf.case_notes import CASE_NOTES
    from colossus.perf.network import default_fabric
    from colossus.spec import SoftwareSpec, lookup

    by_id = {r.id: r for r in runs}
    assert set(CASE_NOTES) <= set(by_id)
    notes = {c.id: c.note for c in result.cases}
    assert all(text in notes[rid] for rid, text in CASE_NOTES.items())
    zoo = "mzoo-qwen3-235b-h100-256gpu-"
    dropless = {"expert_routing": "dropless"}
    quoted = [  # (the run predicted, stated, metric, error, the note quoting it)
        ("mbridge2509-dsv3-671b-h100-1024gpu-fp8", {"ep_dispatcher": "deepep"}, "tokens_per_s_per_gpu", -0.015, None),
        ("nemo2407-llama3-8b-8gpu", {"attention": "flash2"}, "tflops_per_gpu", -0.002, None),
        ("nemo2407-llama3-70b-64gpu", {"attention": "flash2"}, "tflops_per_gpu", -0.025, "nemo2407-llama3-8b-8gpu"),
        ("nemo2407-llama2-70b-64gpu", {"attention": "flash2"}, "tflops_per_gpu", 0.012, "nemo2407-llama3-8b-8gpu"),
        (zoo + "tp2-ep8-fsdp", {"grad_reduce_dtype": "fp32"}, "step_time_s", 0.263, None),
        (zoo + "a2a-pp32", dropless, "step_time_s", 0.003, None),
        (zoo + "tp4-ep8-norecompute", dropless, "step_time_s", 0.009, None),
        (zoo + "tp4-ep8-norecompute", dropless, "step_time_s", 0.009, zoo + "a2a-pp32"),
        (zoo + "tp2-ep32-pp8", dropless, "step_time_s", 1.404, zoo + "a2a-pp32"),
        (zoo + "tp2-ep8-fsdp", dropless, "step_time_s", 0.479, zoo + "a2a-pp32"),
    ]
    # a fabric routing by static ECMP, which a row cannot state (the MegaScale baseline's notes)
    for gpus, error in ((3072, -0.027), (6144, 0.007), (8192, -0.057), (12288, -0.043)):
        run = by_id[f"megascale-t2-megatronlm-{gpus}gpu"]
        fabric = default_fabric(lookup("gpus", run.cluster.gpu) if isinstance(run.cluster.gpu, str)
                                else run.cluster.gpu, run.cluster.nic_gbit_per_s, default_assumptions())
        est = estimate(run, fabric=fabric.model_copy(update={"adaptive_routing": False}))
        assert est.step_time_s / run.measured.step_time_s - 1 == pytest.approx(error, abs=0.006)
        assert f"{error * 100:+.1f}%" in CASE_NOTES["megascale-t2-megatronlm-12288gpu"]
    # MegaScale's GBS-768 rows: measured and predicted steps as a line in the micro-batches a pipeline runs
    rows = [(result_case(result, f"megascale-t2-megatronlm-{g}gpu"), by_id[f"megascale-t2-megatronlm-{g}gpu"])
            for g in (256, 512, 768, 1024)]
    micro = np.array([r.layout.global_batch / r.layout.dp for _, r in rows])
    design = np.vstack([micro, np.ones_like(micro)]).T
    line = CASE_NOTES["megascale-t2-megatronlm-1024gpu"]
    for values, quoted_line in (([c.measured for c, _ in rows], (0.195, 2.61)), ([c.predicted for c, _ in rows],
                                                                                  (0.206, 1.08))):
        slope, fixed = np.linalg.lstsq(design, np.array(values), rcond=None)[0]
        assert slope == pytest.approx(quoted_line[0], abs=0.0015) and fixed == pytest.approx(quoted_line[1], abs=0.03)
        assert f"{quoted_line[0]:.3f} s" in line and f"{quoted_line[1]:.2f} s" in line
    assert f"{rows[0][0].error * 100:+.1f}%" in line and f"{rows[-1][0].error * 100:+.1f}%" in line
    # the ZeRO-3 table: measured steps (TFLOP/s over the model's FLOPs), the model's steps and compute
    zero3 = CASE_NOTES["megatron2021-t2-zero3-530b-1120gpu"]
    for size, gpus in (("530b", 640), ("530b", 1120), ("530b", 2240), ("175b", 768), ("175b", 1536)):
        rid = f"megatron2021-t2-zero3-{size}-{gpus}gpu"
        case, est = result_case(result, rid), estimate(by_id[rid])
        assert f"{est.step_time_s:.1f}" in zero3 and f"{est.step_time_s * case.predicted / case.measured:.1f}" in zero3
        if size == "530b" and gpus > 640:
            assert f"{est.parts_s['compute_s'] + est.parts_s['recompute_s']:.1f}" in zero3
    # the micro-batch a row leaves out (Megatron-LM's 2024 table): (run, micro-batch, error), quoted by the 16B row
    for rid, micro_batch, error in (("16b-192gpu", 2, -0.041), ("16b-192gpu", 4, -0.038), ("70b-768gpu", 1, -0.038),
                                    ("70b-768gpu", 2, 0.052), ("70b-768gpu", 4, 0.130)):
        run = by_id[f"megatron2024-h100-{rid}"]
        est = estimate(run.model_copy(update={"layout": run.layout.model_copy(update={"micro_batch": micro_batch})}))
        assert est.metric("tflops_per_gpu", run.measured.convention) / run.measured.tflops_per_gpu - 1 == \
            pytest.approx(error, abs=0.006)
        assert f"{error * 100:+.1f}%" in CASE_NOTES["megatron2024-h100-16b-192gpu"]
    parts = estimate(by_id["megatron2024-h100-16b-192gpu"]).parts_s  # (one sequence a micro-batch, as modelled)
    assert f"compute ({parts['compute_s']:.2f} s" in CASE_NOTES["megatron2024-h100-16b-192gpu"]
    assert f"{parts['dp_exposed_s']:.2f} s of the step shows" in CASE_NOTES["megatron2024-h100-16b-192gpu"]
    for rid, stated, metric, error, quoting in quoted:  # (the ZeRO-3 table's three passes: the next test)
        run = by_id[rid]
        software = SoftwareSpec.model_validate({**run.software.model_dump(exclude_none=True), **stated})
        est = estimate(run.model_copy(update={"software": software}))
        measured = getattr(run.measured, metric)
        assert est.metric(metric, run.measured.convention) / measured - 1 == pytest.approx(error, abs=0.006)
        assert f"{error * 100:+.1f}%" in CASE_NOTES[quoting or rid]


def test_the_zero3_note_on_keeping_a_recomputed_layer_gathered(runs, result, monkeypatch):
    """The 530B ZeRO-3 rows' note: with the recomputed layer's parameters kept for its backward (three passes
    over the parameters a step instead of four), all three rows turn 9-21% too fast."""
    from dataclasses import replace
    import importlib

    from colossus.perf import estimate
    from colossus.perf.case_notes import CASE_NOTES

    estimate_module = importlib.import_module("colossus.perf.estimate")  # (the package exports a function so named)

    original = estimate_module.resolve

    def kept(*args, **kwargs):
        sw = original(*args, **kwargs)
        return replace(sw, zero3_max_reuse_params=None) if sw.profile == "deepspeed-zero3-2021" else sw

    monkeypatch.setattr(estimate_module, "resolve", kept)
    errors = []
    for gpus in (640, 1120, 2240):
        run = next(r for r in runs if r.id == f"megatron2021-t2-zero3-530b-{gpus}gpu").model_copy(deep=True)
        est = estimate(run)
        errors.append(est.metric("tflops_per_gpu", run.measured.convention) / run.measured.tflops_per_gpu - 1)
    assert min(errors) == pytest.approx(0.09, abs=0.01) and max(errors) == pytest.approx(0.21, abs=0.01)
    assert "9-21% too fast" in CASE_NOTES["megatron2021-t2-zero3-530b-1120gpu"]


def test_megatron_all_to_all_overlap_reproduces_its_one_measured_pair(runs):
    """IN-SAMPLE: ``overlap.ep.hide_frac`` was derived from this pair, so this checks the derivation, not the
    mechanism's truth elsewhere. The MoE model zoo's Qwen3-235B table (TP 2, EP 32, PP 8, DeepEP on 256 H100)
    measured 19.7 s a step without and 17.6 s with Megatron-core's 1F1B all-to-all overlap (the next row of
    the table, quoted in the run's notes). No other public run measures the mechanism, so no left-out check
    exists; the test that is not in-sample is the ordering in tests/perf/test_mechanisms.py."""
    from colossus.perf import estimate
    from colossus.spec import SoftwareSpec

    run = next(r for r in runs if r.id == "mzoo-qwen3-235b-h100-256gpu-tp2-ep32-pp8")
    assert "17.6 s" in run.notes and run.measured.step_time_s == 19.7
    overlapped = run.model_copy(update={"software": SoftwareSpec.model_validate(
        {**run.software.model_dump(exclude_none=True), "ep_comm_overlap": True})})
    ratio = estimate(overlapped).step_time_s / estimate(run).step_time_s
    assert ratio == pytest.approx(17.6 / 19.7, abs=0.01)


def result_case(result, run_id):
    """The validation case of ``run_id``."""
    return next(c for c in result.cases if c.id == run_id)


@pytest.mark.slow
def test_dropless_routing_against_the_published_pairs(runs):
    """``compute.moe.expert_load_cv`` against the model zoo's long-context table, whose notes give each row's
    TFLOP/s with forced balance (the row) and dropless. In sample: the shipped constant is this fit, and its
    ratios match. Out of sample (within the one table): each pair predicted by the constant fitted on the
    other three, across sequence lengths 16k-128k where the experts' share of the step differs."""
    from colossus.perf.assumptions import default_assumptions
    from colossus.perf.routing import CONSTANT, fit_expert_load_cv

    fit = fit_expert_load_cv(runs)
    assert len(fit.ids) == 4 and all(family_of(i) == "mzoo" for i in fit.ids)
    assert default_assumptions().f(CONSTANT) == pytest.approx(fit.value, abs=0.05)  # in sample
    assert max(map(abs, fit.errors())) <= 0.01  # in sample
    assert max(map(abs, fit.errors("left_out"))) <= 0.02  # each pair left out
    assert min(fit.measured) < 0.85  # (the pairs are what the test is about: dropless costs 8-20% there)


def test_the_calibration_record_names_the_public_families(runs):
    """``perf_calibration.toml`` lists the families the shipped constants were fitted on: the public file's."""
    from colossus.perf.calibrate import calibration_families

    assert calibration_families() == {family_of(r.id) for r in runs}


def test_the_shipped_public_information_is_the_public_fits(runs):
    """``perf_calibration.toml``'s ``[calibration.information]`` (what a held-back file is fitted beside) is the
    curvature of the public fit at the shipped constants: regenerate it with ``python -m colossus.perf.calibrate``
    after a refit."""
    from colossus.perf.calibrate import public_information, public_prior

    names, info = public_information(runs)
    shipped = public_prior()
    assert list(shipped.names) == names
    assert shipped.information == pytest.approx(info, rel=1e-4, abs=1e-9)
    # the public file's own folds have public runs in them: they are fitted without it
    from colossus.perf.calibrate import _public_for, calibration_families

    assert _public_for(calibration_families(), True) is None


def test_a_held_back_family_left_out_keeps_the_shipped_constants_nothing_else_informs(runs):
    """A file of families the shipped constants never saw (the held-back runs) is cross-validated with the
    shipped values standing in for any constant its other families do not inform, not the priors: alone in
    its file, a family left out is predicted exactly as with the shipped constants. Under its public name the
    same runs are predicted from the priors (the shipped values were fitted on them)."""
    public = [r for r in runs if family_of(r.id) == "torchtitan"]
    held_back = [r.model_copy(update={"id": "held" + r.id}) for r in public]
    shipped_errors = [c.error for c in validate_runs(held_back).cases]
    crossed = cross_validate(held_back)
    assert [c.cv_error for c in crossed.cases] == pytest.approx(shipped_errors, abs=1e-9)
    from_priors = [c.cv_error for c in cross_validate(public).cases]
    assert max(abs(a - b) for a, b in zip(from_priors, shipped_errors)) > 0.01
