"""The simulation against Llama 3's 54-day interruption record (arXiv:2407.21783, Sec. 3.3.4).

Llama 3 405B trained on 16,384 H100 for a 54-day snapshot with 466 job
interruptions (47 planned, 419 unexpected) and "higher than 90% effective
training time".

* The *count* is **in-sample**: the default fleet's per-unit rates are that
  log's counts (``failure_rates.toml``), so it checks that the engine composes
  them right (thinning by server state, leaf groups, rack domains, job causes,
  failures during restarts, spares).
* The effective training time is **out of sample**: no constant was fitted on
  it. It follows from the restart phases (MegaScale's, ``restart_profiles.toml``),
  the checkpoint (Llama 3's storage bandwidth) and the interval; Meta gives no
  interval, so the job checkpoints at the Young/Daly optimum (``auto_interval``).

Measured over seeds 2024, 1, 2: 448, 475, 484 interruptions; 90.0%, 89.7%,
89.5% goodput (with a fixed 10-minute interval: 89.1%, 88.6%, 88.5%).
Why the checkpoint interval is what it is: Meta publishes none, and a fixed
interval is a free parameter that would tune the goodput to the 90% checked
here (before auto intervals this golden used a fixed 10 minutes, because 30
fell below its floor: that was fitting). So the job checkpoints at the
Young/Daly optimum for its size and failure rate (``auto_interval``, about
3.5 minutes at ~2.8 h between interruptions), which is fitted on nothing;
``interval_min: 10`` stays only because the spec requires it for the power
model's checkpoint swing (``power/`` reads it), and the test checks that the
simulation used the optimum, not that field.

Tolerances: the count within 12% (a Poisson count of ~466 has a 4.6% standard
deviation; one seed; our fabric has 640 switches for the job where Meta's had
~1,120); the training-time share between 88% and 97%: MegaScale's detection
time ("< 10 min") is taken at its bound, an overestimate for Meta, so up to two
points below Meta's 90% are the restart's uncertainty.
"""

from __future__ import annotations

import numpy as np
import pytest

from colossus import units
from colossus.sim import simulate
from colossus.spec import Scenario, read_yaml, validate
from tests.conftest import SCENARIOS

LLAMA3_INTERRUPTIONS = 466  # Sec. 3.3.4
LLAMA3_UNEXPECTED = 419


@pytest.fixture(scope="module")
def llama3_run():
    doc = read_yaml(SCENARIOS / "colossus-memphis.yaml")
    doc["cluster"]["pools"][0]["num_gpus"] = 16384 + 512  # the job plus ~3% spare servers (assumption)
    doc["power"]["supply"]["grid"]["interim_mw"] = 100.0  # Meta's cluster was not power-limited
    doc["jobs"] = [{
        "name": "llama3-405b", "model": "llama3-405b", "num_gpus": 16384, "pool": None, "layout": None,
        "train_tokens": 1.0e14, "global_batch_tokens": 16 * 2**20, "priority": 10, "start_day": 0,
        "checkpoint": {"interval_min": 10, "asynchronous": True, "auto_interval": True},  # Meta gives no interval
    }]
    doc["simulation"] = {"days": 54, "workload": {"source": "none"},
                         "scheduler": {"hot_spare_frac": 0.03, "elastic_min_frac": 0.9}}
    scenario = validate(Scenario, doc, file="llama3 golden")
    return simulate(scenario, seed=2024)


def test_interruption_count_matches_llama3(llama3_run):
    job = llama3_run.summary["jobs"][0]
    assert job["interruptions"] == pytest.approx(LLAMA3_INTERRUPTIONS, rel=0.12)


def test_the_interval_is_the_young_daly_optimum_not_the_field(llama3_run):
    """The checkpoints come at the optimum's spacing (the reason for the interval, see the module doc)."""
    ev = llama3_run.events
    times = ev["time_s"][(ev["kind"] == "checkpoint") & (ev["job"] == "llama3-405b")]
    gaps = times[1:] - times[:-1]
    typical_min = float(np.median(gaps)) / units.MINUTE
    assert 2.0 < typical_min < 6.0, typical_min  # the optimum (~3.5 min), not interval_min (10)


def test_effective_training_time_matches_llama3(llama3_run):
    job = llama3_run.summary["jobs"][0]
    assert 0.88 <= job["goodput"] <= 0.97
    assert job["start_s"] < units.HOUR

