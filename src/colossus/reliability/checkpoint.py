"""Checkpoint size, write and stall time, restart time, and the optimal checkpoint interval.

Sizes follow mixed-precision Adam (Rajbhandari et al., ZeRO, SC 2020, Sec. 3.1).
A blocking checkpoint stalls training for the whole write; an asynchronous one
only for the copy of each GPU's shard to host memory (Megatron-LM / NeMo async
checkpointing, Nebula, CheckFreq: Mohan et al., FAST 2021), the write goes on in
the background and the checkpoint becomes durable ``write_s`` later. The
optimal interval is Daly's higher-order estimate of Young's formula (Young,
CACM 1974; Daly, FGCS 22(3), 2006, eq. 37).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

from colossus.errors import SpecError
from colossus.reliability.assumptions import Assumptions
from colossus.spec import LayoutSpec, ModelSpec


@dataclass(frozen=True, slots=True)
class Checkpoint:
    """What one checkpoint of a job costs (SI units)."""

    size_bytes: float
    num_writers: int  # GPUs that write a part of it
    write_s: float  # time to make it durable on the storage system
    stall_s: float  # training time lost per checkpoint
    asynchronous: bool
    load_s: float  # time to read it back on restart

    @property
    def durability_lag_s(self) -> float:
        """How long after the stall ends the checkpoint is safe (0 when blocking)."""
        return self.write_s if self.asynchronous else 0.0


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


def plan_checkpoint(
    size_bytes: float,
    *,
    writers: int,
    gpus_per_server: int,
    storage_write_bytes_per_s: float,
    storage_read_bytes_per_s: float,
    asynchronous: bool,
    a: Assumptions,
) -> Checkpoint:
    """Write time = the slower of the storage system and the writing servers' links, plus a
    fixed sync; the stall is that write (blocking) or the GPU-to-host copy (asynchronous)."""
    if storage_write_bytes_per_s <= 0 or storage_read_bytes_per_s <= 0:
        raise SpecError("storage bandwidths must be > 0")
    per_gpu_bytes = size_bytes / writers
    servers = max(1, math.ceil(writers / gpus_per_server))
    per_server_bytes = size_bytes / servers
    write_s = a.sync_s + max(size_bytes / storage_write_bytes_per_s, per_server_bytes / a.server_write_bytes_per_s)
    stall_s = a.sync_s + per_gpu_bytes / a.d2h_bytes_per_s if asynchronous else write_s
    load_s = size_bytes / storage_read_bytes_per_s
    return Checkpoint(size_bytes, writers, write_s, stall_s, asynchronous, load_s)


def restart_s(ckpt: Checkpoint, a: Assumptions) -> float:
    """Detect, drain, reschedule on spares, load the checkpoint, warm up (no waiting for repairs)."""
    return a.detect_s + a.drain_s + a.reschedule_s + ckpt.load_s + a.warmup_s


def effective_stall_s(ckpt: Checkpoint, interval_s: float) -> float:
    """Stall per checkpoint at ``interval_s``: an asynchronous write longer than the interval
    makes the next snapshot wait for it."""
    if not ckpt.asynchronous:
        return ckpt.stall_s
    return ckpt.stall_s + max(0.0, ckpt.write_s - interval_s)


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
    """Daly's interval (compute time between checkpoints), never shorter than an asynchronous
    write, since a shorter one only queues snapshots behind the write."""
    tau = daly_interval_s(ckpt.stall_s, mtti_s)
    return max(tau, ckpt.durability_lag_s) if ckpt.asynchronous else tau
