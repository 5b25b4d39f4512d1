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


@pytest.mark.parametrize("name", ["colossus-memphis.yaml", "colossus-memphis-2025.yaml", "colossus-200k.yaml"])
def test_json_contract(capsys, name):
    doc = run_json(capsys, str(SCENARIOS / name))
    for key in ("demand", "supply", "deficit", "dispatch", "swings", "environment", "cost"):
        assert key in doc
    assert {"gpus_w", "site_w", "site_nameplate_w"} <= set(doc["demand"])
    assert doc["supply"]["firm_w"] > 0
    assert doc["swings"]["grid_peak_ramp_w_per_s"] >= 0
    assert {"strategy", "gpu_cap_w", "num_gpus_running", "throughput_kept_frac", "base_load_w"} <= set(doc["deficit"])
    assert doc["cost"]["per_day"]["usd_total"] > 0 and doc["cost"]["run"]["usd_per_million_tokens"] > 0
    for section in ("demand", "deficit", "swings", "environment"):
        assert doc[section]["inputs"], f"{section} carries its inputs"


def test_2025_site_runs_on_the_grid_with_turbines_in_reserve(capsys):
    doc = run_json(capsys, str(SCENARIOS / "colossus-memphis-2025.yaml"), "--day", "150")
    assert doc["supply"]["grid"]["available_w"] == pytest.approx(150e6)
    assert doc["dispatch"]["merit_order"][0] == "grid"
    fleets = {f["name"]: f for f in doc["dispatch"]["fleets"]}
    assert fleets["permitted-turbines"]["emission_control"] == "scr"
    assert fleets["temporary-turbines"]["count"] == 20  # still on site on day 150 (they leave on day 188)
    assert doc["supply"]["battery_power_w"] == pytest.approx(156 * 0.979e6)


def test_reported_figures_only_for_the_reported_cluster(capsys):
    doc = run_json(capsys, str(SCENARIOS / "colossus-200k.yaml"))
    assert doc["demand"]["reported"]["applies"] is False and "h200" in doc["demand"]["reported"]["why_not"]
    assert main(["power", str(SCENARIOS / "colossus-200k.yaml")]) == 0
    out = capsys.readouterr().out
    assert "site >= 150 MW ->" not in out and "not compared" in out
    mem = run_json(capsys, MEMPHIS)
    assert mem["demand"]["reported"]["applies"] is True


def test_small_supply_shows_the_base_load(capsys):
    doc = run_json(capsys, MEMPHIS, "--supply-mw", "20")
    d = doc["deficit"]
    assert d["base_load_w"] == pytest.approx(18.67e6, rel=0.01)
    assert d["supply_for_job_w"] == pytest.approx(20e6 - d["base_load_w"])
    assert main(["power", MEMPHIS, "--supply-mw", "20"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "base load 18.7 MW" in out and "leaves 1.3 MW for the job" in out


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
                     "base load", "Dispatch", "spinning reserve", "swings", "seen by the grid", "battery", "CO2",
                     "NOx", "water", "J per token", "Cost", "per million tokens"):
        assert fragment in out
