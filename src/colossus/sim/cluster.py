"""The cluster's servers as numpy arrays: where each sits (pool, pod, rack), its state, its job.

The simulation tracks servers, not GPUs: a server fails, is repaired and is
allocated as a unit (8 GPUs share a baseboard, and a gang-scheduled job takes
whole servers). 200,000 GPUs are 25,000 servers, small enough for vector
operations at every event; per-state counts per pool are kept incrementally
so that telemetry costs nothing.

Pods are the fabric's second-tier blocks (``topology.comm_levels``: the span of
the spine level, 4,096 GPUs on the default fabric); a pod never crosses
pools. Placement (``place``) is topology-aware: a job that fits in one pod
goes to the pod it fills best (least fragmentation), a larger one takes the
emptiest pods first, and within a pod whole free racks go first.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.spec import ClusterSpec
from colossus.topology import comm_levels

# Server states (int8 codes), in the order of ``result.GPU_STATES``.
NOT_INSTALLED, BURN_IN, IDLE, BUSY, FAILED, REPAIR = range(6)
NUM_STATES = 6


@dataclass(frozen=True)
class Layout:
    """Where every server sits; servers of a pool are contiguous, racks and pods contiguous within."""

    pool_names: tuple[str, ...]
    pool_of: np.ndarray  # server -> pool index
    pod_of: np.ndarray  # server -> global pod id
    rack_of: np.ndarray  # server -> global rack id
    pool_start: np.ndarray  # first server of each pool
    pool_end: np.ndarray
    gpus_per_server: np.ndarray  # per pool
    servers_per_rack: np.ndarray  # per pool

    @property
    def num_servers(self) -> int:
        return int(self.pool_of.size)

    @property
    def num_pools(self) -> int:
        return len(self.pool_names)

    def pool_index(self, name: str) -> int:
        return self.pool_names.index(name)


def build_layout(cluster: ClusterSpec) -> Layout:
    pool_of, pod_of, rack_of, starts, ends, gps, spr = [], [], [], [], [], [], []
    pod_base = rack_base = start = 0
    for i, pool in enumerate(cluster.pools):
        per = pool.server.gpus_per_server
        levels = comm_levels(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=per)
        pod_gpus = levels[1].span_gpus if len(levels) > 1 else pool.num_gpus
        pod_servers = max(1, pod_gpus // per)
        n = pool.num_servers
        local = np.arange(n)
        pool_of.append(np.full(n, i, dtype=np.int16))
        pod_of.append((pod_base + local // pod_servers).astype(np.int32))
        rack_of.append((rack_base + local // pool.rack.servers_per_rack).astype(np.int32))
        pod_base += -(-n // pod_servers)
        rack_base += pool.num_racks
        starts.append(start)
        start += n
        ends.append(start)
        gps.append(per)
        spr.append(pool.rack.servers_per_rack)
    return Layout(tuple(p.name for p in cluster.pools), np.concatenate(pool_of), np.concatenate(pod_of),
                  np.concatenate(rack_of), np.array(starts), np.array(ends), np.array(gps), np.array(spr))


class ClusterState:
    """Each server's state and owner, with per-pool counts kept in step."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.state = np.full(layout.num_servers, NOT_INSTALLED, dtype=np.int8)
        self.owner = np.full(layout.num_servers, -1, dtype=np.int32)
        self.counts = np.zeros((layout.num_pools, NUM_STATES), dtype=np.int64)
        self.counts[:, NOT_INSTALLED] = layout.pool_end - layout.pool_start

    def move(self, servers: np.ndarray, new_state: int, owner: int = -1) -> None:
        """Put ``servers`` in ``new_state`` (owned by job ``owner`` when busy)."""
        if servers.size == 0:
            return
        pools = self.layout.pool_of[servers].astype(np.int64)
        size = self.counts.size
        old = np.bincount(pools * NUM_STATES + self.state[servers], minlength=size)
        new = np.bincount(pools * NUM_STATES + new_state, minlength=size) if servers.size else 0
        self.counts += (new - old).reshape(self.counts.shape)
        self.state[servers] = new_state
        self.owner[servers] = owner if new_state == BUSY else -1

    def free(self, pool: int) -> np.ndarray:
        """Idle servers of ``pool`` (global indices, ascending)."""
        lo, hi = self.layout.pool_start[pool], self.layout.pool_end[pool]
        return np.flatnonzero(self.state[lo:hi] == IDLE) + lo

    def gpu_counts(self) -> np.ndarray:
        """GPUs by pool and state."""
        return self.counts * self.layout.gpus_per_server[:, None]


def place(free: np.ndarray, num_servers: int, layout: Layout) -> np.ndarray | None:
    """Choose ``num_servers`` of the ``free`` servers, filling pods and racks (None if too few)."""
    if num_servers <= 0:
        return free[:0]
    if free.size < num_servers:
        return None
    pods = layout.pod_of[free]
    ids, first, counts = np.unique(pods, return_index=True, return_counts=True)
    fits = np.flatnonzero(counts >= num_servers)
    if fits.size:
        best = fits[np.argmin(counts[fits])]  # the fullest pod that still holds the job
        chosen = free[first[best]:first[best] + counts[best]]
        return _whole_racks_first(chosen, num_servers, layout)
    order = np.lexsort((ids, -counts))  # emptiest pods first
    taken, need = [], num_servers
    for k in order:
        block = free[first[k]:first[k] + counts[k]]
        if block.size >= need:
            taken.append(_whole_racks_first(block, need, layout))
            break
        taken.append(block)
        need -= block.size
    return np.concatenate(taken)


def _whole_racks_first(servers: np.ndarray, n: int, layout: Layout) -> np.ndarray:
    """``n`` of ``servers`` (all in one pod), taking racks with the most free servers first."""
    if servers.size == n:
        return servers
    racks = layout.rack_of[servers]
    _, inverse, counts = np.unique(racks, return_inverse=True, return_counts=True)
    order = np.lexsort((servers, -counts[inverse]))
    return np.sort(servers[order[:n]])
