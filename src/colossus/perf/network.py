"""Collective communication cost over the real topology (alpha-beta model), on arrays of rows.

A communicator group is described by its size and the rank stride between
members: with the ``tp-cp-ep-dp-pp`` rank order a group of stride ``st`` holds
``n_local = gpus_per_server / st`` GPUs of each server (at least one) and
spans ``size x st`` consecutive ranks, which decides the fabric tier its
traffic climbs to (``colossus.topology.comm_levels``: leaf, spine, core).

Ring collectives (NCCL) are pipelined, so the slowest link sets the pace:
NVLink carries ``f(n) x S`` per GPU, and each server's ``n_local`` NICs share
the inter-server part, ``f(n) x S / n_local`` each (``f`` = ``(n-1)/n`` for
reduce-scatter and all-gather, twice that for all-reduce). Latency is one
alpha per ring step for reduce-scatter / all-gather, and ``2 log2(nodes)``
for all-reduce (NCCL's double binary tree), so at 100,000 GPUs the latency
term and the tier crossed show up. Every function works on numpy arrays
broadcast over the rows of a ``perf.context.Context``.
"""

from __future__ import annotations

import numpy as np
from pydantic import ValidationError

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.context import Context
from colossus.spec import FabricSpec, GpuSpec


def default_fabric(gpu: GpuSpec, nic_gbit_per_s: float | None, assumptions: PerfAssumptions) -> FabricSpec:
    """The assumed fabric of a run that names none: ``[default_fabric]`` of perf_network.toml."""
    nic = nic_gbit_per_s
    if nic is None:
        nic = float(assumptions.network["default_nic_gbit_per_s"][gpu.architecture])
    raw = dict(assumptions.network["default_fabric"])
    raw["switch"], raw["optic"] = dict(raw["switch"]), dict(raw["optic"])
    port = float(raw["link_gbit_per_s"])
    # an odd NIC rate uses the fastest breakout of a port that divides it evenly
    splits = (port / 2**k for k in range(5))
    raw["link_gbit_per_s"] = next((lk for lk in splits if nic % lk == 0 or lk % nic == 0), nic)
    try:
        return FabricSpec.model_validate({**raw, "nic_gbit_per_s": nic})
    except ValidationError as exc:
        why = exc.errors()[0]["msg"]
        raise SpecError(
            f"no default fabric for {nic:g} Gbit/s per GPU: {why}", path=["cluster", "nic_gbit_per_s"]
        ) from None


# --- group geometry --------------------------------------------------------------


def group_local(ctx: Context, size, stride) -> np.ndarray:
    """GPUs of the group inside one server."""
    if isinstance(stride, int) and stride == 1:  # (adjacent ranks: a whole server's GPUs)
        return np.minimum(size, ctx.gpus_per_server)
    per_server = np.maximum(ctx.gpus_per_server // np.maximum(stride, 1), 1)
    return np.minimum(size, per_server)


def level_of(ctx: Context, extent) -> tuple[np.ndarray, np.ndarray]:
    """(bytes/s per GPU, latency) of the lowest scale-out level whose span covers ``extent`` consecutive ranks."""
    extent = np.asarray(extent, dtype=np.float64)
    spans = ctx.level_span_gpus
    if spans.shape[0] == 1:  # one run's row broadcast over its layouts (estimate, plan)
        idx = np.minimum(spans[0].searchsorted(extent, side="left"), spans.shape[1] - 1)
        return ctx.level_bytes_per_s[0].take(idx), ctx.level_latency_s[0].take(idx)
    extent = np.broadcast_to(extent, spans.shape[:1])
    idx = np.minimum((spans < extent[:, None]).sum(axis=1), spans.shape[1] - 1)
    rows = np.arange(spans.shape[0])
    return ctx.level_bytes_per_s[rows, idx], ctx.level_latency_s[rows, idx]


# --- collectives -----------------------------------------------------------------


class Ring:
    """Where a ring communicator of ``size`` ranks ``stride`` apart runs (what its collectives share).

    What depends only on the group (its ring factor, the slowest link it crosses, its latency) is
    computed on first use and kept, so the several collectives of one group (a step's gradient
    reduction and parameter gather) pay for it once. ``aggregate=False`` makes every rank send its
    share through its own NIC, as an implementation without node-level rings does.
    """

    __slots__ = ("n", "local", "nodes", "bw", "lat", "_ctx", "_aggregate", "_link", "_frac", "_frac_all_reduce",
                 "_latency")

    def __init__(self, ctx: Context, n: np.ndarray, local: np.ndarray, nodes: np.ndarray, bw: np.ndarray,
                 lat: np.ndarray, aggregate=True):
        self.n = n  # ranks (at least 1)
        self.local = local  # ranks inside one server
        self.nodes = nodes  # servers
        self.bw = bw  # bytes/s per GPU of the scale-out level it climbs to
        self.lat = lat  # that level's latency
        self._ctx = ctx
        self._aggregate = aggregate
        self._link: np.ndarray | None = None
        self._frac: np.ndarray | None = None
        self._frac_all_reduce: np.ndarray | None = None
        self._latency: dict[bool, np.ndarray] = {}

    def factor(self, all_reduce: bool) -> np.ndarray:
        """Bytes each rank sends per byte of buffer: ``(n-1)/n``, twice that for an all-reduce."""
        if self._frac is None:
            self._frac = (self.n - 1) / self.n
        if not all_reduce:
            return self._frac
        if self._frac_all_reduce is None:
            self._frac_all_reduce = 2.0 * self._frac
        return self._frac_all_reduce

    def link_bytes_per_s(self) -> np.ndarray:
        """Rate of the slowest link the ring crosses, per GPU: NVLink inside a server, and each server's
        ``local`` NICs sharing the inter-server part (one NIC per rank without aggregation); infinite
        where it crosses none (a group of one rank)."""
        if self._link is None:
            share = self.local if self._aggregate is True else np.where(self._aggregate, self.local, 1)
            nvlink = np.where(self.local > 1, self._ctx.nvlink_bytes_per_s, np.inf)
            self._link = np.minimum(nvlink, np.where(self.nodes > 1, share * self.bw, np.inf))
        return self._link

    def latency_s(self, all_reduce: bool) -> np.ndarray:
        """One alpha per ring step (reduce-scatter, all-gather), ``2 log2(nodes)`` for an all-reduce."""
        if all_reduce not in self._latency:
            self._latency[all_reduce] = _ring_latency_s(self._ctx, self, all_reduce)
        return self._latency[all_reduce]


def ring(ctx: Context, size, stride, aggregate=True) -> Ring:
    n = np.maximum(np.asarray(size), 1)
    local = group_local(ctx, n, stride)
    bw, lat = level_of(ctx, n * stride)
    return Ring(ctx, n, local, n // local, bw, lat, aggregate)


def _ring_latency_s(ctx: Context, g: Ring, all_reduce: bool) -> np.ndarray:
    if all_reduce:
        steps_net, steps_nvlink = 2 * np.ceil(np.log2(np.maximum(g.nodes, 1))), 2 * (g.local - 1)
    else:
        steps_net, steps_nvlink = g.nodes - 1, g.local - 1
    return steps_net * g.lat + steps_nvlink * ctx.k["nvlink_latency_s"]


def ring_time_s(ctx: Context, bytes_, size, stride, *, all_reduce: bool, geometry: Ring | None = None) -> np.ndarray:
    """Time of an all-reduce (or a reduce-scatter / all-gather) of ``bytes_`` per GPU.

    ``bytes_`` is the full buffer (the all-gather's output, the reduce-scatter's
    input). The slowest link sets the pace: ``factor x bytes_`` over NVLink and over
    each server's share of the NICs, whichever takes longer, plus the latency.
    ``geometry``: ``ring(ctx, size, stride, aggregate)``, when the caller runs several
    collectives on one group or its ranks do not aggregate per server.

    A group of one rank costs exactly 0: its factor is 0, it crosses no link and waits on no step.
    """
    g = ring(ctx, size, stride) if geometry is None else geometry
    # max(f b / nvlink, f b / (share bw)) is f b / min(nvlink, share bw): division by a positive rate is monotone
    return g.factor(all_reduce) * bytes_ / g.link_bytes_per_s() + g.latency_s(all_reduce)


def all_to_all_time_s(ctx: Context, bytes_, size, stride) -> np.ndarray:
    """All-to-all where each GPU holds ``bytes_`` and keeps ``1/n`` of it."""
    n = np.maximum(np.asarray(size), 1)
    local = group_local(ctx, n, stride)
    bw, lat = level_of(ctx, n * stride)
    t_nvlink = bytes_ * (local - 1) / n / ctx.nvlink_bytes_per_s
    t_net = bytes_ * (n - local) / n / bw
    latency = np.where(n > local, lat, ctx.k["nvlink_latency_s"])
    return np.where(n > 1, np.maximum(t_nvlink, t_net) / ctx.k["a2a_eff"] + latency, 0.0)


def moe_dispatch_time_s(ctx: Context, token_bytes, top_k, size, stride, *, per_server,
                        geometry: Ring | None = None) -> np.ndarray:
    """Token dispatch (or combine) of expert parallelism: each GPU sends ``top_k`` copies of its tokens.

    ``token_bytes`` is this GPU's tokens x hidden x bytes. Experts are spread
    evenly over the ``size`` ranks; ranks of one server share NVLink. With
    ``per_server`` (hierarchical dispatch, DeepEP) a token crosses the network
    once per distinct remote server among its ``top_k`` experts,
    ``(S-1)(1-(1-1/S)^k)`` of ``S`` servers in expectation, then fans out over
    NVLink; otherwise once per remote expert, ``k (n - n_local) / n``.

    NVLink: the all-to-all dispatcher sends one copy per (token, expert) pair,
    ``k (n_local - 1) / n`` per token. DeepEP sends a token to each destination
    *rank* once, however many of its experts that rank holds (its dispatch
    layout is a token-by-rank mask; deepseek-ai/DeepEP README, ``get_dispatch_layout``
    / ``is_token_in_rank``), and forwards what arrives over RDMA to the ranks of
    the receiving server: ``S (n_local - 1)(1 - (1 - 1/n)^k)`` copies per token
    (its own server's ranks, plus forwarding for the ``S - 1`` others).
    """
    g = ring(ctx, size, stride) if geometry is None else geometry
    n, local, bw, lat = g.n, g.local, g.bw, g.lat
    servers = n / local
    deduped = (servers - 1) * (1 - (1 - 1 / servers) ** top_k)
    remote = np.where(per_server, deduped, top_k * (n - local) / n)
    t_net = token_bytes * remote / bw
    per_rank = servers * (local - 1) * (1 - (1 - 1 / n) ** top_k)
    t_nvlink = token_bytes * np.where(per_server, per_rank, top_k * (local - 1) / n) / ctx.nvlink_bytes_per_s
    latency = np.where(servers > 1, lat, ctx.k["nvlink_latency_s"])
    return np.where(n > 1, np.maximum(t_nvlink, t_net) / ctx.k["a2a_eff"] + latency, 0.0)


def p2p_time_s(ctx: Context, bytes_, stride) -> np.ndarray:
    """One send/recv of ``bytes_`` between ranks ``stride`` apart (pipeline, ring attention)."""
    stride = np.asarray(stride)
    same_server = stride < ctx.gpus_per_server
    bw, lat = level_of(ctx, 2 * stride)
    t_net = bytes_ / bw + lat
    t_nvlink = bytes_ / ctx.nvlink_bytes_per_s + ctx.k["nvlink_latency_s"]
    return np.where(same_server, t_nvlink, t_net) + ctx.k["p2p_latency_s"]


def ring_hop_time_s(ctx: Context, bytes_, size, stride) -> np.ndarray:
    """One step of a ring of ``size`` ranks ``stride`` apart (ring attention): all hops run at once, so the
    step takes as long as its slowest hop, which crosses the network once the ring leaves a server."""
    size, stride = np.asarray(size), np.asarray(stride)
    inside = size * stride <= ctx.gpus_per_server
    bw, lat = level_of(ctx, size * stride)
    t_net = bytes_ / bw + lat
    t_nvlink = bytes_ / ctx.nvlink_bytes_per_s + ctx.k["nvlink_latency_s"]
    return np.where(inside, t_nvlink, t_net) + ctx.k["p2p_latency_s"]


__all__ = [
    "Ring",
    "all_to_all_time_s",
    "default_fabric",
    "group_local",
    "level_of",
    "moe_dispatch_time_s",
    "p2p_time_s",
    "ring",
    "ring_hop_time_s",
    "ring_time_s",
]
