"""The facility over time: build-out, jobs, scheduler, failures and repairs, power, telemetry.

``simulate(scenario, seed=..., days=...)`` plays a scenario out event by event
and returns a ``SimResult`` (time series, event log, job table, summary).
"""

from colossus.sim.engine import Engine, simulate
from colossus.sim.result import EVENT_KINDS, GPU_STATES, SOURCES, SimResult

__all__ = ["EVENT_KINDS", "GPU_STATES", "SOURCES", "Engine", "SimResult", "simulate"]
