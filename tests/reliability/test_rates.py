"""Per-unit rates: each cause charged to the unit it lives in, scaled by what the job spans."""

from __future__ import annotations

import math

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus import reliability as rel
from colossus.errors import SpecError


def test_log_rates_reproduce_the_log_on_the_calibration_footprint():
    """In-sample by construction: the rates are Llama 3's counts over its own exposure."""
    rates = rel.job_rates(rel.calibration_footprint(), rel.log_causes())
    assert rel.total_per_s(rates) * 54 * 86400 == pytest.approx(466)
    assert rel.total_per_s(rates, planned=False) * 54 * 86400 == pytest.approx(419)


def test_rack_domains_are_small_next_to_the_log():
    """The rack domains are assumptions on top of the log: at Meta's dense racks (two servers
    each) they add a few per cent, at Colossus' eight-server racks about one."""
    meta = rel.job_rates(rel.calibration_footprint(), rel.domain_causes())
    added = rel.total_per_s(meta) * 54 * 86400
    assert 0 < added < 0.03 * 466


def test_every_cause_has_a_known_group_and_positive_rate():
    for cause in rel.catalog_causes():
        assert cause.cause in rel.CAUSES and cause.per in ("gpu", "server", "nic_link", "switch", "rack", "job")
        assert cause.per_unit_per_s > 0
        assert cause.repair_s >= 0
        assert not (cause.planned and cause.needs_spare)


def test_causes_are_charged_to_the_unit_they_live_in():
    by_name = {c.name: c for c in rel.catalog_causes()}
    assert by_name["planned_maintenance"].per == "server" and by_name["host_maintenance"].per == "server"
    assert by_name["software_bug"].per == "server" and by_name["dependency"].per == "job"
    assert by_name["rack_power"].per == "rack" and by_name["rack_power"].domain


def test_a_small_job_is_not_interrupted_like_a_flagship():
    """Issue 12: with maintenance charged per job, an 8-GPU job was interrupted every 26 h."""
    small = rel.job_rates(rel.reference_footprint(8))
    big = rel.job_rates(rel.reference_footprint(16384))
    assert rel.mtti_s(small) > 20 * 86400  # weeks, not a day
    per_day_small = rel.by_cause_per_day(small)
    per_day_big = rel.by_cause_per_day(big)
    assert per_day_big["maintenance"] == pytest.approx(2048 * per_day_small["maintenance"])


def test_rates_scale_linearly_with_the_job(make_job):
    small = rel.analyse(make_job(num_gpus=4096))
    big = rel.analyse(make_job(num_gpus=16384))
    by_small, by_big = rel.by_cause_per_day(small.rates), rel.by_cause_per_day(big.rates)
    for cause in ("gpu", "hbm", "nvlink", "nic_cable", "host", "network", "maintenance", "rack"):
        assert by_big[cause] == pytest.approx(4 * by_small[cause])
    assert 1 < by_big["software"] / by_small["software"] < 4  # per node, plus a per-job dependency
    assert by_big["switch"] > by_small["switch"]
    assert big.mtti_s < small.mtti_s


@settings(max_examples=30, deadline=None)
@given(n=st.integers(1, 200_000))
def test_mtti_and_mttf_for_any_size(n):
    rates = rel.job_rates(rel.reference_footprint(n))
    assert 0 < rel.mtti_s(rates) <= rel.mttf_unplanned_s(rates) < math.inf
    bigger = rel.job_rates(rel.reference_footprint(2 * n))
    assert rel.mttf_unplanned_s(bigger) < rel.mttf_unplanned_s(rates)


def test_hbm_carries_over_between_generations_by_delta_ratio():
    """Delta (arXiv:2503.11901): H100's memory MTBE is 3.2x lower than A100's."""
    hopper = {c.name: c.per_unit_per_s for c in rel.log_causes()}
    ampere = {c.name: c.per_unit_per_s for c in rel.for_generation(rel.log_causes(), "hopper", "ampere")}
    assert ampere["gpu_hbm3"] == pytest.approx(hopper["gpu_hbm3"] / 3.2)
    assert ampere["faulty_gpu"] == hopper["faulty_gpu"]


def test_rate_scale_and_zero_rates():
    fp = rel.calibration_footprint()
    assert rel.total_per_s(rel.job_rates(fp, rate_scale=2.0)) == pytest.approx(2 * rel.total_per_s(rel.job_rates(fp)))
    assert math.isinf(rel.mtti_s(rel.job_rates(fp, rate_scale=0.0)))
    with pytest.raises(SpecError):
        rel.job_rates(fp, rate_scale=-1.0)


def test_job_must_fill_servers():
    with pytest.raises(SpecError):
        rel.footprint(12, gpus_per_server=8, fabric=rel.default_fabric())
