"""The training performance model: step time, MFU, memory, best layout, validation.

Public API::

    estimate(run) -> Estimate        one run (model + cluster + layout)
    plan(model, gpu, ...) -> Plan    search every valid layout, best first
    validate_runs(runs) -> Validation  measured vs predicted

The modules, one concept each: ``flops`` (FLOPs per token), ``layout``
(layouts as arrays, validity), ``network`` (collectives over the fabric
tiers), ``compute`` (per-operation time), ``memory`` (bytes per GPU by
part), ``step`` (composition), ``estimate``, ``search``, ``validate``,
``calibrate``; every named assumption is read by ``assumptions`` from
``catalog/data/perf_*.toml``.
"""

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.calibrate import Fit, family_split, fit
from colossus.perf.estimate import Estimate, estimate
from colossus.perf.flops import TokenFlops, model_flop_per_token, token_flops
from colossus.perf.search import Plan, plan
from colossus.perf.validate import Case, Validation, family_of, validate_runs

__all__ = [
    "Case",
    "Estimate",
    "Fit",
    "PerfAssumptions",
    "Plan",
    "TokenFlops",
    "Validation",
    "default_assumptions",
    "estimate",
    "family_of",
    "family_split",
    "fit",
    "model_flop_per_token",
    "plan",
    "token_flops",
    "validate_runs",
]
