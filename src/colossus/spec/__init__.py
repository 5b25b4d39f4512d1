"""Frozen pydantic models of everything a user writes, and YAML loading.

Specs hold what a file says, in the file's human units; their properties give
SI base units. Build variants with ``spec.model_copy(update=...)``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from colossus.spec.base import CatalogItem, Spec, lookup, ref
from colossus.spec.cluster import ClusterSpec, PoolSpec
from colossus.spec.fabric import FabricSpec
from colossus.spec.forecast import ForecastSpec
from colossus.spec.hardware import (
    Cooling,
    GpuSpec,
    NicKind,
    NicSpec,
    OpticSpec,
    Precision,
    Protocol,
    RackSpec,
    ServerSpec,
    SwitchSpec,
)
from colossus.spec.jobs import CheckpointSpec, JobSpec
from colossus.spec.layout import LayoutSpec, Recompute
from colossus.spec.loading import load, load_list, read_yaml, validate
from colossus.spec.model import Activation, ModelSpec, MoESpec
from colossus.spec.plant import SHORT_TON_KG, DispatchSpec, PermitSpec, PricesSpec, SwingsSpec
from colossus.spec.power import (
    BatteryBank,
    BatterySpec,
    ComponentCooling,
    CoolingSpec,
    EmissionControl,
    GeneratorFleet,
    GeneratorKind,
    GeneratorSpec,
    GridSpec,
    PowerSpec,
    PueCooling,
    SupplySpec,
)
from colossus.spec.reliability import DomainsSpec, ReliabilitySpec, RestartSpec
from colossus.spec.run import Convention, MeasuredSpec, RunClusterSpec, RunSpec
from colossus.spec.scenario import Scenario
from colossus.spec.simulation import (
    BuildoutSpec,
    FailureSpec,
    SchedulerSpec,
    SimPowerSpec,
    SimulationSpec,
)
from colossus.spec.software import (
    AttentionKernel,
    CompiledBy,
    CpCommType,
    EpDispatcher,
    ExpertRouting,
    Framework,
    GradReduceDtype,
    MomentDtype,
    PipelineSchedule,
    SelectiveRecompute,
    SoftwareProfileSpec,
    SoftwareSpec,
)
from colossus.spec.storage import StorageSpec
from colossus.spec.workload import WorkloadSpec

#: The spec class of each catalog kind.
CATALOG_SPECS: dict[str, type[CatalogItem]] = {
    "gpus": GpuSpec,
    "nics": NicSpec,
    "switches": SwitchSpec,
    "optics": OpticSpec,
    "servers": ServerSpec,
    "racks": RackSpec,
    "generators": GeneratorSpec,
    "batteries": BatterySpec,
    "models": ModelSpec,
    "software": SoftwareProfileSpec,
}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate a scenario YAML file."""
    return load(Scenario, path)


def load_runs(path: str | Path) -> list[RunSpec]:
    """Read a file of training runs (a list, or a single run)."""
    return load_list(RunSpec, path)


class _ModelFile(Spec):
    """A model file: one model, as a scenario's ``model:`` field takes it (a preset, a preset with
    overrides, or a whole new shape)."""

    model: Annotated[ModelSpec, ref("models")]


def load_model(name_or_path: str | Path) -> ModelSpec:
    """A model preset by name, or a model file (``.yaml``/``.yml``): its fields, or ``model:`` holding them."""
    text = str(name_or_path)
    if not text.endswith((".yaml", ".yml")):
        return lookup("models", text)
    doc = read_yaml(text)
    doc = doc if isinstance(doc, dict) and set(doc) == {"model"} else {"model": doc}
    return validate(_ModelFile, doc, file=text).model


__all__ = [
    "CATALOG_SPECS",
    "Activation",
    "AttentionKernel",
    "CompiledBy",
    "CpCommType",
    "EpDispatcher",
    "ExpertRouting",
    "Framework",
    "GradReduceDtype",
    "MomentDtype",
    "PipelineSchedule",
    "SelectiveRecompute",
    "SoftwareProfileSpec",
    "SoftwareSpec",
    "BatteryBank",
    "BatterySpec",
    "CatalogItem",
    "CheckpointSpec",
    "ClusterSpec",
    "ComponentCooling",
    "Convention",
    "Cooling",
    "CoolingSpec",
    "DomainsSpec",
    "DispatchSpec",
    "EmissionControl",
    "FabricSpec",
    "ForecastSpec",
    "GeneratorFleet",
    "GeneratorKind",
    "GeneratorSpec",
    "GpuSpec",
    "GridSpec",
    "JobSpec",
    "LayoutSpec",
    "MeasuredSpec",
    "ModelSpec",
    "MoESpec",
    "NicKind",
    "NicSpec",
    "OpticSpec",
    "PermitSpec",
    "PoolSpec",
    "PowerSpec",
    "Precision",
    "PricesSpec",
    "Protocol",
    "PueCooling",
    "RackSpec",
    "Recompute",
    "ReliabilitySpec",
    "RestartSpec",
    "RunClusterSpec",
    "RunSpec",
    "Scenario",
    "BuildoutSpec",
    "FailureSpec",
    "SchedulerSpec",
    "SimPowerSpec",
    "SimulationSpec",
    "WorkloadSpec",
    "ServerSpec",
    "Spec",
    "StorageSpec",
    "SHORT_TON_KG",
    "SupplySpec",
    "SwingsSpec",
    "SwitchSpec",
    "load",
    "load_list",
    "load_model",
    "load_runs",
    "load_scenario",
    "lookup",
    "read_yaml",
    "validate",
]
