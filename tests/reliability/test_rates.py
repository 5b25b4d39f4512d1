"""Per-component rates scale with what the job spans."""

from __future__ import annotations

import math

import pytest

from colossus import reliability as rel
from colossus.errors import SpecError


def test_catalog_rates_reproduce_the_log_on_the_calibration_footprint():
    rates = rel.job_rates(rel.calibration_footprint())
    assert rel.total_per_s(rates) * 54 * 86400 == pytest.approx(466)
    assert rel.total_per_s(rates, planned=False) * 54 * 86400 == pytest.approx(419)


def test_every_cause_has_a_known_group_and_positive_rate():
    for cause in rel.catalog_causes():
        assert cause.cause in rel.CAUSES
        assert cause.per_unit_per_s > 0
        assert cause.repair_s >= 0
        assert not (cause.planned and cause.needs_spare)


def test_rates_scale_linearly_with_the_job(make_job):
    small = rel.analyse(make_job(num_gpus=4096))
    big = rel.analyse(make_job(num_gpus=16384))
    by_small, by_big = rel.by_cause_per_day(small.rates), rel.by_cause_per_day(big.rates)
    for cause in ("gpu", "hbm", "nvlink", "nic_cable", "host", "network"):  # software has a per-job part
        assert by_big[cause] == pytest.approx(4 * by_small[cause])
    assert by_big["switch"] > by_small["switch"]
    assert big.mtti_s < small.mtti_s


def test_rate_scale_and_zero_rates():
    fp = rel.calibration_footprint()
    assert rel.total_per_s(rel.job_rates(fp, rate_scale=2.0)) == pytest.approx(2 * rel.total_per_s(rel.job_rates(fp)))
    assert math.isinf(rel.mtti_s(rel.job_rates(fp, rate_scale=0.0)))
    with pytest.raises(SpecError):
        rel.job_rates(fp, rate_scale=-1.0)


def test_job_must_fill_servers():
    with pytest.raises(SpecError):
        rel.footprint(12, gpus_per_server=8, fabric=rel.default_fabric())
