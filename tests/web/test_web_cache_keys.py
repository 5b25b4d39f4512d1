"""The dashboard's analysis cache is keyed on every part of a scenario an analysis reads: a change there is a
new answer, never a stale one."""

from __future__ import annotations

from pathlib import Path

from colossus.spec import load_scenario
from colossus.web.analyses import cache_key

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def test_the_reliability_answer_changes_with_the_fleet_and_the_build_out():
    sc = load_scenario(SCENARIOS / "colossus-memphis.yaml")
    other_fleet = sc.model_copy(update={"reliability": sc.reliability.model_copy(update={"rate_scale": 2.0})})
    later = sc.model_copy(update={"simulation": sc.simulation.model_copy(update={"days": sc.simulation.days + 1})})
    key = cache_key("reliability", sc, ("grok2", 0, None))
    assert cache_key("reliability", other_fleet, ("grok2", 0, None)) != key
    assert cache_key("reliability", later, ("grok2", 0, None)) != key
    assert cache_key("reliability", sc, ("grok2", 0, None)) == key
