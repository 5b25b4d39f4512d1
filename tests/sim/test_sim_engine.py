"""The simulation end to end on small scenarios: invariants at every sample, determinism, behaviour."""

from __future__ import annotations

import math

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
import numpy as np
import pytest
from sim_helpers import MEMPHIS, CheckedEngine, scenario, small_doc

from colossus import units
from colossus.sim import GPU_STATES, simulate
from colossus.spec import load_scenario


def _check_series(r) -> None:
    ts = r.timeseries
    total = sum(ts[f"gpus_{s}"] for s in GPU_STATES)
    assert (total == r.summary["gpus"]["total"]).all(), "GPUs by state must sum to the cluster"
    assert (ts["gpus_installed"] == total - ts["gpus_not_installed"]).all()
    healthy = ts["gpus_installed"] - ts["gpus_failed"] - ts["gpus_repair"] - ts["gpus_burn_in"]
    assert (ts["gpus_busy"] <= healthy).all(), "no job runs on more GPUs than are healthy"
    for name in ts:
        if name.startswith("tokens:"):
            assert (np.diff(ts[name]) >= 0).all(), f"{name} decreased"
    supplied = ts["grid_w"] + ts["generators_w"] + ts["battery_discharge_w"] + ts["unserved_w"]
    np.testing.assert_allclose(supplied, ts["demand_w"] + ts["battery_charge_w"] + ts["dumped_w"], rtol=1e-9, atol=1e-3)


def _check_energy(r) -> None:
    s = r.summary
    ts = r.timeseries
    dt = np.diff(ts["time_s"])
    src = s["energy_j_by_source"]
    supplied = src["grid"] + src["generators"] + src["battery"] + s["energy_j"]["unserved"]
    used = s["energy_j"]["used"] + s["energy_j"]["battery_charge"] + s["energy_j"]["dumped"]
    assert supplied == pytest.approx(used, rel=1e-9)
    # the series integrate to the totals (means over each interval)
    assert float(ts["demand_w"][1:] @ dt) == pytest.approx(s["energy_j"]["used"], rel=1e-9)
    # battery: change of charge = charge x efficiency - discharge
    delta = ts["battery_soc_j"][-1] - ts["battery_soc_j"][0]
    expect = s["energy_j"]["battery_charge"] - s["energy_j"]["battery_loss"] - src["battery"]
    assert delta == pytest.approx(expect, rel=1e-6, abs=1e3)


def test_small_scenario_invariants_at_every_event():
    sc = scenario(small_doc())
    eng = CheckedEngine(sc, seed=3)
    r = eng.run()
    assert CheckedEngine.checks > 100
    _check_series(r)
    _check_energy(r)
    assert r.summary["failures"]["count"] > 0
    assert r.summary["fillers"]["started"] > 0
    assert set(r.events["kind"]) >= {"build", "burn_in_done", "submit", "start", "checkpoint", "failure", "finish"}


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 10_000), gens=st.integers(0, 4), rate=st.floats(0.0, 40.0),
       batteries=st.integers(0, 3), strategy=st.sampled_from(["cap", "park", "mix"]))
@pytest.mark.slow
def test_invariants_hold_for_any_supply_and_failure_rate(seed, gens, rate, batteries, strategy):
    doc = small_doc(days=2.0)
    doc["power"]["supply"]["generators"][0]["count"] = gens
    doc["power"]["supply"]["batteries"] = [{"unit": "megapack2-xl-2h", "count": batteries}] if batteries else []
    doc["simulation"]["failures"]["rate_scale"] = rate
    doc["simulation"]["power"] = {"deficit_strategy": strategy}
    r = CheckedEngine(scenario(doc), seed=seed).run()
    _check_series(r)
    _check_energy(r)


def test_same_seed_same_result_and_other_seed_differs():
    sc = scenario(small_doc(days=2.0))
    a, b, c = simulate(sc, seed=1), simulate(sc, seed=1), simulate(sc, seed=2)
    for key in a.timeseries:
        assert np.array_equal(a.timeseries[key], b.timeseries[key]), key
    assert a.summary == b.summary
    assert list(a.events["kind"]) == list(b.events["kind"])
    assert a.summary != c.summary


def test_no_failures_and_plenty_of_power_gives_the_perf_rate():
    doc = small_doc(days=3.0)
    doc["simulation"]["failures"]["rate_scale"] = 0.0
    doc["simulation"]["workload"] = {"source": "none"}
    doc["simulation"]["buildout"] = []
    doc["power"]["supply"]["grid"]["interim_mw"] = 100.0
    r = simulate(scenario(doc), seed=0)
    job = r.summary["jobs"][0]
    assert job["finished_at_s"] is not None
    startup = job["start_s"] + 120.0 + 300.0  # reschedule + warm-up (reliability_assumptions.toml)
    expect = job["train_tokens"] / job["tokens_per_s"]
    assert job["finished_at_s"] - startup == pytest.approx(expect, rel=0.02)  # checkpoint stalls only
    assert r.summary["deficit_hours"] == 0.0
    assert job["restarts"] == 0


def test_less_power_never_finishes_sooner():
    ends = []
    for mw in (100.0, 3.0, 1.5):
        doc = small_doc(days=4.0)
        doc["simulation"]["failures"]["rate_scale"] = 0.0
        doc["simulation"]["workload"] = {"source": "none"}
        doc["power"]["supply"]["generators"][0]["count"] = 0
        doc["power"]["supply"]["grid"]["interim_mw"] = mw
        r = simulate(scenario(doc), seed=0)
        job = r.summary["jobs"][0]
        ends.append(job["finished_at_s"] or math.inf)
        if mw < 2:
            assert r.summary["deficit_hours"] > 0
            assert r.summary["throughput_lost_to_deficit_frac"] > 0
    assert ends[0] <= ends[1] <= ends[2]


def test_buildout_installs_linearly_and_job_waits_for_its_gpus():
    doc = small_doc(days=3.0)
    doc["simulation"]["buildout"] = [{"pool": "h100-phase1", "start_day": 0.5, "ramp_days": 1.0, "burn_in_days": 0.25}]
    doc["simulation"]["workload"] = {"source": "none"}
    doc["simulation"]["failures"]["rate_scale"] = 0.0
    doc["jobs"][0]["num_gpus"] = 4096
    r = simulate(scenario(doc), seed=0)
    ts = r.timeseries
    day = ts["time_s"] / units.DAY
    assert ts["gpus_installed"][day < 0.5].max() == 0
    mid = ts["gpus_installed"][np.searchsorted(day, 1.0)]
    assert 0.3 * 4096 < mid < 0.7 * 4096
    assert (ts["gpus_installed"][day >= 1.5] == 4096).all()
    assert ts["gpus_burn_in"].max() > 0
    # the whole-cluster job can start only after the last rack burned in (or takes fewer on restart)
    assert r.summary["jobs"][0]["start_s"] >= 1.75 * units.DAY - 1.0


def test_failures_interrupt_and_lose_work_since_checkpoint():
    doc = small_doc(days=3.0)
    doc["simulation"]["failures"]["rate_scale"] = 60.0
    doc["simulation"]["workload"] = {"source": "none"}
    r = simulate(scenario(doc), seed=5)
    job = r.summary["jobs"][0]
    assert job["interruptions"] > 0
    assert job["tokens_lost"] > 0
    assert job["goodput"] < 0.99
    restarts = r.events["kind"] == "restart"
    assert restarts.sum() >= job["interruptions"]


@pytest.mark.slow
def test_preemption_makes_room_for_the_named_job():
    doc = small_doc(days=0.75)  # the job is due at day 0.5: what follows its start is not what this checks
    doc["jobs"][0]["start_day"] = 0.5
    doc["jobs"][0]["num_gpus"] = 3072
    doc["simulation"]["buildout"] = []
    doc["simulation"]["failures"]["rate_scale"] = 0.0
    doc["simulation"]["workload"] = {"source": "synthetic", "arrivals_per_day": 2000, "max_job_gpus": 512}
    doc["power"]["supply"]["grid"]["interim_mw"] = 100.0
    r = simulate(scenario(doc), seed=0)
    job = r.summary["jobs"][0]
    assert job["start_s"] == pytest.approx(0.5 * units.DAY, abs=1.0)
    assert (r.events["kind"] == "preempt").sum() > 0


def test_the_default_scenarios_load_with_a_simulation_block():
    for name in ("colossus-memphis.yaml", "colossus-200k.yaml"):
        sc = load_scenario(MEMPHIS.parent / name)
        assert sc.simulation.days > 0
        assert sc.simulation.workload.source == "philly"


@pytest.mark.parametrize("name", ["colossus-memphis.yaml", "colossus-200k.yaml"])
def test_shipped_scenarios_simulate_end_to_end(name):
    sc = load_scenario(MEMPHIS.parent / name)
    r = simulate(sc, days=8.0, base_dir=MEMPHIS.parent)
    _check_series(r)
    _check_energy(r)
    assert r.summary["fillers"]["source"] == "philly" and r.summary["fillers"]["started"] > 0
    assert r.summary["failures"]["count"] > 0
