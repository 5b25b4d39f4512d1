"""Power of the cluster and its site: demand, supply, dispatch, deficit response, swings, environment, cost.

Pure functions of specs and of a job's ``StepProfile``. ``analyse(scenario)``
composes them; ``power_document`` is its JSON form. Named assumptions live in
``catalog/data/power_*.toml`` and are overridden per scenario under
``power.assumptions``.
"""

from colossus.power.analysis import REPORTED_GPUS_W, REPORTED_SITE_W, PowerAnalysis, analyse, job_profile
from colossus.power.assumptions import PowerAssumptions, default_assumptions, scenario_assumptions
from colossus.power.capping import CapCurve, CapFit, CapPoint, cap_curve, fit_cap_curve, predict, read_zeus_sweeps
from colossus.power.cost import Prices, cost_breakdown, prices
from colossus.power.deficit import CappedStep, Choice, Deficit, JobPower, cap_table, capped_step, job_power, respond
from colossus.power.demand import LoadPoint, PoolLoad, SiteDemand, facility_w, load_fractions, site_demand
from colossus.power.dispatch import Commitment, Plant, build_plant, commit, dispatch_profile
from colossus.power.document import power_document
from colossus.power.environment import Footprint, footprint
from colossus.power.mitigation import SwingSetup, SwingStudy, study
from colossus.power.profile import Phase, StepProfile, default_profile, from_estimate
from colossus.power.supply import Supply, supply_document, supply_summary
from colossus.power.swings import Smoothing, Waveform, event_waveform, follow, smoothing, step_waveform

__all__ = [
    "REPORTED_GPUS_W", "REPORTED_SITE_W", "CapCurve", "CapFit", "CapPoint", "CappedStep", "Choice", "Commitment",
    "Deficit", "Footprint", "JobPower", "LoadPoint", "Phase", "Plant", "PoolLoad", "PowerAnalysis",
    "PowerAssumptions", "Prices", "SiteDemand", "Smoothing", "StepProfile", "Supply", "SwingSetup", "SwingStudy",
    "Waveform", "analyse", "build_plant", "cap_curve", "cap_table", "capped_step", "commit", "cost_breakdown",
    "default_assumptions", "default_profile", "dispatch_profile", "event_waveform", "facility_w", "fit_cap_curve",
    "follow", "footprint", "from_estimate", "job_power", "job_profile", "load_fractions", "power_document",
    "predict", "prices", "read_zeus_sweeps", "respond", "scenario_assumptions", "site_demand", "smoothing",
    "step_waveform", "study", "supply_document", "supply_summary",
]
