"""colossus: a digital twin of an AI supercluster.

The public API (``colossus.api``, documented in ``docs/python-api.md``) is
re-exported here and loaded on first use, so that ``import colossus`` and the
command line start at once (the models pull in numpy, scipy, pydantic and
plotly only when asked for).

>>> import colossus as c
>>> est = c.estimate("scenarios/colossus-memphis.yaml", job="grok2")  # doctest: +SKIP
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

#: Public name -> module that defines it (imported on first access, PEP 562).
_EXPORTS: dict[str, str] = {
    # the public API: one function per question, typed results
    **{name: "colossus.api" for name in (
        "load", "estimate", "plan", "analyse_power", "analyse_reliability", "simulate", "read_run", "sweep",
        "forecast", "EstimateResult", "PlanResult", "PowerResult", "ReliabilityResult", "RunSummary", "JobSummary",
        "Simulation", "SweepResult", "Table")},
    "Metric": "colossus.metrics",
    "METRICS": "colossus.metrics",
    # errors: the one exception tree
    "ColossusError": "colossus.errors",
    "SpecError": "colossus.errors",
    "CatalogError": "colossus.errors",
    "InfeasibleError": "colossus.errors",
    "ResultsError": "colossus.errors",
    "ReportError": "colossus.errors",
    "RunInterrupted": "colossus.errors",
    # specs and the catalog
    "RunSpec": "colossus.spec",
    "Scenario": "colossus.spec",
    "load_runs": "colossus.spec",
    "load_scenario": "colossus.spec",
    "lookup": "colossus.spec",
    # the cluster counted
    "cluster_inventory": "colossus.topology",
    "comm_levels": "colossus.topology",
    "fabric_inventory": "colossus.topology",
}

if TYPE_CHECKING:  # pragma: no cover - for type checkers and IDEs only
    from colossus.api import (
        EstimateResult, JobSummary, PlanResult, PowerResult, ReliabilityResult, RunSummary, Simulation, SweepResult,
        Table, analyse_power, analyse_reliability, estimate, forecast, load, plan, read_run, simulate, sweep,
    )
    from colossus.metrics import METRICS, Metric
    from colossus.errors import (
        CatalogError, ColossusError, InfeasibleError, ReportError, ResultsError, RunInterrupted, SpecError,
    )
    from colossus.spec import RunSpec, Scenario, load_runs, load_scenario, lookup
    from colossus.topology import cluster_inventory, comm_levels, fabric_inventory


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'colossus' has no attribute {name!r}")
    value = getattr(import_module(module), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = sorted(["__version__", *_EXPORTS])
