"""A scenario job's performance: its own layout estimated, or the planner's best.

A job names a token batch (``global_batch_tokens``); a layout needs a whole
number of sequences that its data parallelism divides. Training practice
rounds the batch to fit the layout, so when the job leaves the layout to the
planner, the batch is a *target*: each layout the planner weighs rounds it to
its nearest multiple of ``dp x micro-batch`` within ``perf.search.BATCH_TOLERANCE_FRAC``
(``perf.search.layout_batch``), and the fastest wins.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
import json
import threading

from colossus.errors import InfeasibleError, SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.estimate import Estimate, estimate
from colossus.perf.search import Plan, plan
from colossus.spec import ClusterSpec, JobSpec, PoolSpec, RunClusterSpec, RunSpec, SoftwareSpec


@dataclass(frozen=True)
class JobPerf:
    """How fast a job trains: the estimate used, and how it was obtained."""

    estimate: Estimate
    pool: str
    planned: bool  # True if the planner chose the layout
    global_batch_tokens: float  # the batch actually used (may differ from the target)
    plan: Plan | None = None

    @property
    def tokens_per_s(self) -> float:
        return self.estimate.tokens_per_s_per_gpu * self.estimate_gpus

    @property
    def estimate_gpus(self) -> int:
        return self.estimate.layout.num_gpus


def job_pool(cluster: ClusterSpec, job: JobSpec) -> PoolSpec:
    """The pool a job runs on: its own, else the first with room, else the one with the least HBM.

    A synchronous job spanning pools runs at the pace of its slowest GPUs and
    must fit in the smallest memory, so the smallest-HBM pool stands for it.
    """
    if job.pool is not None:
        return cluster.pool(job.pool)
    for pool in cluster.pools:
        if pool.num_gpus >= job.num_gpus:
            return pool
    return min(cluster.pools, key=lambda p: p.gpu.hbm_gib)


#: How many answers ``job_perf`` keeps (least recently used dropped first).
MEMO_SIZE = 256
_memo: OrderedDict[tuple[str, ...], JobPerf] = OrderedDict()
_memo_lock = threading.Lock()  # the web service asks from several threads


def _memo_key(cluster: ClusterSpec, job: JobSpec) -> tuple[str, ...]:
    """What ``job_perf`` reads of its inputs (not the job's tokens, priority, checkpoints or throughput scale)."""
    parts = (job.model, job.layout, job.software)
    return (cluster.model_dump_json(), job.name, str(job.num_gpus), str(job.pool), repr(job.global_batch_tokens),
            *(part.model_dump_json() if part is not None else "" for part in parts))


def job_perf(cluster: ClusterSpec, job: JobSpec, *, assumptions: PerfAssumptions | None = None) -> JobPerf:
    """Estimate ``job`` on ``cluster``; plan its layout first if it gives none.

    A pure function of its inputs, remembered for the ``MEMO_SIZE`` last ones (with the default assumptions):
    planning a job takes 0.1-0.2 s, and the same job is asked for again and again (by each forecast draw and
    each simulation of a sweep in one worker, and by the dashboard's power, reliability and estimate panels).
    """
    if assumptions is not None:
        return _job_perf(cluster, job, assumptions=assumptions)
    key = _memo_key(cluster, job)
    with _memo_lock:
        found = _memo.get(key)
        if found is not None:
            _memo.move_to_end(key)
            return found
    perf = _job_perf(cluster, job, assumptions=cluster_assumptions(cluster))
    with _memo_lock:
        _memo[key] = perf
        while len(_memo) > MEMO_SIZE:
            _memo.popitem(last=False)
    return perf


def check_jobs(cluster: ClusterSpec, jobs: Sequence[JobSpec]) -> None:
    """Each job's model, stack and stated layout as its estimate reads them, checked before a simulation.

    A ``SpecError`` (an unknown software profile, a kernel or precision the pool's GPUs lack) is raised at
    ``jobs[i]``, and a stated layout that cannot run at the job's own size (one that breaks a layout rule of
    its model or stack) as an ``InfeasibleError`` at ``jobs[i].layout``: a simulation would otherwise find
    them only when the job first starts, or hold the job back for ever, silently (the planner's layouts are
    tried only at other sizes). A planned job that no layout fits stays what the simulation makes of it
    (it may restart on fewer GPUs)."""
    for i, job in enumerate(jobs):
        try:  # (on its pool named, as the simulation asks for it: the answer is remembered for that question)
            located_job_perf(cluster, job.model_copy(update={"pool": job_pool(cluster, job).name}), i)
        except InfeasibleError:
            if job.layout is not None:
                raise


def located_job_perf(cluster: ClusterSpec, job: JobSpec, index: int, *,
                     assumptions: PerfAssumptions | None = None) -> JobPerf:
    """``job_perf`` of the scenario's job ``index``, its errors located there: a ``SpecError`` of the job's own
    fields at ``jobs[index]``, an ``InfeasibleError`` at its stated layout or, when planned, at the job."""
    try:
        return job_perf(cluster, job, assumptions=assumptions)
    except SpecError as exc:
        ours = not exc.path or exc.path[0] in ("layout", "software", "model")
        raise (exc.located(prefix=("jobs", index)) if ours else exc) from None
    except InfeasibleError as exc:
        if job.layout is None:
            raise InfeasibleError(f"jobs[{index}]: {exc}") from None
        reason = str(exc).removeprefix(f"{job.name}: ")
        raise InfeasibleError(f"jobs[{index}].layout: job '{job.name}' states a layout it cannot run: {reason}"
                              ) from None


def cluster_assumptions(cluster: ClusterSpec) -> PerfAssumptions | None:
    """The shipped performance assumptions with the cluster's ``performance_assumptions`` (None: none)."""
    overrides = cluster.performance_assumptions
    if not overrides:
        return None
    return _cluster_assumptions(json.dumps(overrides, sort_keys=True))


@lru_cache(maxsize=32)
def _cluster_assumptions(overrides_json: str) -> PerfAssumptions:
    # (one object per set of overrides: estimates remember their prepared inputs by the assumptions' identity)
    try:
        return default_assumptions().with_checked_overrides(json.loads(overrides_json))
    except SpecError as exc:
        raise exc.located(prefix=["cluster", "performance_assumptions"]) from None


def _job_perf(cluster: ClusterSpec, job: JobSpec, *, assumptions: PerfAssumptions | None) -> JobPerf:
    pool = job_pool(cluster, job)
    if job.layout is not None:
        run = RunSpec(
            id=job.name, model=job.model, layout=job.layout, software=job.software or SoftwareSpec(),
            cluster=RunClusterSpec(gpu=pool.gpu, gpus=job.num_gpus, gpus_per_node=pool.server.gpus_per_server,
                                   nic_gbit_per_s=cluster.fabric.nic_gbit_per_s, power_limit_w=pool.power_limit_w),
        )
        est = estimate(run, assumptions=assumptions, fabric=cluster.fabric)
        return JobPerf(est, pool.name, planned=False,
                       global_batch_tokens=job.layout.global_batch * job.model.seq_len)
    try:
        found = plan(job.model, pool.gpu, num_gpus=job.num_gpus, global_batch_tokens=job.global_batch_tokens,
                     gpus_per_server=pool.server.gpus_per_server, fabric=cluster.fabric,
                     software=job.software, power_limit_w=pool.power_limit_w, assumptions=assumptions, top=10)
    except InfeasibleError as exc:
        raise InfeasibleError(f"job '{job.name}': no layout fits: {exc}") from None
    best = found.best[0]
    return JobPerf(best, pool.name, planned=True, global_batch_tokens=best.layout.global_batch * job.model.seq_len,
                   plan=found)
