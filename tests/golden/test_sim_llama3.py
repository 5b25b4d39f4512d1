"""The simulation against Llama 3's 54-day interruption record (arXiv:2407.21783, Sec. 3.3.4).

Llama 3 405B trained on 16,384 H100 for a 54-day snapshot with 466 job
interruptions (47 planned, 419 unexpected) and "higher than 90% effective
training time". The failure rates come from that same log (per GPU, server,
NIC link, switch and job: ``failure_rates.toml``), so the *count* checks that
the engine composes them right (thinning by server state, switch groups, job
causes, spares); the effective training time is a prediction of the restart,
checkpoint and spare mechanics. Meta gives no checkpoint interval; 10 minutes
of asynchronous checkpointing is assumed (with 30 minutes the simulation gives
85-88%, below Meta's figure: the interval matters at this failure rate).
Measured over seeds 2024, 1, 2: 417, 456, 498 interruptions, 91.8%, 90.8%,
90.2% goodput. Tolerances: the count within 12% (a Poisson count of ~466 has
a 4.6% standard deviation; one seed), the training-time share between 88% and
97%.
"""

from __future__ import annotations

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
        "checkpoint": {"interval_min": 10, "asynchronous": True},  # assumption: Meta gives no interval
    }]
    doc["simulation"] = {"days": 54, "workload": {"source": "none"},
                         "scheduler": {"hot_spare_frac": 0.03, "elastic_min_frac": 0.9}}
    scenario = validate(Scenario, doc, file="llama3 golden")
    return simulate(scenario, seed=2024)


def test_interruption_count_matches_llama3(llama3_run):
    job = llama3_run.summary["jobs"][0]
    assert job["interruptions"] == pytest.approx(LLAMA3_INTERRUPTIONS, rel=0.12)


def test_effective_training_time_matches_llama3(llama3_run):
    job = llama3_run.summary["jobs"][0]
    assert 0.88 <= job["goodput"] <= 0.97
    assert job["start_s"] < units.HOUR

