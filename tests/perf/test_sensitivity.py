"""The assumption-sensitivity audit: which catalog figures the validation depends on."""

from __future__ import annotations

import pytest

from colossus.perf.assumptions import default_assumptions
from colossus.perf.sensitivity import figures, label_of, labels, sensitivity
from colossus.spec import RunSpec

LLAMA8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
           "activation": "swiglu", "vocab": 128256, "seq_len": 8192}


def _run(i: int, tokens_per_s: float, **layout) -> RunSpec:
    return RunSpec.model_validate({
        "id": f"audit-{i}", "model": LLAMA8B, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 64},
        "layout": {"tp": 1, "pp": 1, "dp": 64, "micro_batch": 1, "global_batch": 256, **layout},
        "software": {"framework": "megatron-lm", "version": "2025"},
        "measured": {"tokens_per_s_per_gpu": tokens_per_s}})


def test_each_figure_is_labelled_as_its_catalog_comment_says():
    named = labels()
    assert named["compute.gemm.hopper.bf16.eff_max"] == "calibrated"
    assert named["network.nccl.net_busbw_eff"] == "source"
    assert named["memory.reserve.fragmentation_frac"] == "assumption"
    assert label_of(named, "compute.moe.waves.sms.hopper") == "source"  # a figure of an inline table
    names = dict(figures(default_assumptions()))
    assert "network.default_fabric.switch.ports" not in names  # a count (an integer) is not moved
    assert names["compute.gemm.hopper.bf16.eff_max"] == pytest.approx(0.581, abs=1e-3)


def test_the_figures_a_run_uses_move_its_score_and_the_others_do_not():
    """Two H100 runs: the Hopper BF16 ceiling moves their MAPE, the Ampere one cannot; an efficiency at 1 is
    not moved above it."""
    runs = [_run(0, 7000.0), _run(1, 6500.0, recompute="full")]
    base, rows = sensitivity(runs)
    by_name = {r.name: r for r in rows}
    hopper, ampere = by_name["compute.gemm.hopper.bf16.eff_max"], by_name["compute.gemm.ampere.bf16.eff_max"]
    assert hopper.mape_change(base) > 0.01 and ampere.mape_change(base) == 0.0
    assert rows.index(hopper) < rows.index(ampere)
    assert by_name["compute.moe.grouped_gemm_eff"].up is None  # (1.0: an efficiency is kept at most 1)
    assert base.unpredicted == 0 and not hopper.breaks(base)
