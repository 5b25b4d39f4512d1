"""Dispatch of the site's supply like a plant: unit commitment in merit order, batteries, reserve.

Sources are the grid (instant, up to the power it can deliver), fleets of
identical generating units and the batteries. A fleet is aggregated: its
units share the load equally (isochronous load sharing), so counts are
numbers and nothing loops over units; a scenario may say 10^9 generators.

Steady state, ``commit`` (load ``L`` held for a while):

1. Batteries discharge to cover load beyond grid + generator capacity, and to
   hold grid import at or below ``peak_shave_w``; they recharge from spare
   grid capacity (and spare generators, if allowed) when idle, within their
   state-of-charge window.
2. The rest is filled in merit order (``Plant.order``: cheapest marginal cost
   first unless the scenario says otherwise).
3. Each fleet runs the fewest units that carry its share, but keeps units
   already running while they stay above minimum load, and all its running
   units for ``min_up_s`` after a start, at minimum load if need be
   (operators do not cycle units, and permits count starts). A share below one unit's minimum load is
   raised to it, taken from the grid, else given to the batteries, else dumped.
4. N-1 spinning reserve: the largest single loss (the most loaded unit, or the
   grid import if the feeder counts) must be covered by headroom on running
   units, grid headroom (when the feeder is not the contingency) and battery
   power the batteries can hold ``battery_reserve_s``; more units are committed
   in merit order while that leaves them above minimum load. What cannot be
   covered is reported (``reserve_short_w``).

Fuel is linear in output (``no_load_fuel_w`` per running unit plus
``fuel_per_j`` per joule): the part-load heat rate. NOx and CO2 are per joule
of fuel (Wood & Wollenberg, Power Generation, Operation and Control, ch. 3 for
the fuel curve; ``generators.toml`` for the figures).

Transitions, ``transition_flows`` (exact energies over an interval that starts
with a new commitment): units being started come online after ``start_s``;
running units load at their ramp rate (``ramp_w_per_s`` each) and unload at
once (a governor cuts fuel within seconds; loading is the slow direction). The
gap between the committed output and what the units deliver is covered, in
order, by cutting battery charging, by grid headroom, by battery discharge
(within power and charge) and what remains is unserved (bridged by the
site's UPS or shed). Every interval balances exactly::

    grid + generators + discharge + unserved = load + charge + dumped
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Any

from colossus import units as u
from colossus.power.assumptions import PowerAssumptions
from colossus.power.cost import Prices
from colossus.spec import SupplySpec
from colossus.spec.plant import DispatchSpec

GRID = -1  # the grid's index in a merit order
_EPS = 1e-9
_W_TOL = 1e-6  # a ramp this close (W) to its target has reached it


@dataclass(frozen=True, slots=True)
class Fleet:
    """Identical generating units, aggregated."""

    name: str
    unit: str
    kind: str
    count: int
    rating_w: float  # per unit
    min_load_w: float  # per unit
    ramp_w_per_s: float  # per unit, loading
    start_s: float  # start until the unit can take load
    no_load_fuel_w: float  # fuel power (HHV) of a running unit at zero output
    fuel_per_j: float  # incremental fuel J per J electric
    nox_kg_per_j_fuel: float
    co2_kg_per_j_fuel: float
    cost_usd_per_j: float  # marginal cost at full load: fuel x heat rate + variable O&M
    permit: int  # index into Plant.permits; -1 = none
    from_s: float  # on site from
    until_s: float  # on site until (inf = to the end)
    scr: bool

    def fuel_w(self, units: float, out_w: float) -> float:
        return units * self.no_load_fuel_w + self.fuel_per_j * out_w

    def heat_rate(self, units: float, out_w: float) -> float:
        """Fuel J per electric J at this loading (inf when nothing is delivered)."""
        return self.fuel_w(units, out_w) / out_w if out_w > 0 else math.inf


@dataclass(frozen=True, slots=True)
class Battery:
    energy_j: float
    power_w: float
    rte: float  # round trip, charged energy x rte is stored
    soc_min_j: float
    soc_max_j: float


@dataclass(frozen=True, slots=True)
class Permit:
    name: str
    nox_kg: float  # per permit year; inf = no limit
    run_unit_s: float  # unit-seconds per permit year
    starts: float  # starts per permit year (all units under it)
    year_start_s: float

    def year(self, t_s: float) -> int:
        return math.floor((t_s - self.year_start_s) / u.YEAR)

    def year_end_s(self, t_s: float) -> float:
        return self.year_start_s + (self.year(t_s) + 1) * u.YEAR


@dataclass(frozen=True, slots=True)
class Plant:
    """The site's sources and the policy that runs them."""

    fleets: tuple[Fleet, ...]
    battery: Battery
    permits: tuple[Permit, ...]
    order: tuple[int, ...]  # merit order of the sources (GRID or a fleet index)
    grid_cost_usd_per_j: float
    grid_co2_kg_per_j: float
    grid_nox_kg_per_j: float
    n_minus_1: bool
    grid_is_contingency: bool
    battery_reserve_s: float
    peak_shave_w: float  # inf = no shaving
    recharge_from_generators: bool
    min_up_s: float = 0.0  # units stay on this long after a start
    fleet_order: tuple[int, ...] = ()  # the merit order without the grid (filled in by __post_init__)

    def __post_init__(self) -> None:
        object.__setattr__(self, "fleet_order", tuple(i for i in self.order if i != GRID))

    def grid_after(self, i: int) -> bool:
        """Whether the grid comes after fleet ``i`` in the merit order."""
        return self.order.index(GRID) > self.order.index(i)


def build_plant(supply: SupplySpec, dispatch: DispatchSpec, prices: Prices, a: PowerAssumptions) -> Plant:
    """The plant a scenario's supply, dispatch policy and prices describe."""
    permits = tuple(Permit(p.name, p.nox_kg_per_year if p.nox_kg_per_year is not None else math.inf,
                           p.run_hours_per_year * u.HOUR if p.run_hours_per_year is not None else math.inf,
                           _starts(p, supply), p.year_start_day * u.DAY) for p in supply.permits)
    index = {p.name: k for k, p in enumerate(supply.permits)}
    fleets = []
    for f in supply.generators:
        g = f.unit
        hr = g.heat_rate_btu_per_kwh * u.BTU / u.KWH
        full_fuel_w = hr * g.rating_w
        nox_per_j_elec = f.nox_g_per_kwh * 1e-3 / u.KWH
        fleets.append(
            Fleet(
                name=f.label,
                unit=g.name,
                kind=g.kind.value,
                count=f.count,
                rating_w=g.rating_w,
                min_load_w=g.min_load_frac * g.rating_w,
                ramp_w_per_s=g.ramp_mw_per_min * u.MW / u.MINUTE,
                start_s=g.start_s,
                no_load_fuel_w=g.no_load_fuel_frac * full_fuel_w,
                fuel_per_j=(1.0 - g.no_load_fuel_frac) * hr,
                nox_kg_per_j_fuel=nox_per_j_elec / hr,
                co2_kg_per_j_fuel=g.co2_kg_per_mmbtu / u.MMBTU,
                cost_usd_per_j=prices.fuel_usd_per_j * hr + prices.generator_om_usd_per_j,
                permit=index[f.permit] if f.permit is not None else -1,
                from_s=f.from_day * u.DAY,
                until_s=f.until_day * u.DAY if f.until_day is not None else math.inf,
                scr=f.emission_control.value == "scr",
            )
        )
    e = sum(b.count * b.unit.energy_j for b in supply.batteries)
    p = sum(b.count * b.unit.power_w for b in supply.batteries)
    rte = sum(b.count * b.unit.energy_j * b.unit.round_trip_efficiency for b in supply.batteries) / e if e > 0 else 1.0
    battery = Battery(e, p, rte, dispatch.battery_soc_min_frac * e, dispatch.battery_soc_max_frac * e)
    return Plant(
        fleets=tuple(fleets), battery=battery, permits=permits,
        order=_merit_order(fleets, dispatch.merit_order, prices.grid_energy_usd_per_j),
        grid_cost_usd_per_j=prices.grid_energy_usd_per_j, grid_co2_kg_per_j=supply.grid.co2_kg_per_mwh / u.MWH,
        grid_nox_kg_per_j=a.f("environment.grid.nox_g_per_kwh") * 1e-3 / u.KWH,
        n_minus_1=dispatch.n_minus_1_reserve, grid_is_contingency=dispatch.grid_is_contingency,
        battery_reserve_s=dispatch.battery_reserve_min * u.MINUTE,
        peak_shave_w=dispatch.peak_shave_grid_mw * u.MW if dispatch.peak_shave_grid_mw is not None else math.inf,
        recharge_from_generators=dispatch.recharge_from_generators, min_up_s=dispatch.min_up_h * u.HOUR)


def _starts(permit, supply: SupplySpec) -> float:
    if permit.starts_per_unit_per_year is None:
        return math.inf
    covered = sum(f.count for f in supply.generators if f.permit == permit.name)
    return permit.starts_per_unit_per_year * covered


def _merit_order(fleets: list[Fleet], named: list[str] | None, grid_cost: float) -> tuple[int, ...]:
    """Named sources first, in the order given; the rest cheapest first (the grid wins ties)."""
    names = {f.name: i for i, f in enumerate(fleets)}
    first = [GRID if n == "grid" else names[n] for n in (named or [])]
    rest = [(grid_cost, 0, GRID)] + [(f.cost_usd_per_j, 1, i) for i, f in enumerate(fleets)]
    return tuple(first + [s for _, _, s in sorted(rest) if s not in first])


# --- steady state -------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Commitment:
    """What each source does while a load is held (W), and the reserve it leaves."""

    load_w: float
    grid_w: float
    units: tuple[int, ...]  # running per fleet
    fleet_w: tuple[float, ...]  # output per fleet
    discharge_w: float
    charge_w: float
    dumped_w: float  # raised to minimum load with nowhere to go (load bank)
    unmet_w: float  # beyond every source's capacity
    reserve_required_w: float
    reserve_w: float

    @property
    def reserve_short_w(self) -> float:
        return max(0.0, self.reserve_required_w - self.reserve_w)

    @property
    def generators_w(self) -> float:
        return sum(self.fleet_w)


def commit(plant: Plant, *, load_w: float, grid_avail_w: float, avail: Sequence[int],
           running: Sequence[int] | None = None, soc_j: float = 0.0, battery_ready: bool = True,
           must_run: Sequence[int] | None = None) -> Commitment:
    """The steady dispatch of ``load_w`` (see the module docstring).

    ``avail``: units per fleet that may run (up, on site, within permits);
    ``running``: units per fleet running or starting now (kept while above
    minimum load); ``must_run``: units that must stay on (within their
    minimum up time), at minimum load if need be; ``soc_j``: stored energy;
    ``battery_ready``: False while an emptied battery waits to be recharged.
    """
    fleets, bat = plant.fleets, plant.battery
    nf = len(fleets)
    if running is None:
        running = (0,) * nf
    if must_run is None:
        must_run = (0,) * nf
    # (written for speed: the simulation commits at every change of load)
    can_discharge = battery_ready and soc_j > bat.soc_min_j + _EPS * (bat.energy_j if bat.energy_j > 1.0 else 1.0)
    b_cap = bat.power_w if can_discharge else 0.0
    gen_cap = [a * f.rating_w for a, f in zip(avail, fleets)]
    capacity = grid_avail_w + sum(gen_cap)
    short = load_w - capacity
    discharge = (short if short < b_cap else b_cap) if short > 0.0 else 0.0
    unmet = short - discharge if short > discharge else 0.0
    grid = 0.0
    share = [0.0] * nf
    rest = load_w - discharge - unmet
    for s in plant.order:
        if s == GRID:
            grid = rest if rest < grid_avail_w else grid_avail_w
            rest -= grid
        else:
            take = rest if rest < gen_cap[s] else gen_cap[s]
            share[s] = take
            rest -= take
    if grid > plant.peak_shave_w and can_discharge:  # batteries hold grid import at the shaving level
        shave = min(grid - plant.peak_shave_w, b_cap - discharge)
        grid -= shave
        discharge += shave
    charge = 0.0
    if discharge <= 0.0 and bat.power_w > 0 and soc_j < bat.soc_max_j - _EPS * bat.energy_j:
        grid_room = max(0.0, min(grid_avail_w, plant.peak_shave_w) - grid)
        gen_room = [gen_cap[i] - share[i] if plant.recharge_from_generators else 0.0 for i in range(nf)]
        charge = min(bat.power_w, grid_room + sum(gen_room))
        g = min(charge, grid_room)
        grid += g
        extra = charge - g
        for i in plant.fleet_order:
            add = min(extra, gen_room[i])
            share[i] += add
            extra -= add
    units = [0] * nf
    dumped = 0.0
    for i in plant.fleet_order:
        a = avail[i]
        must = must_run[i] if must_run[i] < a else a
        sh = share[i]
        if sh <= 0.0 and not must:
            continue
        f = fleets[i]
        ml = f.min_load_w
        need = math.ceil(sh / f.rating_w - _EPS) if sh > 0 else 0
        if sh > 0 and need < 1:
            need = 1
        most = math.floor(sh / ml + _EPS) if ml > 0 else a
        keep = running[i]
        if most < keep:
            keep = most
        if a < keep:
            keep = a
        n = need if need > keep else keep
        if must > n:
            n = must
        if n * ml <= sh + _EPS:
            units[i] = n
            continue
        if not must and plant.grid_after(i) and grid_avail_w - grid >= sh:
            grid += sh  # below one unit's minimum load: the grid, later in merit order, takes it
            share[i] = 0.0
            continue
        units[i] = n  # below the units' minimum load: raise their output to it
        lift = n * ml - sh
        for source in ("grid", "discharge", "charge"):
            if source == "grid":
                take = min(lift, grid)
                grid -= take
            elif source == "discharge":
                take = min(lift, discharge)
                discharge -= take
            else:
                room = bat.power_w - charge if discharge <= 0 and soc_j < bat.soc_max_j else 0.0
                take = min(lift, max(room, 0.0))
                charge += take
            share[i] += take
            lift -= take
        share[i] += lift
        dumped += lift
    required = avail_res = 0.0
    if plant.n_minus_1:
        required, avail_res, grid = _reserve(plant, units, share, grid, grid_avail_w, discharge, charge, soc_j,
                                             avail, can_discharge)
    return Commitment(load_w, grid, tuple(units), tuple(share), discharge, charge, dumped, unmet, required, avail_res)


def _reserve(plant: Plant, units: list[int], share: list[float], grid: float, grid_avail_w: float,
             discharge: float, charge: float, soc_j: float, avail: Sequence[int],
             can_discharge: bool) -> tuple[float, float, float]:
    """(required, available, grid) after committing units for N-1 reserve (``units``/``share`` updated)."""
    fleets, bat = plant.fleets, plant.battery
    nf = len(fleets)
    batt = 0.0
    if can_discharge:
        batt = charge + min(bat.power_w - discharge, max(soc_j - bat.soc_min_j, 0.0) / plant.battery_reserve_s)

    def status(grid_w: float) -> tuple[float, float]:
        req = grid_w if plant.grid_is_contingency else 0.0
        spin = 0.0
        for i in range(nf):
            n = units[i]
            if n:
                per = share[i] / n
                if per > req:
                    req = per
                spin += n * fleets[i].rating_w - share[i]
        head = 0.0 if plant.grid_is_contingency else max(grid_avail_w - grid_w, 0.0)
        return req, spin + head + batt

    req, have = status(grid)
    if have >= req:
        return req, have, grid
    for i in plant.fleet_order:  # more units on fleets already running, while above minimum load
        if have >= req:
            break
        f = fleets[i]
        if not units[i]:
            continue
        most = math.floor(share[i] / f.min_load_w + _EPS) if f.min_load_w > 0 else avail[i]
        k = min(avail[i], most) - units[i]
        k = min(k, math.ceil((req - have) / f.rating_w - _EPS))
        if k > 0:
            units[i] += k
            req, have = status(grid)
    for i in plant.fleet_order:  # then start idle fleets at minimum load, displacing grid import
        if have >= req:
            break
        f = fleets[i]
        if units[i] or not avail[i] or f.min_load_w <= 0 or grid < f.min_load_w:
            continue
        k = min(avail[i], math.floor(grid / f.min_load_w + _EPS),
                math.ceil((req - have) / max(f.rating_w - f.min_load_w, _EPS) - _EPS))
        if k > 0:
            units[i] = k
            share[i] = k * f.min_load_w
            grid -= share[i]
            req, have = status(grid)
    return req, have, grid


# --- transitions ----------------------------------------------------------------------------


@dataclass(slots=True)
class Flows:
    """Energy over an interval, J (per fleet where a tuple), and what the units did."""

    duration_s: float
    load_j: float
    grid_j: float
    fleet_j: list[float]
    fuel_j: list[float]
    unit_s: list[float]  # unit-seconds running
    discharge_j: float
    charge_j: float
    dumped_j: float
    unserved_j: float

    @property
    def generators_j(self) -> float:
        return sum(self.fleet_j)

    def imbalance_j(self) -> float:
        """Sources minus uses: zero up to rounding."""
        return (self.grid_j + self.generators_j + self.discharge_j + self.unserved_j
                - self.load_j - self.charge_j - self.dumped_j)


def _clamp_integral(d0: float, slope: float, length: float, lo: float, hi: float) -> float:
    """Integral over [0, length] of min(max(d(t) - lo, 0), hi - lo) with d(t) = d0 - slope t, slope >= 0.

    The share of a falling gap that lies between ``lo`` and ``hi`` (the layer
    one source covers when the sources before it cover up to ``lo``).
    """
    width = hi - lo
    if width <= 0 or length <= 0:
        return 0.0
    if slope <= 0:
        return length * min(max(d0 - lo, 0.0), width)
    t_hi = min(max((d0 - hi) / slope, 0.0), length)  # above hi until here (never when hi is infinite)
    t_lo = min(max((d0 - lo) / slope, 0.0), length)  # above lo until here
    total = t_hi * width if t_hi > 0 else 0.0
    if t_lo > t_hi:
        mean = d0 - slope * (t_hi + t_lo) / 2.0
        total += (t_lo - t_hi) * (mean - lo)
    return total


def transition_flows(plant: Plant, c: Commitment, *, out_w: Sequence[float], running: Sequence[int],
                     pending: Sequence[tuple[float, int, int]], grid_avail_w: float, soc_j: float,
                     battery_ready: bool, duration_s: float) -> tuple[Flows, list[float]]:
    """Exact energies over ``duration_s`` after commitment ``c``, and each fleet's output at its end.

    ``out_w``: each fleet's output now (at most its target, as units unload
    at once); ``running``: units online now; ``pending``: (seconds until
    online, fleet, units) of units starting.
    """
    fleets, bat = plant.fleets, plant.battery
    nf = len(fleets)
    out = [min(out_w[i], c.fleet_w[i]) for i in range(nf)]
    run = list(running)
    fleet_j = [0.0] * nf
    fuel_j = [0.0] * nf
    unit_s = [0.0] * nf
    cut = grid_gap = batt_gap = unserved = 0.0
    head = max(grid_avail_w - c.grid_w, 0.0)
    b_spare = max(bat.power_w - c.discharge_w, 0.0) if battery_ready else 0.0
    ready = sorted(p for p in pending if p[0] < duration_s)
    t = 0.0
    k = 0
    while t < duration_s:
        while k < len(ready) and ready[k][0] <= t:
            run[ready[k][1]] += ready[k][2]
            k += 1
        seg_end = ready[k][0] if k < len(ready) else duration_s
        # one linear piece: until the next ramp ends or the segment ends
        slopes = [0.0] * nf
        piece_end = seg_end
        for i in range(nf):
            target = min(c.fleet_w[i], run[i] * fleets[i].rating_w)
            if out[i] >= target - _W_TOL or run[i] == 0:
                out[i] = min(out[i], target) if run[i] else 0.0
                if out[i] >= target - _W_TOL:
                    out[i] = target
            else:
                slopes[i] = run[i] * fleets[i].ramp_w_per_s
                end = t + (target - out[i]) / slopes[i] if slopes[i] > 0 else math.inf
                if end <= t:  # closer than time can resolve: take it as reached
                    out[i], slopes[i] = target, 0.0
                else:
                    piece_end = min(piece_end, end)
        length = piece_end - t
        gap0 = sum(c.fleet_w[i] - out[i] for i in range(nf))
        slope = sum(slopes)
        if gap0 > _EPS:
            cut += _clamp_integral(gap0, slope, length, 0.0, c.charge_w)
            grid_gap += _clamp_integral(gap0, slope, length, c.charge_w, c.charge_w + head)
            batt_gap += _clamp_integral(gap0, slope, length, c.charge_w + head, c.charge_w + head + b_spare)
            unserved += _clamp_integral(gap0, slope, length, c.charge_w + head + b_spare, math.inf)
        for i in range(nf):
            e = out[i] * length + slopes[i] * length * length / 2.0
            fleet_j[i] += e
            fuel_j[i] += fleets[i].fuel_w(run[i], 0.0) * length + fleets[i].fuel_per_j * e
            unit_s[i] += run[i] * length
            out[i] += slopes[i] * length
        t = piece_end
    T = duration_s
    discharge = c.discharge_w * T + batt_gap
    charge = c.charge_w * T - cut
    grid = c.grid_w * T + grid_gap
    unserved += c.unmet_w * T
    usable = max(soc_j - bat.soc_min_j, 0.0)
    if discharge > usable:  # the charge ran out within the interval: the rest goes unserved
        unserved += discharge - usable
        discharge = usable
    over = soc_j - discharge + bat.rte * charge - bat.soc_max_j
    if over > 0 and bat.rte > 0:  # full within the interval: charging stops, its source gives less
        excess = min(over / bat.rte, charge)
        charge -= excess
        take = min(excess, grid)
        grid -= take
        excess -= take
        for i in reversed(plant.fleet_order):
            if excess <= 0:
                break
            take = min(excess, fleet_j[i])
            fleet_j[i] -= take
            fuel_j[i] -= fleets[i].fuel_per_j * take
            excess -= take
    return Flows(T, c.load_w * T, grid, fleet_j, fuel_j, unit_s, discharge, charge, c.dumped_w * T, unserved), out


def settle_s(plant: Plant, c: Commitment, *, out_w: Sequence[float], running: Sequence[int],
             pending: Sequence[tuple[float, int, int]]) -> float:
    """Seconds until every fleet delivers its committed output (0 if it does now)."""
    fleets = plant.fleets
    last = max((p[0] for p in pending), default=0.0)
    end = 0.0
    for i, f in enumerate(fleets):
        units = running[i] + sum(p[2] for p in pending if p[1] == i)
        if c.fleet_w[i] - out_w[i] <= _EPS or not units:
            continue
        # a lower bound on the time (all units ramping from now) raised to the last unit's arrival
        ramp = max(units * f.ramp_w_per_s, _EPS)
        end = max(end, (c.fleet_w[i] - out_w[i]) / ramp)
    return max(end, last) if end > 0 or last > 0 else 0.0


# --- a whole profile (the power analysis and the tests) -------------------------------------


@dataclass(frozen=True)
class ProfileDispatch:
    """Dispatch over a piecewise-constant load profile: one row per interval."""

    commitments: tuple[Commitment, ...]
    flows: tuple[Flows, ...]
    soc_j: tuple[float, ...]  # at the start of each interval, and after the last
    starts: tuple[int, ...]  # per fleet

    def total(self, name: str) -> float:
        return float(sum(getattr(f, name) for f in self.flows))

    def fleet_total(self, name: str) -> list[float]:
        nf = len(self.starts)
        return [float(sum(getattr(f, name)[i] for f in self.flows)) for i in range(nf)]


def dispatch_profile(plant: Plant, durations_s: Sequence[float], load_w: Sequence[float], *,
                     grid_avail_w: float | Sequence[float], soc_j: float | None = None,
                     avail: Sequence[int] | None = None) -> ProfileDispatch:
    """Dispatch a load held ``load_w[k]`` for ``durations_s[k]``, from a cold plant (nothing running).

    The same commitment and transition code as the simulation, without
    outages or permits (``avail``: units per fleet that may run, default all).
    """
    nf = len(plant.fleets)
    avail = list(avail) if avail is not None else [f.count for f in plant.fleets]
    soc = plant.battery.soc_max_j if soc_j is None else soc_j
    out = [0.0] * nf
    running = [0] * nf
    pending: list[tuple[float, int, int]] = []  # (absolute ready time, fleet, units)
    starts = [0] * nf
    last_start = [-math.inf] * nf
    commits, flows, socs = [], [], [soc]
    t = 0.0
    grid_seq = [grid_avail_w] * len(load_w) if isinstance(grid_avail_w, (int, float)) else list(grid_avail_w)
    for dur, load, grid in zip(durations_s, load_w, grid_seq):
        have = [running[i] + sum(p[2] for p in pending if p[1] == i) for i in range(nf)]
        must = [have[i] if t < last_start[i] + plant.min_up_s else 0 for i in range(nf)]
        c = commit(plant, load_w=load, grid_avail_w=grid, avail=avail, running=have, soc_j=soc, must_run=must)
        pending, running, out, started = apply_commitment(plant, c, t=t, out_w=out, running=running, pending=pending)
        starts = [a + b for a, b in zip(starts, started)]
        last_start = [t if started[i] else last_start[i] for i in range(nf)]
        rel = [(p[0] - t, p[1], p[2]) for p in pending]
        fl, out = transition_flows(plant, c, out_w=out, running=running, pending=rel, grid_avail_w=grid, soc_j=soc,
                                   battery_ready=True, duration_s=dur)
        t += dur
        running = [running[i] + sum(p[2] for p in pending if p[1] == i and p[0] <= t) for i in range(nf)]
        pending = [p for p in pending if p[0] > t]
        soc = soc - fl.discharge_j + plant.battery.rte * fl.charge_j
        commits.append(c)
        flows.append(fl)
        socs.append(soc)
    return ProfileDispatch(tuple(commits), tuple(flows), tuple(socs), tuple(starts))


def apply_commitment(plant: Plant, c: Commitment, *, t: float, out_w: Sequence[float], running: Sequence[int],
                     pending: Sequence[tuple[float, int, int]]
                     ) -> tuple[list[tuple[float, int, int]], list[int], list[float], list[int]]:
    """Start or stop units to reach ``c.units``: (pending, running, output, units started per fleet).

    Stopping cancels starts first (the latest first), then takes running units
    off, whose output drops at once.
    """
    fleets = plant.fleets
    started = [0] * len(fleets)
    if not pending and list(running) == list(c.units):  # nothing starts or stops: only outputs may drop
        return [], list(running), [min(o, w) for o, w in zip(out_w, c.fleet_w)], started
    pend = list(pending)
    run = list(running)
    out = list(out_w)
    for i, f in enumerate(fleets):
        mine = [p for p in pend if p[1] == i]
        have = run[i] + sum(p[2] for p in mine)
        want = c.units[i]
        if want > have:
            if f.start_s > 0:
                pend.append((t + f.start_s, i, want - have))
            else:
                run[i] += want - have
            started[i] = want - have
        elif want < have:
            drop = have - want
            for p in sorted(mine, key=lambda p: -p[0]):
                if not drop:
                    break
                take = min(drop, p[2])
                pend.remove(p)
                if take < p[2]:
                    pend.append((p[0], i, p[2] - take))
                drop -= take
            run[i] -= drop
        out[i] = min(out[i], run[i] * f.rating_w, c.fleet_w[i])
    pend.sort()
    return pend, run, out, started


# --- documents ------------------------------------------------------------------------------


def commitment_document(plant: Plant, c: Commitment) -> dict[str, Any]:
    """The steady dispatch as JSON: per fleet units, loading, heat rate; reserve."""
    fleets = []
    for i, f in enumerate(plant.fleets):
        n, w = c.units[i], c.fleet_w[i]
        fleets.append({
            "name": f.name, "unit": f.unit, "count": f.count, "units_running": n, "output_w": w,
            "load_frac": w / (n * f.rating_w) if n else 0.0,
            "heat_rate_btu_per_kwh": f.heat_rate(n, w) * u.KWH / u.BTU if w > 0 else None,
            "full_load_heat_rate_btu_per_kwh": (f.no_load_fuel_w / f.rating_w + f.fuel_per_j) * u.KWH / u.BTU,
            "fuel_w": f.fuel_w(n, w), "marginal_cost_usd_per_mwh": f.cost_usd_per_j * u.MWH,
            "emission_control": "scr" if f.scr else "none",
            "permit": plant.permits[f.permit].name if f.permit >= 0 else None,
        })
    order = ["grid" if s == GRID else plant.fleets[s].name for s in plant.order]
    return {
        "merit_order": order, "load_w": c.load_w, "grid_w": c.grid_w, "generators_w": c.generators_w,
        "fleets": fleets, "battery_discharge_w": c.discharge_w, "battery_charge_w": c.charge_w,
        "dumped_w": c.dumped_w, "unmet_w": c.unmet_w,
        "reserve": {"n_minus_1": plant.n_minus_1, "required_w": c.reserve_required_w, "available_w": c.reserve_w,
                    "short_w": c.reserve_short_w, "grid_is_contingency": plant.grid_is_contingency,
                    "battery_counts_for_s": plant.battery_reserve_s},
    }
