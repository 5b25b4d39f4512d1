"""Small scenarios for simulation tests, built from the default scenario's YAML."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np

from colossus.sim.cluster import NOT_INSTALLED
from colossus.sim.engine import Engine
from colossus.sim.jobs import RUNNING
from colossus.spec import Scenario, read_yaml, validate

ROOT = Path(__file__).resolve().parents[2]
MEMPHIS = ROOT / "scenarios" / "colossus-memphis.yaml"


def small_doc(*, gpus: int = 4096, job_gpus: int = 1024, days: float = 5.0) -> dict[str, Any]:
    """The default scenario shrunk: one pool of ``gpus``, an 8B job of ``job_gpus``, synthetic fillers."""
    doc = copy.deepcopy(read_yaml(MEMPHIS))
    doc["cluster"]["pools"][0]["num_gpus"] = gpus
    doc["cluster"]["fabric"]["tiers"] = 2
    doc["cluster"]["fabric"]["oversubscription"] = [1.0]
    doc["power"]["supply"]["generators"][0]["count"] = 2
    doc["power"]["supply"]["grid"]["interim_mw"] = 1.0
    job = doc["jobs"][0]
    job.update({"model": "llama3-8b", "num_gpus": job_gpus, "train_tokens": 2.0e11, "global_batch_tokens": 4.0e6})
    doc["simulation"] = {
        "days": days,
        "buildout": [{"pool": "h100-phase1", "start_day": 0, "ramp_days": 1, "burn_in_days": 0.5}],
        "failures": {"rate_scale": 20.0},
        "workload": {"source": "synthetic", "arrivals_per_day": 200, "max_job_gpus": 256},
    }
    return doc


def scenario(doc: dict[str, Any]) -> Scenario:
    return validate(Scenario, doc, file="test scenario")


class CheckedEngine(Engine):
    """An engine that checks the state invariants after every event time."""

    checks = 0
    _not_installed_before = 10**12

    def _record(self, t: float) -> None:
        super()._record(t)
        st = self.state
        # counts kept in step with the state array
        for p in range(self.layout.num_pools):
            lo, hi = self.layout.pool_start[p], self.layout.pool_end[p]
            assert (np.bincount(st.state[lo:hi], minlength=6) == st.counts[p]).all()
        # every running job holds only busy servers it owns, and never more than it asked for
        running = [job for job in self.jobs if job.status == RUNNING]
        if running:  # all running jobs at once (one numpy pass, not four per job)
            sizes = np.array([job.servers.size for job in running])
            servers = np.concatenate([job.servers for job in running])
            assert (st.state[servers] == 4 - 1).all()  # BUSY
            assert (st.owner[servers] == np.repeat([job.idx for job in running], sizes)).all()
            assert (sizes <= np.array([job.want_servers for job in running])).all()
            gpus = self.layout.gpus_per_server[self.layout.pool_of[servers]]
            starts = np.concatenate(([0], np.cumsum(sizes)[:-1]))
            held = np.add.reduceat(gpus, starts) if servers.size else np.zeros(len(running))
            assert (held[sizes > 0] == np.array([job.num_gpus for job in running])[sizes > 0]).all()
            assert all(job.num_gpus == 0 for job, n in zip(running, sizes) if n == 0)
        assert ((st.owner >= 0) == (st.state == 3)).all()
        # the build-out only adds servers: none goes back to not installed
        not_installed = int(st.counts[:, NOT_INSTALLED].sum())
        assert not_installed <= self._not_installed_before
        self._not_installed_before = not_installed
        # power balance at this instant: sources = use + battery charge
        c = self.cur
        supplied = c["grid_w"] + c["generators_w"] + c["battery_discharge_w"] + c["unserved_w"]
        assert abs(supplied - c["demand_w"] - c["battery_charge_w"] - c["dumped_w"]) <= 1e-6 * max(1.0, supplied)
        # the response keeps the served site within what the plant can deliver now
        assert c["demand_w"] <= c["supply_available_w"] * (1 + 1e-9) + 1e-6, (t, c["demand_w"], c["supply_available_w"])
        type(self).checks += 1
