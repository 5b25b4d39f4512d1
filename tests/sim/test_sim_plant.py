"""The plant in the simulation: GPU states, permits respected, cost, energy balance, aggregated fleets."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from sim_helpers import CheckedEngine, scenario, small_doc
import yaml

from colossus import units
from colossus.cli import main
from colossus.sim import GPU_STATES, simulate
from colossus.sim.result import USABLE_STATES


@pytest.fixture(scope="module")
def short_of_power():
    """The small site with too little supply: idle servers go dark, fillers park, the job is capped."""
    doc = small_doc(days=2.0)
    doc["simulation"]["failures"]["rate_scale"] = 2.0
    return simulate(scenario(doc), seed=5)


def test_powered_off_gpus_are_not_idle_and_not_usable(short_of_power):
    r = short_of_power
    ts, g = r.timeseries, r.summary["gpus"]
    total = sum(ts[f"gpus_{s}"] for s in GPU_STATES)
    assert (total == g["total"]).all()
    assert ts["gpus_powered_off"].max() > 0, "the deficit switches idle servers off"
    assert (ts["gpus_idle"] >= 0).all() and (ts["gpus_busy"] >= 0).all()
    # usable means healthy, installed and powered: the powered-off GPUs are left out
    assert g["usable_mean"] == pytest.approx(sum(g[s] for s in USABLE_STATES), rel=1e-9)
    assert g["powered_off"] > 0 and g["usable_mean"] < g["installed_mean"] - g["powered_off"] + 1e-6
    assert g["at_end"]["powered_off"] == int(ts["gpus_powered_off"][-1])


def test_cost_and_energy_of_a_run(short_of_power):
    s = short_of_power.summary
    c = s["cost"]
    assert c["usd_total"] > 0 and c["usd_per_gpu_hour"] > 0
    assert c["usd_total"] == pytest.approx(sum(c["usd_by_item"].values()))
    if sum(j["tokens_trained"] for j in s["jobs"]) > 0:
        assert 0 < c["usd_per_million_tokens"] <= c["usd_per_million_tokens_all_in"] + 1e-9
    else:  # this short site may park the named job for good: no training output, no price per token
        assert c["usd_per_million_tokens"] is None
    fleet = s["dispatch"]["fleets"][0]
    assert c["usd_by_item"]["fuel"] == pytest.approx(fleet["fuel_j"] / units.MMBTU * 3.5, rel=1e-9)
    src, e = s["energy_j_by_source"], s["energy_j"]
    assert src["grid"] + src["generators"] + src["battery"] + e["unserved"] == pytest.approx(
        e["used"] + e["battery_charge"] + e["dumped"], rel=1e-12)
    assert fleet["energy_j"] == pytest.approx(src["generators"], rel=1e-9)


def test_a_nox_permit_is_respected():
    doc = small_doc(days=2.0)
    doc["simulation"]["failures"]["rate_scale"] = 0.0
    doc["power"]["supply"]["permits"] = [{"name": "tight", "nox_short_tons_per_year": 0.05}]  # 45 kg a year
    doc["power"]["supply"]["generators"][0]["permit"] = "tight"
    r = CheckedEngine(scenario(doc), seed=1).run()
    p = r.summary["dispatch"]["permits"][0]
    cap = 0.05 * 907.18474
    assert p["most_used_in_a_year"]["nox_kg"] <= cap * (1 + 1e-6)
    assert p["most_used_in_a_year"]["nox_kg"] > 0.9 * cap, "the engines ran until the budget was spent"
    assert p["compliant"] and p["within"]["nox_kg"]
    ts = r.timeseries
    spent = np.flatnonzero(ts["generators_running"] > 0)
    assert ts["generators_running"][spent[-1] + 1:].max(initial=0) == 0  # none runs once it is spent
    free = CheckedEngine(scenario(small_doc(days=2.0) | {"simulation": doc["simulation"]}), seed=1).run()
    assert r.summary["energy_j_by_source"]["generators"] < 0.5 * free.summary["energy_j_by_source"]["generators"]
    assert r.summary["throughput_lost_to_deficit_frac"] > free.summary["throughput_lost_to_deficit_frac"]


def test_a_starts_permit_is_respected():
    doc = small_doc(days=2.0)
    doc["power"]["supply"]["permits"] = [{"name": "few-starts", "starts_per_unit_per_year": 1}]
    doc["power"]["supply"]["generators"][0]["permit"] = "few-starts"
    r = simulate(scenario(doc), seed=2)
    p = r.summary["dispatch"]["permits"][0]
    assert p["limits_per_year"]["starts"] == 2 and p["most_used_in_a_year"]["starts"] <= 2
    assert r.summary["dispatch"]["fleets"][0]["starts"] <= 2


def test_the_most_units_a_fleet_may_have_are_aggregated_not_looped():
    """The spec bounds a fleet at 10,000 units (spec/bounds.py); dispatch and outages treat them as one
    aggregate, so the bound is about plausibility, not speed."""
    doc = small_doc(days=0.5)
    unit = {"name": "tiny-1kw", "kind": "reciprocating", "rating_mw": 1e-3, "availability": 0.95, "min_load_frac": 0.5,
            "ramp_mw_per_min": 1e-3, "start_s": 60.0, "heat_rate_btu_per_kwh": 9000.0, "no_load_fuel_frac": 0.1,
            "nox_g_per_kwh": 1.0, "nox_scr_g_per_kwh": 0.1, "co2_kg_per_mmbtu": 53.06}
    doc["power"]["supply"]["generators"] = [{"unit": unit, "count": 10_000}]
    doc["power"]["supply"]["grid"]["interim_mw"] = 0.0
    r = simulate(scenario(doc), seed=1)
    fleet = r.summary["dispatch"]["fleets"][0]
    assert fleet["count"] == 10_000 and fleet["energy_j"] > 0
    assert r.timeseries["generators_running"].max() > 1_000


def test_simulate_json_reports_cost_and_powered_off(tmp_path: Path, capsys):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_doc(days=1.0)))
    assert main(["simulate", str(path), "--out", str(tmp_path / "run"), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"usd_total", "usd_per_gpu_hour", "usd_per_million_tokens"} <= set(doc["cost"])
    assert "powered_off" in doc["gpus"] and "idle" in doc["gpus"]
    assert doc["swings"]["grid_peak_ramp_w_per_s"] >= 0
