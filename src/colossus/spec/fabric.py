"""The scale-out fabric: one RDMA network (Ethernet or InfiniBand) joining every GPU.

A folded Clos (fat tree) of identical switches. Tier 1 are the leaves the
NICs plug into; the top tier has no uplinks. With ``rail_optimized`` the k-th
GPU of every server plugs into a leaf of rail k, so that traffic between GPUs
of the same rank in different servers crosses one switch.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, model_validator

from colossus import units
from colossus.spec.base import Spec, ref
from colossus.spec.bounds import GbitPerS, NonNegFloat, real
from colossus.spec.hardware import OpticSpec, SwitchSpec

#: The deepest Clos the inventory builds; beyond four tiers nobody builds GPU fabrics.
MAX_TIERS = 4


class FabricSpec(Spec):
    name: str = "scale-out"
    switch: Annotated[SwitchSpec, ref("switches")]
    nic_gbit_per_s: GbitPerS = Field(description="scale-out bandwidth per GPU, Gbit/s")
    link_gbit_per_s: GbitPerS = Field(
        description="speed of one fabric link (a switch port, or one lane group after breakout), Gbit/s"
    )
    tiers: int | Literal["auto"] = Field(
        description="switch tiers of the Clos (1..4), or 'auto' for the fewest that fit the GPUs"
    )
    oversubscription: list[real(ge=1, le=1024)] = Field(  # type: ignore[valid-type]
        default_factory=list,
        description="down:up port ratio of tiers 1..T-1 (leaf first); empty = 1.0 (non-blocking) at every tier",
    )
    rail_optimized: bool
    nic_link_optical: bool = Field(
        description="NIC-to-leaf links are optical (leaves outside the rack) rather than copper"
    )
    optic: Annotated[OpticSpec, ref("optics")]
    cable_latency_ns_per_hop: NonNegFloat = Field(
        description="propagation delay of one link (about 5 ns per metre of fibre), ns"
    )
    adaptive_routing: bool | None = Field(
        None,
        description="flows spread over the equal-cost paths by load, not by a static ECMP hash; null: as the"
        " switch does (its adaptive_routing)",
    )

    @model_validator(mode="after")
    def _check(self) -> FabricSpec:
        if isinstance(self.tiers, int) and not 1 <= self.tiers <= MAX_TIERS:
            raise ValueError(f"tiers must be 1..{MAX_TIERS} or 'auto' (got {self.tiers})")
        if isinstance(self.tiers, int) and len(self.oversubscription) > max(self.tiers - 1, 0):
            raise ValueError(
                f"oversubscription has {len(self.oversubscription)} entries;"
                f" a {self.tiers}-tier fabric has {self.tiers - 1} tiers with uplinks"
            )
        if self.nic_gbit_per_s % self.link_gbit_per_s and self.link_gbit_per_s % self.nic_gbit_per_s:
            raise ValueError(
                f"nic_gbit_per_s ({self.nic_gbit_per_s:g}) and link_gbit_per_s"
                f" ({self.link_gbit_per_s:g}) must divide one another"
            )
        try:
            self.switch.radix_at(self.link_gbit_per_s)
        except ValueError as exc:
            raise ValueError(f"link_gbit_per_s: {exc}") from None
        return self

    @property
    def adaptive(self) -> bool:
        """Whether traffic between leaves is spread by load (the fabric's setting, else the switch's)."""
        return self.switch.adaptive_routing if self.adaptive_routing is None else self.adaptive_routing

    def oversubscription_at(self, tier: int) -> float:
        """Down:up ratio of ``tier`` (1 = leaf); 1.0 where not given."""
        idx = tier - 1
        return self.oversubscription[idx] if idx < len(self.oversubscription) else 1.0

    @property
    def nic_bytes_per_s(self) -> float:
        return units.gbit_per_s_to_bytes_per_s(self.nic_gbit_per_s)

    @property
    def link_bytes_per_s(self) -> float:
        return units.gbit_per_s_to_bytes_per_s(self.link_gbit_per_s)
