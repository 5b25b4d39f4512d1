"""``colossus power`` in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colossus.cli import main

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
MEMPHIS = str(SCENARIOS / "colossus-memphis.yaml")


def run_json(capsys, *args: str) -> dict:
    code = main(["power", *args, "--json"])
    out = capsys.readouterr().out
    assert code == 0
    return json.loads(out)


@pytest.mark.parametrize("name", ["colossus-memphis.yaml", "colossus-200k.yaml"])
def test_json_contract(capsys, name):
    doc = run_json(capsys, str(SCENARIOS / name))
    for key in ("demand", "supply", "deficit", "swings", "environment"):
        assert key in doc
    assert {"gpus_w", "site_w", "site_nameplate_w"} <= set(doc["demand"])
    assert "firm_w" in doc["supply"]
    assert {"strategy", "gpu_cap_w", "num_gpus_running", "throughput_kept_frac"} <= set(doc["deficit"])
    for section in ("demand", "deficit", "swings", "environment"):
        assert doc[section]["inputs"], f"{section} carries its inputs"


def test_supply_override(capsys):
    doc = run_json(capsys, MEMPHIS, "--supply-mw", "35")
    d = doc["deficit"]
    assert d["supply_w"] == pytest.approx(35e6)
    assert d["site_w"] <= 35e6
    assert 0 < d["throughput_kept_frac"] < 1
    assert d["strategy"] in ("uniform cap", "park replicas", "mix")


def test_negative_supply_is_one_line_and_exit_2(capsys):
    assert main(["power", MEMPHIS, "--supply-mw", "-5"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "supply" in err


def test_missing_file_exits_2(capsys):
    assert main(["power", "no-such-file.yaml"]) == 2


def test_table_output(capsys):
    assert main(["power", MEMPHIS]) == 0
    out = capsys.readouterr().out
    for fragment in ("Demand", "GPUs", "heat rejection", "Supply", "firm", "N-1", "Strategies", "chosen",
                     "swings", "battery", "CO2", "NOx", "water", "J per token"):
        assert fragment in out
