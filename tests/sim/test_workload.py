"""Filler jobs: the Philly trace read, scaled and repeated; the synthetic stream; delay summaries."""

from __future__ import annotations

import copy
from datetime import datetime
import gzip
from importlib import resources
import json
import logging
import math
from pathlib import Path
import tomllib
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus import units
from colossus.errors import SpecError
from colossus.sim.workload import (
    SHIPPED_TRACE,
    FillerJobs,
    delay_summary,
    filler_jobs,
    read_philly,
    shipped_trace,
    synthetic_mix,
)
from colossus.spec import WorkloadSpec, validate

TRACES = resources.files("colossus.catalog").joinpath("data", "traces")
SHIPPED = Path(str(TRACES.joinpath(SHIPPED_TRACE)))
RNG = np.random.default_rng


def _jobs(spec: WorkloadSpec, *, days: float = 30.0, max_gpus: int = 100_000, per: int = 8,
          seed: int = 0, base_dir: Path | None = None) -> FillerJobs:
    return filler_jobs(spec, duration_s=days * units.DAY, max_gpus=max_gpus, gpus_per_server=per,
                       rng=RNG(seed), base_dir=base_dir)


def _stamp(minutes: float) -> str:
    return str(np.datetime64("2017-10-01T00:00:00") + np.timedelta64(int(minutes * 60), "s")).replace("T", " ")


def _job(i: int, *, gpus: int = 8, submit_min: float = 0.0, attempts: tuple[tuple[float, float], ...] = ((1, 11),)
         ) -> dict[str, Any]:
    """A Philly-format job; attempts as (start, end) minutes after 2017-10-01 00:00."""
    return {"id": f"app_{i}", "num_gpus": gpus, "runtime": attempts[-1][1] - attempts[0][0] if attempts else 0,
            "attempts": [{"start_time": _stamp(a), "end_time": _stamp(b)} for a, b in attempts],
            "submitted_time": _stamp(submit_min)}


def _write(path: Path, jobs: Any) -> Path:
    path.write_text(json.dumps(jobs), encoding="utf-8")
    return path


# --- the shipped trace --------------------------------------------------------------------


def test_shipped_copy_equals_shared_data(shared_dir: Path) -> None:
    original = (shared_dir / "data" / "philly" / "jobs.json").read_bytes()
    assert gzip.decompress(SHIPPED.read_bytes()) == original


def test_shipped_trace_is_attributed() -> None:
    readme = TRACES.joinpath("README.md").read_text("utf-8")
    for must in ("CC BY 4.0", "USENIX ATC 2019", "b741616", "Jeon"):
        assert must in readme


def test_shipped_trace_parses_as_documented() -> None:
    tr = shipped_trace()
    assert len(tr) == 3034 and tr.num_dropped == 0
    assert tr.submit_s[0] == 0.0 and (np.diff(tr.submit_s) >= 0).all()
    assert tr.first_submit == np.datetime64("2017-09-04T10:30:41")
    assert set(np.unique(tr.num_gpus)) == {4, 7, 8, 12, 16, 20, 24, 32, 64, 128}
    assert (tr.busy_s > 0).all() and (tr.delay_s >= 0).all() and (tr.num_attempts >= 1).all()
    assert len(set(tr.job_id.tolist())) == 3034
    # `runtime` is minutes from the first start to the last end (retry gaps included) ...
    raw = json.loads(gzip.decompress(SHIPPED.read_bytes()))
    by_id = {j["id"]: j for j in raw}
    parse = lambda s: datetime.fromisoformat(s)  # noqa: E731
    span = np.array([(parse(by_id[i]["attempts"][-1]["end_time"]) - parse(by_id[i]["attempts"][0]["start_time"]))
                     .total_seconds() for i in tr.job_id])
    np.testing.assert_allclose(tr.runtime_field_s, span, atol=1.0)
    # ... so the busy time (sum of attempts) is never more, and 99.5 % of it in GPU-hours
    assert (tr.busy_s <= tr.runtime_field_s + 1.0).all()
    ratio = (tr.busy_s * tr.num_gpus).sum() / (tr.runtime_field_s * tr.num_gpus).sum()
    assert ratio == pytest.approx(0.995, abs=0.001)


def test_shipped_trace_delays() -> None:
    """The trace's own queueing delay (first start - submit): the figures the report compares with."""
    d = delay_summary(shipped_trace().delay_s)
    assert d["count"] == 3034
    assert d["p50_s"] == pytest.approx(57.0)
    assert d["p90_s"] == pytest.approx(3240.3, abs=0.1)
    assert d["p99_s"] == pytest.approx(38856.5, abs=0.1)
    assert d["mean_s"] == pytest.approx(3710.25, abs=0.01)


def test_reading_and_scaling_give_jobs_and_the_trace_is_read_once() -> None:
    """Behaviour only; the reading speed is printed by benchmarks/bench_sim.py."""
    spec = WorkloadSpec(source="philly", gpu_scale=4.0, time_scale=0.5)
    assert read_philly(SHIPPED).num_gpus.size > 0  # uncached
    assert len(_jobs(spec, days=90)) > 0
    assert shipped_trace() is shipped_trace()


def test_synthetic_mix_is_fitted_to_the_trace() -> None:
    tr = shipped_trace()
    text = resources.files("colossus.catalog").joinpath("data", "sim_workload.toml").read_text("utf-8")
    table = tomllib.loads(text)["synthetic"]
    values, counts = np.unique(tr.num_gpus, return_counts=True)
    assert table["num_gpus"]["values"] == values.tolist()
    assert table["num_gpus"]["counts"] == counts.tolist()
    log_busy = np.log(tr.busy_s)
    assert table["runtime"]["log_mean"] == pytest.approx(log_busy.mean(), abs=1e-4)
    assert table["runtime"]["log_sigma"] == pytest.approx(log_busy.std(), abs=1e-4)
    assert table["runtime"]["min_s"] == tr.busy_s.min() and table["runtime"]["max_s"] == tr.busy_s.max()
    assert sum(synthetic_mix().gpu_weights) == pytest.approx(1.0)


# --- replay: scaling and repeat ------------------------------------------------------------


@pytest.fixture
def small_trace(tmp_path: Path) -> Path:
    """Five jobs submitted 10 minutes apart; the second was retried after a failure."""
    jobs = [
        _job(0, gpus=1, submit_min=0, attempts=((2, 12),)),
        _job(1, gpus=4, submit_min=10, attempts=((15, 20), (30, 60))),
        _job(2, gpus=7, submit_min=20, attempts=((20, 80),)),
        _job(3, gpus=8, submit_min=30, attempts=((40, 50),)),
        _job(4, gpus=16, submit_min=40, attempts=((41, 42),)),
    ]
    return _write(tmp_path / "jobs.json", jobs[::-1])  # out of order on purpose


def test_read_small_trace(small_trace: Path) -> None:
    tr = read_philly(small_trace)
    assert tr.job_id.tolist() == [f"app_{i}" for i in range(5)]
    np.testing.assert_array_equal(tr.submit_s, [0, 600, 1200, 1800, 2400])
    np.testing.assert_array_equal(tr.busy_s, [600, 300 + 1800, 3600, 600, 60])
    np.testing.assert_array_equal(tr.delay_s, [120, 300, 0, 600, 60])
    np.testing.assert_array_equal(tr.num_attempts, [1, 2, 1, 1, 1])
    assert tr.period_s == pytest.approx(3000.0)  # 40 min span + one 10 min mean gap
    with pytest.raises(ValueError):
        tr.busy_s[0] = 1.0  # shared through the cache: read-only


def test_scaling_rounds_gpus_to_servers_and_scales_time(small_trace: Path) -> None:
    spec = WorkloadSpec(source="philly", trace="jobs.json", gpu_scale=3.0, time_scale=2.0, max_job_gpus=20,
                        repeat=False)
    f = _jobs(spec, base_dir=small_trace.parent)
    assert f.source == "philly" and len(f) == 5
    np.testing.assert_array_equal(f.num_gpus, [8, 16, 16, 16, 16])  # 3, 12, 21, 24, 48 -> servers, cap 20 -> 16
    np.testing.assert_array_equal(f.submit_s, [0, 1200, 2400, 3600, 4800])
    np.testing.assert_array_equal(f.runtime_s, [1200, 4200, 7200, 1200, 120])
    np.testing.assert_array_equal(f.trace_delay_s, [240, 600, 0, 1200, 120])
    half = _jobs(spec.model_copy(update={"gpu_scale": 0.5, "max_job_gpus": None}), base_dir=small_trace.parent,
                 max_gpus=16)
    np.testing.assert_array_equal(half.num_gpus, [8, 8, 8, 8, 8])
    one = _jobs(spec.model_copy(update={"gpu_scale": 1.0, "max_job_gpus": None}), base_dir=small_trace.parent,
                per=1, max_gpus=12)
    np.testing.assert_array_equal(one.num_gpus, [1, 4, 7, 8, 12])


def test_repeat_covers_the_period_and_stops_there(small_trace: Path) -> None:
    spec = WorkloadSpec(source="philly", trace=str(small_trace))  # absolute path
    f = _jobs(spec, days=100 * units.MINUTE / units.DAY)
    # period 50 min: copies start at 0 and 50 min; the second copy is cut at 100 min
    np.testing.assert_allclose(f.submit_s / units.MINUTE, [0, 10, 20, 30, 40, 50, 60, 70, 80, 90])
    assert f.trace_id.tolist()[4:7] == ["app_4", "app_0#2", "app_1#2"]
    np.testing.assert_array_equal(f.runtime_s[:5], f.runtime_s[5:])
    once = _jobs(spec.model_copy(update={"repeat": False}), days=100 * units.MINUTE / units.DAY)
    assert len(once) == 5
    short = _jobs(spec, days=25 * units.MINUTE / units.DAY)
    assert short.trace_id.tolist() == ["app_0", "app_1", "app_2"]
    assert len(_jobs(spec, days=0.0)) == 0


def test_repeat_of_the_shipped_trace() -> None:
    spec = WorkloadSpec(source="philly", time_scale=0.1)
    f = _jobs(spec, days=60)
    period_s = shipped_trace().period_s * 0.1
    assert (np.diff(f.submit_s) >= 0).all() and f.submit_s[-1] < 60 * units.DAY
    assert f.submit_s[-1] > 60 * units.DAY - period_s
    assert len(f) == pytest.approx(3034 * 60 * units.DAY / period_s, rel=0.05)
    assert len(set(f.trace_id.tolist())) == len(f)
    assert f.trace_id[-1].endswith("#6")  # 60 days / 10.9 days a copy


# --- synthetic -----------------------------------------------------------------------------


def test_synthetic_is_deterministic_per_seed() -> None:
    spec = WorkloadSpec(source="synthetic", arrivals_per_day=200)
    a, b, c = _jobs(spec, seed=7), _jobs(spec, seed=7), _jobs(spec, seed=8)
    for name in ("trace_id", "submit_s", "num_gpus", "runtime_s"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.submit_s[:10], c.submit_s[:10])
    philly = WorkloadSpec(source="philly")
    np.testing.assert_array_equal(_jobs(philly, seed=1).submit_s, _jobs(philly, seed=2).submit_s)


def test_synthetic_distribution() -> None:
    spec = WorkloadSpec(source="synthetic", arrivals_per_day=500)
    f = _jobs(spec, days=20, max_gpus=4096)
    assert abs(len(f) - 10_000) < 5 * math.sqrt(10_000)
    assert f.source == "synthetic" and f.trace_id[0] == "synthetic-000000"
    assert np.isnan(f.trace_delay_s).all()
    assert (np.diff(f.submit_s) >= 0).all() and 0 <= f.submit_s[0] and f.submit_s[-1] < 20 * units.DAY
    # arrivals spread evenly: each quarter of the period holds a quarter of the jobs
    quarters = np.histogram(f.submit_s, bins=4, range=(0, 20 * units.DAY))[0]
    assert (np.abs(quarters - len(f) / 4) < 5 * math.sqrt(len(f) / 4)).all()
    mix = synthetic_mix()
    assert np.median(np.log(f.runtime_s)) == pytest.approx(mix.log_mean, abs=0.1)
    assert f.runtime_s.min() >= mix.min_s and f.runtime_s.max() <= mix.max_s
    # 4- and 7-GPU jobs round up to one 8-GPU server: about 48 % + 45 % of jobs hold 8 GPUs
    assert np.mean(f.num_gpus == 8) == pytest.approx((1457 + 1 + 1353) / 3034, abs=0.03)


def test_synthetic_time_scale_keeps_the_load() -> None:
    base = WorkloadSpec(source="synthetic", arrivals_per_day=400)
    fast = base.model_copy(update={"time_scale": 0.5})
    a, b = _jobs(base, days=10), _jobs(fast, days=10)
    assert len(b) / len(a) == pytest.approx(2.0, rel=0.08)
    assert np.median(b.runtime_s) / np.median(a.runtime_s) == pytest.approx(0.5, rel=0.15)


def test_none_is_empty() -> None:
    f = _jobs(WorkloadSpec())
    assert f.source == "none" and len(f) == 0
    assert f.num_gpus.dtype == np.int64 and f.submit_s.dtype == np.float64


# --- delay summary -------------------------------------------------------------------------


def test_delay_summary_known_values() -> None:
    d = delay_summary(np.array([*range(0, 101, 10), np.nan, np.inf]))
    assert d == {"count": 11, "mean_s": 50.0, "p50_s": 50.0, "p90_s": 90.0, "p99_s": pytest.approx(99.0)}
    for empty in (np.array([]), np.array([np.nan, np.nan])):
        e = delay_summary(empty)
        assert e["count"] == 0 and all(math.isnan(e[k]) for k in ("mean_s", "p50_s", "p90_s", "p99_s"))


# --- errors ---------------------------------------------------------------------------------


def test_missing_trace_file_names_the_field(tmp_path: Path) -> None:
    spec = WorkloadSpec(source="philly", trace="nowhere/jobs.json")
    with pytest.raises(SpecError) as err:
        _jobs(spec, base_dir=tmp_path)
    assert err.value.path == ("simulation", "workload", "trace")
    assert "nowhere" in str(err.value)
    with pytest.raises(SpecError, match="no such trace file"):
        read_philly(tmp_path / "missing.json")


GOOD = _job(0, submit_min=0, attempts=((1, 5), (6, 9)))


def _broken(change) -> list[dict[str, Any]]:
    job = copy.deepcopy(GOOD)
    change(job)
    return [copy.deepcopy(GOOD), job]


MALFORMED = {
    "missing field": (lambda j: j.pop("num_gpus"), [1, "num_gpus"]),
    "gpus as text": (lambda j: j.update(num_gpus="8"), [1, "num_gpus"]),
    "zero gpus": (lambda j: j.update(num_gpus=0), [1, "num_gpus"]),
    "gpus as bool": (lambda j: j.update(num_gpus=True), [1, "num_gpus"]),
    "negative runtime": (lambda j: j.update(runtime=-1.0), [1, "runtime"]),
    "empty id": (lambda j: j.update(id=""), [1, "id"]),
    "time format": (lambda j: j.update(submitted_time="2017/10/01 00:00:00"), [1, "submitted_time"]),
    "calendar": (lambda j: j["attempts"][1].update(end_time="2017-02-30 00:00:00"), [1, "attempts", 1, "end_time"]),
    "attempt field": (lambda j: j["attempts"][0].pop("start_time"), [1, "attempts", 0, "start_time"]),
    "attempt type": (lambda j: j["attempts"].append("retry"), [1, "attempts", 2]),
    "attempts type": (lambda j: j.update(attempts={}), [1, "attempts"]),
    "backwards": (lambda j: j["attempts"][1].update(end_time=_stamp(5)), [1, "attempts", 1, "end_time"]),
    "overlap": (lambda j: j["attempts"][1].update(start_time=_stamp(4)), [1, "attempts", 1, "start_time"]),
    "before submit": (lambda j: j.update(submitted_time=_stamp(2)), [1, "attempts", 0, "start_time"]),
}


@pytest.mark.parametrize("case", sorted(MALFORMED))
def test_malformed_entry_names_file_and_field(tmp_path: Path, case: str) -> None:
    change, where = MALFORMED[case]
    path = _write(tmp_path / "jobs.json", _broken(change))
    with pytest.raises(SpecError) as err:
        read_philly(path)
    assert err.value.file == str(path) and list(err.value.path) == where


@pytest.mark.parametrize(("content", "match"), [
    (b"{not json", "not JSON"), (b'{"jobs": []}', "expected a list"), (b"[1]", "must be an object"),
    (b"[]", "no job in the trace ever ran"), (b"\x1f\x8b\x08garbage", "cannot read"),
])
def test_unreadable_trace(tmp_path: Path, content: bytes, match: str) -> None:
    path = tmp_path / "jobs.json"
    path.write_bytes(content)
    with pytest.raises(SpecError, match=match) as err:
        read_philly(path)
    assert err.value.file == str(path)


def test_jobs_that_never_ran_are_dropped_and_counted(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    jobs = [GOOD, {**_job(1, submit_min=3), "attempts": []}, _job(2, submit_min=4, attempts=((5, 5),))]
    path = _write(tmp_path / "jobs.json", jobs)
    with caplog.at_level(logging.WARNING, logger="colossus.sim.workload"):
        tr = read_philly(path)
    assert tr.job_id.tolist() == ["app_0"] and tr.num_dropped == 2
    assert "2 of 3 jobs never ran" in caplog.text
    gz = tmp_path / "jobs.json.gz"
    gz.write_bytes(gzip.compress(path.read_bytes()))
    f = _jobs(WorkloadSpec(source="philly", trace="jobs.json.gz"), base_dir=tmp_path)
    assert f.num_dropped == 2 and f.trace_id.tolist() == ["app_0"]  # one submit time: nothing to repeat by


@pytest.mark.parametrize(("doc", "where"), [
    ({"gpu_scale": 0}, ("gpu_scale",)),
    ({"time_scale": -1.0}, ("time_scale",)),
    ({"arrivals_per_day": 0}, ("arrivals_per_day",)),
    ({"max_job_gpus": 0}, ("max_job_gpus",)),
    ({"source": "alibaba"}, ("source",)),
    ({"trace": ""}, ("trace",)),
    ({"arrivals_per_hour": 5}, ()),
])
def test_bad_spec_values(doc: dict[str, Any], where: tuple[str, ...]) -> None:
    with pytest.raises(SpecError) as err:
        validate(WorkloadSpec, doc, file="s.yaml", prefix=["simulation", "workload"])
    assert err.value.file == "s.yaml" and err.value.path[: 2 + len(where)] == ("simulation", "workload", *where)


def test_bad_values_for_the_cluster() -> None:
    with pytest.raises(SpecError) as err:
        _jobs(WorkloadSpec(source="synthetic", max_job_gpus=4), per=8)
    assert err.value.path == ("simulation", "workload", "max_job_gpus")
    with pytest.raises(SpecError, match="filler jobs") as err:
        _jobs(WorkloadSpec(source="synthetic", arrivals_per_day=1e6), days=30)
    assert err.value.path == ("simulation", "workload", "arrivals_per_day")
    with pytest.raises(SpecError, match="raise time_scale"):
        _jobs(WorkloadSpec(source="philly", time_scale=1e-4), days=365)
    with pytest.raises(ValueError):
        _jobs(WorkloadSpec(source="philly"), days=math.inf)
    with pytest.raises(ValueError):
        _jobs(WorkloadSpec(source="philly"), max_gpus=4, per=8)


# --- invariants ----------------------------------------------------------------------------


@settings(max_examples=40, deadline=None)
@given(
    source=st.sampled_from(["philly", "synthetic"]),
    gpu_scale=st.floats(0.01, 50.0),
    time_scale=st.floats(0.2, 5.0),
    days=st.floats(0.0, 120.0),
    per=st.sampled_from([1, 2, 4, 8]),
    servers=st.integers(1, 4096),
    max_job_gpus=st.none() | st.integers(8, 10_000),
    repeat=st.booleans(),
)
def test_filler_invariants(source: str, gpu_scale: float, time_scale: float, days: float, per: int, servers: int,
                           max_job_gpus: int | None, repeat: bool) -> None:
    spec = WorkloadSpec(source=source, gpu_scale=gpu_scale, time_scale=time_scale, max_job_gpus=max_job_gpus,
                        repeat=repeat, arrivals_per_day=50)
    f = _jobs(spec, days=days, max_gpus=servers * per, per=per)
    cap = min(servers * per, max_job_gpus or math.inf)
    n = len(f)
    assert all(a.shape == (n,) for a in (f.trace_id, f.submit_s, f.num_gpus, f.runtime_s, f.trace_delay_s))
    assert f.num_gpus.dtype == np.int64 and (f.num_gpus > 0).all()
    assert (f.num_gpus % per == 0).all() and (f.num_gpus <= cap).all()
    assert (np.diff(f.submit_s) >= 0).all() and (f.submit_s >= 0).all() and (f.submit_s < days * units.DAY).all()
    assert (f.runtime_s > 0).all()
    assert len(set(f.trace_id.tolist())) == n
    if source == "philly":
        assert (f.trace_delay_s >= 0).all()
        if not repeat:
            assert n <= len(shipped_trace())
        elif days * units.DAY >= shipped_trace().period_s * time_scale:
            assert f.submit_s[-1] > days * units.DAY - shipped_trace().period_s * time_scale
