"""What the specs build: the fabric's switches and links, and the cluster's inventory.

Pure functions of specs. ``fabric`` counts a folded-Clos fabric and tells the
communication levels a collective can cross; ``inventory`` totals a whole
cluster (GPUs, servers, racks, NICs, switches, FLOP/s, HBM, nameplate power).
"""

from colossus.topology.fabric import (
    CommLevel,
    FabricInventory,
    Tier,
    comm_levels,
    fabric_inventory,
    max_endpoints,
)
from colossus.topology.inventory import (
    ClusterInventory,
    PoolInventory,
    cluster_inventory,
    inventory_document,
)

__all__ = [
    "ClusterInventory",
    "CommLevel",
    "FabricInventory",
    "PoolInventory",
    "Tier",
    "cluster_inventory",
    "comm_levels",
    "fabric_inventory",
    "inventory_document",
    "max_endpoints",
]
