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


def test_json_is_byte_identical_across_runs(capsys):
    path = str(SCENARIOS / "colossus-200k.yaml")
    main(["show", path, "--json"])
    first = capsys.readouterr().out
    main(["show", path, "--json"])
    assert capsys.readouterr().out == first
