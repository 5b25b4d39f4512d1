"""The scenario's reliability block and the job's checkpoint fields."""

from __future__ import annotations

import copy

import pytest

from colossus import reliability as rel
from colossus.errors import SpecError
from colossus.reliability.scenario import pick_job, scenario_job_input, scenario_restart_profile
from colossus.spec import Scenario, read_yaml, validate
from tests.conftest import SCENARIOS


def _doc():
    return copy.deepcopy(read_yaml(SCENARIOS / "colossus-memphis.yaml"))


def test_default_block_is_the_default_fleet():
    sc = validate(Scenario, _doc(), file="t")
    assert sc.reliability.fleet in (None, "llama3-h100")
    assert scenario_restart_profile(sc).name == rel.fleet(rel.default_fleet_name()).restart


def test_fleet_restart_phases_and_domains_reach_the_job():
    doc = _doc()
    doc["reliability"] = {"fleet": "opt175b-a100", "rate_scale": 2.0,
                          "restart": {"profile": "megascale", "detect_s": 30, "warmup_s": 10},
                          "domains": {"per_rack_per_year": {"rack_cooling": 0.5}}}
    doc["jobs"][0]["checkpoint"].update({"auto_interval": True, "in_memory": True})
    sc = validate(Scenario, doc, file="t")
    job, _ = scenario_job_input(sc, pick_job(sc, "grok2"), tokens_per_s=1e6)
    assert job.fleet == "opt175b-a100" and job.rate_scale == 2.0 and job.interval_s is None and job.in_memory
    an = rel.analyse(job)
    assert an.restart.detect_s == 30 and an.restart.warmup_s == 10 and an.restart.schedule_s == 120
    assert an.checkpoint.mode == "in_memory" and an.interval_s == an.optimal_interval_s
    cooling = next(r for r in an.rates if r.cause.name == "rack_cooling")
    assert cooling.per_s == pytest.approx(2.0 * 0.5 / (365.25 * 86400) * an.footprint.num_racks)


@pytest.mark.parametrize(("where", "value", "match"), [
    (("reliability", "fleet"), "llama3", "did you mean 'llama3-h100'"),
    (("reliability", "restart", "profile"), "megascal", "did you mean 'megascale'"),
    (("reliability", "restart", "detect_min"), 5, "unknown field"),
    (("reliability", "domains", "per_rack_per_year"), {"rack_pwr": 1.0}, "did you mean 'rack_power'"),
    (("reliability", "rate_scale"), -1, "must be >= 0"),
    (("jobs", 0, "checkpoint", "in_memory"), True, None),
])
def test_bad_blocks_name_the_field(where, value, match):
    doc = _doc()
    node = doc
    for key in where[:-1]:
        node = node.setdefault(key, {}) if isinstance(key, str) else node[key]
    node[where[-1]] = value
    if match is None:  # in-memory with blocking checkpoints
        doc["jobs"][0]["checkpoint"]["asynchronous"] = False
        match = "asynchronous"
    with pytest.raises(SpecError, match=match) as info:
        validate(Scenario, doc, file="bad.yaml")
    assert "bad.yaml" in str(info.value)
