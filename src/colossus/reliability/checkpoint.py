"""Checkpoint size, write and stall time, load time, and the optimal checkpoint interval.

Sizes follow mixed-precision Adam (Rajbhandari et al., ZeRO, SC 2020, Sec. 3.1).
Three modes:

* ``blocking``: training stalls for the whole write to storage;
* ``async``: training stalls only for the copy of each GPU's shard to host
  memory (Megatron-LM / NeMo async checkpointing, Nebula, CheckFreq: Mohan et
  al., FAST 2021); the write goes on in the background and the checkpoint is
  durable ``write_s`` later;
* ``in_memory``: the host snapshot is copied to peers' host memory (Gemini,
  arXiv:2312.11805 Sec. 3: redundant in-memory replicas instead of periodic
  checkpoints to persistent storage; Wang et al., SOSP 2023, for the design):
  durable once the copy is on a peer (``replicate_s``), read back from peers on
  restart; a durable copy still goes to storage every ``persistent_interval_s``
  for the faults that lose every replica (a rack domain, since the copy stays
  in the rack), which then cost the work since that copy.

The optimal interval is Daly's higher-order estimate of Young's formula (Young,
CACM 1974; Daly, FGCS 22(3), 2006, eq. 37).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

from colossus.errors import SpecError
from colossus.reliability.assumptions import Assumptions
from colossus.spec import LayoutSpec, ModelSpec

MODES: tuple[str, ...] = ("blocking", "async", "in_memory")


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one checkpoint of a job costs (SI units)."""

    size_bytes: float
    num_writers: int  # GPUs that write a part of it
    write_s: float  # time to make it durable on the storage system
    stall_s: float  # training time lost per checkpoint
    mode: str  # blocking | async | in_memory
    load_s: float  # time to read it back on restart (from peers when in memory)
    replicate_s: float = 0.0  # in memory: time to copy the snapshot to peers
    storage_load_s: float = 0.0  # time to read the durable copy back from storage
    persistent_interval_s: float = math.inf  # in memory: interval of the durable copy to storage

    @property
    def asynchronous(self) -> bool:
        return self.mode != "blocking"

    @property
    def durability_lag_s(self) -> float:
        """How long after the stall ends the checkpoint is safe (0 when blocking)."""
        if self.mode == "in_memory":
            return self.replicate_s
        return self.write_s if self.mode == "async" else 0.0

    @property
    def fallback_loss_s(self) -> float:
        """In memory: what a fault that loses every replica costs beyond an ordinary one (the
        work since the durable copy, half its interval on average, and the slower load)."""
        if self.mode != "in_memory":
            return 0.0
        return self.persistent_interval_s / 2.0 + max(0.0, self.storage_load_s - self.load_s)


def checkpoint_size_bytes(model: ModelSpec, a: Assumptions) -> float:
    """Weights, fp32 master weights and optimizer state of every parameter (MoE: all experts)."""
    return model.num_params * a.checkpoint_bytes_per_param


def num_writers(num_gpus: int, layout: LayoutSpec | None, a: Assumptions) -> int:
    """GPUs holding distinct parts: all of them if the optimizer is sharded over data
    parallelism (ZeRO >= 1), else one data-parallel replica (tp x pp x cp GPUs)."""
    sharded = a.sharded_when_no_layout if layout is None else layout.zero >= 1
    if sharded or layout is None:
        return num_gpus
    return layout.tp * layout.pp * layout.cp


def mode_of(*, asynchronous: bool, in_memory: bool) -> str:
    """The checkpoint mode of a job's two switches (a scenario's ``checkpoint`` block)."""
    if in_memory and not asynchronous:
        raise SpecError("in-memory checkpoints snapshot asynchronously: set asynchronous: true")
    return "in_memory" if in_memory else ("async" if asynchronous else "blocking")


def plan_checkpoint(
    size_bytes: float,
    *,
    writers: int,
    gpus_per_server: int,
    storage_write_bytes_per_s: float,
    storage_read_bytes_per_s: float,
    asynchronous: bool = True,
    mode: str | None = None,
    a: Assumptions,
) -> Checkpoint:
    """Write time = the slower of the storage system and the writing servers' links, plus a
    fixed sync; the stall is that write (blocking) or the GPU-to-host copy (async, in memory).

    ``mode`` (one of ``MODES``) wins over ``asynchronous`` when given.
    """
    if storage_write_bytes_per_s <= 0 or storage_read_bytes_per_s <= 0:
        raise SpecError("storage bandwidths must be > 0")
    mode = mode or ("async" if asynchronous else "blocking")
    if mode not in MODES:
        raise SpecError(f"checkpoint mode must be one of {', '.join(MODES)} (got '{mode}')")
    per_gpu_bytes = size_bytes / writers
    servers = max(1, math.ceil(writers / gpus_per_server))
    per_server_bytes = size_bytes / servers
    write_s = a.sync_s + max(size_bytes / storage_write_bytes_per_s, per_server_bytes / a.server_write_bytes_per_s)
    snapshot_s = a.sync_s + per_gpu_bytes / a.d2h_bytes_per_s
    storage_load_s = size_bytes / storage_read_bytes_per_s
    if mode == "in_memory":
        copies = max(a.replicas - 1, 0)
        replicate_s = a.sync_s + copies * per_server_bytes / a.server_write_bytes_per_s
        peer_load_s = per_server_bytes / a.server_write_bytes_per_s
        return Checkpoint(size_bytes, writers, write_s, snapshot_s, mode, peer_load_s, replicate_s,
                          storage_load_s, a.persistent_interval_s)
    stall_s = write_s if mode == "blocking" else snapshot_s
    return Checkpoint(size_bytes, writers, write_s, stall_s, mode, storage_load_s, 0.0, storage_load_s)


def effective_stall_s(ckpt: Checkpoint, interval_s: float) -> float:
    """Stall per checkpoint at ``interval_s``: a background write (or copy to peers) longer
    than the interval makes the next snapshot wait for it."""
    if not ckpt.asynchronous:
        return ckpt.stall_s
    return ckpt.stall_s + max(0.0, ckpt.durability_lag_s - interval_s)


def young_interval_s(stall_s: float, mtti_s: float) -> float:
    """Young (1974): ``sqrt(2 delta M)``."""
    return math.sqrt(2.0 * stall_s * mtti_s)


def daly_interval_s(stall_s: float, mtti_s: float) -> float:
    """Daly (2006), eq. 37: ``sqrt(2dM)[1 + sqrt(d/2M)/3 + (d/2M)/9] - d`` for ``d < 2M``, else ``M``.

    ``stall_s`` is the cost of one checkpoint, ``mtti_s`` the mean time to interruption.
    Infinite when nothing fails.
    """
    if math.isinf(mtti_s):
        return math.inf
    if stall_s <= 0:
        return 0.0
    if stall_s >= 2.0 * mtti_s:
        return mtti_s
    x = stall_s / (2.0 * mtti_s)
    return math.sqrt(2.0 * stall_s * mtti_s) * (1.0 + math.sqrt(x) / 3.0 + x / 9.0) - stall_s


def optimal_interval_s(ckpt: Checkpoint, mtti_s: float) -> float:
    """Daly's interval (compute time between checkpoints), never shorter than a background
    write or copy, since a shorter one only queues snapshots behind it."""
    tau = daly_interval_s(ckpt.stall_s, mtti_s)
    return max(tau, ckpt.durability_lag_s) if ckpt.asynchronous else tau
