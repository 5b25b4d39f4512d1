"""Dispatch of the site's supply against a case computed by hand, and its invariants.

The small site: a 5 MW grid feeder, four 2 MW gas units (minimum load 1 MW,
loading at 0.6 MW/min each, on line 300 s after a start) and a 4 MW / 2 MWh
battery (round trip 0.9, kept between 5% and 100%).
"""

from __future__ import annotations

import copy
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus import units
from colossus.power import default_assumptions
from colossus.power.cost import prices
from colossus.power.dispatch import GRID, build_plant, commit, dispatch_profile
from colossus.spec import Scenario, read_yaml, validate

MEMPHIS = Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml"
MW, MJ = units.MW, 1e6

UNIT = {  # a complete new generator: every field given
    "name": "test-unit-2mw", "kind": "reciprocating", "rating_mw": 2.0, "availability": 1.0, "min_load_frac": 0.5,
    "ramp_mw_per_min": 0.6, "start_s": 300.0, "heat_rate_btu_per_kwh": 9000.0, "no_load_fuel_frac": 0.1,
    "nox_g_per_kwh": 1.0, "nox_scr_g_per_kwh": 0.1, "co2_kg_per_mmbtu": 53.06,
}
BATTERY = {"name": "test-battery", "energy_mwh": 2.0, "power_mw": 4.0, "round_trip_efficiency": 0.9}


def small_site(**dispatch) -> Scenario:
    doc = copy.deepcopy(read_yaml(MEMPHIS))
    doc["power"]["supply"] = {
        "grid": {"interim_mw": 5.0, "contract_mw": 5.0, "contract_start_day": None, "co2_kg_per_mwh": 400.0},
        "generators": [{"unit": UNIT, "count": 4}],
        "batteries": [{"unit": BATTERY, "count": 1}],
    }
    doc["power"]["dispatch"] = {
        "merit_order": ["grid"],
        "n_minus_1_reserve": False,
        "battery_soc_min_frac": 0.05,
        "min_up_h": 0.0,
        "recharge_from_generators": False,
        **dispatch,
    }
    return validate(Scenario, doc, file="small site")


def plant_of(sc: Scenario):
    return build_plant(sc.power.supply, sc.power.dispatch, prices(sc), default_assumptions())


@pytest.fixture(scope="module")
def hand_case():
    plant = plant_of(small_site())
    durations = [600.0, 1200.0, 600.0, 3600.0]
    loads = [4 * MW, 9 * MW, 5.5 * MW, 15 * MW]
    return plant, dispatch_profile(plant, durations, loads, grid_avail_w=5 * MW)


def test_merit_order_grid_first_then_units(hand_case):
    plant, d = hand_case
    c0, c1 = d.commitments[0], d.commitments[1]
    assert plant.order == (GRID, 0)
    assert (c0.grid_w, c0.units[0], c0.fleet_w[0]) == (4 * MW, 0, 0.0)  # the grid carries it alone
    assert (c1.grid_w, c1.units[0], c1.fleet_w[0]) == (5 * MW, 2, 4 * MW)  # grid full, two units for 4 MW


def test_start_time_and_ramp_limit_by_hand(hand_case):
    _, d = hand_case
    f = d.flows[1]
    # 300 s until the two units are on line: the battery covers 4 MW; then they load at 2 x 0.01 MW/s
    # for 200 s (a triangle of 4 MW x 200 s / 2); then 700 s at 4 MW
    assert f.discharge_j == pytest.approx(4 * MW * 300 + 4 * MW * 200 / 2, abs=1.0)
    assert f.fleet_j[0] == pytest.approx(2 * MW * 200 + 4 * MW * 700, abs=1.0)
    assert f.grid_j == pytest.approx(5 * MW * 1200, abs=1.0)
    assert f.unserved_j == pytest.approx(0.0, abs=1.0)
    assert d.starts == (5,)  # two here, three more in the last interval (one kept running in between)
    # fuel: two units on line for 900 s at no-load fuel, plus the incremental heat rate on the energy
    hr = 9000.0 * units.BTU / units.KWH
    assert f.fuel_j[0] == pytest.approx(2 * 900 * 0.1 * hr * 2 * MW + 0.9 * hr * f.fleet_j[0], rel=1e-12)


def test_minimum_load_takes_from_the_grid(hand_case):
    _, d = hand_case
    c = d.commitments[2]
    # 0.5 MW for the units is below one unit's 1 MW minimum: one unit runs at its minimum, the grid gives way
    assert c.units[0] == 1 and c.fleet_w[0] == pytest.approx(1 * MW) and c.grid_w == pytest.approx(4.5 * MW)
    f = d.flows[2]
    assert f.fleet_j[0] == pytest.approx(1 * MW * 600, abs=1.0)  # unloading is immediate
    assert f.grid_j == pytest.approx(4.5 * MW * 600, abs=1.0)


def test_battery_runs_empty_within_its_limits_by_hand(hand_case):
    plant, d = hand_case
    f = d.flows[3]
    # 15 MW against 5 + 4 x 2 = 13 MW: the battery covers 2 MW steadily and, with its 2 MW to spare,
    # the gap while three units start (300 s) and all four load (150 s); it runs down to its 5% floor
    soc_before = d.soc_j[3]
    assert soc_before == pytest.approx(7.2e9 - 1.6e9, abs=1.0)
    wanted = 2 * MW * 3600 + (2 * MW * 100) + (2 * MW * 200) + (2 * MW * 100 + 2 * MW * 50 / 2)
    usable = soc_before - 0.05 * 7.2e9
    assert wanted > usable
    assert f.discharge_j == pytest.approx(usable, abs=1.0)
    assert d.soc_j[4] == pytest.approx(plant.battery.soc_min_j, abs=1.0)
    ramp_short = (5 + 4) / 2 * MW * 100 + 4 * MW * 200 + 4 * MW * 100 / 2  # beyond the battery's 2 MW to spare
    assert f.unserved_j == pytest.approx(ramp_short + (wanted - usable), abs=1.0)
    gens = 1.5 * MW * 100 + 2 * MW * 200 + 5 * MW * 150 + 8 * MW * 3150
    assert f.fleet_j[0] == pytest.approx(gens, abs=1.0)


def test_every_interval_balances_to_the_joule(hand_case):
    _, d = hand_case
    for f in d.flows:
        assert abs(f.imbalance_j()) < 1e-3  # J


def test_cheaper_generation_comes_first_without_a_named_order():
    sc = small_site(merit_order=None)
    sc = sc.model_copy(update={"power": sc.power.model_copy(update={"prices": sc.power.prices.model_copy(
        update={"grid_energy_usd_per_mwh": 500.0})})})
    plant = plant_of(sc)
    assert plant.order == (0, GRID)
    c = commit(plant, load_w=6 * MW, grid_avail_w=5 * MW, avail=[4], soc_j=plant.battery.soc_max_j)
    assert c.fleet_w[0] == pytest.approx(6 * MW) and c.units[0] == 3 and c.grid_w == 0.0


def test_n_minus_1_reserve_commits_more_units():
    plant = plant_of(small_site(n_minus_1_reserve=True, grid_is_contingency=False))
    # 9 MW: grid 5 (not a contingency here, but full), 4 MW on the units. Losing one of two units at
    # 2 MW needs 2 MW of reserve; an empty battery gives none, so a third unit is committed.
    c = commit(plant, load_w=9 * MW, grid_avail_w=5 * MW, avail=[4], soc_j=plant.battery.soc_min_j)
    assert c.units[0] == 3 and c.reserve_required_w == pytest.approx(4 / 3 * MW)
    assert c.reserve_w >= c.reserve_required_w


def test_peak_shaving_holds_the_grid_and_recharges_below_it():
    plant = plant_of(small_site(peak_shave_grid_mw=3.0))
    c = commit(plant, load_w=4 * MW, grid_avail_w=5 * MW, avail=[4], soc_j=plant.battery.soc_max_j)
    assert c.grid_w == pytest.approx(3 * MW) and c.discharge_w == pytest.approx(1 * MW)
    low = commit(plant, load_w=1 * MW, grid_avail_w=5 * MW, avail=[4], soc_j=0.5 * plant.battery.energy_j)
    assert low.charge_w == pytest.approx(2 * MW) and low.grid_w == pytest.approx(3 * MW)


@settings(max_examples=60, deadline=None)
@given(steps=st.lists(st.tuples(st.floats(1.0, 7200.0), st.floats(0.0, 20.0), st.floats(0.0, 8.0)),
                      min_size=1, max_size=12),
       soc=st.floats(0.0, 1.0), reserve=st.booleans(), gens=st.booleans())
def test_soc_stays_in_its_window_and_energy_balances(steps, soc, reserve, gens):
    plant = plant_of(small_site(n_minus_1_reserve=reserve, recharge_from_generators=gens))
    bat = plant.battery
    start = bat.soc_min_j + soc * (bat.soc_max_j - bat.soc_min_j)
    d = dispatch_profile(plant, [s[0] for s in steps], [s[1] * MW for s in steps],
                         grid_avail_w=[s[2] * MW for s in steps], soc_j=start)
    for f, _before, after in zip(d.flows, d.soc_j, d.soc_j[1:]):
        assert abs(f.imbalance_j()) <= 1e-6 * max(f.load_j, 1.0) + 1e-3
        assert bat.soc_min_j - 1e-3 <= after <= bat.soc_max_j + 1e-3
        assert min(f.grid_j, f.discharge_j, f.charge_j, f.unserved_j, *f.fleet_j, *f.fuel_j) >= -1e-6
        assert f.discharge_j <= bat.power_w * f.duration_s * (1 + 1e-9)


def test_minimum_up_time_holds_units_at_minimum_load():
    plant = plant_of(small_site(min_up_h=1.0))
    d = dispatch_profile(plant, [600.0, 600.0, 3000.0, 600.0], [4 * MW, 9 * MW, 5 * MW, 5 * MW], grid_avail_w=5 * MW)
    held, released = d.commitments[2], d.commitments[3]
    # started at t = 600 s: within the hour both units stay on at their 1 MW minimum, the grid gives way
    assert held.units[0] == 2 and held.fleet_w[0] == pytest.approx(2 * MW) and held.grid_w == pytest.approx(3 * MW)
    # at t = 4,200 s the hour is over and the grid alone carries 5 MW
    assert released.units[0] == 0 and released.grid_w == pytest.approx(5 * MW)
    assert d.starts == (2,)
