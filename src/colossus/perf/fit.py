"""Which models fit on which pool, and on how few GPUs (mission F3).

For each model and each pool, the smallest whole number of servers, doubling
from one server up to the pool, on which the planner (``perf.plan``) finds a
layout the model's weights, gradients, optimizer state and activations fit in
HBM, with that layout and its speed. Memory per GPU only falls as GPUs are
added (every parallel dimension divides the state), so the search doubles
until a fit is found and then bisects between the last two sizes in whole
servers. The batch is one the layouts can divide: a multiple of the GPU count
near the model's target batch, since a fit is a question of memory, not of
the optimiser's batch size.
"""

from __future__ import annotations

from dataclasses import dataclass

from colossus.errors import InfeasibleError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.estimate import Estimate
from colossus.perf.jobs import cluster_assumptions
from colossus.perf.search import plan
from colossus.spec import ClusterSpec, ModelSpec, PoolSpec, SoftwareSpec

#: Tokens per step the fit is planned with (before rounding to the GPU count): Llama 3's 16Mi.
DEFAULT_BATCH_TOKENS = 2**24


@dataclass(frozen=True, kw_only=True)
class Fit:
    """One model on one pool: the fewest GPUs it fits on (None: not even on the whole pool)."""

    model: str
    pool: str
    gpu: str
    num_params: int
    pool_gpus: int
    min_gpus: int | None
    estimate: Estimate | None  # the fastest fitting layout at ``min_gpus``
    reason: str  # why it does not fit, when it does not

    @property
    def fits(self) -> bool:
        return self.min_gpus is not None

    def as_dict(self) -> dict[str, object]:
        est = self.estimate
        return {
            "model": self.model, "pool": self.pool, "gpu": self.gpu, "num_params": self.num_params,
            "pool_gpus": self.pool_gpus, "fits": self.fits, "min_gpus": self.min_gpus,
            "layout": None if est is None else est.layout_label,
            "memory_per_gpu_bytes": None if est is None else est.memory_per_gpu_bytes,
            "hbm_bytes": None if est is None else est.hbm_bytes,
            "step_time_s": None if est is None else est.step_time_s,
            "tokens_per_s_per_gpu": None if est is None else est.tokens_per_s_per_gpu,
            "reason": self.reason or None,
        }


def _try(model: ModelSpec, pool: PoolSpec, cluster: ClusterSpec, gpus: int, batch_tokens: float,
         software: SoftwareSpec | None, assumptions: PerfAssumptions) -> tuple[Estimate | None, str]:
    seqs = max(1, round(batch_tokens / model.seq_len))
    seqs = -(-seqs // gpus) * gpus  # every data-parallel degree divides a multiple of the GPU count
    try:
        found = plan(model, pool.gpu, num_gpus=gpus, global_batch_tokens=seqs * model.seq_len,
                     gpus_per_server=pool.server.gpus_per_server, fabric=cluster.fabric, software=software,
                     power_limit_w=pool.power_limit_w, assumptions=assumptions, top=1)
    except InfeasibleError as exc:
        return None, str(exc)
    return found.best[0], ""


def fit_model(model: ModelSpec, pool: PoolSpec, cluster: ClusterSpec, *, batch_tokens: float = DEFAULT_BATCH_TOKENS,
              software: SoftwareSpec | None = None, assumptions: PerfAssumptions | None = None) -> Fit:
    """The fewest GPUs of ``pool`` (whole servers) on which ``model`` fits, and the layout."""
    assumptions = assumptions or cluster_assumptions(cluster) or default_assumptions()
    per_server = pool.server.gpus_per_server
    servers, last_fail, why = 1, 0, ""
    found: tuple[int, Estimate] | None = None
    while servers <= pool.num_servers:
        est, why = _try(model, pool, cluster, servers * per_server, batch_tokens, software, assumptions)
        if est is not None:
            found = (servers, est)
            break
        last_fail = servers
        servers = pool.num_servers if servers < pool.num_servers < 2 * servers else 2 * servers
    if found is None:
        return Fit(model=model.name, pool=pool.name, gpu=pool.gpu.name, num_params=model.num_params,
                   pool_gpus=pool.num_gpus, min_gpus=None, estimate=None, reason=why)
    lo, (hi, best) = last_fail, found  # lo does not fit, hi does
    while hi - lo > 1:
        mid = (lo + hi) // 2
        est, _ = _try(model, pool, cluster, mid * per_server, batch_tokens, software, assumptions)
        if est is not None:
            hi, best = mid, est
        else:
            lo = mid
    return Fit(model=model.name, pool=pool.name, gpu=pool.gpu.name, num_params=model.num_params,
               pool_gpus=pool.num_gpus, min_gpus=hi * per_server, estimate=best, reason="")


def fit_table(models: list[ModelSpec], cluster: ClusterSpec, **options: object) -> list[Fit]:
    """Every model on every pool of ``cluster``, model-major."""
    return [fit_model(m, p, cluster, **options) for m in models for p in cluster.pools]  # type: ignore[arg-type]


__all__ = ["DEFAULT_BATCH_TOKENS", "Fit", "fit_model", "fit_table"]
