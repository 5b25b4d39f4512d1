"""One answer per question: the closed form, the Monte Carlo and the simulation agree where they overlap.

The overlap is a scenario job with nothing but failures between it and its
token budget: its pool holds the job plus 3% spare servers, no build-out, no
filler jobs, a grid far larger than the site, no elastic restarts. There the
three models describe the same process (the fleet's rates on the job's
footprint, the same checkpoint, restart phases and interval) and must agree:

* Monte Carlo mean vs closed form: within 2% (200 histories; the standard error
  of the mean is a few tenths of a per cent, the rest allows for the closed
  form's first-order treatment of planned interruptions and async lag);
* one simulated history vs the closed form: within three standard deviations
  of one history's finish time (taken from the Monte Carlo's own spread) plus
  3% for what only the simulation has: the first start's set-up, leaf-switch
  failures that hit a rail group rather than the job's own switches, and
  servers that wait for repair when the spares run out.

Both shipped scenarios are checked, each with its own flagship job.
"""

from __future__ import annotations

import copy

import numpy as np
import pytest

from colossus import reliability as rel
from colossus.reliability.scenario import scenario_job_input
from colossus.sim import simulate
from colossus.spec import Scenario, read_yaml, validate
from tests.conftest import SCENARIOS

DAY = 86400.0


def overlap(name: str, spare_frac: float = 0.03) -> Scenario:
    doc = copy.deepcopy(read_yaml(SCENARIOS / name))
    job = doc["jobs"][0]
    doc["jobs"] = [job]
    pool = doc["cluster"]["pools"][0]
    pool["num_gpus"] = int(job["num_gpus"] * (1 + spare_frac)) // 64 * 64
    doc["cluster"]["pools"] = [pool]
    job.update({"pool": pool["name"], "start_day": 0})
    doc["power"]["supply"]["grid"].update({"interim_mw": 1000, "contract_mw": 1000})
    doc["power"]["supply"].update({"generators": [], "batteries": [], "permits": []})
    doc["power"].get("dispatch", {}).pop("merit_order", None)  # it named the generators removed above
    doc["simulation"].update({"buildout": [], "workload": {"source": "none"}, "days": 40,
                              "scheduler": {"hot_spare_frac": 0.0, "elastic_min_frac": 1.0}})
    return validate(Scenario, doc, file=name)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["colossus-memphis.yaml", "colossus-200k.yaml"])
def test_closed_form_monte_carlo_and_simulation_agree(name):
    sc = overlap(name)
    job, _ = scenario_job_input(sc, sc.jobs[0])
    an = rel.analyse(job)
    closed_s = an.goodput.expected_finish_s
    mc = rel.simulate_job(an, num_runs=200, rng=np.random.default_rng(sc.seed))
    assert mc.finish_s.mean() == pytest.approx(closed_s, rel=0.02)
    spread = float(mc.finish_s.std()) / closed_s
    result = simulate(sc)
    sim = result.summary["jobs"][0]
    assert sim["finished_at_s"] is not None
    assert sim["finished_at_s"] == pytest.approx(closed_s, rel=3 * spread + 0.03)
    assert sim["goodput"] == pytest.approx(an.goodput.ettr, rel=3 * spread + 0.03)
