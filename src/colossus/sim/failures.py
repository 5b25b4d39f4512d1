"""Failure processes of the facility, drawn up front from the reliability model's rates.

Per-unit rates come from the scenario's fleet (``reliability.fleets``: the
Llama 3 log's shape, scaled to a published fleet; carried over to each pool's
GPU generation), times ``reliability.rate_scale`` and
``simulation.failures.rate_scale``. The simulation turns them into Poisson
processes over the whole period, all drawn with vectorised numpy at the start
so that the event loop only looks them up:

* **server causes** (per GPU, server or NIC link): one process at the rate of
  every server at its worst (burn-in) rate; each candidate picks a server
  (weighted by its pool's rate) and is *accepted* at event time with
  probability ``multiplier(state) / burn_in_multiplier``, the thinning
  construction of a non-homogeneous Poisson process (Lewis and Shedler,
  1979): an installed server fails at its rate (``burn_in_rate_multiplier``
  times it during burn-in), one not installed or already out never does. A
  cause that does not take the server out (a software bug, a planned drain)
  only matters to a job: it is accepted on busy servers only;
* **switch causes** (the leaf-switch domain): per switch of the fabric; a
  switch failure interrupts the jobs on the servers below one leaf (a rail
  group of ``leaf span`` GPUs, from ``topology.comm_levels``); the fabric
  routes around it and no server goes to repair;
* **rack domains** (``failure_domains.toml``: the rack's power or its CDU): per
  rack; every live server of the rack goes to repair at once and every job on
  them is interrupted;
* **job causes** (external dependencies): per named job while it runs. Filler
  jobs do not get these: the log's rate is that of a flagship job;
* **feeder shedding**: at a generator trip the rest of the supply (grid,
  generators, batteries) cannot carry, whole racks are shed before the site
  controller can cap GPUs (``DomainFailures._feeder_trip``), and come back
  after the feeder's restore time.

Repair times are lognormal with the cause's mean (``repair_h`` in the
catalog) and the scenario's coefficient of variation. ``DomainFailures`` holds
the engine's handlers of the correlated domains; each logs a
``domain_failure`` event naming the domain (``rack 12: rack_cooling``,
``leaf 3: network_switch``, ``feeder: 4 racks``) and interrupts exactly the
jobs on the servers it takes out.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np

from colossus import units
from colossus.catalog import read_table
from colossus.reliability.fleets import default_fleet_name, fleet, fleet_causes
from colossus.reliability.rates import CauseRate, for_generation
from colossus.sim.cluster import BURN_IN, BUSY, IDLE, Layout
from colossus.sim.state import EngineState
from colossus.spec import Scenario
from colossus.topology import comm_levels
from colossus.topology.fabric import fabric_inventory, links_per_gpu

_SERVER_UNITS = ("gpu", "server", "nic_link")


@dataclass(frozen=True)
class Candidates:
    """Candidate failures of one process, in time order (thinned at event time)."""

    time_s: np.ndarray
    target: np.ndarray  # server index, leaf group, rack, or named-job index
    cause: np.ndarray  # index into ``causes``
    accept_u: np.ndarray  # uniform draw for thinning
    repair_s: np.ndarray  # sampled repair time if the cause needs one


@dataclass(frozen=True)
class FailurePlan:
    causes: tuple[CauseRate, ...]
    servers: Candidates
    switches: Candidates
    racks: Candidates
    jobs: Candidates
    burn_in_multiplier: float
    leaf_servers: int  # servers below one leaf (per rail)
    feeder_u: np.ndarray  # per generator event: where the shed block starts (uniform)
    feeder_shedding: bool
    feeder_shed_share: float
    feeder_restore_s: float


def _poisson_times(rate_per_s: float, duration_s: float, rng: np.random.Generator) -> np.ndarray:
    n = rng.poisson(rate_per_s * duration_s) if rate_per_s > 0 else 0
    return np.sort(rng.uniform(0.0, duration_s, size=n))


def _repairs(causes: tuple[CauseRate, ...], idx: np.ndarray, cv: float, rng: np.random.Generator) -> np.ndarray:
    mean = np.array([c.repair_s for c in causes])[idx] if idx.size else np.zeros(0)
    z = rng.standard_normal(idx.size)
    if cv <= 0:
        return mean
    sigma2 = math.log1p(cv * cv)
    return mean * np.exp(math.sqrt(sigma2) * z - sigma2 / 2.0)


def _candidates(times: np.ndarray, targets: np.ndarray, cause_p: np.ndarray, causes: tuple[CauseRate, ...],
                cv: float, rng: np.random.Generator) -> Candidates:
    cause = rng.choice(cause_p.size, size=times.size, p=cause_p) if times.size else np.zeros(0, dtype=np.int64)
    accept = rng.uniform(size=times.size)
    return Candidates(times, targets, cause, accept, _repairs(causes, cause, cv, rng))


def scenario_causes(scenario: Scenario) -> tuple[CauseRate, ...]:
    """The scenario's fleet rates (as measured on the fleet's GPUs), both rate scales applied."""
    r = scenario.reliability
    return fleet_causes(r.fleet, rate_scale=r.rate_scale * scenario.simulation.failures.rate_scale,
                        domain_per_rack_per_year=r.domains.per_rack_per_year)


def _server_candidates(scenario: Scenario, layout: Layout, causes: tuple[CauseRate, ...], duration_s: float,
                       rng: np.random.Generator) -> Candidates:
    spec = scenario.simulation.failures
    lpg = links_per_gpu(scenario.cluster.fabric)
    measured = fleet(scenario.reliability.fleet or default_fleet_name()).arch
    server_idx = [i for i, c in enumerate(causes) if c.per in _SERVER_UNITS]
    per_server = np.zeros((layout.num_pools, len(causes)))
    for p, pool in enumerate(scenario.cluster.pools):
        here = for_generation(causes, measured, pool.gpu.architecture)  # e.g. HBM on A100 vs H100
        units_per = {"gpu": layout.gpus_per_server[p], "server": 1, "nic_link": layout.gpus_per_server[p] * lpg}
        for i in server_idx:
            per_server[p, i] = here[i].per_unit_per_s * units_per[here[i].per]
    servers_per_pool = layout.pool_end - layout.pool_start
    pool_rate = per_server.sum(axis=1) * servers_per_pool * spec.burn_in_rate_multiplier
    times = _poisson_times(float(pool_rate.sum()), duration_s, rng)
    pool_pick = rng.choice(layout.num_pools, size=times.size, p=pool_rate / pool_rate.sum()) \
        if times.size else np.zeros(0, dtype=np.int64)
    local = (rng.uniform(size=times.size) * servers_per_pool[pool_pick]).astype(np.int64)
    targets = layout.pool_start[pool_pick] + local
    cause = np.zeros(times.size, dtype=np.int64)
    for p in range(layout.num_pools):  # cause given the pool
        mask = pool_pick == p
        if mask.any():
            cause[mask] = rng.choice(len(causes), size=int(mask.sum()), p=per_server[p] / per_server[p].sum())
    return Candidates(times, targets, cause, rng.uniform(size=times.size), _repairs(causes, cause, spec.repair_cv, rng))


def plan_failures(scenario: Scenario, layout: Layout, *, num_named_jobs: int, num_generator_events: int,
                  duration_s: float, rng: np.random.Generator) -> FailurePlan:
    """Draw every candidate failure of the period."""
    cluster, spec = scenario.cluster, scenario.simulation.failures
    causes = scenario_causes(scenario)
    server_c = _server_candidates(scenario, layout, causes, duration_s, rng)
    # switch causes: the leaf-switch domain
    fab = fabric_inventory(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)
    switch_rates = np.array([c.per_unit_per_s * fab.num_switches if c.per == "switch" else 0.0 for c in causes])
    leaf_span = comm_levels(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)[0]
    leaf_servers = max(1, leaf_span.span_gpus // cluster.gpus_per_server)
    num_groups = -(-layout.num_servers // leaf_servers)
    times = _poisson_times(float(switch_rates.sum()), duration_s, rng)
    groups = rng.integers(0, num_groups, size=times.size)
    switch_c = _candidates(times, groups, _norm(switch_rates), causes, spec.repair_cv, rng)
    # rack domains
    num_racks = int(layout.rack_of.max()) + 1 if layout.num_servers else 0
    rack_rates = np.array([c.per_unit_per_s * num_racks if c.per == "rack" else 0.0 for c in causes])
    times = _poisson_times(float(rack_rates.sum()), duration_s, rng)
    racks = rng.integers(0, max(num_racks, 1), size=times.size)
    rack_c = _candidates(times, racks, _norm(rack_rates), causes, spec.repair_cv, rng)
    # job causes, for each named job
    job_rates = np.array([c.per_unit_per_s if c.per == "job" else 0.0 for c in causes])
    times = _poisson_times(float(job_rates.sum()) * num_named_jobs, duration_s, rng)
    jobs = rng.integers(0, max(num_named_jobs, 1), size=times.size)
    job_c = _candidates(times, jobs, _norm(job_rates), causes, spec.repair_cv, rng)
    feeder = read_table("failure_domains")["feeder"]
    return FailurePlan(causes, server_c, switch_c, rack_c, job_c, spec.burn_in_rate_multiplier, leaf_servers,
                       rng.uniform(size=num_generator_events), scenario.reliability.domains.feeder_shedding,
                       float(feeder["shed_share"]), float(feeder["restore_h"]) * units.HOUR)


def _norm(rates: np.ndarray) -> np.ndarray:
    total = rates.sum()
    return rates / total if total > 0 else np.full(rates.size, 1.0 / rates.size)


class DomainFailures(EngineState):
    """The engine's handlers of correlated failure domains (a mixin of ``sim.engine.Engine``).

    Each takes a block of servers at once, logs one ``domain_failure`` event naming the
    domain, and interrupts exactly the jobs that own servers in the block.
    """

    def _take_out(self, t: float, servers: np.ndarray, repair_s: float, domain: str, cause: str) -> None:
        """Servers of one domain fail together: repair as one, interrupt their jobs once each."""
        owners = np.unique(self.state.owner[servers])
        owners = owners[owners >= 0]
        self.num_failures += 1
        self.failures_by_cause[cause] = self.failures_by_cause.get(cause, 0) + 1
        self.log(t, "failure", "", cause, float(servers[0]))
        self.log(t, "domain_failure", ",".join(self.jobs[int(o)].name for o in owners if self.jobs[int(o)].named),
                 domain, float(self._gpus(servers)))
        self._out_for_repair(t, servers, repair_s)
        for o in owners:  # in-memory replicas sit in the same rack: a whole-rack fault loses them
            self._interrupt(self.jobs[int(o)], t, lose=True, kind="restart", detail=domain, replicas_lost=True)

    def _rack_failure(self, t: float, k: int) -> bool:
        c = self.failures.racks
        rack = int(c.target[k])
        servers = self._rack_servers(rack)
        st = self.state.state[servers]
        live = servers[(st == BURN_IN) | (st == IDLE) | (st == BUSY)]
        if not live.size:
            return False
        cause = self.failures.causes[int(c.cause[k])]
        self._take_out(t, live, float(c.repair_s[k]), f"rack {rack}: {cause.name}", cause.cause)
        return True

    def _rack_servers(self, rack: int) -> np.ndarray:
        lo, hi = np.searchsorted(self.layout.rack_of, [rack, rack + 1])  # racks are contiguous and ascending
        return np.arange(lo, hi)

    def _feeder_trip(self, t: float, k: int) -> bool:
        """A generator tripped: shed whole racks if the rest of the supply cannot carry the load."""
        plan = self.failures
        demand = self.cur.get("demand_w", 0.0) if self.cur else 0.0
        if not plan.feeder_shedding or demand <= 0:
            return False
        battery = self.site.battery_w()  # what the batteries can carry now (sim.dispatch)
        short = demand - self._supply_firm_w(t) - battery
        if short <= 0:
            return False
        st = self.state.state
        powered = np.unique(self.layout.rack_of[(st == BURN_IN) | (st == IDLE) | (st == BUSY)])
        if not powered.size:
            return False
        num = min(powered.size, math.ceil(plan.feeder_shed_share * short / (demand / powered.size)))
        first = int(plan.feeder_u[k] * powered.size)
        racks = np.take(powered, np.arange(first, first + num), mode="wrap")  # a feeder serves a row of racks
        servers = np.flatnonzero(np.isin(self.layout.rack_of, racks))
        st = st[servers]
        live = servers[(st == BURN_IN) | (st == IDLE) | (st == BUSY)]
        self._take_out(t, live, plan.feeder_restore_s, f"feeder: {num} racks from rack {int(racks[0])}", "feeder")
        return True

