"""``colossus power``: demand, supply, dispatch, deficit response, swings, environment and cost of a scenario."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from colossus import units
from colossus.cli.app import app, console, print_json, within
from colossus.errors import SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from rich.table import Table

    from colossus.power import PowerAnalysis


@app.command()
def power(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file")],
    supply_mw: Annotated[float | None, typer.Option("--supply-mw", help="supply available, MW (default: firm capacity)",
                                                    callback=within("Megawatts"))] = None,
    day: Annotated[float, typer.Option("--day", help="day from the scenario start (grid contract status)",
                                       callback=within("Day"))] = 0.0,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Power demand bottom up, supply and its dispatch, the best response to a deficit, swings, emissions and cost."""
    from colossus.cli.show import scenario_inventory  # noqa: PLC0415
    from colossus.power import (
        analyse,  # noqa: PLC0415
        power_document,  # noqa: PLC0415
    )
    from colossus.spec import load_scenario  # noqa: PLC0415
    if supply_mw is not None and supply_mw < 0:
        raise SpecError(f"--supply-mw must be >= 0 (got {supply_mw:g})")
    if day < 0:
        raise SpecError(f"--day must be >= 0 (got {day:g})")
    spec = load_scenario(scenario)
    scenario_inventory(spec, file=str(scenario))  # a fabric too small is an input error, located
    an = analyse(spec, supply_w=None if supply_mw is None else supply_mw * units.MW, day=day, file=str(scenario))
    if as_json:
        print_json(power_document(an))
    else:
        _print(an, power_document(an))


def _mw(w: float) -> str:
    return f"{w / units.MW:,.1f}"


def _table(title: str, *columns: str) -> Table:
    from rich.table import Table  # noqa: PLC0415
    table = Table(title=title, title_justify="left")
    for i, col in enumerate(columns):
        table.add_column(col, justify="left" if i == 0 else "right")
    return table


def _print(an: PowerAnalysis, doc: dict) -> None:
    pts = doc["demand"]["points"]
    t = _table("Demand (MW)", "component", "idle", "training", "nameplate")
    rows = [
        ("GPUs", lambda p: p["gpus_w"]),
        ("host CPUs", lambda p: sum(q["cpus_w"] for q in p["pools"])),
        ("host memory + local NVMe", lambda p: sum(q["memory_w"] + q["local_nvme_w"] for q in p["pools"])),
        ("scale-out NICs + DPUs", lambda p: sum(q["scaleout_nics_w"] + q["frontend_dpus_w"] for q in p["pools"])),
        ("NVSwitch, fans, boards", lambda p: sum(q["nvswitch_w"] + q["fans_other_w"] for q in p["pools"])),
        *[(f"switches: {tier}", (lambda tier: lambda p: p["fabric_switches_w"][tier])(tier))  # noqa: B023 (bound)
          for tier in pts["training"]["fabric_switches_w"]],
        ("optics", lambda p: p["optics_w"]),
        ("storage", lambda p: p["storage_w"]),
        ("rack mgmt + parked servers", lambda p: sum(q["mgmt_switches_w"] + q["off_servers_w"] for q in p["pools"])),
        ("conversion losses", lambda p: sum(p["conversion_losses_w"].values())),
        ("cooling: CDUs", lambda p: p["cooling_w"]["cdus"]),
        ("cooling: pumps + air", lambda p: p["cooling_w"]["facility_pumps"] + p["cooling_w"]["air_handling"]),
        ("cooling: heat rejection", lambda p: p["cooling_w"]["heat_rejection"]),
        ("lighting, misc", lambda p: p["misc_w"]),
        ("site", lambda p: p["site_w"]),
        ("mean per rack (kW)", lambda p: p["mean_rack_w"] * units.MW / units.KW),
    ]
    for label, get in rows:
        t.add_row(label, *(_mw(get(pts[k])) for k in ("idle", "training", "nameplate")))
    console.print(t)
    rep = doc["demand"]["reported"]
    if rep["applies"]:
        console.print(f"reported: GPUs ~70 MW -> ours {_mw(doc['demand']['gpus_nameplate_w'])} MW at TDP,"
                      f" {_mw(doc['demand']['gpus_w'])} MW at training load; site >= 150 MW -> ours"
                      f" {_mw(doc['demand']['site_nameplate_w'])} MW at nameplate ({rep['site_nameplate_ratio']:.2f}x),"
                      f" {_mw(doc['demand']['site_w'])} MW training ({rep['site_training_ratio']:.2f}x): the 150 MW is"
                      " a sizing figure; GPUs average below TDP while training (communication and bubbles draw less).")
    else:
        console.print(f"reported figures not compared: {rep['why_not']}.")
    _print_supply(doc["supply"])
    _print_deficit(doc["deficit"])
    _print_dispatch(doc["dispatch"])
    _print_rest(doc)
    _print_cost(doc["cost"])
    for note in doc["notes"]:
        console.print(f"note: {note}")


def _print_supply(s: dict) -> None:
    t = _table("Supply", "source", "count", "rating MW", "avail.", "min load MW", "ramp MW/min", "heat rate Btu/kWh")
    t.add_row("grid" + (" (contract)" if s["grid"]["contracted"] else " (interim)"), "1", _mw(s["grid"]["available_w"]),
              "", "", "", "")
    for f in s["generators"]:
        t.add_row(f["unit"], str(f["count"]), _mw(f["rating_w"]), f"{f['availability']:.2f}", _mw(f["min_load_w"]),
                  f"{f['ramp_w_per_s'] * 60 / units.MW:.2f}", f"{f['heat_rate_btu_per_kwh']:,.0f}")
    for b in s["batteries"]:
        t.add_row(f"{b['unit']} (battery)", str(b["count"]), _mw(b["power_w"]),
                  f"RTE {b['round_trip_efficiency']:.2f}", f"{b['energy_j'] / units.MWH:,.0f} MWh", "", "")
    console.print(t)
    console.print(f"firm {_mw(s['firm_w'])} MW; N-1 {_mw(s['n_minus_1_w'])} MW (largest unit {_mw(s['largest_unit_w'])}"
                  f" MW); expected with availability {_mw(s['expected_w'])} MW")


def _print_deficit(d: dict) -> None:
    console.print(f"Deficit: job {d['inputs']['job']['job']} needs {_mw(d['job_demand_w'])} MW site power;"
                  f" supply {_mw(d['supply_w'])} MW ({d['supply_from']})")
    per_gpu = d["job_w_per_gpu_at_tdp"]
    console.print(f"  base load {_mw(d['base_load_w'])} MW runs before any of the job's GPUs (fabric, storage, rack"
                  " management, standby of powered-down servers, with their cooling and losses);"
                  f" that leaves {_mw(max(d['supply_for_job_w'], 0.0))} MW for the job's"
                  f" {d['inputs']['job']['num_gpus']:,} GPUs at {per_gpu / 1e3:.2f} kW each (site share, uncapped)",
                  soft_wrap=True)
    if d["battery_bridge_s"]:
        console.print(f"  batteries carry the unconstrained job for {d['battery_bridge_s'] / 3600:.2f} h"
                      " before the response must cut")
    t = _table("Strategies", "strategy", "GPUs running", "cap W", "throughput kept", "site MW")
    for name, c in d["options"].items():
        t.add_row(name, *(["-"] * 4) if c is None else (f"{c['num_gpus_running']:,}", f"{c['gpu_cap_w']:.0f}",
                                                          f"{c['throughput_kept_frac']:.1%}", _mw(c["site_w"])))
    console.print(t)
    console.print(f"chosen: {d['strategy']}: {d['num_gpus_running']:,} GPUs at {d['gpu_cap_w']:.0f} W,"
                  f" {d['throughput_kept_frac']:.1%} of unconstrained throughput")


def _print_dispatch(d: dict) -> None:
    t = _table(f"Dispatch at the operating point (merit order: {' > '.join(d['merit_order'])})", "source", "units",
               "output MW", "load", "heat rate Btu/kWh", "control", "permit")
    t.add_row("grid", "", _mw(d["grid_w"]), "", "", "", "")
    for f in d["fleets"]:
        hr = f["heat_rate_btu_per_kwh"]
        t.add_row(f["name"], f"{f['units_running']:,} of {f['count']:,}", _mw(f["output_w"]), f"{f['load_frac']:.0%}",
                  "-" if hr is None else f"{hr:,.0f}", f["emission_control"], f["permit"] or "-")
    console.print(t)
    r = d["reserve"]
    if r["n_minus_1"]:
        console.print(f"N-1 spinning reserve: needs {_mw(r['required_w'])} MW, has {_mw(r['available_w'])} MW"
                      + (f" (short {_mw(r['short_w'])} MW)" if r["short_w"] > 0 else ""))


def _print_rest(doc: dict) -> None:
    sw, env = doc["swings"], doc["environment"]
    lim = sw["limits"]
    console.print(f"swings: {_mw(sw['step_swing_w'])} MW every {sw['step_time_s']:.2f} s step (dominant"
                  f" {sw['dominant_hz']:.2f} Hz, {sw['band_fraction']:.0%} of it in {sw['band_hz'][0]:g}-"
                  f"{sw['band_hz'][1]:g} Hz), {_mw(sw['swing_w'])} MW with a checkpoint stall and a failure;"
                  f" peak ramp {sw['natural_peak_ramp_w_per_s'] / units.MW:,.1f} MW/s", soft_wrap=True)
    limit = lim["grid_ramp_limit_w_per_s"]
    console.print(f"  seen by the grid: {sw['grid_peak_ramp_w_per_s'] / units.MW:,.2f} MW/s"
                  + ("" if limit is None else f" against a declared {limit / units.MW:g} MW/s"
                     f" ({'within' if lim['grid_within_limit'] else 'EXCEEDED'})")
                  + f"; by the generators: {sw['generator_peak_ramp_w_per_s'] / units.MW:,.3f} MW/s (they ramp"
                  f" {lim['generator_ramp_w_per_s'] * 60 / units.MW:.1f} MW/min:"
                  f" {'can' if lim['generators_can_follow'] else 'cannot'} follow)", soft_wrap=True)
    console.print(
        f"  mitigation: power floor burns {_mw(sw['floor_w'])} MW ({sw['floor_energy_frac']:.1%} of the"
        f" site), {sw['floor_j_per_day'] / units.MWH:,.0f} MWh a day; battery peak {_mw(sw['battery_peak_w'])}"
        f" MW, {sw['battery_equivalent_cycles_per_day']:.2f} full cycles a day",
        soft_wrap=True,
    )
    t = _table("Environment", "", "per day", "whole run")
    day, run = env["per_day"], env["run"]
    for label, key, fmt in (
        ("energy MWh", "energy_mwh", "{:,.0f}"),
        ("gas MMBtu", "fuel_mmbtu", "{:,.0f}"),
        ("gas m3", "gas_m3", "{:,.0f}"),
        ("CO2 t", "co2_t", "{:,.0f}"),
        ("NOx kg", "nox_kg", "{:,.0f}"),
        ("water m3", "water_m3", "{:,.0f}"),
    ):
        t.add_row(label, fmt.format(day[key]), fmt.format(run[key]))
    for src, v in day["energy_by_source_mwh"].items():
        t.add_row(f"  {src} MWh", f"{v:,.0f}", f"{run['energy_by_source_mwh'][src]:,.0f}")
    console.print(t)
    if run["energy_per_token_j"]:
        console.print(f"run: {run['days']:.1f} days, {run['energy_per_token_j']:.3f} J per token")


def _print_cost(c: dict) -> None:
    day, run = c["per_day"], c["run"]
    t = _table("Cost (USD)", "item", "per day", "whole run")
    for item, v in day["usd_by_item"].items():
        t.add_row(item.replace("_", " "), f"{v:,.0f}", f"{run['usd_by_item'][item]:,.0f}")
    t.add_row("total", f"{day['usd_total']:,.0f}", f"{run['usd_total']:,.0f}")
    console.print(t)
    per_m = run["usd_per_million_tokens"]
    console.print(f"per GPU-hour ${day['usd_per_gpu_hour']:.2f} (power and plant ${day['usd_power_per_gpu_hour']:.3f});"
                  f" per million tokens {'-' if per_m is None else f'${per_m:.3f}'}; energy lost to the power floor"
                  f" ${day['usd_floor_energy']:,.0f} a day")
