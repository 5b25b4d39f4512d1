"""Filler jobs: the stream of smaller jobs the simulation schedules around the named ones.

``filler_jobs(spec, ...)`` turns a ``WorkloadSpec`` into arrays (``FillerJobs``):
when each job is submitted, how many GPUs it asks for and how long it must
run. Three sources:

* ``philly``: a replay of the Philly trace (Jeon et al., "Analysis of
  Large-Scale Multi-Tenant GPU Clusters for DNN Training Workloads", USENIX ATC
  2019; CC BY 4.0), the copy shipped in ``catalog/data/traces`` or any file in
  the same format.
* ``synthetic``: a Poisson stream whose GPU counts and runtimes follow the
  Philly trace (``catalog/data/sim_workload.toml``).
* ``none``: no filler jobs.

How the Philly trace is read (checked against all 3,034 published jobs):

* ``submitted_time`` and each attempt's ``start_time``/``end_time`` are
  wall-clock strings without a time zone; only differences are used, taken
  as naive ``datetime64`` so no daylight-saving shift creeps in.
* ``runtime`` is in *minutes* and equals the last attempt's end minus the
  first attempt's start: it includes the gaps in which a failed job waited to
  be rescheduled. That waiting is queueing, which our scheduler models
  itself, so a filler job's work is instead the **busy time**, the sum of
  its attempts' durations: the GPU time the job held in Philly. Attempts that
  ended in a failure count (the trace cannot tell lost from kept work; the
  simulation's own failures add their lost work on top). Over the whole trace
  busy time is 99.5 % of ``runtime`` in GPU-hours.
* The trace's own queueing delay is the first attempt's start minus
  ``submitted_time``; it travels with each job (``trace_delay_s``) so a report
  can set it beside the delay our scheduler gives.
* A structurally bad entry (a missing field, a wrong type, a time that does
  not parse, an attempt that ends before it starts or overlaps the one before,
  a start before the submit) is a ``SpecError`` naming the file and
  ``[index, field]``. A job that never ran (no attempts) or never held its
  GPUs for a second is dropped; the count is logged and kept in
  ``num_dropped`` (the published trace has none).

Scaling (``WorkloadSpec``): submit times (from the trace's earliest submit),
runtimes and trace delays are multiplied by ``time_scale``; GPUs by
``gpu_scale``, rounded up to whole servers and capped at ``max_job_gpus`` and
the cluster (each cap rounded down to whole servers). With ``repeat`` the
trace is replayed again, shifted by its period (the span of its submit times
plus one mean gap between submits, so a copy starts one typical gap after the
last job of the one before), until ``duration_s`` is covered; jobs submitted at
or after ``duration_s`` are left out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache
from importlib import resources
import json
import logging
import math
from pathlib import Path
import re
from typing import Any
import zlib

import numpy as np

from colossus import units
from colossus.catalog import read_table
from colossus.errors import CatalogError, SpecError
from colossus.spec import WorkloadSpec
from colossus.spec.loading import read_input

log = logging.getLogger(__name__)

#: File name of the shipped Philly trace under ``catalog/data/traces``.
SHIPPED_TRACE = "philly-jobs.json.gz"
#: More filler jobs than this is a spec mistake (a tiny ``time_scale``), not a workload.
MAX_FILLER_JOBS = 1_000_000
#: Field path of the workload block in a scenario file, for errors.
WORKLOAD_PATH = ("simulation", "workload")

_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
_JOB_FIELDS = ("id", "num_gpus", "runtime", "submitted_time", "attempts")
_ATTEMPT_FIELDS = ("start_time", "end_time")


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


# --- the Philly trace ---------------------------------------------------------------------


@dataclass(frozen=True)
class PhillyTrace:
    """The jobs of a Philly-format trace that ran, sorted by submit time (arrays read-only).

    ``submit_s`` counts from the earliest submit in the trace (``first_submit``).
    """

    path: str
    job_id: np.ndarray  # object (str)
    submit_s: np.ndarray  # float64, ascending, the first is 0
    num_gpus: np.ndarray  # int64 > 0
    busy_s: np.ndarray  # float64 > 0, sum of the attempts' durations
    runtime_field_s: np.ndarray  # float64, the trace's ``runtime`` (minutes) in seconds
    delay_s: np.ndarray  # float64 >= 0, first attempt start - submitted_time
    num_attempts: np.ndarray  # int64 >= 1
    first_submit: np.datetime64
    num_dropped: int = 0  # jobs left out: no attempts, or zero busy time

    def __len__(self) -> int:
        return int(self.submit_s.size)

    @property
    def period_s(self) -> float:
        """Shift between replays: span of the submit times plus one mean gap (0 for < 2 jobs)."""
        n = len(self)
        if n < 2:
            return 0.0
        return float(self.submit_s[-1]) * n / (n - 1)


def read_philly(path: Path) -> PhillyTrace:
    """Parse and validate a Philly-format ``jobs.json`` (or ``.json.gz``); see the module docstring."""
    path = Path(path)
    data = _load_json(path)
    where = str(path)
    if not isinstance(data, list):
        raise SpecError(f"expected a list of jobs, found a {type(data).__name__}", file=where)
    ids: list[str] = []
    gpus: list[int] = []
    runtime_min: list[float] = []
    counts: list[int] = []
    stamps: list[str] = []  # every submitted_time, then every attempt's start and end
    attempt_stamps: list[str] = []
    for i, job in enumerate(data):
        _check_job(job, i, where)
        ids.append(job["id"])
        gpus.append(job["num_gpus"])
        runtime_min.append(float(job["runtime"]))
        stamps.append(job["submitted_time"])
        counts.append(len(job["attempts"]))
        for k, attempt in enumerate(job["attempts"]):
            for name in _ATTEMPT_FIELDS:
                attempt_stamps.append(_check_time(attempt, name, [i, "attempts", k, name], where))
    n = len(ids)
    seconds = _parse_times(stamps + attempt_stamps, where, data)
    submit, att = seconds[:n], seconds[n:].reshape(-1, 2)
    count = np.asarray(counts, dtype=np.int64)
    offsets = np.concatenate(([0], np.cumsum(count)[:-1])) if n else np.zeros(0, np.int64)
    att_job = np.repeat(np.arange(n), count)
    _check_order(submit, att, att_job, offsets, where)

    duration = (att[:, 1] - att[:, 0]).astype(np.float64)
    busy = np.bincount(att_job, weights=duration, minlength=n)
    ran = count > 0
    first_start = np.zeros(n, dtype=np.int64)
    first_start[ran] = att[offsets[ran], 0]
    keep = ran & (busy > 0)
    num_dropped = int(n - keep.sum())
    if num_dropped:
        log.warning("%s: %d of %d jobs never ran (no attempts or zero busy time); left out",
                    where, num_dropped, n)
    if not keep.any():
        raise SpecError("no job in the trace ever ran", file=where)
    idx = np.flatnonzero(keep)
    idx = idx[np.argsort(submit[idx], kind="stable")]
    t0 = submit[idx[0]]
    return PhillyTrace(
        path=where,
        job_id=_frozen(np.array(ids, dtype=object)[idx]),
        submit_s=_frozen((submit[idx] - t0).astype(np.float64)),
        num_gpus=_frozen(np.asarray(gpus, dtype=np.int64)[idx]),
        busy_s=_frozen(busy[idx]),
        runtime_field_s=_frozen(np.asarray(runtime_min, dtype=np.float64)[idx] * units.MINUTE),
        delay_s=_frozen((first_start[idx] - submit[idx]).astype(np.float64)),
        num_attempts=_frozen(count[idx]),
        first_submit=np.datetime64(int(t0), "s"),
        num_dropped=num_dropped,
    )


#: Largest trace read, compressed or not (the whole public Philly log is well below): a FIFO, a device or
#: a gzip bomb named as a trace is refused instead of read without end (``spec.loading.read_input``).
MAX_TRACE_BYTES = 512 * 2**20


def _load_json(path: Path) -> Any:
    if not path.exists() and not path.is_symlink():
        raise SpecError("no such trace file", file=str(path))
    raw = read_input(path, limit=MAX_TRACE_BYTES)
    try:
        if raw[:2] == b"\x1f\x8b":  # gzip magic, whatever the file is called
            inflate = zlib.decompressobj(wbits=31)
            raw = inflate.decompress(raw, MAX_TRACE_BYTES)
            if inflate.unconsumed_tail:
                raise SpecError(f"expands to over {MAX_TRACE_BYTES // 2**20} MiB", file=str(path))
        return json.loads(raw)
    except FileNotFoundError:
        raise SpecError("no such trace file", file=str(path)) from None
    except (OSError, EOFError, zlib.error) as exc:  # gzip.BadGzipFile is an OSError
        raise SpecError(f"cannot read the trace: {exc}", file=str(path)) from None
    except json.JSONDecodeError as exc:
        raise SpecError(f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})", file=str(path)) from None
    except UnicodeDecodeError as exc:
        raise SpecError(f"not UTF-8 text: {exc.reason}", file=str(path)) from None


def _check_job(job: Any, i: int, where: str) -> None:
    if not isinstance(job, dict):
        raise SpecError(f"each job must be an object (got {type(job).__name__})", file=where, path=[i])
    for name in _JOB_FIELDS:
        if name not in job:
            raise SpecError("missing field", file=where, path=[i, name])
    if not isinstance(job["id"], str) or not job["id"]:
        raise SpecError(f"must be a non-empty string (got {job['id']!r})", file=where, path=[i, "id"])
    g = job["num_gpus"]
    if type(g) is not int or g <= 0:
        raise SpecError(f"must be a whole number > 0 (got {g!r})", file=where, path=[i, "num_gpus"])
    r = job["runtime"]
    if type(r) not in (int, float) or not math.isfinite(r) or r < 0:
        raise SpecError(f"must be a number of minutes >= 0 (got {r!r})", file=where, path=[i, "runtime"])
    _check_time(job, "submitted_time", [i, "submitted_time"], where)
    attempts = job["attempts"]
    if not isinstance(attempts, list):
        raise SpecError(f"must be a list (got {type(attempts).__name__})", file=where, path=[i, "attempts"])
    for k, attempt in enumerate(attempts):
        if not isinstance(attempt, dict):
            raise SpecError("each attempt must be an object", file=where, path=[i, "attempts", k])


def _check_time(obj: dict[str, Any], name: str, path: list[str | int], where: str) -> str:
    value = obj.get(name)
    if not isinstance(value, str) or not _TIME.fullmatch(value):
        got = "missing" if name not in obj else f"got {value!r}"
        raise SpecError(f"must be a time 'YYYY-MM-DD HH:MM:SS' ({got})", file=where, path=path)
    return value


def _parse_times(stamps: list[str], where: str, data: list[Any]) -> np.ndarray:
    """Seconds since the epoch of each stamp (naive wall clock); locate a bad calendar date."""
    try:
        return np.array(stamps, dtype="datetime64[s]").astype(np.int64)
    except ValueError:
        pass
    for i, job in enumerate(data):  # slow path, only to name the culprit
        named: list[tuple[str, list[str | int], Any]] = [
            ("submitted_time", [i, "submitted_time"], job["submitted_time"])
        ]
        for k, a in enumerate(job["attempts"]):
            named += [(n, [i, "attempts", k, n], a[n]) for n in _ATTEMPT_FIELDS]
        for _, path, value in named:
            try:
                np.datetime64(value, "s")
            except ValueError:
                raise SpecError(f"not a calendar date and time ({value!r})", file=where, path=path) from None
    raise AssertionError("unreachable: every time parsed one by one")  # pragma: no cover


def _check_order(submit: np.ndarray, att: np.ndarray, att_job: np.ndarray, offsets: np.ndarray,
                 where: str) -> None:
    """Attempts end after they start, follow each other, and start after the submit."""

    def fail(a: int, name: str, rule: str) -> None:
        job = int(att_job[a])
        raise SpecError(rule, file=where, path=[job, "attempts", a - int(offsets[job]), name])

    if len(att) == 0:
        return
    backwards = np.flatnonzero(att[:, 1] < att[:, 0])
    if backwards.size:
        fail(int(backwards[0]), "end_time", "ends before it starts")
    same_job = att_job[1:] == att_job[:-1]
    overlap = np.flatnonzero(same_job & (att[1:, 0] < att[:-1, 1]))
    if overlap.size:
        fail(int(overlap[0]) + 1, "start_time", "starts before the previous attempt ends")
    early = np.flatnonzero(att[:, 0] < submit[att_job])
    if early.size:
        fail(int(early[0]), "start_time", "starts before the job's submitted_time")


@cache
def shipped_trace() -> PhillyTrace:
    """The Philly trace shipped in ``catalog/data/traces`` (parsed once per process)."""
    ref = resources.files("colossus.catalog").joinpath("data", "traces", SHIPPED_TRACE)
    with resources.as_file(ref) as path:
        return read_philly(path)


@lru_cache(maxsize=8)
def _read_cached(path: str, mtime_ns: int, size: int) -> PhillyTrace:
    return read_philly(Path(path))


def _trace_for(spec: WorkloadSpec, base_dir: Path | None) -> PhillyTrace:
    if spec.trace is None:
        return shipped_trace()
    path = Path(spec.trace).expanduser()
    if not path.is_absolute() and base_dir is not None:
        path = Path(base_dir) / path
    if not path.is_file():
        raise SpecError(f"trace file not found: {path}", path=[*WORKLOAD_PATH, "trace"])
    stat = path.stat()
    return _read_cached(str(path.resolve()), stat.st_mtime_ns, stat.st_size)


# --- the synthetic mix --------------------------------------------------------------------


@dataclass(frozen=True)
class SyntheticMix:
    """GPU-count histogram and lognormal busy time of the synthetic stream (``sim_workload.toml``)."""

    gpu_values: tuple[int, ...]
    gpu_weights: tuple[float, ...]  # sums to 1
    log_mean: float  # of ln(seconds)
    log_sigma: float
    min_s: float
    max_s: float


@cache
def synthetic_mix() -> SyntheticMix:
    """The shipped mix, validated."""
    table = read_table("sim_workload").get("synthetic", {})
    where = "catalog/data/sim_workload.toml"
    try:
        values = tuple(int(v) for v in table["num_gpus"]["values"])
        counts = np.asarray(table["num_gpus"]["counts"], dtype=np.float64)
        rt = table["runtime"]
        mix = SyntheticMix(values, tuple(counts / counts.sum()), float(rt["log_mean"]),
                           float(rt["log_sigma"]), float(rt["min_s"]), float(rt["max_s"]))
    except (KeyError, TypeError, ValueError) as exc:
        raise CatalogError(f"malformed synthetic mix ({exc!r})", file=where, path=["synthetic"]) from None
    ok = (len(values) == counts.size > 0 and min(values) > 0 and (counts >= 0).all() and counts.sum() > 0
          and mix.log_sigma > 0 and 0 < mix.min_s < mix.max_s)
    if not ok:
        raise CatalogError("synthetic mix: needs one count >= 0 per GPU value > 0, log_sigma > 0,"
                           " 0 < min_s < max_s", file=where, path=["synthetic"])
    return mix


# --- filler jobs ----------------------------------------------------------------------------


@dataclass(frozen=True)
class FillerJobs:
    """The filler jobs of one run, as parallel arrays sorted by submit time."""

    source: str  # "philly", "synthetic" or "none"
    trace_id: np.ndarray  # object (str): trace id, "#2", "#3"... for replays; "synthetic-000123"
    submit_s: np.ndarray  # float64 seconds from the scenario start, ascending
    num_gpus: np.ndarray  # int64, a positive multiple of gpus_per_server, <= the caps
    runtime_s: np.ndarray  # float64 > 0, busy time at full speed
    trace_delay_s: np.ndarray  # float64, the trace's own queueing delay, scaled; NaN for synthetic
    num_dropped: int = field(default=0)  # trace jobs left out because they never ran

    def __len__(self) -> int:
        return int(self.submit_s.size)

    @classmethod
    def empty(cls, source: str = "none") -> FillerJobs:
        f = np.zeros(0, dtype=np.float64)
        return cls(source, np.zeros(0, dtype=object), f, np.zeros(0, dtype=np.int64), f.copy(), f.copy())


def filler_jobs(spec: WorkloadSpec, *, duration_s: float, max_gpus: int, gpus_per_server: int,
                rng: np.random.Generator, base_dir: Path | None = None) -> FillerJobs:
    """The filler jobs submitted in ``[0, duration_s)``; see the module docstring.

    ``max_gpus`` is the most GPUs one job may get (the cluster, or its pool);
    ``base_dir`` is the scenario file's folder, against which ``spec.trace``
    is resolved. Only the synthetic source draws from ``rng``.
    """
    if not (math.isfinite(duration_s) and duration_s >= 0):
        raise ValueError(f"duration_s must be finite and >= 0 (got {duration_s})")
    if gpus_per_server <= 0 or max_gpus < gpus_per_server:
        raise ValueError(f"need 0 < gpus_per_server <= max_gpus (got {gpus_per_server}, {max_gpus})")
    if spec.source == "none":
        return FillerJobs.empty("none")
    cap = _gpu_cap(spec, max_gpus, gpus_per_server)
    if spec.source == "philly":
        return _replay(_trace_for(spec, base_dir), spec, duration_s, cap, gpus_per_server)
    if spec.source == "synthetic":
        return _synthetic(synthetic_mix(), spec, duration_s, cap, gpus_per_server, rng)
    raise SpecError(f"unknown source {spec.source!r}", path=[*WORKLOAD_PATH, "source"])  # pragma: no cover


def _gpu_cap(spec: WorkloadSpec, max_gpus: int, gpus_per_server: int) -> int:
    cap = min(max_gpus, spec.max_job_gpus or max_gpus) // gpus_per_server * gpus_per_server
    if cap <= 0:
        raise SpecError(f"must be at least one server's GPUs ({gpus_per_server}) (got {spec.max_job_gpus})",
                        path=[*WORKLOAD_PATH, "max_job_gpus"])
    return cap


def whole_servers(num_gpus: np.ndarray, gpu_scale: float, gpus_per_server: int, cap: int) -> np.ndarray:
    """``num_gpus * gpu_scale`` rounded up to whole servers (at least one), then capped at ``cap``."""
    # the 1e-9 keeps 8 * 0.125 / 1 from rounding up to 2 on a floating-point hair
    servers = np.maximum(np.ceil(num_gpus * gpu_scale / gpus_per_server - 1e-9), 1.0)
    return np.minimum(servers.astype(np.int64) * gpus_per_server, cap)


def _too_many(n: float, field_name: str) -> None:
    if n > MAX_FILLER_JOBS:
        raise SpecError(f"would submit about {n:,.0f} filler jobs (limit {MAX_FILLER_JOBS:,});"
                        " raise time_scale or lower arrivals_per_day", path=[*WORKLOAD_PATH, field_name])


def _replay(trace: PhillyTrace, spec: WorkloadSpec, duration_s: float, cap: int,
            gpus_per_server: int) -> FillerJobs:
    ts = spec.time_scale
    n = len(trace)
    period = trace.period_s * ts
    copies = 1
    if spec.repeat and duration_s > 0:
        if period > 0:
            copies = max(1, math.ceil(duration_s / period))
        else:
            log.warning("%s: one submit time only; the trace is not repeated", trace.path)
    _too_many(copies * n, "time_scale")
    copy = np.repeat(np.arange(copies), n)
    submit = np.tile(trace.submit_s * ts, copies) + copy * period
    keep = submit < duration_s
    copy, submit = copy[keep], submit[keep]
    base = np.tile(np.arange(n), copies)[keep]
    ids = trace.job_id[base]
    if copies > 1:
        ids = np.array([j if c == 0 else f"{j}#{c + 1}" for j, c in zip(ids.tolist(), copy.tolist())],
                       dtype=object)
    return FillerJobs(
        source="philly",
        trace_id=ids,
        submit_s=submit,
        num_gpus=whole_servers(trace.num_gpus[base], spec.gpu_scale, gpus_per_server, cap),
        runtime_s=trace.busy_s[base] * ts,
        trace_delay_s=trace.delay_s[base] * ts,
        num_dropped=trace.num_dropped,
    )


def _synthetic(mix: SyntheticMix, spec: WorkloadSpec, duration_s: float, cap: int, gpus_per_server: int,
               rng: np.random.Generator) -> FillerJobs:
    """Poisson arrivals at ``arrivals_per_day / time_scale`` a day; Philly GPU mix; lognormal busy time."""
    expected = spec.arrivals_per_day / spec.time_scale * duration_s / units.DAY
    _too_many(expected, "arrivals_per_day")
    n = int(rng.poisson(expected))
    # n uniform times given a Poisson count are a Poisson process on [0, duration_s)
    submit = np.sort(rng.uniform(0.0, duration_s, n))
    gpus = rng.choice(np.asarray(mix.gpu_values, dtype=np.int64), size=n, p=np.asarray(mix.gpu_weights))
    busy = np.clip(rng.lognormal(mix.log_mean, mix.log_sigma, n), mix.min_s, mix.max_s)
    return FillerJobs(
        source="synthetic",
        trace_id=np.array([f"synthetic-{k:06d}" for k in range(n)], dtype=object),
        submit_s=submit,
        num_gpus=whole_servers(gpus, spec.gpu_scale, gpus_per_server, cap),
        runtime_s=busy * spec.time_scale,
        trace_delay_s=np.full(n, np.nan),
    )


# --- delays -----------------------------------------------------------------------------------


def delay_summary(delays_s: np.ndarray) -> dict[str, float]:
    """Count, mean and p50/p90/p99 (linear interpolation) of queueing delays, seconds.

    NaN entries (a job that never started, a synthetic job's trace delay) are
    ignored, and so are infinities. With nothing left, ``count`` is 0 and the
    statistics are NaN (strict JSON writes them as ``null``).
    """
    x = np.asarray(delays_s, dtype=np.float64).ravel()
    x = x[np.isfinite(x)]
    if x.size == 0:
        return {"count": 0, "mean_s": math.nan, "p50_s": math.nan, "p90_s": math.nan, "p99_s": math.nan}
    p50, p90, p99 = np.percentile(x, [50.0, 90.0, 99.0])
    return {"count": int(x.size), "mean_s": float(x.mean()), "p50_s": float(p50), "p90_s": float(p90),
            "p99_s": float(p99)}
