"""``job_perf`` remembers its answers: the same inputs give the same answer at once, other inputs their own."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest

from colossus.perf import jobs
from colossus.spec import Scenario, validate

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from hostile_helpers import tiny_doc  # noqa: E402


@pytest.fixture(scope="module")
def scenario():
    doc = tiny_doc()
    doc["jobs"][0]["layout"] = None  # planned: the slow answer worth remembering
    return validate(Scenario, doc)


def test_what_the_answer_does_not_read_does_not_ask_again(scenario, monkeypatch):
    job = scenario.jobs[0]
    first = jobs.job_perf(scenario.cluster, job)
    calls = []
    monkeypatch.setattr(jobs, "_job_perf", lambda *a, **k: calls.append(a) or first)
    again = jobs.job_perf(scenario.cluster, job.model_copy(update={"throughput_scale": 0.8, "train_tokens": 1e12,
                                                                   "priority": 3}))
    assert again is first and calls == []


def test_what_it_reads_asks_again_and_the_answer_is_the_fresh_one(scenario):
    job = scenario.jobs[0]
    half = job.model_copy(update={"num_gpus": job.num_gpus // 2})
    remembered = jobs.job_perf(scenario.cluster, half)
    fresh = jobs._job_perf(scenario.cluster, half, assumptions=None)
    assert remembered is not jobs.job_perf(scenario.cluster, job)
    assert remembered.estimate.layout == fresh.estimate.layout
    assert remembered.estimate.step_time_s == fresh.estimate.step_time_s
    other_fabric = scenario.cluster.model_copy(
        update={"fabric": scenario.cluster.fabric.model_copy(update={"nic_gbit_per_s": 200.0})})
    slower = jobs.job_perf(other_fabric, job).estimate.step_time_s
    assert slower > jobs.job_perf(scenario.cluster, job).estimate.step_time_s


def test_the_memo_is_bounded(scenario, monkeypatch):
    monkeypatch.setattr(jobs, "MEMO_SIZE", 2)
    job = scenario.jobs[0]
    for n in (64, 128, 256):
        jobs.job_perf(scenario.cluster, job.model_copy(update={"num_gpus": n}))
    assert len(jobs._memo) <= 2
