"""Specs of the hardware a cluster is built from: GPU, NIC, switch, optics, server, rack.

Fields carry the human unit a datasheet uses (``hbm_gib``, ``tdp_w``,
``port_gbit_per_s``); properties convert to SI base units once, for the code.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated

from pydantic import Field, model_validator

from colossus import units
from colossus.spec.base import CatalogItem, ref
from colossus.spec.bounds import (  # the shared kinds of numbers (limits: spec/bounds.py)
    Efficiency,
    Fraction,  # noqa: F401 (re-exported for the other spec modules)
    GbitPerS,
    GpuCount,
    NonNegFloat,
    NonNegInt,  # noqa: F401
    Parts,
    PartsOrZero,
    PartWatts,
    PartWattsOrZero,
    PositiveFloat,
    PositiveInt,  # noqa: F401
)
from colossus.vocab import Precision


class Cooling(StrEnum):
    LIQUID = "liquid"
    AIR = "air"


class GpuSpec(CatalogItem):
    """One accelerator. Peak figures are dense (no structured sparsity)."""

    vendor: str = "NVIDIA"
    architecture: str
    dense_tflop_per_s: dict[Precision, PositiveFloat] = Field(
        description="peak dense tensor-core TFLOP/s per precision; a precision absent here is unsupported"
    )
    hbm_gib: PositiveFloat = Field(description="HBM capacity usable by software, GiB")
    hbm_tb_per_s: PositiveFloat = Field(description="HBM bandwidth, TB/s (decimal)")
    nvlink_gb_per_s: NonNegFloat = Field(
        description="NVLink bandwidth per GPU per direction, GB/s (decimal); 0 if none"
    )
    tdp_w: PartWatts = Field(description="thermal design power / default power limit, W")
    idle_w: PartWatts = Field(description="power at idle with clocks up (no work), W")
    min_power_cap_w: PartWatts = Field(description="lowest settable power limit, W")

    @model_validator(mode="after")
    def _check(self) -> GpuSpec:
        if Precision.BF16 not in self.dense_tflop_per_s:
            raise ValueError("dense_tflop_per_s must give bf16")
        if not self.idle_w < self.tdp_w:
            raise ValueError(f"idle_w ({self.idle_w}) must be below tdp_w ({self.tdp_w})")
        if not self.min_power_cap_w <= self.tdp_w:
            raise ValueError(f"min_power_cap_w ({self.min_power_cap_w}) must not exceed tdp_w ({self.tdp_w})")
        return self

    def supports(self, precision: Precision | str) -> bool:
        return Precision(precision) in self.dense_tflop_per_s

    def peak_flop_per_s(self, precision: Precision | str = Precision.BF16) -> float:
        """Peak dense FLOP/s in ``precision``; ``KeyError`` if the GPU lacks it."""
        return self.dense_tflop_per_s[Precision(precision)] * units.TFLOP_PER_S

    @property
    def hbm_bytes(self) -> float:
        return self.hbm_gib * units.GIB

    @property
    def hbm_bytes_per_s(self) -> float:
        return self.hbm_tb_per_s * units.TB_PER_S

    @property
    def nvlink_bytes_per_s(self) -> float:
        return self.nvlink_gb_per_s * units.GB_PER_S


class NicKind(StrEnum):
    NIC = "nic"
    SUPERNIC = "supernic"
    DPU = "dpu"


class NicSpec(CatalogItem):
    """A network adapter for the scale-out (RDMA) fabric or the front end."""

    kind: NicKind
    ports: Parts
    port_gbit_per_s: GbitPerS
    tdp_w: PartWatts

    @property
    def gbit_per_s(self) -> float:
        return self.ports * self.port_gbit_per_s

    @property
    def bytes_per_s(self) -> float:
        return units.gbit_per_s_to_bytes_per_s(self.gbit_per_s)


class Protocol(StrEnum):
    ETHERNET = "ethernet"
    INFINIBAND = "infiniband"


class SwitchSpec(CatalogItem):
    """A fabric switch: ports at their native speed; may be split (breakout) into slower links."""

    protocol: Protocol
    asic: str
    ports: Parts
    port_gbit_per_s: GbitPerS
    tdp_w: PartWatts = Field(description="maximum power without optical modules, W")
    typical_w: PartWatts = Field(description="typical power in operation without optics, W")
    latency_ns: PositiveFloat = Field(description="port-to-port forwarding latency, ns")
    adaptive_routing: bool = Field(
        description="the switch spreads flows over equal-cost paths by load (InfiniBand adaptive routing,"
        " Spectrum-X RoCE adaptive routing), not by a static ECMP hash of each flow"
    )
    height_u: Parts = 1

    @property
    def capacity_gbit_per_s(self) -> float:
        return self.ports * self.port_gbit_per_s

    def radix_at(self, link_gbit_per_s: float) -> int:
        """Number of links of ``link_gbit_per_s`` the switch offers (ports split by breakout)."""
        split = self.port_gbit_per_s / link_gbit_per_s
        if split < 1 or abs(split - round(split)) > 1e-9:
            raise ValueError(
                f"{self.name}: {self.port_gbit_per_s:g} Gbit/s ports cannot carry"
                f" {link_gbit_per_s:g} Gbit/s links (breakout must split a port evenly)"
            )
        return self.ports * round(split)

    @property
    def latency_s(self) -> float:
        return self.latency_ns * 1e-9


class OpticSpec(CatalogItem):
    """An optical transceiver module (one end of an optical link)."""

    form_factor: str
    gbit_per_s: GbitPerS
    power_w: PartWatts
    reach_m: PositiveFloat


class ServerSpec(CatalogItem):
    """A GPU server (e.g. an HGX 8-GPU system), without its GPUs.

    Which GPU goes in is chosen by the pool, so one server entry serves the
    H100 and the H200 pools alike. Power figures are per component at full
    load; the server's nameplate IT power is their sum plus its GPUs' TDP,
    divided by the power-supply efficiency.
    """

    gpus_per_server: Parts
    nvlink_domain_gpus: GpuCount = Field(description="GPUs joined by one NVLink/NVSwitch domain")
    cooling: Cooling
    num_cpus: PartsOrZero
    cpu_tdp_w: PartWattsOrZero
    num_dimms: PartsOrZero
    dimm_w: PartWattsOrZero
    num_nvme: PartsOrZero
    nvme_w: PartWattsOrZero
    scaleout_nic: Annotated[NicSpec, ref("nics")]
    scaleout_nics_per_server: Parts
    frontend_nic: Annotated[NicSpec, ref("nics")]
    frontend_nics_per_server: PartsOrZero
    nvswitch_chips: PartsOrZero
    nvswitch_w: PartWattsOrZero
    fans_w: PartWattsOrZero = Field(description="fans at full speed (small residual fans when liquid-cooled), W")
    other_w: PartWattsOrZero = Field(description="baseboard, BMC, retimers, PCIe switches, misc, W")
    psu_efficiency: Efficiency
    height_u: Parts

    @model_validator(mode="after")
    def _check(self) -> ServerSpec:
        if self.gpus_per_server % self.nvlink_domain_gpus and self.nvlink_domain_gpus % self.gpus_per_server:
            raise ValueError(
                f"nvlink_domain_gpus ({self.nvlink_domain_gpus}) and gpus_per_server"
                f" ({self.gpus_per_server}) must divide one another"
            )
        return self

    @property
    def non_gpu_dc_w(self) -> float:
        """DC power of everything but the GPUs at full load, W."""
        return (
            self.num_cpus * self.cpu_tdp_w
            + self.num_dimms * self.dimm_w
            + self.num_nvme * self.nvme_w
            + self.scaleout_nics_per_server * self.scaleout_nic.tdp_w
            + self.frontend_nics_per_server * self.frontend_nic.tdp_w
            + self.nvswitch_chips * self.nvswitch_w
            + self.fans_w
            + self.other_w
        )

    def nameplate_w(self, gpu: GpuSpec) -> float:
        """AC nameplate power of one server with ``gpu`` at TDP, W (before rack overheads)."""
        return (self.gpus_per_server * gpu.tdp_w + self.non_gpu_dc_w) / self.psu_efficiency


class RackSpec(CatalogItem):
    """A rack of GPU servers with its cooling and in-rack gear."""

    servers_per_rack: Parts
    cooling: Cooling
    cdu_w: PartWattsOrZero = Field(description="in-rack coolant distribution unit (pumps, controls), W")
    mgmt_switch_w: PartWattsOrZero = Field(description="in-rack management / out-of-band switch, W")
    height_u: Parts
