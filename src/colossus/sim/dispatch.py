"""The site's plant over a simulated history: units running and starting, batteries, permits.

``power.dispatch`` holds the physics as pure functions (the steady commitment,
the exact energies of a transition); this class holds the state between the
engine's events and calls them:

* ``commit(t, load, ...)`` after each power response: the commitment for the
  load now served, units started or stopped (starts counted against the
  permits), the interval that follows settles along ``transition_flows``;
* ``advance(t0, t1)`` when the engine closes an interval: exact energies,
  fuel, emissions, battery charge, permit use;
* ``next_event_s(t)``: when something the power response depends on changes
  by itself: the battery runs empty or is full (or recharged to its re-arm
  level), a permit's budget runs out or its year ends, a fleet arrives or leaves.
  A minimum up time is no event of its own: the units it holds may stop at the
  next event after it (events come minutes apart).

A permit's limits bind per permit year: once its NOx or run-hour budget is
spent, its units are unavailable until the year ends; once its starts are
spent, no unit under it starts (running ones keep running).
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
import math

from colossus import units
from colossus.power.dispatch import Commitment, Flows, Plant, apply_commitment, commit, settle_s, transition_flows

_SNAP_S = 1e-3  # a charge worth less than this many seconds at full power counts as empty (or full)


class SiteDispatch:
    """State of the plant; the engine owns the clock and calls in at its events."""

    def __init__(self, plant: Plant, *, rearm_frac: float, end_s: float, initially_down: Sequence[int] = ()) -> None:
        self.plant = plant
        nf = len(plant.fleets)
        self.nf = nf
        bat = plant.battery
        self.soc = bat.soc_max_j
        self.ready = True
        self.rearm_j = min(bat.soc_min_j + rearm_frac * bat.energy_j, bat.soc_max_j)
        self.snap_j = bat.power_w * _SNAP_S
        self.end_s = end_s
        self.running = [0] * nf
        self.out = [0.0] * nf
        self.pending: list[tuple[float, int, int]] = []  # (time on line, fleet, units)
        self.c: Commitment | None = None
        self.grid_avail = 0.0
        self.settle_at = 0.0
        self.committed_at = 0.0
        self.permit_year = [p.year(0.0) for p in plant.permits]
        self.permit_used = [[0.0, 0.0, 0.0] for _ in plant.permits]  # NOx kg, unit-s, starts (this permit year)
        self.permit_years: list[dict] = []  # closed permit years, for the report
        self.permit_max = [[0.0, 0.0, 0.0] for _ in plant.permits]  # the most used in any permit year
        self.totals = {"grid_j": 0.0, "discharge_j": 0.0, "charge_j": 0.0, "unserved_j": 0.0, "dumped_j": 0.0,
                       "reserve_short_s": 0.0, "reserve_short_max_w": 0.0, "co2_kg": 0.0, "nox_kg": 0.0,
                       "grid_co2_kg": 0.0, "grid_nox_kg": 0.0, "battery_cycles_j": 0.0}
        self.fleet_j = [0.0] * nf
        self.fuel_j = [0.0] * nf
        self.unit_s = [0.0] * nf
        self.starts = [0] * nf
        self.last_start = [-math.inf] * nf
        self.nox_kg = [0.0] * nf
        self.co2_kg = [0.0] * nf
        self._nox_per_fuel = [f.nox_kg_per_j_fuel for f in plant.fleets]
        self._co2_per_fuel = [f.co2_kg_per_j_fuel for f in plant.fleets]
        self.last_steady = False  # whether the last interval ran at the committed flows throughout
        self.fuel_w = 0.0  # fuel power of the commitment in force
        self._held_s = 0.0  # settled seconds at the commitment in force not yet booked
        self._held_until = -math.inf  # the last minimum up time ends then
        self._permit_budgets = any(math.isfinite(p.nox_kg) or math.isfinite(p.run_unit_s) for p in plant.permits)
        self._passive = plant.battery.energy_j <= 0 and not plant.permits and not any(
            0 < x < end_s for f in plant.fleets for x in (f.from_s, f.until_s))
        self._windows = sorted({x for f in plant.fleets for x in (f.from_s, f.until_s) if 0 < x < end_s})
        self._state_version = 0  # bumped when what ``available`` depends on (outages, running units, permits) changes
        self._avail_window, self._avail_version = -1, -1
        self._avail: list[int] = []
        self._cap_of: list[int] | None = None  # the availability the cached generator capacity is of
        self._cap_w = 0.0
        self.down = [int(d) for d in initially_down] if len(initially_down) else [0] * nf

    # ------------------------------------------------------------ availability
    def _on_site(self, i: int, t: float) -> bool:
        f = self.plant.fleets[i]
        return f.from_s <= t < f.until_s

    def available(self, t: float) -> list[int]:
        """Units per fleet that may run now: on site, not in outage, within their permit."""
        window = bisect.bisect_right(self._windows, t) if self._windows else 0
        if window != self._avail_window or self._state_version != self._avail_version:
            self._avail_window, self._avail_version, self._avail = window, self._state_version, self._available(t)
        return self._avail

    def _available(self, t: float) -> list[int]:
        fleets, permits, down = self.plant.fleets, self.plant.permits, self.down
        avail = [max(f.count - down[i], 0) if self._on_site(i, t) else 0 for i, f in enumerate(fleets)]
        if not permits:
            return avail
        starts_left = [max(p.starts - self.permit_used[k][2], 0.0) for k, p in enumerate(permits)]
        for i in self.plant.fleet_order:
            k = fleets[i].permit
            if k < 0:
                continue
            p, used = permits[k], self.permit_used[k]
            if used[0] >= p.nox_kg * (1 - 1e-12) or used[1] >= p.run_unit_s * (1 - 1e-12):
                avail[i] = 0
                continue
            if math.isinf(starts_left[k]):
                continue
            have = self.running[i] + sum(q[2] for q in self.pending if q[1] == i)
            can = min(avail[i], have + int(starts_left[k]))
            starts_left[k] -= max(can - have, 0)
            avail[i] = can
        return avail

    def capacity_w(self, t: float, grid_avail_w: float) -> float:
        """Grid and generators that may run now (the firm supply the power response plans with)."""
        avail = self.available(t)
        if avail is not self._cap_of:
            self._cap_of = avail
            self._cap_w = sum(a * f.rating_w for a, f in zip(avail, self.plant.fleets))
        return grid_avail_w + self._cap_w

    def battery_w(self) -> float:
        """Battery power the response may count on now."""
        bat = self.plant.battery
        if self.soc <= bat.soc_min_j + self.snap_j:
            self.ready = False
        elif self.soc >= self.rearm_j - self.snap_j:
            self.ready = True
        return bat.power_w if self.ready else 0.0

    # --------------------------------------------------------------- events
    def unit_down(self, i: int) -> None:
        """A unit of fleet ``i`` fails: a running one if any runs (the loss N-1 reserve is held for)."""
        self._flush()
        self._state_version += 1
        self.down[i] += 1
        if self.running[i] > 0:
            self.out[i] *= (self.running[i] - 1) / self.running[i]
            self.running[i] -= 1

    def unit_up(self, i: int) -> None:
        """A unit of fleet ``i`` is repaired (it runs again when committed)."""
        self._state_version += 1
        self.down[i] -= 1

    def commit(self, t: float, load_w: float, grid_avail_w: float) -> Commitment:
        """Commit for ``load_w`` from ``t`` on; the steady flows (W) are the commitment's.

        The caller has just asked ``battery_w`` (which settles whether the battery is ready).
        """
        self._flush()
        avail = self.available(t)
        if self.pending:
            have = [
                min(self.running[i] + sum(q[2] for q in self.pending if q[1] == i), avail[i]) for i in range(self.nf)
            ]
        else:
            have = [r if r < a else a for r, a in zip(self.running, avail)]
        up_s = self.plant.min_up_s
        must = None
        if up_s > 0 and t < self._held_until:
            must = [have[i] if t < self.last_start[i] + up_s else 0 for i in range(self.nf)]
        c = commit(self.plant, load_w=load_w, grid_avail_w=grid_avail_w, avail=avail, running=have, soc_j=self.soc,
                   battery_ready=self.ready, must_run=must)
        before = self.running
        self.pending, self.running, self.out, started = apply_commitment(
            self.plant, c, t=t, out_w=self.out, running=self.running, pending=self.pending)
        if self.plant.permits and (any(started) or before != self.running):
            self._state_version += 1  # the starts a permit leaves depend on the units running
        for i, n in enumerate(started):
            if n:
                self.starts[i] += n
                self.last_start[i] = t
                self._held_until = t + self.plant.min_up_s
                k = self.plant.fleets[i].permit
                if k >= 0:
                    self.permit_used[k][2] += n
        self.c, self.grid_avail, self.committed_at = c, grid_avail_w, t
        fuel = [f.no_load_fuel_w * n + f.fuel_per_j * w for f, n, w in zip(self.plant.fleets, c.units, c.fleet_w)]
        self.fuel_w = sum(fuel)
        short = c.reserve_required_w - c.reserve_w
        self._rates = (fuel, [x * y for x, y in zip(fuel, self._nox_per_fuel)],
                       [x * y for x, y in zip(fuel, self._co2_per_fuel)],
                       c.grid_w * self.plant.grid_co2_kg_per_j, c.grid_w * self.plant.grid_nox_kg_per_j,
                       short if short > 0 else 0.0)
        settled = True
        for w, o in zip(c.fleet_w, self.out):
            if w - o > 1e-6:
                settled = False
                break
        if self.pending or not settled:
            rel = [(q[0] - t, q[1], q[2]) for q in self.pending]
            self.settle_at = t + settle_s(self.plant, c, out_w=self.out, running=self.running, pending=rel)
        else:
            self.settle_at = t
        return c

    def advance(self, t0: float, t1: float) -> Flows | None:
        """Close the interval [t0, t1): energies, fuel, emissions, charge and permit use."""
        c = self.c
        dt = t1 - t0
        if c is None or dt <= 0:
            return None
        if self.plant.permits:
            self._roll_permit_years(t0)
        self.last_steady = False
        if t0 >= self.settle_at and not self.pending:
            if c.discharge_w == 0.0 and c.charge_w == 0.0:
                self.last_steady = True  # the interval's means are the commitment's: nothing to correct
                if not self.plant.permits:
                    self._held_s += dt  # booked at the next commit (``_flush``): the rates are constant
                    return None
                return self._advance_plain(c, dt)
            self._flush()
            fl = self._steady(c, dt)
        else:
            self._flush()
            rel = [(q[0] - t0, q[1], q[2]) for q in self.pending]
            fl, self.out = transition_flows(self.plant, c, out_w=self.out, running=self.running, pending=rel,
                                            grid_avail_w=self.grid_avail, soc_j=self.soc, battery_ready=self.ready,
                                            duration_s=dt)
            for q in [q for q in self.pending if q[0] <= t1]:
                self.running[q[1]] += q[2]
            self.pending = [q for q in self.pending if q[0] > t1]
        self._book(fl)
        return fl

    def _flush(self) -> None:
        """Book the settled time held at the commitment in force (``advance`` defers it)."""
        if self._held_s > 0 and self.c is not None:
            held, self._held_s = self._held_s, 0.0
            self._book_plain(self.c, held)

    def _book_plain(self, c: Commitment, dt: float) -> None:
        """Totals of ``dt`` settled seconds at ``c`` with idle batteries and no permits (the common case)."""
        fuel_w, nox_w, co2_w, grid_co2, grid_nox, short = self._rates
        tot = self.totals
        tot["grid_j"] += c.grid_w * dt
        if c.unmet_w:
            tot["unserved_j"] += c.unmet_w * dt
        if c.dumped_w:
            tot["dumped_j"] += c.dumped_w * dt
        tot["grid_co2_kg"] += grid_co2 * dt
        tot["grid_nox_kg"] += grid_nox * dt
        co2 = grid_co2 * dt
        nox = 0.0
        for i in range(self.nf):
            self.fleet_j[i] += c.fleet_w[i] * dt
            self.fuel_j[i] += fuel_w[i] * dt
            self.unit_s[i] += self.running[i] * dt
            self.nox_kg[i] += nox_w[i] * dt
            self.co2_kg[i] += co2_w[i] * dt
            nox += nox_w[i] * dt
            co2 += co2_w[i] * dt
        tot["nox_kg"] += nox
        tot["co2_kg"] += co2
        if short > 0:
            tot["reserve_short_s"] += dt
            if short > tot["reserve_short_max_w"]:
                tot["reserve_short_max_w"] = short

    def served_co2_kg_per_j(self) -> float:
        """CO2 per J served (load and charging) at the commitment in force."""
        c = self.c
        if c is None:
            return 0.0
        _, _, co2_w, grid_co2, _, _ = self._rates
        served = c.load_w + c.charge_w
        return (grid_co2 + sum(co2_w)) / served if served > 0 else 0.0

    def _advance_plain(self, c: Commitment, dt: float) -> Flows:
        """The common case made cheap: settled, batteries idle; every rate was fixed at the commit."""
        fuel_w, nox_w, co2_w, grid_co2, grid_nox, short = self._rates
        tot = self.totals
        grid_j = c.grid_w * dt
        tot["grid_j"] += grid_j
        tot["unserved_j"] += c.unmet_w * dt
        tot["dumped_j"] += c.dumped_w * dt
        tot["grid_co2_kg"] += grid_co2 * dt
        tot["grid_nox_kg"] += grid_nox * dt
        co2 = grid_co2 * dt
        fleet_j = [w * dt for w in c.fleet_w]
        fuel_j = [w * dt for w in fuel_w]
        unit_s = [n * dt for n in self.running]
        for i in range(self.nf):
            self.fleet_j[i] += fleet_j[i]
            self.fuel_j[i] += fuel_j[i]
            self.unit_s[i] += unit_s[i]
            self.nox_kg[i] += nox_w[i] * dt
            self.co2_kg[i] += co2_w[i] * dt
            tot["nox_kg"] += nox_w[i] * dt
            co2 += co2_w[i] * dt
        tot["co2_kg"] += co2
        self.last_co2_kg = co2
        if short > 0:
            tot["reserve_short_s"] += dt
            tot["reserve_short_max_w"] = max(tot["reserve_short_max_w"], short)
        if self.plant.permits:
            self._state_version += 1
            for i in range(self.nf):
                k = self.plant.fleets[i].permit
                if k >= 0:
                    self.permit_used[k][0] += nox_w[i] * dt
                    self.permit_used[k][1] += unit_s[i]
            for k in range(len(self.plant.permits)):
                for j in range(3):
                    self.permit_max[k][j] = max(self.permit_max[k][j], self.permit_used[k][j])
        return Flows(dt, c.load_w * dt, grid_j, fleet_j, fuel_j, unit_s, 0.0, 0.0, c.dumped_w * dt, c.unmet_w * dt)

    def _steady(self, c: Commitment, dt: float) -> Flows:
        """Every fleet at its committed output: the energies are power x time (clipped by the battery)."""
        bat = self.plant.battery
        fleets = self.plant.fleets
        fleet_j = [w * dt for w in c.fleet_w]
        fuel = [fleets[i].fuel_w(self.running[i], c.fleet_w[i]) * dt for i in range(self.nf)]
        unit_s = [self.running[i] * dt for i in range(self.nf)]
        discharge, charge, grid = c.discharge_w * dt, c.charge_w * dt, c.grid_w * dt
        unserved = c.unmet_w * dt
        usable = max(self.soc - bat.soc_min_j, 0.0)
        if discharge > usable:
            unserved += discharge - usable
            discharge = usable
        over = self.soc - discharge + bat.rte * charge - bat.soc_max_j
        if over > 0 and bat.rte > 0:
            excess = min(over / bat.rte, charge)
            charge -= excess
            take = min(excess, grid)
            grid -= take
            excess -= take
            for i in reversed(self.plant.fleet_order):
                if excess <= 0:
                    break
                take = min(excess, fleet_j[i])
                fleet_j[i] -= take
                fuel[i] -= fleets[i].fuel_per_j * take
                excess -= take
        return Flows(dt, c.load_w * dt, grid, fleet_j, fuel, unit_s, discharge, charge, c.dumped_w * dt, unserved)

    def _book(self, fl: Flows) -> None:
        plant, tot = self.plant, self.totals
        if plant.permits or self.pending:
            self._state_version += 1
        bat = plant.battery
        self.soc = min(bat.soc_max_j, max(bat.soc_min_j if bat.energy_j > 0 else 0.0,
                                          self.soc - fl.discharge_j + bat.rte * fl.charge_j))
        if fl.discharge_j >= 0 and self.soc < bat.soc_min_j + self.snap_j and fl.discharge_j > 0:
            self.ready = False
        tot["grid_j"] += fl.grid_j
        tot["discharge_j"] += fl.discharge_j
        tot["charge_j"] += fl.charge_j
        tot["unserved_j"] += fl.unserved_j
        tot["dumped_j"] += fl.dumped_j
        grid_co2 = fl.grid_j * plant.grid_co2_kg_per_j
        tot["grid_co2_kg"] += grid_co2
        tot["grid_nox_kg"] += fl.grid_j * plant.grid_nox_kg_per_j
        co2 = grid_co2
        for i in range(self.nf):
            fuel = fl.fuel_j[i]
            nox = fuel * self._nox_per_fuel[i]
            c = fuel * self._co2_per_fuel[i]
            self.fleet_j[i] += fl.fleet_j[i]
            self.fuel_j[i] += fuel
            self.unit_s[i] += fl.unit_s[i]
            self.nox_kg[i] += nox
            self.co2_kg[i] += c
            tot["nox_kg"] += nox
            co2 += c
            k = plant.fleets[i].permit
            if k >= 0:
                self.permit_used[k][0] += nox
                self.permit_used[k][1] += fl.unit_s[i]
        tot["co2_kg"] += co2
        self.last_co2_kg = co2
        short = self.c.reserve_required_w - self.c.reserve_w if self.c is not None else 0.0
        if short > 0:
            tot["reserve_short_s"] += fl.duration_s
            tot["reserve_short_max_w"] = max(tot["reserve_short_max_w"], short)
        for k in range(len(plant.permits)):
            for j in range(3):
                self.permit_max[k][j] = max(self.permit_max[k][j], self.permit_used[k][j])

    def _roll_permit_years(self, t: float) -> None:
        for k, p in enumerate(self.plant.permits):
            y = p.year(t)
            if y != self.permit_year[k]:
                self.permit_years.append({"permit": p.name, "year": self.permit_year[k],
                                          "nox_kg": self.permit_used[k][0], "run_unit_s": self.permit_used[k][1],
                                          "starts": self.permit_used[k][2]})
                self.permit_year[k] = y
                self.permit_used[k] = [0.0, 0.0, 0.0]

    # ------------------------------------------------------------ next event
    def next_event_s(self, t: float) -> float:
        """The next time the plant changes by itself (inf if none before the end)."""
        plant, c = self.plant, self.c
        best = math.inf
        if self._passive:  # no battery, permit or fleet window: nothing changes by itself
            return best
        i = bisect.bisect_right(self._windows, t)
        if i < len(self._windows):
            best = self._windows[i]
        if c is None:
            return best
        bat = plant.battery
        settle = self.settle_at - t if self.settle_at > t else 0.0
        # the battery matters if it moves, or if a transition's gap could empty it
        needs_battery = bat.energy_j > 0 and (c.discharge_w > 0 or c.charge_w > 0 or (
            settle > 0 and self.soc - bat.soc_min_j < bat.power_w * settle))
        needs_permit = self._permit_budgets and any(
            plant.fleets[i].permit >= 0 and (c.units[i] or self.running[i]) for i in range(self.nf))
        if not (needs_battery or needs_permit or plant.permits):
            return best
        soc, used = self.soc, [u[:] for u in self.permit_used]
        if (needs_battery or needs_permit) and settle > 0:
            rel = [(q[0] - t, q[1], q[2]) for q in self.pending]
            fl, _ = transition_flows(plant, c, out_w=self.out, running=self.running, pending=rel,
                                     grid_avail_w=self.grid_avail, soc_j=self.soc, battery_ready=self.ready,
                                     duration_s=settle)
            soc = self.soc - fl.discharge_j + bat.rte * fl.charge_j
            for i in range(self.nf):
                k = plant.fleets[i].permit
                if k >= 0:
                    used[k][0] += fl.fuel_j[i] * self._nox_per_fuel[i]
                    used[k][1] += fl.unit_s[i]
            if needs_battery and soc <= bat.soc_min_j + self.snap_j and fl.discharge_j > 0:
                best = min(best, t + settle)
        if needs_battery:
            if c.discharge_w > 0:
                best = min(best, t + settle + max(soc - bat.soc_min_j, 0.0) / c.discharge_w)
            elif c.charge_w > 0:
                target = bat.soc_max_j if self.ready else self.rearm_j
                best = min(best, t + settle + max(target - soc, 0.0) / (c.charge_w * bat.rte))
        if needs_permit:
            for k, p in enumerate(plant.permits):
                fleets = [i for i in range(self.nf) if plant.fleets[i].permit == k]
                nox_rate = sum(plant.fleets[i].fuel_w(c.units[i], c.fleet_w[i]) * self._nox_per_fuel[i] for i in fleets)
                unit_rate = sum(c.units[i] for i in fleets)
                if nox_rate > 0 and math.isfinite(p.nox_kg):
                    best = min(best, t + settle + max(p.nox_kg - used[k][0], 0.0) / nox_rate)
                if unit_rate > 0 and math.isfinite(p.run_unit_s):
                    best = min(best, t + settle + max(p.run_unit_s - used[k][1], 0.0) / unit_rate)
                if math.isfinite(p.nox_kg) or math.isfinite(p.run_unit_s) or math.isfinite(p.starts):
                    best = min(best, p.year_end_s(t))
        return best

    # --------------------------------------------------------------- summary
    def summary(self, end_s: float) -> dict:
        """What the plant did over the run: per fleet, per permit (against its limits), battery, reserve."""
        self._flush()
        self._roll_permit_years(end_s)
        plant, tot = self.plant, self.totals
        fleets = []
        for i, f in enumerate(plant.fleets):
            e = self.fleet_j[i]
            fleets.append({
                "name": f.name, "unit": f.unit, "count": f.count, "energy_j": e, "fuel_j": self.fuel_j[i],
                "heat_rate_btu_per_kwh": self.fuel_j[i] / e * units.KWH / units.BTU if e > 0 else None,
                "unit_hours": self.unit_s[i] / units.HOUR, "starts": self.starts[i], "nox_kg": self.nox_kg[i],
                "co2_kg": self.co2_kg[i], "emission_control": "scr" if f.scr else "none",
                "permit": plant.permits[f.permit].name if f.permit >= 0 else None,
            })
        permits = []
        for k, p in enumerate(plant.permits):
            years = [y for y in self.permit_years if y["permit"] == p.name]
            years.append({"permit": p.name, "year": self.permit_year[k], "nox_kg": self.permit_used[k][0],
                          "run_unit_s": self.permit_used[k][1], "starts": self.permit_used[k][2]})
            worst = self.permit_max[k]
            limits = {"nox_kg": p.nox_kg, "run_unit_hours": p.run_unit_s / units.HOUR, "starts": p.starts}
            used = {"nox_kg": worst[0], "run_unit_hours": worst[1] / units.HOUR, "starts": worst[2]}
            within = {key: used[key] <= limits[key] * (1 + 1e-9) + 1e-6 for key in limits}
            permits.append({
                "name": p.name, "limits_per_year": {k2: (v if math.isfinite(v) else None) for k2, v in limits.items()},
                "most_used_in_a_year": used, "within": within, "compliant": all(within.values()),
                "years": [{"year": y["year"], "nox_kg": y["nox_kg"], "run_unit_hours": y["run_unit_s"] / units.HOUR,
                           "starts": y["starts"]} for y in years],
            })
        bat = plant.battery
        window = bat.soc_max_j - bat.soc_min_j
        return {
            "merit_order": ["grid" if s < 0 else plant.fleets[s].name for s in plant.order],
            "fleets": fleets,
            "permits": permits,
            "battery": {"energy_j": bat.energy_j, "power_w": bat.power_w, "soc_min_j": bat.soc_min_j,
                        "soc_max_j": bat.soc_max_j, "discharge_j": tot["discharge_j"], "charge_j": tot["charge_j"],
                        "equivalent_full_cycles": tot["discharge_j"] / window if window > 0 else 0.0},
            "reserve": {"n_minus_1": plant.n_minus_1, "short_hours": tot["reserve_short_s"] / units.HOUR,
                        "short_max_w": tot["reserve_short_max_w"]},
            "unserved_j": tot["unserved_j"],
            "dumped_j": tot["dumped_j"],
            "fuel_j": sum(self.fuel_j),
            "grid_nox_kg": tot["grid_nox_kg"],
        }
