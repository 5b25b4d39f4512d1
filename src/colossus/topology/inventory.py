"""The inventory of a whole cluster: what the scenario's pools and fabric add up to.

Nameplate power here is the IT gear at full load (GPUs at TDP, every server
component at its rating, switches at their maximum, every optical module):
an upper bound for sizing, not what the cluster draws while training
(``colossus.power`` models that).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from colossus.spec.cluster import ClusterSpec, PoolSpec
from colossus.spec.hardware import Precision
from colossus.topology.fabric import FabricInventory, fabric_inventory


@dataclass(frozen=True, slots=True)
class PoolInventory:
    name: str
    gpu: str
    num_gpus: int
    num_servers: int
    num_racks: int
    num_nvlink_domains: int
    num_scaleout_nics: int
    num_frontend_nics: int
    scaleout_nic: str
    scaleout_bytes_per_s: float  # all scale-out NIC ports of the pool together
    peak_bf16_flop_per_s: float
    peak_fp8_flop_per_s: float  # 0 where the GPU has no FP8
    hbm_bytes: float
    gpu_tdp_w: float  # all GPUs at TDP
    server_other_w: float  # everything else in the servers at full load, DC
    psu_loss_w: float  # power-supply conversion loss at nameplate
    rack_gear_w: float  # in-rack CDUs and management switches

    @property
    def nameplate_w(self) -> float:
        return self.gpu_tdp_w + self.server_other_w + self.psu_loss_w + self.rack_gear_w


@dataclass(frozen=True, slots=True)
class ClusterInventory:
    name: str
    pools: tuple[PoolInventory, ...]
    fabric: FabricInventory
    switch_w: float  # every fabric switch at its maximum, without optics
    optics_w: float  # every optical module

    @property
    def num_gpus(self) -> int:
        return sum(p.num_gpus for p in self.pools)

    @property
    def num_servers(self) -> int:
        return sum(p.num_servers for p in self.pools)

    @property
    def num_racks(self) -> int:
        return sum(p.num_racks for p in self.pools)

    @property
    def num_nvlink_domains(self) -> int:
        return sum(p.num_nvlink_domains for p in self.pools)

    @property
    def peak_bf16_flop_per_s(self) -> float:
        return sum(p.peak_bf16_flop_per_s for p in self.pools)

    @property
    def peak_fp8_flop_per_s(self) -> float:
        return sum(p.peak_fp8_flop_per_s for p in self.pools)

    @property
    def hbm_bytes(self) -> float:
        return sum(p.hbm_bytes for p in self.pools)

    @property
    def gpu_tdp_w(self) -> float:
        return sum(p.gpu_tdp_w for p in self.pools)

    @property
    def nameplate_it_w(self) -> float:
        """All IT gear at nameplate: pools (servers, racks) plus the fabric."""
        return sum(p.nameplate_w for p in self.pools) + self.switch_w + self.optics_w


def pool_inventory(pool: PoolSpec) -> PoolInventory:
    server, gpu = pool.server, pool.gpu
    servers = pool.num_servers
    dc_other_w = servers * server.non_gpu_dc_w
    gpu_w = pool.num_gpus * gpu.tdp_w
    fp8 = gpu.peak_flop_per_s(Precision.FP8) if gpu.supports(Precision.FP8) else 0.0
    return PoolInventory(
        name=pool.name,
        gpu=gpu.name,
        num_gpus=pool.num_gpus,
        num_servers=servers,
        num_racks=pool.num_racks,
        num_nvlink_domains=-(-pool.num_gpus // server.nvlink_domain_gpus),
        num_scaleout_nics=servers * server.scaleout_nics_per_server,
        num_frontend_nics=servers * server.frontend_nics_per_server,
        scaleout_nic=server.scaleout_nic.name,
        scaleout_bytes_per_s=servers * server.scaleout_nics_per_server * server.scaleout_nic.bytes_per_s,
        peak_bf16_flop_per_s=pool.num_gpus * gpu.peak_flop_per_s(Precision.BF16),
        peak_fp8_flop_per_s=pool.num_gpus * fp8,
        hbm_bytes=pool.num_gpus * gpu.hbm_bytes,
        gpu_tdp_w=gpu_w,
        server_other_w=dc_other_w,
        psu_loss_w=(gpu_w + dc_other_w) * (1.0 / server.psu_efficiency - 1.0),
        rack_gear_w=pool.num_racks * (pool.rack.cdu_w + pool.rack.mgmt_switch_w),
    )


def cluster_inventory(cluster: ClusterSpec) -> ClusterInventory:
    """Totals of ``cluster``; raises ``InfeasibleError`` if the fabric cannot connect its GPUs."""
    fabric = cluster.fabric
    fab = fabric_inventory(fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)
    optic = fabric.optic
    # NIC-side modules run at the NIC's speed; assumed to draw the switch-side module's power per Gbit/s.
    nic_module_w = optic.power_w * fabric.nic_gbit_per_s / optic.gbit_per_s
    optics_w = fab.switch_side_optics * optic.power_w + fab.nic_side_optics * nic_module_w
    return ClusterInventory(
        name=cluster.name,
        pools=tuple(pool_inventory(p) for p in cluster.pools),
        fabric=fab,
        switch_w=fab.num_switches * fabric.switch.tdp_w,
        optics_w=optics_w,
    )


#: Pool quantities summed over the pool's GPUs, servers or racks: named ``total_*`` in a document,
#: beside the per-GPU figures (``gpu_tdp_w``, ``gpu_hbm_bytes``), so that no key is read as per GPU.
POOL_TOTALS = ("scaleout_bytes_per_s", "peak_bf16_flop_per_s", "peak_fp8_flop_per_s", "hbm_bytes",
               "gpu_tdp_w", "server_other_w", "psu_loss_w", "rack_gear_w")


def pool_document(p: PoolInventory) -> dict:
    """One pool: counts, per-GPU figures (``gpu_*``) and totals (``total_*``), SI with the unit in each key."""
    doc = {k: v for k, v in asdict(p).items() if k not in POOL_TOTALS}
    doc.update({f"total_{k}": getattr(p, k) for k in POOL_TOTALS})
    doc["total_nameplate_w"] = p.nameplate_w
    doc["gpu_tdp_w"] = p.gpu_tdp_w / p.num_gpus
    doc["gpu_hbm_bytes"] = p.hbm_bytes / p.num_gpus
    doc["gpu_peak_bf16_flop_per_s"] = p.peak_bf16_flop_per_s / p.num_gpus
    return doc


def inventory_document(inv: ClusterInventory) -> dict:
    """The inventory as a JSON-ready document (SI units, unit in every key).

    The cluster's own keys (``hbm_bytes``, ``nameplate_it_w``, ...) are cluster
    totals; a pool's are named ``total_*`` or ``gpu_*`` (per GPU).
    """
    pools = [pool_document(p) for p in inv.pools]
    fabric = asdict(inv.fabric)
    fabric["num_switches"] = inv.fabric.num_switches
    fabric["num_tiers"] = inv.fabric.num_tiers
    return {
        "name": inv.name,
        "num_gpus": inv.num_gpus,
        "num_servers": inv.num_servers,
        "num_racks": inv.num_racks,
        "num_nvlink_domains": inv.num_nvlink_domains,
        "pools": pools,
        "fabric": fabric,
        "peak_bf16_flop_per_s": inv.peak_bf16_flop_per_s,
        "peak_fp8_flop_per_s": inv.peak_fp8_flop_per_s,
        "hbm_bytes": inv.hbm_bytes,
        "nameplate_it_w": inv.nameplate_it_w,
        "nameplate_breakdown_w": {
            "gpus": inv.gpu_tdp_w,
            "servers_other": sum(p.server_other_w for p in inv.pools),
            "psu_loss": sum(p.psu_loss_w for p in inv.pools),
            "rack_gear": sum(p.rack_gear_w for p in inv.pools),
            "switches": inv.switch_w,
            "optics": inv.optics_w,
        },
    }
