"""colossus: a digital twin of an AI supercluster.

The public API: load a scenario, look up catalog items, count the cluster.

>>> from colossus import load_scenario, cluster_inventory
>>> inv = cluster_inventory(load_scenario("scenarios/colossus-memphis.yaml").cluster)  # doctest: +SKIP
"""

from colossus.errors import CatalogError, ColossusError, InfeasibleError, SpecError
from colossus.spec import RunSpec, Scenario, load_runs, load_scenario, lookup
from colossus.topology import cluster_inventory, comm_levels, fabric_inventory

__version__ = "0.1.0"

__all__ = [
    "CatalogError",
    "ColossusError",
    "InfeasibleError",
    "RunSpec",
    "Scenario",
    "SpecError",
    "__version__",
    "cluster_inventory",
    "comm_levels",
    "fabric_inventory",
    "load_runs",
    "load_scenario",
    "lookup",
]
