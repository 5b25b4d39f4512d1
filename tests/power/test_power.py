"""The power model: demand, supply, capping, deficit, swings, environment; and its invariants."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus import units
from colossus.errors import SpecError
from colossus.power import (
    LoadPoint,
    Phase,
    StepProfile,
    Waveform,
    analyse,
    build_plant,
    cap_curve,
    cap_table,
    capped_step,
    commit,
    default_assumptions,
    follow,
    footprint,
    job_power,
    prices,
    respond,
    smoothing,
    supply_summary,
)
from colossus.power.demand import PoolLoad, load_fractions, site_demand
from colossus.power.dispatch import GRID
from colossus.spec import load_scenario, lookup
from colossus.topology import cluster_inventory

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"
A = default_assumptions()
CURVE = cap_curve(A)
H100 = lookup("gpus", "h100-sxm5-80gb")


@pytest.fixture(scope="module")
def memphis():
    return load_scenario(SCENARIOS / "colossus-memphis.yaml")


@pytest.fixture(scope="module")
def analysis(memphis):
    return analyse(memphis)


def _profile(shares=(0.75, 0.08, 0.12, 0.05), draws=(1.0, 0.2, 0.45, 0.6), num_gpus=20_000, replica=400):
    phases = tuple(
        Phase(n, s, d) for n, s, d in zip(("compute", "pipeline", "gradient sync", "optimizer"), shares, draws)
    )
    return StepProfile("job", H100, num_gpus, replica, phases, 16e6, "test")


def test_demand_points_are_ordered(analysis):
    idle, train, name = (analysis.demand[p] for p in LoadPoint)
    assert idle.site_w < train.site_w < name.site_w
    assert name.gpus_w == pytest.approx(100_000 * 700.0)
    assert 1.1 < train.pue < 1.5


def test_demand_components_add_up(analysis):
    d = analysis.demand[LoadPoint.TRAINING]
    pools = sum(p.it_w for p in d.pools)
    assert d.it_w == pytest.approx(pools + sum(d.switches_w.values()) + d.optics_w + d.storage_w)
    assert d.site_w == pytest.approx(d.it_w + d.facility.total_w)


def test_supply_firm_and_n_minus_1(memphis):
    s = supply_summary(memphis.power.supply)
    assert s.firm_w == pytest.approx(8e6 + 14 * 2.5e6)
    assert s.n_minus_1_w == pytest.approx(s.firm_w - 8e6)  # the interim grid feeder is the largest unit
    assert s.expected_w < s.firm_w
    signed = supply_summary(memphis.power.supply.model_copy(
        update={"grid": memphis.power.supply.grid.model_copy(update={"contract_start_day": 10})}), day=20)
    assert signed.grid_w == pytest.approx(150e6)


def test_no_deficit_keeps_everything(analysis):
    assert analysis.deficit.chosen.throughput_kept_frac == 1.0


def test_deficit_chooses_the_best(memphis):
    an = analyse(memphis, supply_w=35e6)
    d = an.deficit
    kept = [c.throughput_kept_frac for c in d.options.values() if c]
    assert d.chosen.throughput_kept_frac == pytest.approx(max(kept))
    assert d.chosen.site_w <= 35e6
    assert 0 < d.chosen.throughput_kept_frac < 1


def test_no_supply_stops_the_job(memphis):
    an = analyse(memphis, supply_w=0.0)
    assert an.deficit.chosen.num_gpus_running == 0 and an.deficit.chosen.throughput_kept_frac == 0


def test_negative_supply_is_an_input_error(memphis):
    with pytest.raises(SpecError):
        analyse(memphis, supply_w=-1.0)


def test_capped_step_at_tdp_is_the_reference():
    step = capped_step(_profile(), CURVE, 700.0)
    assert step.throughput_frac == pytest.approx(1.0)
    assert step.mean_gpu_w < 700.0


def test_communication_phases_slow_less():
    step = capped_step(_profile(), CURVE, 400.0)
    ref = _profile()
    slow = [t / p.duration_s for t, p in zip(step.phase_times_s, ref.phases)]
    assert slow[0] > slow[2] >= slow[1]


def test_energy_is_the_integral_of_power():
    wave = Waveform(("a", "b"), np.array([2.0, 3.0]), np.array([10.0, 20.0]))
    assert wave.energy_j == pytest.approx(80.0)
    assert wave.sample(0.001).sum() * 0.001 == pytest.approx(80.0, rel=1e-3)


def test_follower_respects_its_ramp():
    out = follow(np.array([0.0] * 5 + [10.0] * 20), 1.0, 2.0, start_w=0.0)
    assert np.all(np.abs(np.diff(out)) <= 2.0 + 1e-12)
    assert out[-1] == pytest.approx(10.0)


def test_battery_covers_a_step_the_generators_cannot_follow():
    wave = Waveform(("hi", "lo"), np.array([10.0, 10.0]), np.array([100.0, 0.0]))
    sm = smoothing(wave, 1e-6, change_s=0.1, dt_s=0.01)
    assert not sm.can_follow
    assert sm.battery_w == pytest.approx(50.0, rel=1e-3)
    assert sm.battery_j == pytest.approx(500.0, rel=1e-2)  # 50 W for 10 s
    fast = smoothing(wave, 1e9, change_s=0.1, dt_s=0.01)
    assert fast.can_follow


def test_swings_are_megawatts(analysis):
    m = analysis.swings.metrics
    assert m["step_swing_w"] > 5e6
    assert m["swing_w"] >= m["step_swing_w"]  # a checkpoint stall or failure drops further than a step
    assert m["dominant_hz"] == pytest.approx(1.0 / analysis.profile.step_time_s, rel=0.02)


def test_footprint_by_source(memphis):
    plant = build_plant(memphis.power.supply, memphis.power.dispatch, prices(memphis), A)
    c = commit(plant, load_w=30e6, grid_avail_w=8e6, avail=[14], soc_j=0.0, battery_ready=False)
    # gas at 8,760 Btu/kWh x $3.5/MMBtu + $8/MWh O&M = $38.7/MWh beats the grid's $65/MWh
    assert plant.order == (0, GRID)
    # 12 engines carry 30 MW; N-1 wants one engine's 2.5 MW spinning in reserve: a 13th
    assert c.units == (13,) and c.fleet_w[0] == pytest.approx(30e6) and c.grid_w == 0.0
    fp = footprint(plant, c, it_w=24e6, duration_s=units.DAY, wue_l_per_kwh=1.8, a=A)
    assert fp.energy_j == pytest.approx(30e6 * units.DAY)
    hr = 8760 * units.BTU / units.KWH
    fuel_w = 13 * 0.09 * hr * 2.5e6 + 0.91 * hr * 30e6  # part load: no-load fuel of 13 engines + incremental
    assert fp.fuel_j == pytest.approx(fuel_w * units.DAY, rel=1e-12)
    assert fp.co2_kg == pytest.approx(fp.fuel_j / units.MMBTU * 53.06, rel=1e-9)
    assert fp.nox_kg == pytest.approx(fp.fuel_j / hr * 0.69e-3 / units.KWH, rel=1e-9)  # NOx per fuel
    assert fp.water_m3 == pytest.approx(24e3 * 24 * 1.8 / 1000)


def test_assumption_overrides(memphis):
    power = memphis.power.model_copy(update={"assumptions": {"load.training.cpu_frac": 1.0}})
    an = analyse(memphis.model_copy(update={"power": power}))
    base = analyse(memphis)
    assert an.demand[LoadPoint.TRAINING].site_w > base.demand[LoadPoint.TRAINING].site_w
    bad = memphis.power.model_copy(update={"assumptions": {"load.training.cpu_fraction": 1.0}})
    with pytest.raises(SpecError, match="power.assumptions"):
        analyse(memphis.model_copy(update={"power": bad}))


def test_affine_job_power_matches_the_bottom_up_model(memphis):
    inv = cluster_inventory(memphis.cluster)
    prof = _profile()
    jp = job_power(memphis, inv, prof, "h100-phase1", A)
    busy, idle = load_fractions(LoadPoint.TRAINING, A), load_fractions(LoadPoint.IDLE, A)
    for n, g in ((800, 300.0), (12_000, 650.0)):
        d = site_demand(memphis, inv, [PoolLoad("h100-phase1", n, g)], busy=busy, idle=idle, a=A)
        assert jp.site_w(n, g) == pytest.approx(d.site_w, rel=1e-9)


# --- properties ---------------------------------------------------------------------

caps = st.floats(min_value=200.0, max_value=700.0)


@given(lo=caps, hi=caps, u=st.floats(min_value=50.0, max_value=800.0))
def test_lower_cap_never_raises_device_power_or_speed(lo, hi, u):
    lo, hi = min(lo, hi), max(lo, hi)
    assert CURVE.drawn_w(lo, u) <= CURVE.drawn_w(hi, u) + 1e-9
    assert CURVE.throughput_frac(lo, u) <= CURVE.throughput_frac(hi, u) + 1e-12
    assert CURVE.drawn_w(lo, u) <= min(lo, u) + 1e-9  # the cap is a ceiling


@settings(max_examples=60, deadline=None)
@given(lo=caps, hi=caps, compute=st.floats(min_value=0.5, max_value=0.95))
def test_lower_cap_never_raises_job_power(lo, hi, compute):
    """Holds for compute-dominated steps (every real training step): see capped_step."""
    rest = (1.0 - compute) / 3
    prof = _profile(shares=(compute, rest, rest, rest))
    lo, hi = min(lo, hi), max(lo, hi)
    a, b = capped_step(prof, CURVE, lo), capped_step(prof, CURVE, hi)
    assert a.mean_gpu_w <= b.mean_gpu_w + 1e-9
    assert a.throughput_frac <= b.throughput_frac + 1e-12


@pytest.fixture(scope="module")
def deficit_inputs(memphis):
    prof = _profile()
    jp = job_power(memphis, cluster_inventory(memphis.cluster), prof, "h100-phase1", A)
    return prof, cap_table(prof, CURVE, A), jp


@settings(max_examples=40, deadline=None)
@given(s1=st.floats(min_value=0.0, max_value=60e6), s2=st.floats(min_value=0.0, max_value=60e6))
def test_more_supply_never_keeps_less(deficit_inputs, s1, s2):
    prof, table, jp = deficit_inputs
    lo, hi = min(s1, s2), max(s1, s2)
    a, b = respond(prof, table, jp, lo), respond(prof, table, jp, hi)
    assert a.chosen.throughput_kept_frac <= b.chosen.throughput_kept_frac + 1e-12
    if a.chosen.strategy != "stop":
        assert a.chosen.site_w <= lo + 1e-6


@settings(max_examples=30, deadline=None)
@given(durations=st.lists(st.floats(min_value=0.01, max_value=100.0), min_size=1, max_size=8),
       powers=st.lists(st.floats(min_value=0.0, max_value=1e8), min_size=8, max_size=8))
def test_waveform_energy_is_the_integral(durations, powers):
    wave = Waveform(tuple("x" * len(durations)), np.array(durations), np.array(powers[: len(durations)]))
    dt = min(durations) / 50
    assert wave.sample(dt).sum() * dt == pytest.approx(wave.energy_j, rel=0.03, abs=1e-6)


def test_the_swing_inputs_state_the_checkpoint_interval_only_where_it_is_fixed(memphis):
    """An auto interval (Young/Daly, computed by reliability and the simulation) is not a number the power
    analysis knows: its document says auto instead of the unused interval_min."""
    from colossus.power.document import power_document

    fixed = power_document(analyse(memphis))["swings"]["inputs"]
    assert fixed["checkpoint_interval_auto"] is False
    assert fixed["checkpoint_interval_s"] == pytest.approx(memphis.jobs[0].checkpoint.interval_min * units.MINUTE)
    job = memphis.jobs[0]
    auto = memphis.model_copy(update={"jobs": [job.model_copy(update={
        "checkpoint": job.checkpoint.model_copy(update={"auto_interval": True})}), *memphis.jobs[1:]]})
    inputs = power_document(analyse(auto))["swings"]["inputs"]
    assert inputs["checkpoint_interval_auto"] is True and inputs["checkpoint_interval_s"] is None
