"""Collective communication cost over the real topology (alpha-beta model).

A communicator group is described by its size and the rank stride between
members (``group``): with the ``tp-cp-ep-dp-pp`` rank order a group of stride
``st`` holds ``n_local = gpus_per_server / st`` GPUs of each server (at least
one) and spans ``size x st`` consecutive ranks, which decides the fabric tier
its traffic climbs to (``colossus.topology.comm_levels``: leaf, spine, core).

Ring collectives (NCCL) are pipelined, so the slowest link sets the pace:
NVLink carries ``f(n) x S`` per GPU, and each server's ``n_local`` NICs share
the inter-server part, ``f(n) x S / n_local`` each (``f`` = ``(n-1)/n`` for
reduce-scatter and all-gather, twice that for all-reduce). Latency is one
alpha per ring step for reduce-scatter / all-gather, and ``2 log2(nodes)``
for all-reduce (NCCL's double binary tree), so at 100,000 GPUs the latency
term and the tier crossed show up. Every function works on numpy arrays.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from pydantic import ValidationError

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions
from colossus.spec import FabricSpec, GpuSpec
from colossus.topology import comm_levels


@dataclass(frozen=True)
class Network:
    """What a collective needs to know about the GPUs and the fabric."""

    gpus_per_server: int
    nvlink_bytes_per_s: float  # per GPU per direction, after NCCL efficiency
    level_span_gpus: np.ndarray  # scale-out levels, leaf first
    level_bytes_per_s: np.ndarray  # per GPU per direction at each level, after NCCL efficiency
    level_latency_s: np.ndarray  # NIC + software + switches + cables, per message
    nvlink_latency_s: float
    p2p_latency_s: float
    a2a_eff: float  # all-to-all efficiency relative to ring bus bandwidth

    @property
    def nic_bytes_per_s(self) -> float:
        return float(self.level_bytes_per_s[0])


def build_network(
    gpu: GpuSpec, fabric: FabricSpec, *, num_gpus: int, gpus_per_server: int, assumptions: PerfAssumptions
) -> Network:
    """The ``Network`` of ``num_gpus`` GPUs (rounded up to whole servers) on ``fabric``."""
    nccl = assumptions.network["nccl"]
    servers = -(-num_gpus // gpus_per_server)
    levels = comm_levels(fabric, num_gpus=servers * gpus_per_server, gpus_per_server=gpus_per_server)
    net_eff = float(nccl["net_busbw_eff"])
    return Network(
        gpus_per_server=gpus_per_server,
        nvlink_bytes_per_s=gpu.nvlink_bytes_per_s * float(nccl["nvlink_busbw_eff"]),
        level_span_gpus=np.array([lv.span_gpus for lv in levels], dtype=np.int64),
        level_bytes_per_s=np.array([lv.bytes_per_s_per_gpu * net_eff for lv in levels]),
        level_latency_s=np.array([lv.latency_s + float(nccl["nic_latency_s"]) for lv in levels]),
        nvlink_latency_s=float(nccl["nvlink_latency_s"]),
        p2p_latency_s=float(nccl["p2p_latency_s"]),
        a2a_eff=float(nccl["a2a_busbw_eff"]),
    )


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
        raise SpecError(f"no default fabric for {nic:g} Gbit/s per GPU: {why}", path=["cluster", "nic_gbit_per_s"]) from None


# --- group geometry --------------------------------------------------------------


def group_local(net: Network, size: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """GPUs of the group inside one server."""
    per_server = np.maximum(net.gpus_per_server // np.maximum(stride, 1), 1)
    return np.minimum(size, per_server)


def _level_index(net: Network, extent: np.ndarray) -> np.ndarray:
    """Index of the lowest scale-out level whose span covers ``extent`` consecutive ranks."""
    idx = np.searchsorted(net.level_span_gpus, extent, side="left")
    return np.minimum(idx, len(net.level_span_gpus) - 1)


def _net_bw_lat(net: Network, size: np.ndarray, stride: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    idx = _level_index(net, size * stride)
    return net.level_bytes_per_s[idx], net.level_latency_s[idx]


# --- collectives -----------------------------------------------------------------


def ring_time_s(
    net: Network,
    bytes_: np.ndarray,
    size: np.ndarray,
    stride: np.ndarray,
    *,
    all_reduce: bool,
    aggregate: bool = True,
) -> np.ndarray:
    """Time of an all-reduce (or a reduce-scatter / all-gather) of ``bytes_`` per GPU.

    ``bytes_`` is the full buffer (the all-gather's output, the reduce-scatter's
    input). ``aggregate=False`` makes every rank send its share through its own
    NIC, as an implementation without node-level rings does.
    """
    size = np.asarray(size)
    n = np.maximum(size, 1)
    factor = (2.0 if all_reduce else 1.0) * (n - 1) / n
    local = group_local(net, n, stride)
    nodes = n // local
    bw, lat = _net_bw_lat(net, n, stride)
    share = np.where(aggregate, local, 1)
    t_nvlink = np.where(local > 1, factor * bytes_ / net.nvlink_bytes_per_s, 0.0)
    t_net = np.where(nodes > 1, factor * bytes_ / (share * bw), 0.0)
    steps_net = np.where(all_reduce, 2 * np.ceil(np.log2(np.maximum(nodes, 1))), nodes - 1)
    steps_nvlink = np.where(all_reduce, 2 * (local - 1), local - 1)
    latency = steps_net * lat + steps_nvlink * net.nvlink_latency_s
    return np.where(n > 1, np.maximum(t_nvlink, t_net) + latency, 0.0)


def all_to_all_time_s(net: Network, bytes_: np.ndarray, size: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """All-to-all where each GPU holds ``bytes_`` and keeps ``1/n`` of it."""
    n = np.maximum(np.asarray(size), 1)
    local = group_local(net, n, stride)
    bw, lat = _net_bw_lat(net, n, stride)
    t_nvlink = bytes_ * (local - 1) / n / net.nvlink_bytes_per_s
    t_net = bytes_ * (n - local) / n / bw
    latency = np.where(n > local, lat, net.nvlink_latency_s)
    return np.where(n > 1, np.maximum(t_nvlink, t_net) / net.a2a_eff + latency, 0.0)


def moe_dispatch_time_s(
    net: Network,
    token_bytes: np.ndarray,
    top_k: int,
    size: np.ndarray,
    stride: np.ndarray,
    *,
    per_server: bool,
) -> np.ndarray:
    """Token dispatch (or combine) of expert parallelism: each GPU sends ``top_k`` copies of its tokens.

    ``token_bytes`` is this GPU's tokens x hidden x bytes. Experts are spread
    evenly over the ``size`` ranks; ranks of one server share NVLink. With
    ``per_server`` (hierarchical dispatch) a token crosses the network once per
    distinct remote server among its ``top_k`` experts, ``(S-1)(1-(1-1/S)^k)``
    of ``S`` servers in expectation, then fans out over NVLink; otherwise once
    per remote expert, ``k (n - n_local) / n``.
    """
    n = np.maximum(np.asarray(size), 1)
    local = group_local(net, n, stride)
    servers = n / local
    bw, lat = _net_bw_lat(net, n, stride)
    deduped = (servers - 1) * (1 - (1 - 1 / servers) ** top_k)
    remote = np.where(per_server, deduped, top_k * (n - local) / n)
    t_net = token_bytes * remote / bw
    t_nvlink = token_bytes * top_k * (local - 1) / n / net.nvlink_bytes_per_s
    latency = np.where(servers > 1, lat, net.nvlink_latency_s)
    return np.where(n > 1, np.maximum(t_nvlink, t_net) / net.a2a_eff + latency, 0.0)


def p2p_time_s(net: Network, bytes_: np.ndarray, stride: np.ndarray) -> np.ndarray:
    """One send/recv of ``bytes_`` between ranks ``stride`` apart (pipeline, ring attention)."""
    stride = np.asarray(stride)
    same_server = stride < net.gpus_per_server
    bw, lat = _net_bw_lat(net, np.full_like(stride, 2), stride)
    t_net = bytes_ / bw + lat
    t_nvlink = bytes_ / net.nvlink_bytes_per_s + net.nvlink_latency_s
    return np.where(same_server, t_nvlink, t_net) + net.p2p_latency_s


__all__ = [
    "Network",
    "all_to_all_time_s",
    "build_network",
    "default_fabric",
    "group_local",
    "moe_dispatch_time_s",
    "p2p_time_s",
    "ring_time_s",
]
