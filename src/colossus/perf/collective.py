"""What one collective costs on a cluster's fabric (mission F2): time and bus bandwidth over sizes.

The same alpha-beta model the step time uses (``perf.network``), asked one
question at a time: an all-reduce, all-gather, reduce-scatter or all-to-all of
``size_bytes`` per GPU over a group of ``group_gpus`` GPUs of one pool, placed
either on consecutive ranks (whole servers: NVLink inside each, the fabric
between) or one GPU per server (every byte crosses the fabric, as the
data-parallel group of a layout with tensor parallelism does). The fabric's
levels (leaf, spine, core) are those of the whole cluster, so a group that
spans more GPUs climbs higher.

Bus bandwidth follows the NCCL tests' convention (``docs/PERFORMANCE.md`` of
nccl-tests): algorithm bandwidth ``size / time`` times ``2 (n-1)/n`` for an
all-reduce and ``(n-1)/n`` for the others, so that it compares with the
hardware's link rate whatever the group size.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.context import RunInputs, build_context
from colossus.perf.estimate import software_for
from colossus.perf.jobs import cluster_assumptions
from colossus.perf.network import all_to_all_time_s, ring_time_s
from colossus.spec import ClusterSpec, PoolSpec, lookup

OPS: tuple[str, ...] = ("all-reduce", "all-gather", "reduce-scatter", "all-to-all")
PLACEMENTS: tuple[str, ...] = ("consecutive", "per-server")
#: Buffer sizes of the default table, bytes (decimal, as NCCL's tests print them): 1 MB to 4 GB.
DEFAULT_SIZES_BYTES: tuple[float, ...] = (1e6, 16e6, 256e6, 1e9, 4e9)
#: Any model fills the context's model columns, which no collective reads.
_SHAPE_ONLY_MODEL = "llama3-8b"


@dataclass(frozen=True, kw_only=True)
class CollectiveCost:
    """One collective of one size: time, algorithm and bus bandwidth (SI)."""

    op: str
    size_bytes: float
    group_gpus: int
    placement: str
    stride: int  # ranks between two members of the group
    servers: int  # servers the group spans
    fabric_level: int  # 0 = inside a server (NVLink), 1 = leaf, 2 = spine, 3 = core
    time_s: float
    alg_bytes_per_s: float
    bus_bytes_per_s: float

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def bus_factor(op: str, n: int) -> float:
    """nccl-tests' bus bandwidth factor: 2(n-1)/n for all-reduce, (n-1)/n otherwise."""
    return (2.0 if op == "all-reduce" else 1.0) * (n - 1) / n


def collective_costs(
    cluster: ClusterSpec,
    *,
    pool: PoolSpec | None = None,
    group_gpus: int | None = None,
    placement: str = "consecutive",
    sizes_bytes: tuple[float, ...] = DEFAULT_SIZES_BYTES,
    ops: tuple[str, ...] = OPS,
    assumptions: PerfAssumptions | None = None,
) -> list[CollectiveCost]:
    """Every (size, op) of a group of ``group_gpus`` GPUs of ``pool`` (default: the first pool, all its GPUs)."""
    pool = pool or cluster.pools[0]
    n = int(group_gpus or pool.num_gpus)
    per_server = pool.server.gpus_per_server
    if placement not in PLACEMENTS:
        raise SpecError(f"'{placement}' is not a placement (one of {', '.join(PLACEMENTS)})", path=["placement"])
    for op in ops:
        if op not in OPS:
            raise SpecError(f"'{op}' is not a collective (one of {', '.join(OPS)})", path=["op"])
    if not 2 <= n <= pool.num_gpus:
        raise SpecError(f"a group of {n} GPUs: give 2 to {pool.num_gpus} (the GPUs of pool {pool.name})",
                        path=["group_gpus"])
    stride = per_server if placement == "per-server" else 1
    if placement == "per-server" and n > pool.num_servers:
        raise SpecError(f"one GPU per server: {n} GPUs need {n} servers, pool {pool.name} has {pool.num_servers}",
                        path=["group_gpus"])
    assumptions = assumptions or cluster_assumptions(cluster) or default_assumptions()
    inputs = RunInputs(lookup("models", _SHAPE_ONLY_MODEL), pool.gpu, software_for(None, pool.gpu, assumptions),
                       cluster.fabric, cluster.num_gpus, per_server)
    ctx = build_context([inputs], assumptions)
    sizes = np.asarray(sizes_bytes, dtype=np.float64)
    local = min(n, max(per_server // stride, 1))
    servers = -(-n // local)
    level = 0 if servers == 1 else 1 + int(np.searchsorted(ctx.level_span_gpus[0], n * stride, side="left"))
    level = min(level, ctx.level_span_gpus.shape[1])
    out: list[CollectiveCost] = []
    for size in sizes:
        for op in ops:
            if op == "all-to-all":
                t = float(all_to_all_time_s(ctx, size, n, stride)[0])
            else:
                t = float(ring_time_s(ctx, size, n, stride, all_reduce=op == "all-reduce")[0])
            alg = float(size / t) if t > 0 else float("inf")
            out.append(CollectiveCost(op=op, size_bytes=float(size), group_gpus=n, placement=placement,
                                      stride=stride, servers=servers, fabric_level=level, time_s=t,
                                      alg_bytes_per_s=alg, bus_bytes_per_s=alg * bus_factor(op, n)))
    return out


__all__ = ["DEFAULT_SIZES_BYTES", "OPS", "PLACEMENTS", "CollectiveCost", "bus_factor", "collective_costs"]
