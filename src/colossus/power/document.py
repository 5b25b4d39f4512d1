"""The JSON document of a power analysis: every figure with the inputs it came from."""

from __future__ import annotations

from typing import Any

from colossus import units
from colossus.power.analysis import (
    REPORTED_GPU_PREFIX,
    REPORTED_GPUS_W,
    REPORTED_NUM_GPUS,
    REPORTED_SITE_W,
    PowerAnalysis,
    reported_applies,
)
from colossus.power.demand import LoadPoint, SiteDemand, load_fractions
from colossus.power.dispatch import commitment_document
from colossus.power.supply import supply_document


def _point_document(d: SiteDemand) -> dict[str, Any]:
    pools = []
    for p in d.pools:
        per_rack = (p.it_w - p.off_servers_w + p.cdus_w) / p.num_racks if p.num_racks else 0.0
        pools.append({"name": p.name, "num_servers_on": p.num_servers_on, "num_racks": p.num_racks,
                      **{f"{k}_w": v for k, v in p.parts_w.items()}, "psu_loss_w": p.psu_loss_w,
                      "mgmt_switches_w": p.mgmt_switches_w, "off_servers_w": p.off_servers_w, "cdus_w": p.cdus_w,
                      "mean_rack_w": per_rack})
    f = d.facility
    return {
        "gpus_w": d.gpus_w,
        "pools": pools,
        "fabric_switches_w": dict(d.switches_w),
        "optics_w": d.optics_w,
        "storage_w": d.storage_w,
        "conversion_losses_w": {"server_psus": sum(p.psu_loss_w for p in d.pools),
                                "distribution": f.distribution_loss_w},
        "cooling_w": {"cdus": f.cdus_w, "facility_pumps": f.pumps_w, "air_handling": f.air_w,
                      "heat_rejection": f.heat_rejection_w, "total": f.cooling_w},
        "misc_w": f.misc_w,
        "it_w": d.it_w,
        "site_w": d.site_w,
        "pue": d.pue,
        "mean_rack_w": d.site_w / d.num_racks,
    }


def _demand_document(an: PowerAnalysis) -> dict[str, Any]:
    training, nameplate = an.demand[LoadPoint.TRAINING], an.demand[LoadPoint.NAMEPLATE]
    pool = an.scenario.cluster.pools[0]
    return {
        "gpus_w": training.gpus_w,
        "site_w": training.site_w,
        "site_nameplate_w": nameplate.site_w,
        "gpus_nameplate_w": nameplate.gpus_w,
        "site_idle_w": an.demand[LoadPoint.IDLE].site_w,
        "points": {pt.value: _point_document(d) for pt, d in an.demand.items()},
        "reported": _reported(an, training, nameplate),
        "inputs": {
            "training_gpu_w": "mean GPU draw over the job's step at the default limit (profile x cap curve)",
            "training_gpu_w_value": training.gpus_w / an.inventory.num_gpus,
            "num_gpus": an.inventory.num_gpus,
            "server": pool.server.name, "psu_efficiency": pool.server.psu_efficiency, "rack": pool.rack.name,
            "switch": an.scenario.cluster.fabric.switch.name,
            "num_switches_per_tier": {str(t.level): t.num_switches for t in an.inventory.fabric.tiers},
            "optical_modules": an.inventory.fabric.switch_side_optics + an.inventory.fabric.nic_side_optics,
            "storage_capacity_pb": an.scenario.storage.capacity_pb,
            "storage_w_per_pb": an.assumptions.f("load.storage.w_per_pb"),
            "cooling": an.scenario.power.cooling.model_dump(mode="json"),
            "load_fractions": {pt.value: _fractions(an, pt) for pt in LoadPoint},
        },
    }


def _reported(an: PowerAnalysis, training: SiteDemand, nameplate: SiteDemand) -> dict[str, Any]:
    """The reports' 70 MW / 150 MW against ours, only for the cluster they describe (100,000 H100)."""
    if not reported_applies(an.scenario):
        pools = ", ".join(f"{p.num_gpus:,} {p.gpu.name}" for p in an.scenario.cluster.pools)
        return {"applies": False,
                "why_not": f"the reports' ~70 MW of GPUs and >= 150 MW site describe {REPORTED_NUM_GPUS:,}"
                           f" {REPORTED_GPU_PREFIX.upper()}; this cluster is {pools}"}
    return {
        "applies": True, "gpus_w": REPORTED_GPUS_W, "site_w": REPORTED_SITE_W,
        "gpus_ratio": nameplate.gpus_w / REPORTED_GPUS_W,
        "site_training_ratio": training.site_w / REPORTED_SITE_W,
        "site_nameplate_ratio": nameplate.site_w / REPORTED_SITE_W,
    }


def _fractions(an: PowerAnalysis, point: LoadPoint) -> dict[str, Any]:
    fr = load_fractions(point, an.assumptions)
    return {k: getattr(fr, k) for k in fr.__slots__}


def _deficit_document(an: PowerAnalysis) -> dict[str, Any]:
    d, c, jp = an.deficit, an.deficit.chosen, an.job_power
    for_job = d.supply_w - jp.base_w
    return {
        "base_load_w": jp.base_w,
        "base_load_is": "the site with none of the job's GPUs running: fabric, storage, rack management, standby of"
                        " powered-down servers, with their cooling and losses (idle servers stay on unless"
                        " events.deficit.unused_servers_off)",
        "supply_for_job_w": for_job,
        "job_w_per_gpu_at_tdp": jp.fixed_w_per_gpu + jp.gain * float(an.table.mean_gpu_w[-1]),
        "battery_bridge_s": an.battery_bridge_s,
        "strategy": c.strategy,
        "gpu_cap_w": c.gpu_cap_w,
        "num_gpus_running": c.num_gpus_running,
        "num_replicas_running": c.num_replicas_running,
        "throughput_kept_frac": c.throughput_kept_frac,
        "site_w": c.site_w,
        "supply_w": d.supply_w,
        "supply_from": "--supply-mw" if an.supply_overridden else "supply.firm_w",
        "job_demand_w": d.demand_w,
        "deficit_w": d.deficit_w,
        "options": {k: (v.as_dict() if v else None) for k, v in d.options.items()},
        "inputs": {
            "job": an.profile.as_dict(),
            "pool": an.job_pool,
            "site_w_formula": "base_w + num_gpus_running x (fixed_w_per_gpu + gain x mean_gpu_w)",
            "base_w": jp.base_w, "fixed_w_per_gpu": jp.fixed_w_per_gpu, "gain": jp.gain,
            "cap_curve": {k: getattr(an.curve, k) for k in an.curve.__slots__},
            "cap_curve_source": an.assumptions.get("capping.curve.source"),
            "cap_range_w": [float(an.table.caps_w[0]), float(an.table.caps_w[-1])],
            "unused_servers_off": an.assumptions.get("events.deficit.unused_servers_off"),
        },
    }


def _swings_document(an: PowerAnalysis) -> dict[str, Any]:
    a = an.assumptions
    m = an.swings.metrics
    return {
        **m,
        "battery_w": m["battery_peak_w"],
        "generators_can_follow": m["limits"]["generators_can_follow"],
        "inputs": {
            **m["inputs"],
            "follower": ("the on-site generators (the grid feeder held flat); what they cannot follow lands on the grid"
                         if m["limits"]["generators_take_the_swing"] else "the grid (no generators run at this point)"),
            "generator_ramp_w_per_s": an.supply.generator_ramp_w_per_s,
            "power_step_s": a.f("events.swings.power_step_s"),
            # with auto_interval the interval is the Young/Daly optimum the simulation and `colossus reliability`
            # compute for the job's size; the swing metrics do not depend on it, so it is not stated here
            "checkpoint_interval_s": None if an.job.checkpoint.auto_interval
            else an.job.checkpoint.interval_min * units.MINUTE,
            "checkpoint_interval_auto": an.job.checkpoint.auto_interval,
            "failure_restart_s": a.f("events.swings.failure_restart_s"),
            "failures_per_day": a.f("events.swings.failures_per_gpu_day") * an.deficit.chosen.num_gpus_running,
            "cooling_follows_swings": a.get("events.swings.cooling_follows_swings"),
            "options": an.scenario.power.swings.model_dump(mode="json"),
        },
    }


def _environment_document(an: PowerAnalysis) -> dict[str, Any]:
    tokens = an.run_tokens
    return {
        "per_day": an.day.as_dict(),
        "run": {**an.run.as_dict(), "days": an.run.duration_s / units.DAY, "tokens": tokens,
                "energy_per_token_j": an.run.energy_j / tokens if tokens else None},
        "inputs": {
            "dispatch": "power.dispatch.commit at the operating point: merit order, minimum load, N-1 reserve,"
                        " part-load heat rate",
            "grid_co2_kg_per_mwh": an.scenario.power.supply.grid.co2_kg_per_mwh,
            "grid_nox_g_per_kwh": an.assumptions.f("environment.grid.nox_g_per_kwh"),
            "gas_m3_per_mmbtu": an.assumptions.f("environment.gas.m3_per_mmbtu"),
            "wue_l_per_kwh": an.scenario.power.cooling.wue_l_per_kwh,
            "generators": [{"name": f.name, "unit": f.unit,
                            "heat_rate_btu_per_kwh": f.heat_rate_j_per_j * units.KWH / units.BTU,
                            "nox_g_per_kwh": f.nox_kg_per_j * 1e3 * units.KWH,
                            "co2_kg_per_mmbtu": f.co2_kg_per_j_fuel * units.MMBTU} for f in an.supply.fleets],
            "operating_point": "the deficit response's chosen site power, held all day",
        },
    }


def power_document(an: PowerAnalysis) -> dict[str, Any]:
    """The analysis as one JSON-ready document (SI units; unit in every key)."""
    return {
        "scenario": an.scenario.name,
        "demand": _demand_document(an),
        "supply": supply_document(an.supply),
        "deficit": _deficit_document(an),
        "dispatch": commitment_document(an.plant, an.commitment),
        "swings": _swings_document(an),
        "environment": _environment_document(an),
        "cost": {"per_day": an.cost_day, "run": an.cost_run, "prices": an.prices.as_dict()},
        "notes": an.notes,
    }
