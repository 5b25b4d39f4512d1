"""The shared storage system checkpoints are written to and read from."""

from __future__ import annotations

from pydantic import Field

from colossus import units
from colossus.spec.base import Spec
from colossus.spec.hardware import PositiveFloat


class StorageSpec(Spec):
    name: str = "storage"
    write_gb_per_s: PositiveFloat = Field(description="sustained aggregate write bandwidth, GB/s (decimal)")
    read_gb_per_s: PositiveFloat = Field(description="sustained aggregate read bandwidth, GB/s (decimal)")
    capacity_pb: PositiveFloat = Field(description="usable capacity, PB (decimal)")

    @property
    def write_bytes_per_s(self) -> float:
        return self.write_gb_per_s * units.GB_PER_S

    @property
    def read_bytes_per_s(self) -> float:
        return self.read_gb_per_s * units.GB_PER_S

    @property
    def capacity_bytes(self) -> float:
        return self.capacity_pb * 1e15
