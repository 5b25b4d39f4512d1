"""A cluster: pools of GPUs (each one GPU type in one server and rack type) on one fabric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field, model_validator

from colossus import units
from colossus.spec.base import Spec, ref
from colossus.spec.bounds import MAX_POOLS, GpuCount, PartWatts, PerfOverrides
from colossus.spec.fabric import FabricSpec
from colossus.spec.hardware import GpuSpec, PositiveFloat, RackSpec, ServerSpec


class PoolSpec(Spec):
    """GPUs of one type, in one server and rack design (e.g. the first 100,000 H100)."""

    name: str
    gpu: Annotated[GpuSpec, ref("gpus")]
    num_gpus: GpuCount
    server: Annotated[ServerSpec, ref("servers")]
    rack: Annotated[RackSpec, ref("racks")]
    power_limit_w: PartWatts | None = Field(
        None, description="the GPUs' power limit when set below their TDP, W (null = at TDP)"
    )
    hbm_gb: PositiveFloat | None = Field(
        None, description="HBM capacity in GB (1e9 bytes) when the GPU variant differs from the catalog"
    )
    hbm_gb_per_s: PositiveFloat | None = Field(
        None, description="HBM bandwidth in GB/s when the GPU variant differs from the catalog"
    )

    @model_validator(mode="before")
    @classmethod
    def _hbm_variant(cls, data: Any) -> Any:
        """``hbm_gb`` / ``hbm_gb_per_s`` (the validation format's fields) become overrides of the GPU."""
        if not isinstance(data, Mapping) or ("hbm_gb" not in data and "hbm_gb_per_s" not in data):
            return data
        gpu = data.get("gpu")
        override = dict(gpu) if isinstance(gpu, Mapping) else {"name": gpu}
        if data.get("hbm_gb") is not None:
            override["hbm_gib"] = float(data["hbm_gb"]) * 1e9 / units.GIB
        if data.get("hbm_gb_per_s") is not None:
            override["hbm_tb_per_s"] = float(data["hbm_gb_per_s"]) / 1000.0
        return {**data, "gpu": override}

    @model_validator(mode="after")
    def _check(self) -> PoolSpec:
        per_server = self.server.gpus_per_server
        if self.num_gpus % per_server:
            raise ValueError(
                f"num_gpus ({self.num_gpus}) does not fill whole servers of {per_server} GPUs"
                f" (nearest: {self.num_gpus // per_server * per_server}"
                f" or {(self.num_gpus // per_server + 1) * per_server})"
            )
        if self.power_limit_w is not None and not self.gpu.min_power_cap_w <= self.power_limit_w <= self.gpu.tdp_w:
            raise ValueError(
                f"power_limit_w ({self.power_limit_w:g}) must lie between {self.gpu.name}'s lowest settable"
                f" limit ({self.gpu.min_power_cap_w:g} W) and its TDP ({self.gpu.tdp_w:g} W)"
            )
        if self.server.cooling != self.rack.cooling:
            raise ValueError(
                f"server '{self.server.name}' is {self.server.cooling}-cooled"
                f" but rack '{self.rack.name}' is {self.rack.cooling}-cooled"
            )
        return self

    @property
    def num_servers(self) -> int:
        return self.num_gpus // self.server.gpus_per_server

    @property
    def gpus_per_rack(self) -> int:
        return self.server.gpus_per_server * self.rack.servers_per_rack

    @property
    def num_racks(self) -> int:
        """Racks needed; the last one may be partly filled."""
        return -(-self.num_servers // self.rack.servers_per_rack)


class ClusterSpec(Spec):
    """One or more pools joined by one scale-out fabric."""

    name: str
    pools: list[PoolSpec] = Field(min_length=1, max_length=MAX_POOLS)
    fabric: FabricSpec
    performance_assumptions: PerfOverrides = Field(
        default_factory=dict,
        description=(
            "the performance model's named assumptions as they hold on this cluster, by dotted path, e.g."
            " 'network.nccl.net_busbw_eff: 0.82' from its own nccl-tests (catalog/data/perf_*.toml lists every"
            " name, its default and source); every job's estimate and plan on the cluster uses them"
        ),
    )

    @model_validator(mode="after")
    def _check(self) -> ClusterSpec:
        seen: set[str] = set()
        for pool in self.pools:
            if pool.name in seen:
                raise ValueError(f"pool name '{pool.name}' is used twice")
            seen.add(pool.name)
        sizes = {p.server.gpus_per_server for p in self.pools}
        if len(sizes) > 1:
            raise ValueError(
                f"pools mix servers of {sorted(sizes)} GPUs; one fabric needs one server size"
                " (its rails and leaf spans follow the GPUs per server)"
            )
        return self

    @property
    def gpus_per_server(self) -> int:
        return self.pools[0].server.gpus_per_server

    @property
    def num_gpus(self) -> int:
        return sum(p.num_gpus for p in self.pools)

    @property
    def num_servers(self) -> int:
        return sum(p.num_servers for p in self.pools)

    @property
    def num_racks(self) -> int:
        return sum(p.num_racks for p in self.pools)

    def pool(self, name: str) -> PoolSpec:
        for p in self.pools:
            if p.name == name:
                return p
        raise KeyError(name)
