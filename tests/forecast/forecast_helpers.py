"""Small scenarios for forecast tests, built from the default scenario's YAML."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

from colossus.spec import Scenario, read_yaml, validate

ROOT = Path(__file__).resolve().parents[2]
MEMPHIS = ROOT / "scenarios" / "colossus-memphis.yaml"
DAY = 86400.0


def tiny_doc(*, rate_scale: float = 1.0, restart_min: float = 20.0, train_tokens: float = 4.0e10,
             interval_min: float = 5.0) -> dict[str, Any]:
    """A job of 256 H100 in a pool of 1,024 (plenty of spares): no build-out, no fillers, a grid far larger
    than the site (constant power, no generators), a fixed layout (no planner search), checkpoints every
    ``interval_min``, restarts of ``restart_min`` minutes, no rack domains, nothing else uncertain."""
    doc = copy.deepcopy(read_yaml(MEMPHIS))
    pool = doc["cluster"]["pools"][0]
    pool["num_gpus"] = 1024
    doc["cluster"]["fabric"].update({"tiers": 2, "oversubscription": [1.0]})
    doc["power"]["supply"]["grid"].update({"interim_mw": 1000, "contract_mw": 1000, "contract_start_day": None})
    doc["power"]["supply"].update({"generators": [], "batteries": [], "permits": []})
    doc["power"].get("dispatch", {}).pop("merit_order", None)
    job = doc["jobs"][0]
    job.update({"model": "llama3-8b", "num_gpus": 256, "train_tokens": train_tokens, "global_batch_tokens": 4.0e6,
                "layout": {"tp": 1, "pp": 1, "dp": 256, "global_batch": 512, "micro_batch": 2},
                "checkpoint": {"interval_min": interval_min, "asynchronous": True}})
    phases = restart_min * 60.0
    doc["reliability"] = {"fleet": "llama3-h100", "rate_scale": rate_scale,
                          "restart": {"profile": "megascale", "detect_s": phases, "schedule_s": 0.0,
                                      "process_start_s": 0.0, "init_s": 0.0, "load_s": 0.0, "warmup_s": 0.0},
                          "domains": {"per_rack_per_year": {"rack_power": 0.0, "rack_cooling": 0.0},
                                      "feeder_shedding": False}}
    doc["simulation"] = {"days": 10, "telemetry_interval_min": 60, "buildout": [],
                         "failures": {"rate_scale": 1.0, "burn_in_rate_multiplier": 1.0},
                         "scheduler": {"hot_spare_frac": 0.1, "elastic_min_frac": 1.0},
                         "workload": {"source": "none"}}
    doc["forecast"] = {"step_time_error": "none", "failure_rate_spread": "none"}
    return doc


def tiny(**kwargs: Any) -> Scenario:
    return validate(Scenario, tiny_doc(**kwargs), file="tiny scenario")
