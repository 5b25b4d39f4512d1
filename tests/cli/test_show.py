"""``colossus show`` on the shipped scenarios and the catalog, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from colossus.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def run_json(capsys, *args: str) -> dict:
    code = main(["show", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("name", ["colossus-memphis.yaml", "colossus-200k.yaml"])
def test_totals_match_the_scenario(name, capsys):
    doc = run_json(capsys, str(SCENARIOS / name))
    raw = yaml.safe_load((SCENARIOS / name).read_text())
    pools = raw["cluster"]["pools"]
    assert doc["num_gpus"] == sum(p["num_gpus"] for p in pools)
    assert doc["num_servers"] == doc["num_gpus"] // 8
    assert doc["num_racks"] == sum(-(-p["num_gpus"] // 64) for p in pools)
    assert [(p["gpu"], p["num_gpus"]) for p in doc["pools"]] == [(p["gpu"], p["num_gpus"]) for p in pools]
    assert doc["fabric"]["nic_links"] == doc["num_gpus"]
    assert doc["nameplate_it_w"] > doc["nameplate_breakdown_w"]["gpus"]


def test_memphis_figures(capsys):
    doc = run_json(capsys, str(SCENARIOS / "colossus-memphis.yaml"))
    assert doc["num_gpus"] == 100_000
    assert doc["num_racks"] == 1563  # 12,500 servers / 8 per rack, last rack half full
    # 100,000 H100 at 989.4 dense BF16 TFLOP/s = 98.9 EFLOP/s
    assert doc["peak_bf16_flop_per_s"] == pytest.approx(100_000 * 989.4e12)
    assert doc["peak_fp8_flop_per_s"] == pytest.approx(2 * doc["peak_bf16_flop_per_s"], rel=1e-3)
    # GPUs alone at TDP: 70 MW, the reports' figure (F5)
    assert doc["nameplate_breakdown_w"]["gpus"] == pytest.approx(70e6)
    assert doc["fabric"]["num_tiers"] == 3


def test_200k_shows_both_gpu_types(capsys):
    doc = run_json(capsys, str(SCENARIOS / "colossus-200k.yaml"))
    gpus = {p["gpu"]: 0 for p in doc["pools"]}
    for p in doc["pools"]:
        gpus[p["gpu"]] += p["num_gpus"]
    assert gpus == {"h100-sxm5-80gb": 150_000, "h200-sxm-141gb": 50_000}


def test_table_output(capsys):
    assert main(["show", str(SCENARIOS / "colossus-memphis.yaml")]) == 0
    out = capsys.readouterr().out
    for fragment in ("GPU pools", "h100-sxm5-80gb", "100,000", "Fabric", "leaf", "spine", "core",
                     "optical links", "BF16", "FP8", "HBM", "nameplate IT power"):
        assert fragment in out


def test_catalog_listing(capsys):
    assert main(["show", "--catalog"]) == 0
    out = capsys.readouterr().out
    for fragment in ("gpus", "h100-sxm5-80gb", "h200-sxm-141gb", "llama3-405b", "switches"):
        assert fragment in out
    doc = run_json(capsys, "--catalog")
    assert {"gpus", "nics", "switches", "servers", "racks", "generators", "batteries", "models"} <= set(doc)
    assert doc["gpus"]["h100-sxm5-80gb"]["tdp_w"] == 700


def test_catalog_models_show_the_shape_fields_that_set_their_cost(capsys):
    """DeepSeek-V3's latent attention and leading dense layers are part of its key figures; a plain model
    shows none of them."""
    from colossus.cli.show import catalog_figures

    models = run_json(capsys, "--catalog")["models"]
    deepseek = " ".join(catalog_figures("models", "deepseek-v3-671b", models["deepseek-v3-671b"]))
    assert "kv_lora_rank:512" in deepseek and "first_dense_layers=3" in deepseek
    llama = " ".join(catalog_figures("models", "llama3-8b", models["llama3-8b"]))
    assert "mla=" not in llama and "first_dense_layers" not in llama and "params=8.0B" in llama


def test_catalog_profiles_show_their_gradient_reduction_dtype(capsys):
    """The gradient-reduction dtype differs between stacks (and sets Megatron's gradient memory): a profile's
    key figures name it."""
    from colossus.cli.show import catalog_figures

    profiles = run_json(capsys, "--catalog")["software"]
    bridge = " ".join(catalog_figures("software", "nemo-megatron-bridge-2025", profiles["nemo-megatron-bridge-2025"]))
    titan = " ".join(catalog_figures("software", "torchtitan", profiles["torchtitan"]))
    assert "grad_reduce_dtype=bf16" in bridge and "grad_reduce_dtype=fp32" in titan


def test_catalog_profiles_show_where_they_depart_from_the_usual_stack(capsys):
    """A pipeline schedule other than 1F1B (and the stack's others), a gradient reduction after the pipeline's
    last backward, narrower Adam moments, FP8-cached expert activations: named where a profile has them."""
    from colossus.cli.show import catalog_figures

    profiles = run_json(capsys, "--catalog")["software"]
    hai = " ".join(catalog_figures("software", "hai-llm", profiles["hai-llm"]))
    assert "pipeline_schedule=dualpipe" in hai and "pipeline_schedule_fallbacks=" in hai
    assert "optimizer_moments_dtype=bf16" in hai and "fp8_moe_activation_cache=True" in hai
    deepspeed = " ".join(catalog_figures("software", "deepspeed-2023", profiles["deepspeed-2023"]))
    assert "pipeline_dp_overlap=False" in deepspeed and "pipeline_schedule" not in deepspeed.replace("pipeline_dp", "")
    core = " ".join(catalog_figures("software", "megatron-core-2025", profiles["megatron-core-2025"]))
    assert not any(extra in core for extra in ("pipeline_schedule", "pipeline_dp_overlap", "optimizer_moments"))


def test_json_is_byte_identical_across_runs(capsys):
    path = str(SCENARIOS / "colossus-200k.yaml")
    main(["show", path, "--json"])
    first = capsys.readouterr().out
    main(["show", path, "--json"])
    assert capsys.readouterr().out == first


def test_json_is_si_with_the_unit_in_every_key(capsys):
    """The catalog's file units (GiB, TFLOP/s, MW, BTU/kWh) become SI keys in JSON; tables keep human units."""
    assert main(["show", "--catalog", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    h100 = doc["gpus"]["h100-sxm5-80gb"]
    assert h100["hbm_bytes"] == pytest.approx(79.65 * 2**30, rel=1e-3) and "hbm_gib" not in h100
    assert h100["dense_flop_per_s"]["bf16"] == pytest.approx(989.4e12)
    gen = doc["generators"]["gas-recip-2500kw"]
    assert gen["rating_w"] == 2.5e6 and "rating_mw" not in gen and 2 < gen["heat_rate_j_per_j"] < 3.5


def test_pool_keys_say_per_gpu_or_total(capsys):
    assert main(["show", str(SCENARIOS / "colossus-memphis.yaml"), "--json"]) == 0
    pool = json.loads(capsys.readouterr().out)["pools"][0]
    assert pool["gpu_tdp_w"] == 700.0 and pool["total_gpu_tdp_w"] == 700.0 * pool["num_gpus"]
    assert pool["total_hbm_bytes"] == pytest.approx(pool["gpu_hbm_bytes"] * pool["num_gpus"])


def test_tables_in_a_file_are_not_cut_at_80_columns(tmp_path):
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", "from colossus.cli import entry; entry()", "show", "--catalog"],
                         capture_output=True, text=True, check=True, env={"PATH": "/usr/bin:/bin"}).stdout
    assert max(len(line) for line in out.splitlines()) > 80 and "…" not in out
