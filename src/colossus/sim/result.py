"""What a simulation returns: time series on the telemetry grid, an event log, a job table, a summary.

Column names carry their unit (``_w``, ``_j``, ``_s``); counts of GPUs are
plain integers. Everything is columnar (``name -> numpy array``) so that the
results layer writes it to Parquet and DuckDB without conversion, and the
report plots it directly.

Time series columns (one row per telemetry sample, ``time_s`` from the
scenario start; power columns are the *mean* over the interval ending at the
sample, so they integrate exactly to the energy totals; GPU counts are the
state *at* the sample):

* supply: ``grid_w``, ``generators_w``, ``battery_discharge_w``,
  ``battery_charge_w``, ``battery_soc_j``, ``supply_available_w`` (grid +
  generators up + battery power while it holds energy)
* use: ``demand_w`` (site power served), ``demand_unconstrained_w`` (what the
  site would draw with no deficit response), ``shed_w`` (power the response
  took from work: caps and parked jobs; idle servers switched off to save
  power are not counted, ``gpus_powered_off`` says how many),
  ``gpus_w``, ``it_other_w`` (servers, fabric, storage beyond the GPUs),
  ``facility_w`` (cooling, distribution, lighting)
* GPUs by state, one state each (``GPU_STATES``): ``gpus_not_installed``,
  ``gpus_burn_in``, ``gpus_idle`` (powered, no work), ``gpus_powered_off``
  (healthy and installed, switched off for lack of power), ``gpus_busy``
  (held by a running job, uncapped), ``gpus_capped`` (training under a power
  cap below TDP), ``gpus_parked`` (held by a job paused for lack of power),
  ``gpus_failed``, ``gpus_repair``; their sum is the cluster's GPU count.
  ``gpus_installed``; usable = idle + busy + capped + parked (healthy,
  installed and powered)
* deficit response: ``gpu_cap_w`` (the cap in force, the GPU TDP when none)
* plant: ``unserved_w`` (load the plant could not follow while units started
  or ramped, bridged by the site's UPS or shed), ``dumped_w`` (generation
  held at a unit's minimum load beyond the load, into a load bank), ``fuel_w``
  (fuel burned, HHV); at every instant grid + generators + battery discharge +
  unserved = demand + battery charge + dumped;
  ``generators_running`` (units on line)
* jobs: ``tokens:<job name>`` per named job, ``filler_running``,
  ``filler_queued``, ``filler_busy_gpus``

Event columns: ``time_s``, ``kind`` (build, burn_in_done, submit, start,
checkpoint, failure, interrupt (value: work lost), restart, preempt (value: work lost),
finish, repair_done, generator_down, generator_up, grid_contract, power_cap, park, unpark), ``job`` ('' when none),
``detail`` (free text: cause, pool, ...), ``value`` (a number whose meaning
the kind gives: GPUs, W, tokens lost).

Job table columns: ``name``, ``kind`` (named | filler), ``priority``,
``num_gpus``, ``submit_s``, ``start_s`` (first start; NaN if never),
``finished_at_s`` (NaN if unfinished), ``work_total``, ``work_done``
(tokens for named jobs, GPU-busy seconds for fillers), ``tokens_trained``,
``goodput`` (useful work time / wall time since first start), ``restarts``,
``preemptions``, ``lost_work``, ``queue_delay_s``, ``trace_delay_s`` (the
replayed trace's own queueing delay, scaled; NaN for non-trace jobs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

#: Event kinds, in the order the report lists them.
EVENT_KINDS: tuple[str, ...] = (
    "build", "burn_in_done", "submit", "start", "checkpoint", "failure", "interrupt", "restart", "preempt", "finish",
    "repair_done", "generator_down", "generator_up", "grid_contract", "power_cap", "park", "unpark",
)

#: GPU states in the order the time series and the report give them.
GPU_STATES: tuple[str, ...] = ("not_installed", "burn_in", "idle", "powered_off", "busy", "capped", "parked",
                               "failed", "repair")
#: The states in which a GPU is usable: healthy, installed and powered.
USABLE_STATES: tuple[str, ...] = ("idle", "busy", "capped", "parked")

#: Power sources, keys of ``energy_j_by_source``.
SOURCES: tuple[str, ...] = ("grid", "generators", "battery")


@dataclass
class SimResult:
    """One simulated history of a scenario."""

    scenario: str
    seed: int
    days: float
    timeseries: dict[str, np.ndarray]
    events: dict[str, np.ndarray]
    jobs: dict[str, np.ndarray]
    summary: dict[str, Any] = field(default_factory=dict)

    @property
    def num_samples(self) -> int:
        return int(self.timeseries["time_s"].size)

    @property
    def num_events(self) -> int:
        return int(self.events["time_s"].size)
