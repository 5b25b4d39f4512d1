"""Correlated failure domains in the simulation: a rack, a leaf switch, a feeder shed at a generator trip."""

from __future__ import annotations

import numpy as np
import pytest
from sim_helpers import CheckedEngine, scenario, small_doc

from colossus.sim.engine import Engine


class Watched(Engine):
    """Records, for every domain failure, the jobs owning its servers and the jobs it interrupted."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.seen: list[tuple[str, set[int], set[int]]] = []
        self._hit: set[int] | None = None

    def _take_out(self, t, servers, repair_s, domain, cause):
        owners = {int(o) for o in self.state.owner[servers] if o >= 0}
        self._hit = set()
        super()._take_out(t, servers, repair_s, domain, cause)
        self.seen.append((domain, owners, self._hit))
        self._hit = None

    def _interrupt(self, job, t, **kwargs):
        if self._hit is not None:
            self._hit.add(job.idx)
        super()._interrupt(job, t, **kwargs)


def _rack_doc(days: float = 3.0) -> dict:
    doc = small_doc(days=days)
    doc["simulation"]["failures"]["rate_scale"] = 1.0
    doc["reliability"] = {"domains": {"per_rack_per_year": {"rack_power": 40.0, "rack_cooling": 0.0}}}
    return doc


def test_a_rack_failure_interrupts_exactly_the_jobs_on_that_rack():
    eng = Watched(scenario(_rack_doc()), seed=11)
    r = eng.run()
    racks = [(d, owners, hit) for d, owners, hit in eng.seen if d.startswith("rack ")]
    assert len(racks) > 5
    assert any(owners for _, owners, _ in racks), "some rack failure must hit a running job"
    for domain, owners, hit in racks:
        assert hit == owners, domain
    ev = r.events
    kinds = np.asarray(ev["kind"])
    details = np.asarray(ev["detail"])
    domain_rows = np.flatnonzero((kinds == "domain_failure") & np.char.startswith(details.astype(str), "rack "))
    assert domain_rows.size == len(racks)
    # every job interrupted by a rack says which rack it was, at the same instant
    for i in domain_rows:
        hits = (kinds == "interrupt") & (details == details[i]) & (np.asarray(ev["time_s"]) == ev["time_s"][i])
        named = [n for n in str(ev["job"][i]).split(",") if n]
        assert set(named) <= set(np.asarray(ev["job"])[hits])


def test_rack_servers_go_to_repair_together_and_come_back():
    eng = CheckedEngine(scenario(_rack_doc(days=2.0)), seed=4)
    r = eng.run()
    done = np.asarray(r.events["detail"])[np.asarray(r.events["kind"]) == "repair_done"]
    assert any(str(d).endswith(" servers") for d in done), "a rack's servers are repaired as one"


def test_leaf_switch_failures_log_their_domain_and_hit_exactly_the_jobs_below():
    doc = small_doc(days=2.0)
    doc["simulation"]["failures"]["rate_scale"] = 200.0
    eng = Engine(scenario(doc), seed=2)
    r = eng.run()
    kinds = np.asarray(r.events["kind"])
    leaf = [str(d) for d, k in zip(r.events["detail"], kinds) if k == "domain_failure" and str(d).startswith("leaf ")]
    assert leaf and all(": " in d for d in leaf)


def test_a_generator_trip_the_supply_cannot_carry_sheds_racks():
    doc = small_doc(days=2.0)
    doc["power"]["supply"]["generators"] = [{"unit": {"name": "gas-recip-2500kw", "availability": 0.6}, "count": 3}]
    doc["power"]["supply"]["grid"]["interim_mw"] = 0.5
    eng = Watched(scenario(doc), seed=3)
    r = eng.run()
    feeders = [(d, owners, hit) for d, owners, hit in eng.seen if d.startswith("feeder")]
    assert feeders, "a trip at full load with no battery must shed"
    for domain, owners, hit in feeders:
        assert hit == owners, domain
    assert "feeder" in r.summary["failures"]["by_cause"]
    doc["reliability"] = {"domains": {"feeder_shedding": False}}
    off = Watched(scenario(doc), seed=3)
    off.run()
    assert not [d for d, _, _ in off.seen if d.startswith("feeder")]


@pytest.mark.parametrize("in_memory", [False, True])
def test_in_memory_jobs_fall_back_to_storage_on_a_rack_failure(in_memory):
    doc = _rack_doc(days=3.0)
    doc["jobs"][0]["checkpoint"].update({"in_memory": in_memory, "auto_interval": True})
    eng = Engine(scenario(doc), seed=11)
    r = eng.run()
    job = r.summary["jobs"][0]
    assert job["interruptions"] > 0
    named = eng.jobs[0]
    assert (named.persist_every > 0) == in_memory


def test_the_report_shows_the_domains():
    from colossus.report import build_figures  # noqa: PLC0415

    r = Engine(scenario(_rack_doc(days=2.0)), seed=11).run()
    fig = build_figures(r)["failure_domains"]
    shown = sum(len(t.x) for t in fig.data)
    assert shown == int(np.sum(np.asarray(r.events["kind"]) == "domain_failure"))
    assert any(t.name.startswith("rack_power") for t in fig.data)
