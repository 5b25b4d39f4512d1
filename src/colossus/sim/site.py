"""The site as the engine runs it: power response, batteries and the plant, emissions, accounting, telemetry.

After the events of an instant and the scheduler, ``_power`` sets the site's
response to its supply (idle servers off first, then the deficit strategy of
``sim.sitepower.respond``: park fillers, cap named jobs, park them), commits
the plant (``sim.dispatch.SiteDispatch``) and keeps the rates in force;
``_account`` integrates each interval at those rates (energy, deficit time,
each named job's energy and CO2 at the plant's intensity) and writes the
plant's interval means into the telemetry row that opened it; ``_record``
adds one row, by column name (``sim.telemetry``).

A mixin of ``Engine`` (as ``DomainFailures`` is): the state it reads and
writes is the engine's, named where it is set up (``Engine.__init__``).
"""

from __future__ import annotations

import math
from operator import itemgetter

import numpy as np

from colossus.sim.cluster import BURN_IN, BUSY, FAILED, IDLE, NOT_INSTALLED, REPAIR
from colossus.sim.events import Mode, PlantWake
from colossus.sim.jobs import QUEUED, Job
from colossus.sim.sitepower import CapTable, Group, respond
from colossus.sim.state import EngineState
from colossus.sim.telemetry import POWER_COLUMNS, STATE_COLUMNS


def _table(job: Job) -> CapTable:
    """A started job's cap table (set by ``Engine._start`` before the job can train)."""
    assert job.table is not None
    return job.table


def _by_pool(job: Job) -> np.ndarray:
    """A started job's GPUs by pool."""
    assert job.pool_gpus is not None
    return job.pool_gpus


#: Position of each power column in a telemetry row.
POWER_INDEX: dict[str, int] = {name: i for i, name in enumerate(POWER_COLUMNS)}
#: A telemetry row's values in column order (one C call per row instead of a generator over the names).
_POWER_ROW = itemgetter(*POWER_COLUMNS)
_STATE_ROW = itemgetter(*STATE_COLUMNS)


class SiteResponse(EngineState):
    """The site's power response, plant, accounting and telemetry (mixed into ``Engine``)."""

    def _installed_frac(self) -> float:
        return 1.0 - self.state.counts[:, NOT_INSTALLED].sum() / self.layout.num_servers

    def _supply_firm_w(self, t: float) -> float:
        return self.site.capacity_w(t, self.supply.grid_w(t))

    def _vectors(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """GPUs idle (powered, incl. servers idle), starting, working and draw at full power, per pool."""
        g = self.state.gpu_counts()
        idle_servers = g[:, IDLE].astype(float)
        burn = g[:, BURN_IN].astype(float)
        starting = self.agg[Mode.IDLE]
        work = self.agg[Mode.TRAIN] + burn
        draw = self._train_draw(self.top) + burn * self.burn_draw_w
        return idle_servers, starting, work, draw

    def _train_draw(self, c: int, parked: frozenset[int] = frozenset()) -> np.ndarray:
        draw = np.zeros(self.num_pools)
        fill = self.filler_train.copy()
        for job in self.jobs[:len(self.scenario.jobs)]:
            if job.mode == Mode.TRAIN and job.idx not in parked:
                draw += _by_pool(job) * _table(job).draw_w[c]
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
        cap, parked, idle_off = self.top, frozenset[int](), False
        off_w = demand_full
        if demand_full > supply_w:
            idle_off = True
            off_w = pw.site_w(inst, starting, work, draw)
            if off_w > supply_w:
                groups, ids = self._groups()
                burn = work - self.agg[Mode.TRAIN]
                fixed = pw.site_w(inst, starting, burn, burn * self.burn_draw_w)
                r = respond(
                    pw, fixed_w=fixed, groups=groups, supply_w=supply_w, strategy=self.spec.power.deficit_strategy
                )
                cap, parked = r.cap_index, frozenset(ids[i] for i in r.parked)
        self._apply_response(t, cap, parked)
        self.idle_off = idle_off
        # the served state
        parked_v = np.zeros(self.num_pools)
        for j in parked:
            parked_v += _by_pool(self.jobs[j])
        burn = work - self.agg[Mode.TRAIN]
        idle_v = starting + parked_v + (0.0 if idle_off else idle_servers)
        work_v = self.agg[Mode.TRAIN] - parked_v + burn
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
        capped = float(self.agg[Mode.TRAIN].sum() - parked_v.sum()) if cap != self.top else 0.0
        self.cur = {
            "grid_w": dc.grid_w,
            "generators_w": dc.generators_w,
            "battery_discharge_w": dc.discharge_w,
            "battery_charge_w": dc.charge_w,
            "supply_available_w": supply_w,
            "demand_w": site,
            "demand_unconstrained_w": demand_full,
            "shed_w": max(0.0, off_w - site),
            "gpus_w": gpus_w,
            "it_other_w": it - gpus_w,
            "facility_w": site - it,
            "deficit": float(cap != self.top or bool(parked)),
            "lost_gpus": lost,
            "train_gpus": train,
            "parked_gpus": float(parked_v.sum()),
            "off_gpus": float(idle_servers.sum()) if idle_off else 0.0,
            "capped_gpus": capped,
            "unserved_w": dc.unmet_w,
            "dumped_w": dc.dumped_w,
            "fuel_w": self.site.fuel_w,
            "generators_running": float(sum(dc.units)),
        }

    def _groups(self) -> tuple[list[Group], list[int]]:
        groups, ids = [], []
        for job in self.running.values():
            if job.mode == Mode.TRAIN:
                p = int(np.argmax(_by_pool(job)))
                if job.named:
                    rank = (1, job.priority, 0.0, job.idx)
                else:
                    rank = (0, job.priority, -job.progress_from_s, job.idx)  # latest (re)start parks first
                groups.append(Group(p, job.num_gpus, _table(job), rank))
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
            job.power_kept = 0.0 if now_parked else float(_table(job).kept_frac[cap])
            self._after_rate_change(job, t)
        self.cap_idx, self.parked = cap, parked

    def _loss_rates(self, cap: int, parked: frozenset[int]) -> tuple[float, float]:
        lost = train = 0.0
        if cap == self.top and not parked:
            return 0.0, float(self.agg[Mode.TRAIN].sum())
        for job in self.running.values():
            if job.mode == Mode.TRAIN:
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
            self.push(when, PlantWake(self.batt_version))

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
            means = {"grid_w": fl.grid_j / dt, "generators_w": fl.generators_j / dt,
                     "battery_discharge_w": fl.discharge_j / dt, "battery_charge_w": fl.charge_j / dt,
                     "unserved_w": fl.unserved_j / dt, "dumped_w": fl.dumped_j / dt, "fuel_w": sum(fl.fuel_j) / dt}
            for name, value in means.items():
                row[POWER_INDEX[name]] = value
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
            if job.mode == Mode.IDLE or (job.mode == Mode.TRAIN and job.parked):
                p_w = float(job.pool_gpus @ pw.idle_site_w)
            elif job.mode == Mode.TRAIN:
                table = _table(job)
                p_w = float(job.pool_gpus @ (pw.fixed_site_w + pw.gain_site * table.draw_w[self.cap_idx]))
                if table.floor_w is not None:  # what a GPU power floor burns, counted apart for the cost
                    tot["floor_j"] += float(job.pool_gpus @ pw.gain_site) * table.floor_w[self.cap_idx] * dt
            else:
                continue
            job.energy_j += p_w * dt
            job.co2_kg += p_w * dt * intensity
        self.t_prev = t

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
        state = {
            "gpus_not_installed": float(g[NOT_INSTALLED]), "gpus_burn_in": float(g[BURN_IN]),
            "gpus_idle": float(g[IDLE]) - off, "gpus_busy": float(g[BUSY]) - parked - capped,
            "gpus_failed": float(g[FAILED]), "gpus_repair": float(g[REPAIR]),
            "gpus_installed": float(g.sum() - g[NOT_INSTALLED]), "gpu_cap_w": cap_w, "gpus_parked": parked,
            "gpus_powered_off": off, "filler_running": float(fillers_running), "filler_queued": float(queued),
            "filler_busy_gpus": float(fillers_busy), "gpus_capped": capped,
            "generators_running": c["generators_running"],
        }
        named = tuple(j.work_ckpt for j in self.jobs[:len(self.scenario.jobs)])
        self.recorder.add(t, _POWER_ROW(c), _STATE_ROW(state) + named, (self.site.soc,))


__all__ = ["POWER_INDEX", "SiteResponse"]
