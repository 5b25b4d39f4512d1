"""Fleet profiles: fitted from their published counts, carried to any job, and their spread."""

from __future__ import annotations

import math

import numpy as np
import pytest

from colossus import reliability as rel
from colossus.errors import SpecError
from colossus.reliability.fleets import expected_count


@pytest.mark.parametrize("name", rel.fleet_names())
def test_every_fleet_is_sourced_and_names_its_record(name):
    f = rel.fleet(name)
    assert f.source.strip() and f.record.strip() and f.gpu.strip()
    assert rel.restart_profile(f.restart).name == f.restart
    assert any(c.domain for c in f.causes)  # the facility's rack domains come with every fleet


@pytest.mark.parametrize("name", rel.fleet_names())
def test_each_fit_reproduces_its_own_count(name):
    """In-sample by construction: a fleet's multiplier makes its rates give the count it was fitted on."""
    f = rel.fleet(name)
    log_only = tuple(c for c in f.causes if not c.domain)
    for o in f.observations:
        got = expected_count(log_only, o.select, rel.reference_footprint(o.num_gpus), o.days)
        assert got == pytest.approx(o.count, rel=1e-9)


def test_rest_same_scales_every_cause_and_rest_base_keeps_the_log():
    opt = {c.name: c.per_unit_per_s for c in rel.fleet("opt175b-a100").causes}
    bloom = {c.name: c.per_unit_per_s for c in rel.fleet("bloom-a100").causes}
    base = {c.name: c.per_unit_per_s for c in rel.for_generation(rel.log_causes(), "hopper", "ampere")}
    m = rel.fleet("opt175b-a100").observations[0].multiplier
    assert opt["software_bug"] == pytest.approx(m * base["software_bug"])  # rest = "same"
    assert bloom["software_bug"] == pytest.approx(base["software_bug"])  # rest = "base"
    assert bloom["faulty_gpu"] == pytest.approx(rel.fleet("bloom-a100").observations[0].multiplier * base["faulty_gpu"])


def test_the_default_fleet_is_llama3_and_is_the_catalog_causes():
    assert rel.default_fleet_name() == "llama3-h100"
    assert rel.fleet_causes() == rel.catalog_causes()


def test_unknown_fleet_names_the_closest():
    with pytest.raises(SpecError, match="did you mean 'opt175b-a100'"):
        rel.fleet("opt175-a100")


def test_domain_overrides_replace_a_rack_rate():
    causes = rel.fleet_causes(domain_per_rack_per_year={"rack_power": 1.0})
    power = next(c for c in causes if c.name == "rack_power")
    assert power.per_unit_per_s == pytest.approx(1.0 / (365.25 * 86400))
    with pytest.raises(SpecError, match="rack_cooling"):
        rel.fleet_causes(domain_per_rack_per_year={"rack_coolin": 1.0})


def test_spread_between_fleets_is_data_a_forecast_can_sample():
    s = rel.fleet_spread()
    assert s.reference == "llama3-h100" and s.multipliers["llama3-h100"] == pytest.approx(1.0)
    assert set(s.multipliers) == set(rel.fleet_names())
    assert s.log_sd == pytest.approx(float(np.std(np.log(list(s.multipliers.values())), ddof=1)))
    assert 1.5 < s.factor_1sd < 5  # published fleets differ by factors, not per cents
    a = rel.sample_rate_multipliers(np.random.default_rng(1), 20_000)
    b = rel.sample_rate_multipliers(np.random.default_rng(1), 20_000)
    assert np.array_equal(a, b) and (a > 0).all()
    assert np.median(a) == pytest.approx(1.0, rel=0.03)
    assert float(np.std(np.log(a))) == pytest.approx(s.log_sd, rel=0.03)
    assert len(rel.alternative_fleets()) == len(rel.fleet_names())


def test_fleet_document_carries_mtti_and_sources():
    doc = rel.fleet_document("bloom-a100")
    assert doc["record"] == "bloom176b" and doc["fitted_on"][0]["multiplier"] > 0
    assert doc["mtti_s_at_1024_gpus"] > doc["mtti_s_at_16384_gpus"] > doc["mtti_s_at_100000_gpus"]
    assert all(math.isfinite(v) for k, v in doc.items() if k.startswith("mt"))
