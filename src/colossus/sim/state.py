"""The engine's state, declared once: what ``Engine.__init__`` sets and the mixins read and write.

``Engine`` is composed of mixins, one concept each (``sim.scheduling``, the
scheduling pass; ``sim.site``, the site's power and accounting;
``sim.failures.DomainFailures``, correlated failures). Each mixin derives
from ``EngineState`` so that a type checker knows the state it shares, and
what each attribute holds is written down in one place. Nothing here runs:
the values are set by ``Engine.__init__`` and the methods are the engine's.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from colossus.sim.cluster import ClusterState, Layout
    from colossus.sim.dispatch import SiteDispatch
    from colossus.sim.events import Event
    from colossus.sim.failures import FailurePlan
    from colossus.sim.jobs import Job, NamedRates
    from colossus.sim.scheduling import Decision
    from colossus.sim.sitepower import CapTable, SitePower
    from colossus.sim.supply import SupplyModel
    from colossus.sim.telemetry import Recorder
    from colossus.spec import Scenario, SimulationSpec


class EngineState:
    """Attributes of one simulated history (set by ``Engine.__init__``) and the engine's shared methods."""

    # inputs and models
    scenario: Scenario
    spec: SimulationSpec
    end_s: float
    layout: Layout
    num_pools: int
    leaf_gpus: int
    pod_servers: int
    power: SitePower
    rates: NamedRates
    supply: SupplyModel
    site: SiteDispatch
    failures: FailurePlan
    fracs: np.ndarray  # GPU cap grid, fractions of TDP
    top: int  # index of the uncapped grid point
    tdp_w: np.ndarray  # per pool
    filler_tables: list[CapTable]  # per pool
    burn_draw_w: np.ndarray  # per pool
    # state
    state: ClusterState
    jobs: list[Job]
    running: dict[int, Job]
    queue: list[tuple[tuple[Any, ...], int]]
    in_queue: np.ndarray
    is_filler: np.ndarray
    want_arr: np.ndarray
    agg: np.ndarray  # GPUs of running jobs by power mode and pool
    filler_train: np.ndarray
    filler_running: int
    filler_busy_gpus: int
    dirty_sched: bool
    cap_idx: int
    parked: frozenset[int]
    idle_off: bool
    batt_version: int
    _dispatch_at: float
    t_prev: float
    cur: dict[str, float]
    # tallies
    totals: dict[str, float]
    job_gpu_s: list[float]
    num_failures: int
    failures_by_cause: dict[str, int]
    recorder: Recorder

    # the engine's methods the mixins call (defined on Engine and the mixins)
    push: Callable[[float, Event], None]
    log: Callable[..., None]
    apply: Callable[[Decision, float], None]
    _gpus: Callable[[np.ndarray], int]
    _interrupt: Callable[..., None]
    _out_for_repair: Callable[[float, np.ndarray, float], None]
    _after_rate_change: Callable[[Job, float], None]
    _supply_firm_w: Callable[[float], float]
    _power_headroom: Callable[[float], tuple[float, bool]]
    _filler_server_add_w: Callable[[bool], float]


__all__ = ["EngineState"]
