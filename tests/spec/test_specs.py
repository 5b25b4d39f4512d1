"""Spec models: defaults, derived figures, immutability, catalog references, the validation file."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given
from hypothesis import strategies as st
import pydantic
import pytest

from colossus import units
from colossus.errors import SpecError
from colossus.spec import (
    GpuSpec,
    LayoutSpec,
    ModelSpec,
    PoolSpec,
    RunSpec,
    load_runs,
    lookup,
    validate,
)

GPT3 = {
    "layers": 96, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200, "seq_len": 2048,
}


def test_model_defaults_follow_the_validation_readme():
    m = ModelSpec.model_validate(GPT3)
    assert m.kv_heads == 96 and m.ffn_hidden == 4 * 12288 and m.head_dim == 128
    # GPT-3 175B: 12 * l * h^2 + embeddings = 174.6e9 + 1.26e9 (+ norms)
    assert m.num_params == pytest.approx(175e9, rel=0.01)
    assert m.num_active_params == m.num_params


def test_moe_counts_active_experts_only():
    m = ModelSpec.model_validate(
        {**GPT3, "activation": "swiglu", "moe": {"experts": 8, "top_k": 2}, "ffn_hidden": 8192}
    )
    assert m.moe is not None and m.moe.expert_ffn_hidden == 8192
    inactive = m.num_moe_layers * 6 * m.expert_params
    assert m.num_params - m.num_active_params == inactive


@given(layers=st.integers(1, 200), every=st.integers(1, 4), dense=st.integers(0, 10))
def test_moe_layer_split_conserves_layers(layers, every, dense):
    if dense > layers or layers - dense < every:  # (no MoE layer at all is refused: test_bad_model_rules)
        return
    m = ModelSpec.model_validate(
        {**GPT3, "layers": layers, "first_dense_layers": dense, "moe": {"experts": 4, "top_k": 1, "every": every}}
    )
    assert m.num_moe_layers + m.num_dense_layers == layers
    assert 0 <= m.num_moe_layers <= layers - dense


def test_bad_model_rules():
    with pytest.raises(pydantic.ValidationError, match="multiple of kv_heads"):
        ModelSpec.model_validate({**GPT3, "kv_heads": 7})
    with pytest.raises(pydantic.ValidationError, match="top_k"):
        ModelSpec.model_validate({**GPT3, "moe": {"experts": 2, "top_k": 4}})
    # a moe block under which no layer is a mixture of experts was a dense model, silently
    with pytest.raises(pydantic.ValidationError, match="no layer is a mixture of experts"):
        ModelSpec.model_validate({**GPT3, "layers": 4, "moe": {"experts": 8, "top_k": 2, "every": 8}})
    with pytest.raises(pydantic.ValidationError, match="no layer is a mixture of experts"):
        ModelSpec.model_validate({**GPT3, "layers": 4, "first_dense_layers": 4, "moe": {"experts": 8, "top_k": 2}})


def test_specs_are_frozen_and_copied_with_updates():
    gpu = lookup("gpus", "h100-sxm5-80gb")
    with pytest.raises(pydantic.ValidationError):
        gpu.tdp_w = 1.0
    capped = gpu.model_copy(update={"tdp_w": 500.0})
    assert capped.tdp_w == 500 and gpu.tdp_w == 700


def test_si_properties():
    gpu = lookup("gpus", "h200-sxm-141gb")
    assert gpu.hbm_bytes == pytest.approx(140.4 * units.GIB)
    assert gpu.hbm_bytes_per_s == pytest.approx(4.8e12)
    assert gpu.peak_flop_per_s("fp8") == pytest.approx(1978.9e12)
    assert not lookup("gpus", "a100-sxm4-80gb").supports("fp8")


def test_catalog_override_merges_fields():
    pool = PoolSpec.model_validate(
        {
            "name": "p",
            "gpu": {"name": "H100-SXM5-80GB", "tdp_w": 600},
            "num_gpus": 64,
            "server": "hgx-8gpu-liquid",
            "rack": "liquid-64gpu",
        }
    )
    assert isinstance(pool.gpu, GpuSpec)
    assert pool.gpu.tdp_w == 600 and pool.gpu.hbm_gib == lookup("gpus", "h100-sxm5-80gb").hbm_gib
    assert pool.num_servers == 8 and pool.num_racks == 1


def test_a_complete_new_item_needs_no_catalog_entry():
    new = {
        "name": "my-gpu", "architecture": "x", "dense_tflop_per_s": {"bf16": 100},
        "hbm_gib": 10, "hbm_tb_per_s": 1, "nvlink_gb_per_s": 0, "tdp_w": 300, "idle_w": 30,
        "min_power_cap_w": 100,
    }
    pool = validate(
        PoolSpec,
        {"name": "p", "gpu": new, "num_gpus": 8, "server": "hgx-8gpu-liquid", "rack": "liquid-64gpu"},
    )
    assert pool.gpu.name == "my-gpu" and pool.gpu.source == "defined in the scenario file"


def test_layout_counts():
    layout = LayoutSpec(tp=8, pp=16, dp=128, global_batch=2048)
    assert layout.num_gpus == 16384
    assert layout.num_micro_batches == 16


def test_run_derives_dp_and_checks_gpu_count():
    base = {"model": GPT3, "cluster": {"gpu": "a100-sxm4-80gb", "gpus": 64}}
    run = RunSpec.model_validate({**base, "layout": {"tp": 8, "pp": 2, "global_batch": 64}})
    assert run.layout.dp == 4
    with pytest.raises(SpecError, match="tp\\*pp\\*cp\\*dp = 32"):
        validate(RunSpec, {**base, "layout": {"tp": 8, "pp": 2, "dp": 2, "global_batch": 64}}, file="r.yaml")


def test_a_runs_file_names_every_entry_with_a_problem(tmp_path: Path):
    """The first bad entry is described, the others named: a file is mended in one pass."""
    import yaml

    good = {"model": GPT3, "cluster": {"gpu": "a100-sxm4-80gb", "gpus": 64},
            "layout": {"tp": 8, "pp": 2, "global_batch": 64}, "measured": {"step_time_s": 1.0}}
    bad = {**good, "layout": {"tp": 8, "pp": 2, "dp": 2, "global_batch": 64}}
    path = tmp_path / "runs.yaml"
    path.write_text(yaml.safe_dump([good, bad, good, bad, {**good, "cluster": {"gpu": "nope", "gpus": 64}}]))
    with pytest.raises(SpecError) as err:
        load_runs(path)
    assert str(err.value).startswith(f"{path}: [1]: layout: tp*pp*cp*dp = 32")
    assert str(err.value).endswith("(entries [3], [4] have problems too)")
    path.write_text(yaml.safe_dump([good, bad]))
    with pytest.raises(SpecError, match=r"= 32 but cluster.gpus = 64$"):
        load_runs(path)


def test_every_published_run_loads(shared_dir: Path):
    runs = load_runs(shared_dir / "validation" / "training_runs.yaml")
    assert len(runs) >= 40
    assert len({r.id for r in runs}) == len(runs)
    for run in runs:
        assert run.layout.num_gpus == run.cluster.gpus
        assert run.measured is not None
