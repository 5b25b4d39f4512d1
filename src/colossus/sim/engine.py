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
from colossus.sim import scheduler as policy
from colossus.sim.assumptions import default_assumptions as sim_assumptions
from colossus.sim.cluster import BURN_IN, BUSY, FAILED, IDLE, NOT_INSTALLED, REPAIR, ClusterState, build_layout, place
from colossus.sim.dispatch import SiteDispatch
from colossus.sim.failures import DomainFailures, plan_failures
from colossus.sim.jobs import DONE, QUEUED, RUNNING, Job, NamedRates
from colossus.sim.result import SimResult
from colossus.sim.sitepower import Group, cap_fracs, flat_table, respond, site_power
from colossus.sim.supply import supply_model
from colossus.sim.telemetry import Recorder
from colossus.sim.workload import filler_jobs
from colossus.spec import Scenario
from colossus.spec.bounds import MAX_SEED
from colossus.topology import cluster_inventory, comm_levels

(EV_BUILD, EV_BURNIN, EV_SUBMIT, EV_PROGRESS, EV_CKPT, EV_FINISH, EV_SFAIL, EV_SWFAIL, EV_JFAIL, EV_DETECT,
 EV_REPAIRED, EV_GEN, EV_GRID, EV_BATTERY, EV_RFAIL) = range(15)
MODE_NONE, MODE_IDLE, MODE_TRAIN = 0, 1, 2


class Engine(DomainFailures):
    """State of one simulated history. Build with a scenario and seed, then ``run()``."""

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
                                 initially_down=self.gens_down)
        self._gen_share: tuple[float, float] | None = None
        self.failures = plan_failures(scenario, self.layout, num_named_jobs=len(scenario.jobs),
                                      num_generator_events=len(self.supply.events.time_s), duration_s=self.end_s,
                                      rng=rng_fail)
        wpool = cluster.pool(sim.workload.pool) if sim.workload.pool else None
        self.fillers = filler_jobs(sim.workload, duration_s=self.end_s,
                                   max_gpus=wpool.num_gpus if wpool else max(p.num_gpus for p in cluster.pools),
                                   gpus_per_server=wpool.server.gpus_per_server if wpool else cluster.gpus_per_server,
                                   rng=rng_work, base_dir=base_dir)
        self.heap: list[tuple[float, int, int, object]] = []
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
    def push(self, t: float, kind: int, payload: object = None) -> None:
        self.seq += 1
        heapq.heappush(self.heap, (t, self.seq, kind, payload))

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
                    self.push(float(t), EV_BUILD, (servers[bounds[k]:bounds[k + 1]], burn_s))
        for job in self.jobs:
            if job.submit_s <= self.end_s:
                self.push(job.submit_s, EV_SUBMIT, job.idx)
        for kind, cands in ((EV_SFAIL, self.failures.servers), (EV_SWFAIL, self.failures.switches),
                            (EV_JFAIL, self.failures.jobs), (EV_RFAIL, self.failures.racks)):
            for k, t in enumerate(cands.time_s):
                self.push(float(t), kind, k)
        ev = self.supply.events
        for k, t in enumerate(ev.time_s):
            self.push(float(t), EV_GEN, k)
        if self.supply.contract_start_s is not None and 0 < self.supply.contract_start_s <= self.end_s:
            self.push(self.supply.contract_start_s, EV_GRID, None)

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
                _, _, kind, payload = heapq.heappop(heap)
                self.events_processed += 1
                changed |= self._handle(t, kind, payload) is not False
            if self.dirty_sched:
                self._schedule(t)
                changed = True
            if changed:  # a quiet instant (a rejected failure candidate, a stale event) changes no power
                self._power(t)
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
        from colossus.sim.summary import build_result  # noqa: PLC0415 (summary imports the engine's types)

        return build_result(self)

    def _handle(self, t: float, kind: int, payload: object) -> bool:
        """Apply one event; False when it changed nothing that power or telemetry depends on."""
        if kind == EV_BUILD:
            servers, burn_s = payload  # type: ignore[misc]
            self.state.move(servers, BURN_IN if burn_s > 0 else IDLE)
            if burn_s > 0:
                self.push(t + burn_s, EV_BURNIN, servers)
            self.log(t, "build", detail=self.layout.pool_names[self.layout.pool_of[servers[0]]],
                     value=float(self._gpus(servers)))
            self.dirty_sched = True
        elif kind == EV_BURNIN:
            servers = payload[self.state.state[payload] == BURN_IN]  # type: ignore[index]
            self.state.move(servers, IDLE)
            if servers.size:
                self.log(t, "burn_in_done", value=float(self._gpus(servers)))
            self.dirty_sched = True
        elif kind == EV_SUBMIT:
            job = self.jobs[payload]  # type: ignore[index]
            self._enqueue(job)
            self.log(t, "submit", job.name, value=float(job.want_servers))
            self.dirty_sched = True
        elif kind == EV_PROGRESS:
            idx, version = payload  # type: ignore[misc]
            job = self.jobs[idx]
            if job.version != version or job.status != RUNNING:
                return False
            job.advance(t)
            self._set_mode(job, MODE_TRAIN)
            self._after_rate_change(job, t)
        elif kind == EV_CKPT:
            idx, version = payload  # type: ignore[misc]
            job = self.jobs[idx]
            if job.version == version and job.status == RUNNING:
                job.advance(t)
                self.push(t + job.interval_s, EV_CKPT, (idx, version))
            return False  # progress only: power and allocation are unchanged
        elif kind == EV_FINISH:
            idx, version = payload  # type: ignore[misc]
            job = self.jobs[idx]
            if job.version != version or job.status != RUNNING:
                return False
            self._finish(job, t)
        elif kind == EV_SFAIL:
            return self._server_failure(t, int(payload))  # type: ignore[arg-type]
        elif kind == EV_SWFAIL:
            return self._switch_failure(t, int(payload))  # type: ignore[arg-type]
        elif kind == EV_JFAIL:
            return self._job_failure(t, int(payload))  # type: ignore[arg-type]
        elif kind == EV_RFAIL:
            return self._rack_failure(t, int(payload))  # type: ignore[arg-type]
        elif kind == EV_DETECT:
            servers, repair_s = payload  # type: ignore[misc]
            self.state.move(servers, REPAIR)
            self.push(t + repair_s, EV_REPAIRED, servers)
        elif kind == EV_REPAIRED:
            self.state.move(payload, IDLE)  # type: ignore[arg-type]
            self.num_repairs += 1
            what = f"server {int(payload[0])}" if payload.size == 1 else f"{payload.size} servers"  # type: ignore[union-attr]
            self.log(t, "repair_done", detail=what, value=float(self._gpus(payload)))  # type: ignore[arg-type]
            self.dirty_sched = True
        elif kind == EV_GEN:
            ev = self.supply.events
            f = int(ev.fleet[payload])  # type: ignore[index]
            up = bool(ev.up[payload])  # type: ignore[index]
            self.gens_down[f] += -1 if up else 1
            if up:
                self.site.unit_up(f)
            else:
                self.site.unit_down(f)
            self.log(t, "generator_up" if up else "generator_down", detail=self.supply.fleet_names[f],
                     value=float(self.supply.fleet_rating_w[f]))
            if not up:
                self._feeder_trip(t, int(payload))  # type: ignore[arg-type]
        elif kind == EV_GRID:
            self.log(t, "grid_contract", value=self.supply.grid_contract_w)
        elif kind == EV_BATTERY:
            pass  # only triggers the power pass below (stale versions are harmless)

    def _gpus(self, servers: np.ndarray) -> int:
        return int(self.layout.gpus_per_server[self.layout.pool_of[servers]].sum())

    def _out_for_repair(self, t: float, servers: np.ndarray, repair_s: float) -> None:
        """Failed servers leave service; noticed and drained, they go to repair together."""
        self.state.move(servers, FAILED)
        self.push(t + self.sa.f("repair.detect_s"), EV_DETECT, (servers, repair_s))
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
            if job.mode == MODE_TRAIN and not job.named:
                self.filler_train -= job.pool_gpus
        if mode:
            self.agg[mode] += job.pool_gpus
            if mode == MODE_TRAIN and not job.named:
                self.filler_train += job.pool_gpus
        job.mode = mode

    def _after_rate_change(self, job: Job, t: float) -> None:
        """Bump the version and schedule the job's next finish (and checkpoint) at its new rate."""
        job.version += 1
        end = job.finish_time(t)
        if math.isfinite(end) and end <= self.end_s:
            self.push(end, EV_FINISH, (job.idx, job.version))
        if job.named and job.mode == MODE_TRAIN and math.isfinite(job.interval_s):
            k = math.floor((t - job.progress_from_s) / job.interval_s + 1e-9) + 1
            nxt = job.progress_from_s + k * job.interval_s
            if nxt <= self.end_s:
                self.push(nxt, EV_CKPT, (job.idx, job.version))

    def _release(self, job: Job) -> None:
        self.running.pop(job.idx, None)
        if not job.named:
            self.filler_running -= 1
            self.filler_busy_gpus -= job.num_gpus
        busy = job.servers[self.state.state[job.servers] == BUSY]
        self.state.move(busy, IDLE)
        self._set_mode(job, MODE_NONE)
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

    def _interrupt(self, job: Job, t: float, *, lose: bool, kind: str, detail: str, replicas_lost: bool = False) -> None:
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

    # ----------------------------------------------------------- scheduling
    def _reserve(self, p: int) -> int:
        installed = (self.layout.pool_end[p] - self.layout.pool_start[p]) - self.state.counts[p, NOT_INSTALLED]
        return math.ceil(self.spec.scheduler.hot_spare_frac * installed)

    def _holders(self, pools: tuple[int, ...], t: float) -> list[policy.Holder]:
        out = []
        for job in self.running.values():
            if job.pool_gpus is not None:
                n = int(sum(job.pool_gpus[p] for p in pools) // self.scenario.cluster.gpus_per_server)
                if n:
                    out.append(policy.Holder(job.idx, job.priority, n, job.first_start_s, job.finish_time(t)))
        return out

    def _schedule(self, t: float) -> None:
        self.dirty_sched = False
        if not self.queue:
            return
        sched = self.spec.scheduler
        free = {p: self.state.free(p) for p in range(self.num_pools)}
        reserve = {p: self._reserve(p) for p in range(self.num_pools)}
        reservation: tuple[set[int], float, int] | None = None
        headroom, idle_on = self._power_headroom(t)
        per_server_add = self._filler_server_add_w(idle_on)
        waiting = self.in_queue & self.is_filler
        min_need = int(self.want_arr[waiting].min()) if waiting.any() else 0
        for key, idx in list(self.queue):
            job = self.jobs[idx]
            if not job.named:
                avail = {p: free[p].size - reserve[p] for p in job.pools}
                # the most servers any filler could get now (servers and power both bound it)
                cap = min(max(avail.values()), headroom / per_server_add if per_server_add > 0 else math.inf)
                if cap < min_need:
                    break  # no queued filler can start any more in this pass
                if job.want_servers * per_server_add > headroom:
                    continue  # power-aware admission: do not start what the supply cannot feed
                if job.want_servers > max(avail.values()):
                    reservation = reservation or self._reservation(job, avail, t)
                    if not sched.backfill:
                        break  # without backfill nothing may pass the first blocked job
                    continue
                if reservation is not None and reservation[0] & set(job.pools):
                    end = t + (job.work_total - job.work_done)
                    if not policy.may_backfill(job.want_servers, job.want_servers, end, reservation[1],
                                               reservation[2]):
                        continue
            else:
                avail = {p: free[p].size for p in job.pools}
            choice = self._choose(job, free, avail)
            if choice is None and job.named and sched.preemption:
                choice = self._preempt_for(job, t, free)
            if choice is None and job.named and job.pending_restart:
                choice = self._elastic(job, free)
            if choice is None:
                reservation = reservation or self._reservation(job, avail, t)
                if not sched.backfill:
                    break
                continue
            if reservation is not None and reservation[0] & set(job.pools):
                # fillers passed the backfill rule above; a named job behind a blocked one must fit
                # the extra servers (its end is not known before it is placed and planned)
                n = sum(s.size for s in choice.values())
                if job.named and not policy.may_backfill(n, n, math.inf, reservation[1], reservation[2]):
                    continue
                if not job.named and t + (job.work_total - job.work_done) <= reservation[1]:
                    n = 0  # ends before the shadow time: takes none of the extra servers
                reservation = (reservation[0], reservation[1], reservation[2] - n)
            self._start(job, choice, t)
            for p, servers in choice.items():
                free[p] = np.setdiff1d(free[p], servers, assume_unique=True)
            if not job.named:
                headroom -= job.want_servers * per_server_add

    def _reservation(self, job: Job, avail: dict[int, int], t: float) -> tuple[set[int], float, int]:
        """EASY reservation of the first blocked job: its pools, shadow time and extra servers."""
        total_free = sum(max(avail[p], 0) for p in job.pools)
        s_time, extra = policy.shadow(job.want_servers, total_free, self._holders(job.pools, t))
        return set(job.pools), s_time, extra

    def _choose(self, job: Job, free: dict[int, np.ndarray], avail: dict[int, int],
                servers_wanted: int | None = None) -> dict[int, np.ndarray] | None:
        """Servers for ``job``: one pool if any holds it, else (named jobs) spread over pools."""
        n = servers_wanted or job.want_servers
        order = sorted(job.pools, key=lambda p: (-avail[p], p)) if not job.named else list(job.pools)
        for p in order:
            if avail[p] >= n:
                got = place(free[p], n, self.layout)
                if got is not None:
                    return {p: got}
        if job.named and len(job.pools) > 1 and sum(max(avail[p], 0) for p in job.pools) >= n:
            out, need = {}, n
            for p in sorted(job.pools, key=lambda p: (-avail[p], p)):
                take = min(need, max(avail[p], 0))
                if take:
                    out[p] = place(free[p], take, self.layout)
                    need -= take
                if not need:
                    return out
        return None

    def _preempt_for(self, job: Job, t: float, free: dict[int, np.ndarray]) -> dict[int, np.ndarray] | None:
        for pools in [(p,) for p in job.pools] + ([job.pools] if len(job.pools) > 1 else []):
            have = sum(free[p].size for p in pools)
            chosen = policy.victims(job.want_servers, have, self._holders(pools, t), job.priority)
            if chosen:
                for v in chosen:
                    victim = self.jobs[v]
                    self._interrupt(victim, t, lose=True, kind="preempt", detail=f"for {job.name}")
                for p in range(self.num_pools):
                    free[p] = self.state.free(p)
                avail = {p: free[p].size for p in job.pools}
                return self._choose(job, free, avail)
        return None

    def _elastic(self, job: Job, free: dict[int, np.ndarray]) -> dict[int, np.ndarray] | None:
        """A named job short of GPUs restarts on the most it can get, down to its minimum (re-planned)."""
        avail = {p: free[p].size for p in job.pools}
        total = sum(avail.values()) if len(job.pools) > 1 else max(avail.values())
        q = self._elastic_quantum(job)
        n = min(job.want_servers, total) // q * q
        while n >= job.min_servers:
            choice = self._choose(job, free, avail, servers_wanted=n)
            if choice is not None and self._named_rate(job, choice) is not None:
                return choice
            n -= q
        return None

    def _elastic_quantum(self, job: Job) -> int:
        """Servers an elastic job sheds at a time: its quantum, rounded up to whole data-parallel
        replicas of its full-size layout (as elastic frameworks shrink), so that the smaller job
        keeps a layout as good as the full one's instead of whatever an odd size factors into."""
        per = int(self.layout.gpus_per_server[job.pools[0]])
        replica = self.rates.replica_gpus(job.spec, self.layout.pool_names[job.pools[0]], job.want_servers * per)
        if not replica:
            return job.quantum
        servers = replica // math.gcd(replica, per)  # servers of the smallest whole number of replicas
        return servers * -(-job.quantum // servers)

    def _named_rate(self, job: Job, choice: dict[int, np.ndarray]):
        """The rate on this allocation: the slowest of its pools at its total size, for the pods it spans.

        A placement over more pods than a compact one needs is slower where the
        fabric is oversubscribed above the pod (``perf.placement``).
        """
        lay = self.layout
        gpus = sum(int(s.size) * int(lay.gpus_per_server[p]) for p, s in choice.items())
        pods = sum(int(np.unique(lay.pod_of[s]).size) for s in choice.values())
        compact = sum(-(-int(s.size) // self.pod_servers) for s in choice.values())
        per_pod = None
        if pods > compact:  # round down to whole leaves so that few distinct spreads are evaluated
            per_pod = max(self.leaf_gpus, gpus // pods // self.leaf_gpus * self.leaf_gpus)
        best = None
        for p in choice:
            r = self.rates.get(job.spec, lay.pool_names[p], gpus, per_pod)
            if r is None:
                return None
            if best is None or r.tokens_per_s < best.tokens_per_s:
                best = r
        return best

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
            job.rate, job.table, job.ckpt_eff, job.interval_s = rate.tokens_per_s, rate.table, rate.ckpt_eff, rate.interval_s
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
        self._set_mode(job, MODE_IDLE)
        job.version += 1
        self.push(job.progress_from_s, EV_PROGRESS, (job.idx, job.version))
        self.log(t, "restart" if restart and job.named else "start", job.name, job.layout, float(job.num_gpus))

    # ---------------------------------------------------------------- power
    def _installed_frac(self) -> float:
        return 1.0 - self.state.counts[:, NOT_INSTALLED].sum() / self.layout.num_servers

    def _supply_firm_w(self, t: float) -> float:
        return self.site.capacity_w(t, self.supply.grid_w(t))

    def _vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """GPUs idle (powered, incl. servers idle), starting, working and draw at full power, per pool."""
        g = self.state.gpu_counts()
        idle_servers = g[:, IDLE].astype(float)
        burn = g[:, BURN_IN].astype(float)
        starting = self.agg[MODE_IDLE]
        work = self.agg[MODE_TRAIN] + burn
        draw = self._train_draw(self.top) + burn * self.burn_draw_w
        return idle_servers, starting, work, draw

    def _train_draw(self, c: int, parked: frozenset[int] = frozenset()) -> np.ndarray:
        draw = np.zeros(self.num_pools)
        fill = self.filler_train.copy()
        for job in self.jobs[:len(self.scenario.jobs)]:
            if job.mode == MODE_TRAIN and job.idx not in parked:
                draw += job.pool_gpus * job.table.draw_w[c]
        for j in parked:
            job = self.jobs[j]
            if not job.named:
                fill -= job.pool_gpus
        for p in range(self.num_pools):
            draw[p] += fill[p] * self.filler_tables[p].draw_w[c]
        return draw

    def _power_headroom(self, t: float) -> tuple[float, bool]:
        """Firm supply left over, and whether idle servers stay powered (they are switched off when short)."""
        idle_servers, starting, work, draw = self._vectors()
        inst, firm = self._installed_frac(), self._supply_firm_w(t)
        full = self.power.site_w(inst, idle_servers + starting, work, draw)
        if full <= firm:
            return firm - full, True
        return firm - self.power.site_w(inst, starting, work, draw), False

    def _filler_server_add_w(self, idle_on: bool) -> float:
        """Site power one more server of filler work adds (from idle, or off, to training), the most over pools."""
        pw = self.power
        per = [self.layout.gpus_per_server[p] * (pw.fixed_site_w[p] + pw.gain_site[p] * self.filler_tables[p].draw_w[-1]
                                                 - (pw.idle_site_w[p] if idle_on else 0.0))
               for p in range(self.num_pools)]
        return float(max(per))

    def _power(self, t: float) -> None:
        pw = self.power
        inst = self._installed_frac()
        idle_servers, starting, work, draw = self._vectors()
        grid_avail = self.supply.grid_w(t)
        firm_w = self._supply_firm_w(t)
        batt_w = self.site.battery_w()
        supply_w = firm_w + batt_w
        demand_full = pw.site_w(inst, idle_servers + starting, work, draw)
        cap, parked, idle_off = self.top, frozenset(), False
        off_w = demand_full
        if demand_full > supply_w:
            idle_off = True
            off_w = pw.site_w(inst, starting, work, draw)
            if off_w > supply_w:
                groups, ids = self._groups()
                burn = work - self.agg[MODE_TRAIN]
                fixed = pw.site_w(inst, starting, burn, burn * self.burn_draw_w)
                r = respond(pw, fixed_w=fixed, groups=groups, supply_w=supply_w, strategy=self.spec.power.deficit_strategy)
                cap, parked = r.cap_index, frozenset(ids[i] for i in r.parked)
        self._apply_response(t, cap, parked)
        self.idle_off = idle_off
        # the served state
        parked_v = np.zeros(self.num_pools)
        for j in parked:
            parked_v += self.jobs[j].pool_gpus
        burn = work - self.agg[MODE_TRAIN]
        idle_v = starting + parked_v + (0.0 if idle_off else idle_servers)
        work_v = self.agg[MODE_TRAIN] - parked_v + burn
        draw_v = self._train_draw(cap, parked) + burn * self.burn_draw_w
        site = pw.site_w(inst, idle_v, work_v, draw_v)
        it = pw.it_w(inst, idle_v, work_v, draw_v)
        gpus_w = float(idle_v @ pw.idle_gpu_w + draw_v.sum())
        dc = self.site.commit(t, site, grid_avail)
        if dc.unmet_w > 0:
            # even with every job parked the site does not fit: the operator powers down what is
            # left (burn-in racks, jobs starting up) and that share is shed, in proportion
            served = site - dc.unmet_w
            scale = served / site if site > 0 else 0.0
            site, it, gpus_w = served, it * scale, gpus_w * scale
            dc = self.site.commit(t, site, grid_avail)
        self._dispatch_event(t)
        lost, train = self._loss_rates(cap, parked)
        capped = float(self.agg[MODE_TRAIN].sum() - parked_v.sum()) if cap != self.top else 0.0
        self.cur = {
            "grid_w": dc.grid_w, "generators_w": dc.generators_w, "battery_discharge_w": dc.discharge_w,
            "battery_charge_w": dc.charge_w,
            "supply_available_w": supply_w, "demand_w": site, "demand_unconstrained_w": demand_full,
            "shed_w": max(0.0, off_w - site), "gpus_w": gpus_w, "it_other_w": it - gpus_w,
            "facility_w": site - it, "deficit": float(cap != self.top or bool(parked)), "lost_gpus": lost, "train_gpus": train,
            "parked_gpus": float(parked_v.sum()), "off_gpus": float(idle_servers.sum()) if idle_off else 0.0,
            "capped_gpus": capped, "unserved_w": dc.unmet_w, "dumped_w": dc.dumped_w, "fuel_w": self.site.fuel_w,
            "generators_running": float(sum(dc.units)),
        }

    def _groups(self) -> tuple[list[Group], list[int]]:
        groups, ids = [], []
        for job in self.running.values():
            if job.mode == MODE_TRAIN:
                p = int(np.argmax(job.pool_gpus))
                if job.named:
                    rank = (1, job.priority, 0.0, job.idx)
                else:
                    rank = (0, job.priority, -job.progress_from_s, job.idx)  # latest (re)start parks first
                groups.append(Group(p, job.num_gpus, job.table, rank))
                ids.append(job.idx)
        return groups, ids

    def _apply_response(self, t: float, cap: int, parked: frozenset[int]) -> None:
        if cap == self.cap_idx and parked == self.parked:
            return
        changed_cap = cap != self.cap_idx
        if parked - self.parked:
            self.log(t, "park", detail=f"{len(parked - self.parked)} jobs", value=float(len(parked)))
        if self.parked - parked:
            self.log(t, "unpark", detail=f"{len(self.parked - parked)} jobs", value=float(len(parked)))
        if changed_cap:
            self.log(t, "power_cap", detail="site-wide GPU cap", value=float(self.fracs[cap]))
        for job in list(self.running.values()):
            was_parked, now_parked = job.idx in self.parked, job.idx in parked
            if not (changed_cap or was_parked != now_parked):
                continue
            job.advance(t)
            job.parked = now_parked
            job.power_kept = 0.0 if now_parked else float(job.table.kept_frac[cap])
            self._after_rate_change(job, t)
        self.cap_idx, self.parked = cap, parked

    def _loss_rates(self, cap: int, parked: frozenset[int]) -> tuple[float, float]:
        lost = train = 0.0
        if cap == self.top and not parked:
            return 0.0, float(self.agg[MODE_TRAIN].sum())
        for job in self.running.values():
            if job.mode == MODE_TRAIN:
                train += job.num_gpus
                lost += job.num_gpus * (1.0 - job.power_kept)
        return lost, train

    def _dispatch_event(self, t: float) -> None:
        """Wake the engine when the plant changes by itself (battery empty or full, permit spent, ...)."""
        when = self.site.next_event_s(t)
        if when == self._dispatch_at:
            return  # already in the heap: a second wake-up at the same time would only cost a pass
        self._dispatch_at = when
        self.batt_version += 1
        if t < when <= self.end_s:
            self.push(when, EV_BATTERY, self.batt_version)

    def _account(self, t: float) -> None:
        """Integrate the interval since the last event time at the rates then in force."""
        dt = t - self.t_prev
        if dt <= 0 or not self.cur:
            self.t_prev = max(self.t_prev, t)
            return
        c = self.cur
        fl = self.site.advance(self.t_prev, t)
        rec = self.recorder
        if fl is not None and not self.site.last_steady and rec.time_s and rec.time_s[-1] == self.t_prev:
            # the row opening this interval
            row = list(rec.power[-1])  # holds the interval's means: ramps and starts are inside it
            row[0], row[1], row[2], row[3] = fl.grid_j / dt, fl.generators_j / dt, fl.discharge_j / dt, fl.charge_j / dt
            row[11], row[12], row[13] = fl.unserved_j / dt, fl.dumped_j / dt, sum(fl.fuel_j) / dt
            rec.power[-1] = tuple(row)
        tot = self.totals
        tot["deficit_s"] += c["deficit"] * dt
        tot["lost_gpu_s"] += c["lost_gpus"] * dt
        tot["train_gpu_s"] += c["train_gpus"] * dt
        tot["it_j"] += (c["gpus_w"] + c["it_other_w"]) * dt
        if fl is None:  # settled at the commitment: its CO2 per J served holds
            intensity = self.site.served_co2_kg_per_j()
        else:
            served_j = fl.load_j + fl.charge_j
            intensity = self.site.last_co2_kg / served_j if served_j > 0 else 0.0
        pw = self.power
        for k, job in enumerate(self.jobs[:len(self.scenario.jobs)]):
            if job.mode:
                self.job_gpu_s[k] += job.num_gpus * dt
            if job.mode == MODE_IDLE or (job.mode == MODE_TRAIN and job.parked):
                p_w = float(job.pool_gpus @ pw.idle_site_w)
            elif job.mode == MODE_TRAIN:
                p_w = float(job.pool_gpus @ (pw.fixed_site_w + pw.gain_site * job.table.draw_w[self.cap_idx]))
                if job.table.floor_w is not None:  # what a GPU power floor burns, counted apart for the cost
                    tot["floor_j"] += float(job.pool_gpus @ pw.gain_site) * job.table.floor_w[self.cap_idx] * dt
            else:
                continue
            job.energy_j += p_w * dt
            job.co2_kg += p_w * dt * intensity
        self.t_prev = t

    # ------------------------------------------------------------ telemetry
    def _record(self, t: float) -> None:
        for job in self.jobs[:len(self.scenario.jobs)]:
            for tc, tokens in job.ckpt_times:
                self.log(tc, "checkpoint", job.name, value=min(tokens, job.work_total))
            job.ckpt_times.clear()
        c = self.cur
        g = self.state.gpu_counts().sum(axis=0)
        fillers_running, fillers_busy = self.filler_running, self.filler_busy_gpus
        queued = len(self.queue) - sum(1 for j in self.jobs[:len(self.scenario.jobs)] if j.status == QUEUED
                                       and not math.isnan(j.submit_s) and j.submit_s <= t)
        cap_w = float(self.fracs[self.cap_idx] * self.tdp_w.max())
        off, parked, capped = c["off_gpus"], c["parked_gpus"], c["capped_gpus"]
        states = (float(g[NOT_INSTALLED]), float(g[BURN_IN]), float(g[IDLE]) - off, float(g[BUSY]) - parked - capped,
                  float(g[FAILED]), float(g[REPAIR]), float(g.sum() - g[NOT_INSTALLED]), cap_w, parked, off,
                  float(fillers_running), float(queued), float(fillers_busy), capped, c["generators_running"])
        named = tuple(j.work_ckpt for j in self.jobs[:len(self.scenario.jobs)])
        power = (c["grid_w"], c["generators_w"], c["battery_discharge_w"], c["battery_charge_w"],
                 c["supply_available_w"], c["demand_w"], c["demand_unconstrained_w"], c["shed_w"], c["gpus_w"],
                 c["it_other_w"], c["facility_w"], c["unserved_w"], c["dumped_w"], c["fuel_w"])
        self.recorder.add(t, power, states + named, (self.site.soc,))


def simulate(scenario: Scenario, *, seed: int | None = None, days: float | None = None,
             progress: Callable[[float], None] | None = None, base_dir: Path | None = None) -> SimResult:
    """Simulate ``scenario`` for ``days`` (default: its ``simulation.days``) with ``seed`` (default: its own)."""
    return Engine(scenario, seed=seed, days=days, base_dir=base_dir).run(progress)
