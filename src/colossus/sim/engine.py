"""The event loop: the facility over time, from build-out to the last job.

One heap of timed events (build, burn-in done, job submitted, start-up done,
checkpoint, finish, failure candidates, repair, generator outage, grid
contract, battery empty/full). All events at one instant are applied, then
the scheduler runs (if anything freed or queued), then the power response
(if demand or supply changed), and one telemetry row is recorded. Ties break
on insertion order, so a run is a pure function of (scenario, seed).

Stale events are skipped by version: a job's finish, start-up and checkpoint
events carry the job's version, bumped whenever its rate or allocation
changes (the classic lazy-deletion heap).

Composition of the models:
* rates of named jobs: ``perf`` (via ``sim.jobs.NamedRates``) for the GPUs,
  pool and size each allocation actually has; checkpoint and restart costs
  from ``reliability.checkpoint``;
* power: ``sim.sitepower`` (coefficients from ``power.demand``, cap tables
  from ``power.capping``/``power.deficit``);
* failures: ``sim.failures`` from ``reliability.rates``;
* supply: ``sim.supply`` (generator outages, grid contract, batteries);
  dispatch: ``sim.dispatch`` (units committed in merit order, ramps, starts,
  batteries, permits; on ``power.dispatch``), advanced exactly over each
  interval between events.
"""

from __future__ import annotations

import bisect
from collections.abc import Callable
import heapq
import math
from pathlib import Path

import numpy as np

from colossus import units
from colossus.errors import SpecError
from colossus.power.assumptions import scenario_assumptions
from colossus.power.capping import cap_curve
from colossus.power.cost import prices
from colossus.power.dispatch import build_plant
from colossus.reliability.assumptions import default_assumptions as reliability_assumptions
from colossus.sim import events as ev
from colossus.sim import scheduler as policy
from colossus.sim.assumptions import default_assumptions as sim_assumptions
from colossus.sim.cluster import BURN_IN, BUSY, FAILED, IDLE, NOT_INSTALLED, REPAIR, ClusterState, build_layout
from colossus.sim.dispatch import SiteDispatch
from colossus.sim.events import Mode
from colossus.sim.failures import Candidates, DomainFailures, plan_failures
from colossus.sim.jobs import DONE, QUEUED, RUNNING, Job, NamedRates
from colossus.sim.result import SimResult
from colossus.sim.scheduling import Decision, Preempt, Scheduling, Start
from colossus.sim.site import SiteResponse
from colossus.sim.sitepower import cap_fracs, flat_table, site_power
from colossus.sim.summary import build_result
from colossus.sim.supply import supply_model
from colossus.sim.telemetry import Recorder
from colossus.sim.workload import filler_jobs
from colossus.spec import Scenario
from colossus.spec.bounds import MAX_SEED
from colossus.topology import cluster_inventory, comm_levels


class Engine(Scheduling, SiteResponse, DomainFailures):
    """State of one simulated history. Build with a scenario and seed, then ``run()``."""

    #: Record a telemetry row at an instant that changed nothing power or telemetry depends on (a rejected
    #: failure candidate, a stale event)? Its row repeats the one before. A simulation keeps them, so its
    #: files stay what they are; a forecast draw, which reads its job's progress and the run's totals,
    #: skips them (``forecast.runner.simulate_until_done``).
    record_quiet_instants: bool = True

    def __init__(self, scenario: Scenario, *, seed: int | None = None, days: float | None = None,
                 base_dir: Path | None = None) -> None:
        self.scenario = scenario
        self.spec = sim = scenario.simulation
        self.seed = scenario.seed if seed is None else int(seed)
        if not 0 <= self.seed <= MAX_SEED:  # the spec holds a scenario's seed to this; a caller's too
            raise SpecError(f"must be a whole number from 0 to {MAX_SEED} (got {self.seed})", path=["seed"])
        self.days = float(days if days is not None else sim.days)
        self.end_s = self.days * units.DAY
        cluster = scenario.cluster
        streams = [np.random.default_rng(s) for s in np.random.SeedSequence(self.seed).spawn(3)]
        rng_fail, rng_supply, rng_work = streams
        self.layout = build_layout(cluster)
        levels = comm_levels(cluster.fabric, num_gpus=cluster.num_gpus, gpus_per_server=cluster.gpus_per_server)
        self.leaf_gpus = levels[0].span_gpus
        self.pod_servers = max(1, (levels[1].span_gpus if len(levels) > 1 else cluster.num_gpus)
                               // cluster.gpus_per_server)
        self.state = ClusterState(self.layout)
        self.num_pools = self.layout.num_pools
        self.pa = scenario_assumptions(scenario)
        self.ra = reliability_assumptions()
        self.sa = sim_assumptions()
        self.power = site_power(scenario, cluster_inventory(cluster), self.pa)
        curve = cap_curve(self.pa)
        gpus = [p.gpu for p in cluster.pools]
        self.fracs = cap_fracs(gpus, int(self.sa.f("power.cap_grid_points")))
        self.top = self.fracs.size - 1
        self.tdp_w = np.array([g.tdp_w for g in gpus])
        self.filler_tables = [flat_table(g, self.sa.f("fillers.gpu_draw_frac"), curve, self.fracs) for g in gpus]
        self.burn_draw_w = self.sa.f("burn_in.gpu_draw_frac") * self.tdp_w
        self.rates = NamedRates(scenario, self.pa, self.ra, curve, self.fracs)
        self.supply = supply_model(scenario.power.supply, sim.power, duration_s=self.end_s, rng=rng_supply)
        self.gens_down = self.supply.events.initially_down.copy()
        self.site = SiteDispatch(build_plant(scenario.power.supply, scenario.power.dispatch, prices(scenario, self.pa),
                                             self.pa), rearm_frac=self.sa.f("battery.rearm_frac"), end_s=self.end_s,
                                 initially_down=self.gens_down)  # type: ignore[arg-type]  # an int array
        self._gen_share: tuple[float, float] | None = None
        self.failures = plan_failures(scenario, self.layout, num_named_jobs=len(scenario.jobs),
                                      num_generator_events=len(self.supply.events.time_s), duration_s=self.end_s,
                                      rng=rng_fail)
        wpool = cluster.pool(sim.workload.pool) if sim.workload.pool else None
        self.fillers = filler_jobs(sim.workload, duration_s=self.end_s,
                                   max_gpus=wpool.num_gpus if wpool else max(p.num_gpus for p in cluster.pools),
                                   gpus_per_server=wpool.server.gpus_per_server if wpool else cluster.gpus_per_server,
                                   rng=rng_work, base_dir=base_dir)
        self.heap: list[tuple[float, int, ev.Event]] = []
        self.seq = 0
        self.jobs: list[Job] = []
        self.queue: list[tuple[tuple, int]] = []
        self.events: dict[str, list] = {"time_s": [], "kind": [], "job": [], "detail": [], "value": []}
        self.agg = np.zeros((3, self.num_pools))  # GPUs of running jobs by power mode and pool
        self.filler_train = np.zeros(self.num_pools)  # training filler GPUs per pool
        self.cap_idx = self.top
        self.parked: frozenset[int] = frozenset()
        self.idle_off = False
        self.batt_version = 0  # the plant's own next change (battery empty or full, permit spent, fleet moves)
        self._dispatch_at = math.inf  # when that wake-up is scheduled
        self.t_prev = 0.0
        self.cur: dict[str, float] = {}
        self.totals = {"deficit_s": 0.0, "lost_gpu_s": 0.0, "train_gpu_s": 0.0, "it_j": 0.0, "floor_j": 0.0}
        self.job_gpu_s = [0.0] * len(scenario.jobs)  # GPU-seconds each named job held (for its share of the cost)
        self.num_failures = 0
        self.failures_by_cause: dict[str, int] = {}
        self.num_repairs = 0
        self.events_processed = 0
        self.dirty_sched = True
        self.filler_running = 0
        self.filler_busy_gpus = 0
        self.running: dict[int, Job] = {}  # insertion-ordered, so iteration is deterministic
        self._build_jobs()
        self.recorder = Recorder([j.name for j in self.jobs if j.named])
        self.in_queue = np.zeros(len(self.jobs), dtype=bool)
        self.is_filler = np.array([not j.named for j in self.jobs], dtype=bool)
        self.want_arr = np.array([j.want_servers for j in self.jobs], dtype=np.int64)
        self._schedule_static_events()

    # ----------------------------------------------------------------- set-up
    def push(self, t: float, event: ev.Event) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, event))

    def _build_jobs(self) -> None:
        cluster = self.scenario.cluster
        for spec in self.scenario.jobs:
            pools = (self.layout.pool_index(spec.pool),) if spec.pool else tuple(range(self.num_pools))
            per = cluster.pool(spec.pool).server.gpus_per_server if spec.pool else cluster.gpus_per_server
            job = Job(len(self.jobs), spec.name, named=True, priority=spec.priority, pools=pools,
                      want_servers=spec.num_gpus // per, submit_s=spec.start_day * units.DAY,
                      work_total=spec.train_tokens)
            job.spec = spec
            q = max(1, round(job.want_servers * self.sa.f("elastic.quantum_frac")))
            job.quantum = q
            job.min_servers = max(q, math.ceil(job.want_servers * self.spec.scheduler.elastic_min_frac / q) * q)
            self.jobs.append(job)
        w = self.spec.workload
        pools = (self.layout.pool_index(w.pool),) if w.pool else tuple(range(self.num_pools))
        f = self.fillers
        for k in range(len(f)):
            job = Job(len(self.jobs), str(f.trace_id[k]), named=False, priority=w.priority, pools=pools,
                      want_servers=int(f.num_gpus[k]) // cluster.gpus_per_server, submit_s=float(f.submit_s[k]),
                      work_total=float(f.runtime_s[k]))
            job.trace_delay_s = float(f.trace_delay_s[k])
            self.jobs.append(job)

    def _schedule_static_events(self) -> None:
        built = {b.pool: b for b in self.spec.buildout}
        lay = self.layout
        for p, name in enumerate(lay.pool_names):
            b = built.get(name)
            start_s = b.start_day * units.DAY if b else 0.0
            ramp_s = b.ramp_days * units.DAY if b else 0.0
            burn_s = b.burn_in_days * units.DAY if b else 0.0
            servers = np.arange(lay.pool_start[p], lay.pool_end[p])
            racks = lay.rack_of[servers]
            first = racks[0]
            num_racks = int(racks[-1] - first + 1)
            when = start_s + ramp_s * (racks - first) / max(num_racks - 1, 1)
            times, starts = np.unique(when, return_index=True)
            bounds = np.append(starts, servers.size)
            for k, t in enumerate(times):
                if t <= self.end_s:
                    self.push(float(t), ev.Build(servers[bounds[k]:bounds[k + 1]], burn_s))
        for job in self.jobs:
            if job.submit_s <= self.end_s:
                self.push(job.submit_s, ev.Submit(job.idx))
        candidates: tuple[tuple[type[ev.ServerFailure | ev.SwitchFailure | ev.JobFailure | ev.RackFailure],
                                Candidates], ...] = (
            (ev.ServerFailure, self.failures.servers), (ev.SwitchFailure, self.failures.switches),
            (ev.JobFailure, self.failures.jobs), (ev.RackFailure, self.failures.racks))
        for kind, cands in candidates:
            for k, t in enumerate(cands.time_s):
                self.push(float(t), kind(k))
        for k, t in enumerate(self.supply.events.time_s):
            self.push(float(t), ev.GeneratorChange(k))
        if self.supply.contract_start_s is not None and 0 < self.supply.contract_start_s <= self.end_s:
            self.push(self.supply.contract_start_s, ev.GridContract())

    # ------------------------------------------------------------------ log
    def log(self, t: float, kind: str, job: str = "", detail: str = "", value: float = 0.0) -> None:
        ev = self.events
        ev["time_s"].append(t)
        ev["kind"].append(kind)
        ev["job"].append(job)
        ev["detail"].append(detail)
        ev["value"].append(value)

    # ------------------------------------------------------------ main loop
    def run(self, progress: Callable[[float], None] | None = None) -> SimResult:
        next_report = 0.0
        heap = self.heap
        while heap and heap[0][0] <= self.end_s:
            t = heap[0][0]
            self._account(t)
            changed = False
            while heap and heap[0][0] == t:
                _, _, event = heapq.heappop(heap)
                self.events_processed += 1
                changed |= self.HANDLERS[type(event)](self, t, event) is not False
            if self.dirty_sched:
                self._schedule(t)
                changed = True
            if changed:  # a quiet instant (a rejected failure candidate, a stale event) changes no power
                self._power(t)
            if changed or self.record_quiet_instants:
                self._record(t)
            if progress is not None and t >= next_report:
                progress(min(1.0, t / self.end_s))
                next_report = t + self.end_s / 200
        self._account(self.end_s)
        for job in self.jobs:
            job.advance(self.end_s)
        if self.recorder.time_s and self.recorder.time_s[-1] < self.end_s:
            self._record(self.end_s)  # a last knot, so that interpolated columns end at the end
        if progress is not None:
            progress(1.0)
        return build_result(self)

    # --------------------------------------------------------------- events
    # Each handler applies one event; False when it changed nothing that power or telemetry depends on.
    def _on_build(self, t: float, e: ev.Build) -> None:
        self.state.move(e.servers, BURN_IN if e.burn_s > 0 else IDLE)
        if e.burn_s > 0:
            self.push(t + e.burn_s, ev.BurnInDone(e.servers))
        self.log(t, "build", detail=self.layout.pool_names[self.layout.pool_of[e.servers[0]]],
                 value=float(self._gpus(e.servers)))
        self.dirty_sched = True

    def _on_burn_in_done(self, t: float, e: ev.BurnInDone) -> None:
        servers = e.servers[self.state.state[e.servers] == BURN_IN]
        self.state.move(servers, IDLE)
        if servers.size:
            self.log(t, "burn_in_done", value=float(self._gpus(servers)))
        self.dirty_sched = True

    def _on_submit(self, t: float, e: ev.Submit) -> None:
        job = self.jobs[e.job]
        self._enqueue(job)
        self.log(t, "submit", job.name, value=float(job.want_servers))
        self.dirty_sched = True

    def _current(self, e: ev.JobEvent) -> Job | None:
        """The event's job, if the event belongs to its current plan."""
        job = self.jobs[e.job]
        return job if job.version == e.version and job.status == RUNNING else None

    def _on_progress(self, t: float, e: ev.Progress) -> bool:
        job = self._current(e)
        if job is None:
            return False
        job.advance(t)
        self._set_mode(job, Mode.TRAIN)
        self._after_rate_change(job, t)
        return True

    def _on_checkpoint(self, t: float, e: ev.Checkpoint) -> bool:
        job = self._current(e)
        if job is not None:
            job.advance(t)
            self.push(t + job.interval_s, ev.Checkpoint(e.job, e.version))
        return False  # progress only: power and allocation are unchanged

    def _on_finish(self, t: float, e: ev.Finish) -> bool:
        job = self._current(e)
        if job is None:
            return False
        self._finish(job, t)
        return True

    def _on_detected(self, t: float, e: ev.Detected) -> None:
        self.state.move(e.servers, REPAIR)
        self.push(t + e.repair_s, ev.Repaired(e.servers))

    def _on_repaired(self, t: float, e: ev.Repaired) -> None:
        self.state.move(e.servers, IDLE)
        self.num_repairs += 1
        what = f"server {int(e.servers[0])}" if e.servers.size == 1 else f"{e.servers.size} servers"
        self.log(t, "repair_done", detail=what, value=float(self._gpus(e.servers)))
        self.dirty_sched = True

    def _on_generator(self, t: float, e: ev.GeneratorChange) -> None:
        events = self.supply.events
        f = int(events.fleet[e.k])
        up = bool(events.up[e.k])
        self.gens_down[f] += -1 if up else 1
        if up:
            self.site.unit_up(f)
        else:
            self.site.unit_down(f)
        self.log(t, "generator_up" if up else "generator_down", detail=self.supply.fleet_names[f],
                 value=float(self.supply.fleet_rating_w[f]))
        if not up:
            self._feeder_trip(t, e.k)

    def _on_grid_contract(self, t: float, e: ev.GridContract) -> None:
        self.log(t, "grid_contract", value=self.supply.grid_contract_w)

    def _on_plant(self, t: float, e: ev.PlantWake) -> None:
        """Only triggers the power pass (a stale wake-up is harmless)."""

    HANDLERS: dict[type, Callable[..., bool | None]] = {
        ev.Build: _on_build, ev.BurnInDone: _on_burn_in_done, ev.Submit: _on_submit, ev.Progress: _on_progress,
        ev.Checkpoint: _on_checkpoint, ev.Finish: _on_finish,
        ev.ServerFailure: lambda self, t, e: self._server_failure(t, e.k),
        ev.SwitchFailure: lambda self, t, e: self._switch_failure(t, e.k),
        ev.JobFailure: lambda self, t, e: self._job_failure(t, e.k),
        ev.RackFailure: lambda self, t, e: self._rack_failure(t, e.k),
        ev.Detected: _on_detected, ev.Repaired: _on_repaired, ev.GeneratorChange: _on_generator,
        ev.GridContract: _on_grid_contract, ev.PlantWake: _on_plant,
    }

    def _gpus(self, servers: np.ndarray) -> int:
        return int(self.layout.gpus_per_server[self.layout.pool_of[servers]].sum())

    def _out_for_repair(self, t: float, servers: np.ndarray, repair_s: float) -> None:
        """Failed servers leave service; noticed and drained, they go to repair together."""
        self.state.move(servers, FAILED)
        self.push(t + self.sa.f("repair.detect_s"), ev.Detected(servers, repair_s))
        self.dirty_sched = True

    # --------------------------------------------------------------- jobs
    def _enqueue(self, job: Job) -> None:
        job.status = QUEUED
        self.in_queue[job.idx] = True
        bisect.insort(self.queue, (policy.queue_key(job.priority, job.submit_s, job.idx), job.idx))

    def _set_mode(self, job: Job, mode: int) -> None:
        if job.mode == mode:
            return
        if job.mode:
            self.agg[job.mode] -= job.pool_gpus
            if job.mode == Mode.TRAIN and not job.named:
                self.filler_train -= job.pool_gpus
        if mode:
            self.agg[mode] += job.pool_gpus
            if mode == Mode.TRAIN and not job.named:
                self.filler_train += job.pool_gpus
        job.mode = mode

    def _after_rate_change(self, job: Job, t: float) -> None:
        """Bump the version and schedule the job's next finish (and checkpoint) at its new rate."""
        job.version += 1
        end = job.finish_time(t)
        if math.isfinite(end) and end <= self.end_s:
            self.push(end, ev.Finish(job.idx, job.version))
        if job.named and job.mode == Mode.TRAIN and math.isfinite(job.interval_s):
            k = math.floor((t - job.progress_from_s) / job.interval_s + 1e-9) + 1
            nxt = job.progress_from_s + k * job.interval_s
            if nxt <= self.end_s:
                self.push(nxt, ev.Checkpoint(job.idx, job.version))

    def _release(self, job: Job) -> None:
        self.running.pop(job.idx, None)
        if not job.named:
            self.filler_running -= 1
            self.filler_busy_gpus -= job.num_gpus
        busy = job.servers[self.state.state[job.servers] == BUSY]
        self.state.move(busy, IDLE)
        self._set_mode(job, Mode.NONE)
        job.servers = job.servers[:0]
        job.parked = False
        job.power_kept = 1.0
        job.version += 1
        self.dirty_sched = True

    def _finish(self, job: Job, t: float) -> None:
        job.advance(t)
        job.work_done = job.work_ckpt = job.work_total
        job.finish_s = t
        self._release(job)
        job.status = DONE
        self.log(t, "finish", job.name, value=job.work_total)

    def _interrupt(
        self, job: Job, t: float, *, lose: bool, kind: str, detail: str, replicas_lost: bool = False
    ) -> None:
        """Stop a running job: it falls back to its last checkpoint (unless ``lose`` is False) and requeues;
        to its last copy on storage if the fault lost its in-memory replicas (``replicas_lost``)."""
        job.advance(t)
        if replicas_lost and job.persist_every:
            job.work_ckpt = min(job.work_ckpt, job.work_persist)
        lost = job.work_done - job.work_ckpt if lose else 0.0
        if not lose:
            job.work_ckpt = job.work_done
        job.work_done = job.work_ckpt
        job.lost_work += lost
        self._release(job)
        if kind == "preempt":
            job.preemptions += 1
        else:
            job.interruptions += 1
        job.pending_restart = True
        self._enqueue(job)
        self.log(t, "preempt" if kind == "preempt" else "interrupt", job.name, detail, value=lost)

    def _server_failure(self, t: float, k: int) -> bool:
        c = self.failures.servers
        server = int(c.target[k])
        st = self.state.state[server]
        mult = self.failures.burn_in_multiplier if st == BURN_IN else 1.0 if st in (IDLE, BUSY) else 0.0
        if c.accept_u[k] >= mult / self.failures.burn_in_multiplier:
            return False
        cause = self.failures.causes[int(c.cause[k])]
        if not cause.needs_spare and st != BUSY:
            return False  # a software fault or a drain matters only to a running job
        self.num_failures += 1
        self.failures_by_cause[cause.cause] = self.failures_by_cause.get(cause.cause, 0) + 1
        owner = int(self.state.owner[server])
        self.log(t, "failure", self.jobs[owner].name if owner >= 0 else "", cause.cause, float(server))
        if cause.needs_spare:
            self._out_for_repair(t, np.array([server]), float(c.repair_s[k]))
        if owner >= 0:
            self._interrupt(self.jobs[owner], t, lose=not cause.planned, kind="restart", detail=cause.name)
        return True

    def _switch_failure(self, t: float, k: int) -> bool:
        c = self.failures.switches
        leaf = self.failures.leaf_servers
        g = int(c.target[k])
        owners = np.unique(self.state.owner[g * leaf:(g + 1) * leaf])
        owners = owners[owners >= 0]
        if not owners.size and not (self.state.state[g * leaf:(g + 1) * leaf] != NOT_INSTALLED).any():
            return False
        cause = self.failures.causes[int(c.cause[k])]
        self.num_failures += 1
        self.failures_by_cause[cause.cause] = self.failures_by_cause.get(cause.cause, 0) + 1
        self.log(t, "failure", "", cause.cause, float(g))
        below = np.arange(g * leaf, min((g + 1) * leaf, self.layout.num_servers))
        named = ",".join(self.jobs[int(o)].name for o in owners if self.jobs[int(o)].named)
        self.log(t, "domain_failure", named, f"leaf {g}: {cause.name}", float(self._gpus(below)))
        for o in owners:
            self._interrupt(self.jobs[int(o)], t, lose=not cause.planned, kind="restart", detail=cause.name)
        return True

    def _job_failure(self, t: float, k: int) -> bool:
        c = self.failures.jobs
        job = self.jobs[int(c.target[k])]
        if job.status != RUNNING:
            return False
        cause = self.failures.causes[int(c.cause[k])]
        self.num_failures += 1
        self.failures_by_cause[cause.cause] = self.failures_by_cause.get(cause.cause, 0) + 1
        self.log(t, "failure", job.name, cause.cause, 0.0)
        self._interrupt(job, t, lose=not cause.planned, kind="restart", detail=cause.name)

    # ------------------------------------------------------------ decisions
        return True

    def apply(self, decision: Decision, t: float) -> None:
        """Carry out a decision of the scheduling pass (``sim.scheduling``)."""
        if isinstance(decision, Start):
            self._start(self.jobs[decision.job], decision.servers, t)
        elif isinstance(decision, Preempt):
            for v in decision.victims:
                self._interrupt(self.jobs[v], t, lose=True, kind="preempt", detail=f"for {decision.for_job}")

    def _start(self, job: Job, choice: dict[int, np.ndarray], t: float) -> None:
        servers = np.concatenate(list(choice.values()))
        pool_gpus = np.zeros(self.num_pools)
        for p, s in choice.items():
            pool_gpus[p] = s.size * self.layout.gpus_per_server[p]
        restart = job.pending_restart
        if job.named:
            rate = self._named_rate(job, choice)
            if rate is None:
                return
            job.rate, job.table, job.ckpt_eff, job.interval_s = (
                rate.tokens_per_s,
                rate.table,
                rate.ckpt_eff,
                rate.interval_s,
            )
            job.persist_every = rate.persist_every
            job.layout = rate.layout
            overhead = rate.restart_s if restart else rate.start_s
        else:
            p0 = next(iter(choice))
            job.rate, job.table, job.ckpt_eff = 1.0, self.filler_tables[p0], 1.0
            job.interval_s = self.sa.f("fillers.checkpoint_interval_min") * units.MINUTE
            overhead = self.sa.f("fillers.restart_s") if restart else 0.0
        self.queue.remove((policy.queue_key(job.priority, job.submit_s, job.idx), job.idx))
        self.in_queue[job.idx] = False
        self.state.move(servers, BUSY, owner=job.idx)
        job.servers, job.pool_gpus, job.num_gpus = servers, pool_gpus, int(pool_gpus.sum())
        job.pool = int(next(iter(choice)))
        job.status = RUNNING
        job.t_last = t
        job.progress_from_s = t + overhead
        job.power_kept = 1.0
        job.parked = False
        if math.isnan(job.first_start_s):
            job.first_start_s = t
        if restart:
            job.restarts += 1
        job.pending_restart = False
        self.running[job.idx] = job
        if not job.named:
            self.filler_running += 1
            self.filler_busy_gpus += job.num_gpus
        self._set_mode(job, Mode.IDLE)
        job.version += 1
        self.push(job.progress_from_s, ev.Progress(job.idx, job.version))
        self.log(t, "restart" if restart and job.named else "start", job.name, job.layout, float(job.num_gpus))



def simulate(scenario: Scenario, *, seed: int | None = None, days: float | None = None,
             progress: Callable[[float], None] | None = None, base_dir: Path | None = None) -> SimResult:
    """Simulate ``scenario`` for ``days`` (default: its ``simulation.days``) with ``seed`` (default: its own)."""
    return Engine(scenario, seed=seed, days=days, base_dir=base_dir).run(progress)
