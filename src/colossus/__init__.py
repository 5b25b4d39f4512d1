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
import sys
from types import ModuleType
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
    "SweepInterrupted": "colossus.errors",
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
        EstimateResult,
        JobSummary,
        PlanResult,
        PowerResult,
        ReliabilityResult,
        RunSummary,
        Simulation,
        SweepResult,
        Table,
        analyse_power,
        analyse_reliability,
        estimate,
        forecast,
        load,
        plan,
        read_run,
        simulate,
        sweep,
    )
    from colossus.errors import (
        CatalogError,
        ColossusError,
        InfeasibleError,
        ReportError,
        ResultsError,
        RunInterrupted,
        SpecError,
    )
    from colossus.metrics import METRICS, Metric
    from colossus.spec import RunSpec, Scenario, load_runs, load_scenario, lookup
    from colossus.topology import cluster_inventory, comm_levels, fabric_inventory


class CallableModule(ModuleType):
    """A subpackage that is also the API function of its name: ``colossus.sweep(...)`` runs a sweep.

    ``colossus.sweep`` and ``colossus.forecast`` are both a subpackage and a
    function of the public API. Importing a subpackage sets the package's
    attribute to the module, so the module itself answers a call by handing
    it to ``colossus.api``; ``import colossus.sweep as s; s.RunStore`` works as before.
    A subpackage opts in with ``colossus.callable_module(__name__)`` at its end.
    """

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return getattr(import_module("colossus.api"), self.__name__.rsplit(".", 1)[1])(*args, **kwargs)


def callable_module(name: str) -> None:
    """Make the (sub)module ``name`` callable as the API function of the same name."""
    sys.modules[name].__class__ = CallableModule


#: Names that are a subpackage and an API function at once (``CallableModule``).
_SUBPACKAGE_FUNCTIONS = ("sweep", "forecast")


def __getattr__(name: str) -> Any:
    if name in _SUBPACKAGE_FUNCTIONS:
        try:
            module = import_module(f"colossus.{name}")
        except ModuleNotFoundError as exc:  # forecast before issue 13: the API function says so
            if exc.name != f"colossus.{name}":
                raise
            value = getattr(import_module("colossus.api"), name)
        else:
            callable_module(module.__name__)
            value = module
        globals()[name] = value
        return value
    source = _EXPORTS.get(name)
    if source is None:
        raise AttributeError(f"module 'colossus' has no attribute {name!r}")
    value = getattr(import_module(source), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_EXPORTS})


__all__ = sorted(["__version__", *_EXPORTS])
