"""The training performance model: step time, MFU, memory, best layout, validation.

Public API::

    estimate(run) -> Estimate        one run (model + cluster + layout)
    plan(model, gpu, ...) -> Plan    search every valid layout, best first
    validate_runs(runs) -> Validation  measured vs predicted
    cross_validate(runs) -> CrossValidation  refit leaving each family out

The modules, one concept each: ``flops`` (FLOPs per token), ``layout``
(layouts as arrays, validity), ``network`` (collectives over the fabric
tiers), ``compute`` (per-operation time), ``memory`` (bytes per GPU by
part), ``step`` (composition), ``estimate``, ``search``, ``validate``,
``calibrate``; ``software`` resolves the training stack (catalog
``software.toml``), ``context`` holds a run's inputs as arrays over rows,
``powercap`` the speed at a power limit; every named assumption is read by
``assumptions`` from ``catalog/data/perf_*.toml``.
"""

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.calibrate import CrossValidation, Fit, cross_validate, fit
from colossus.perf.estimate import Estimate, estimate
from colossus.perf.flops import TokenFlops, model_flop_per_token, token_flops
from colossus.perf.search import Plan, plan
from colossus.perf.validate import Case, Validation, family_of, validate_runs

__all__ = [
    "Case",
    "CrossValidation",
    "Estimate",
    "Fit",
    "PerfAssumptions",
    "Plan",
    "TokenFlops",
    "Validation",
    "default_assumptions",
    "cross_validate",
    "estimate",
    "family_of",
    "fit",
    "model_flop_per_token",
    "plan",
    "token_flops",
    "validate_runs",
]
