"""The named modelling assumptions of the reliability model, with their defaults.

Defaults and the reason for each live in ``catalog/data/reliability_assumptions.toml``
(restart phases per training stack in ``restart_profiles.toml``); override any of
them with ``dataclasses.replace(default_assumptions(), name=value)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

from colossus import units
from colossus.catalog import read_table


@dataclass(frozen=True, slots=True)
class Assumptions:
    """Checkpoint layout and modes, default storage, throughput and spares (SI units)."""

    weight_bytes_per_param: float
    master_bytes_per_param: float
    optimizer_bytes_per_param: float
    sharded_when_no_layout: bool  # a job without a layout uses a distributed optimizer
    d2h_bytes_per_s: float  # GPU-to-host snapshot bandwidth, per GPU
    server_write_bytes_per_s: float  # checkpoint write bandwidth of one server (also to peers)
    sync_s: float  # fixed cost of one checkpoint (barrier, metadata)
    replicas: int  # in-memory checkpoints: copies of each server's snapshot
    persistent_interval_s: float  # in-memory checkpoints: interval of the durable copy
    servers_per_rack: int  # without a scenario
    storage_write_bytes_per_s: float  # when no scenario gives a storage system
    storage_read_bytes_per_s: float
    mfu: float  # model FLOPs utilisation when throughput is not given
    spare_confidence: float  # share of failures that must find a spare ready

    @property
    def checkpoint_bytes_per_param(self) -> float:
        return self.weight_bytes_per_param + self.master_bytes_per_param + self.optimizer_bytes_per_param


@cache
def default_assumptions() -> Assumptions:
    """The shipped defaults (``reliability_assumptions.toml``)."""
    t = read_table("reliability_assumptions")
    ck, mem, st = t["checkpoint"], t["in_memory"], t["storage"]
    return Assumptions(
        weight_bytes_per_param=float(ck["weight_bytes_per_param"]),
        master_bytes_per_param=float(ck["master_bytes_per_param"]),
        optimizer_bytes_per_param=float(ck["optimizer_bytes_per_param"]),
        sharded_when_no_layout=bool(ck["sharded_when_no_layout"]),
        d2h_bytes_per_s=float(ck["d2h_gb_per_s"]) * units.GB_PER_S,
        server_write_bytes_per_s=units.gbit_per_s_to_bytes_per_s(float(ck["server_write_gbit_per_s"])),
        sync_s=float(ck["sync_s"]),
        replicas=int(mem["replicas"]),
        persistent_interval_s=float(mem["persistent_interval_min"]) * units.MINUTE,
        servers_per_rack=int(t["placement"]["servers_per_rack"]),
        storage_write_bytes_per_s=float(st["write_gb_per_s"]) * units.GB_PER_S,
        storage_read_bytes_per_s=float(st["read_gb_per_s"]) * units.GB_PER_S,
        mfu=float(t["throughput"]["mfu"]),
        spare_confidence=float(t["spares"]["confidence"]),
    )
