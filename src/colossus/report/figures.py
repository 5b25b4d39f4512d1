"""Plotly figures of one simulated history, shared by the HTML report and the web dashboard.

Pure functions of a ``SimResult``: no HTML, no files, no randomness, so the
same result always gives the same figure. Each function returns ``None``
when the result has nothing for it to show (no batteries, no failures, no
filler jobs); ``build_figures`` keeps the others, in the order of ``NAMES``.

Units are converted here and only here, at the edge: time in days, power in
MW (the per-GPU cap in W), energy in MWh, delays in minutes. Long series are
thinned by ``downsample`` (bucket means for power, last values for counts)
and sent as float32, which is ample for a plot and halves the bytes.
"""

from __future__ import annotations

from collections.abc import Callable
import functools
import math

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from colossus.errors import (
    ReportError,  # noqa: F401  (raised here, in the tree)
)
from colossus.report.downsample import MAX_POINTS, bucket_last, bucket_mean
from colossus.sim.result import GPU_STATES, SimResult
from colossus.units import DAY, MINUTE, MW, MWH

SOURCE_COLORS = {"grid": "#4c78a8", "generators": "#f58518", "battery": "#54a24b"}
USE_COLORS = {"gpus": "#4c78a8", "it_other": "#72b7b2", "facility": "#b279a2"}
STATE_COLORS = {"not_installed": "#d8d8d8", "burn_in": "#eeca3b", "idle": "#72b7b2", "powered_off": "#3f3f3f",
                "busy": "#4c78a8", "capped": "#9ecae9", "parked": "#f58518", "failed": "#e45756", "repair": "#b279a2"}
PALETTE = ("#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#eeca3b", "#b279a2", "#ff9da6",
           "#9d755d", "#bab0ac")

#: One line each on what a figure shows, for captions in the report and the dashboard.
CAPTIONS: dict[str, str] = {
    "power_by_source": "Site power by source (stacked), the demand served, and the supply available.",
    "power_by_use": "Site power by use: GPUs, other IT (servers, fabric, storage), facility (cooling, distribution).",
    "gpus_by_state": "GPUs by state, one state each: idle (powered, no work), powered off for lack of power, busy,"
                     " capped (training under a power cap), parked (paused for lack of power); the stack is the"
                     " cluster's planned GPU count.",
    "plant": "Generators on line and the load the plant could not follow while units started or ramped (bridged"
             " by the site's UPS or shed).",
    "job_progress": "Tokens trained by each named job against its target (dashed); a marker where it finished.",
    "deficit_response": "Deficit response: power shed, the per-GPU power cap in force, GPUs parked.",
    "battery_soc": "Energy stored in the batteries.",
    "failures_by_cause": "Failures per day, by cause.",
    "failure_domains": "Correlated failures (a rack's power or cooling, a leaf switch, a feeder shed at a generator"
                       " trip): GPUs each took out, and the named jobs it interrupted.",
    "filler_queue_delay": "Queueing delay of filler jobs in the simulation against the replayed trace's own (CDF).",
    "cost_by_item": "What the run cost, by item (power.cost; every price a scenario input with its source).",
}


def _col(table: dict[str, np.ndarray], name: str, where: str) -> np.ndarray:
    if name not in table:
        raise ReportError(f"result {where} has no column {name!r} (see colossus.sim.result)")
    return np.asarray(table[name])


def _f32(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, dtype=np.float32)


def _days(result: SimResult, max_points: int) -> np.ndarray:
    return _f32(bucket_last(_col(result.timeseries, "time_s", "timeseries"), max_points) / DAY)


def _power_mw(result: SimResult, name: str, max_points: int) -> np.ndarray:
    return _f32(bucket_mean(_col(result.timeseries, name, "timeseries"), max_points) / MW)


def _count(result: SimResult, name: str, max_points: int) -> np.ndarray:
    return bucket_last(_col(result.timeseries, name, "timeseries"), max_points).astype(np.int32)


#: The trace kinds the reports and plots draw: the template keeps plotly_white's defaults for these only.
TRACE_KINDS = ("scatter", "bar", "histogram")


@functools.cache
def template() -> go.layout.Template:
    """plotly's "plotly_white" with the trace defaults of ``TRACE_KINDS`` only, built once.

    Named in a figure, plotly reads and copies the whole template again each time (defaults for two
    dozen trace kinds: about 70 ms a figure, most of a report's time, and 7 kB of every figure's JSON);
    a figure takes its own copy of this one, a third of the size. A figure draws the same with it.
    """
    import plotly.io as pio

    white = pio.templates["plotly_white"]
    return go.layout.Template(layout=white.layout, data={kind: getattr(white.data, kind) for kind in TRACE_KINDS})


def _layout(fig: go.Figure, title: str, yaxis: str, *, height: int = 380) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, x=0.01), template=template(), height=height,
        margin=dict(l=70, r=20, t=60, b=45), hovermode="x unified",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0),
    )
    fig.update_yaxes(title_text=yaxis, rangemode="tozero")
    return fig


def power_by_source(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure:
    x = _days(result, max_points)
    fig = go.Figure()
    for source, column in (("grid", "grid_w"), ("generators", "generators_w"),
                           ("battery", "battery_discharge_w")):
        fig.add_trace(go.Scatter(
            x=x, y=_power_mw(result, column, max_points), name=source, stackgroup="supply", mode="lines",
            line=dict(width=0.5, color=SOURCE_COLORS[source]), hovertemplate="%{y:.1f} MW"))
    fig.add_trace(go.Scatter(x=x, y=_power_mw(result, "demand_w", max_points), name="demand served",
                             mode="lines", line=dict(color="#222222", width=1.2), hovertemplate="%{y:.1f} MW"))
    fig.add_trace(go.Scatter(x=x, y=_power_mw(result, "supply_available_w", max_points), name="supply available",
                             mode="lines", line=dict(color="#666666", width=1.2, dash="dash"),
                             hovertemplate="%{y:.1f} MW"))
    fig.update_xaxes(title_text="day")
    return _layout(fig, "Power by source", "MW")


def power_by_use(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure:
    x = _days(result, max_points)
    fig = go.Figure()
    for use, column, label in (("gpus", "gpus_w", "GPUs"), ("it_other", "it_other_w", "other IT"),
                               ("facility", "facility_w", "facility")):
        fig.add_trace(go.Scatter(
            x=x, y=_power_mw(result, column, max_points), name=label, stackgroup="use", mode="lines",
            line=dict(width=0.5, color=USE_COLORS[use]), hovertemplate="%{y:.1f} MW"))
    fig.add_trace(go.Scatter(x=x, y=_power_mw(result, "demand_unconstrained_w", max_points),
                             name="demand without deficit response", mode="lines",
                             line=dict(color="#222222", width=1, dash="dot"), hovertemplate="%{y:.1f} MW"))
    fig.update_xaxes(title_text="day")
    return _layout(fig, "Power by use", "MW")


def gpus_by_state(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure:
    x = _days(result, max_points)
    fig = go.Figure()
    legacy = "gpus_capped" not in result.timeseries  # written before powered-off, capped and parked were states
    for state in GPU_STATES:
        if legacy and state in ("powered_off", "capped", "parked"):
            continue  # they were counted within idle and busy then
        fig.add_trace(go.Scatter(
            x=x, y=_count(result, f"gpus_{state}", max_points), name=state.replace("_", " "), stackgroup="gpus",
            mode="lines", line=dict(width=0.5, color=STATE_COLORS[state]), hovertemplate="%{y:,} GPUs"))
    fig.update_xaxes(title_text="day")
    return _layout(fig, "GPUs by state", "GPUs")


def plant(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure | None:
    ts = result.timeseries
    if "generators_running" not in ts or "unserved_w" not in ts:
        return None  # a result written before the plant was dispatched unit by unit
    running = np.asarray(ts["generators_running"])
    unserved = np.asarray(ts["unserved_w"])
    if not (np.any(running > 0) or np.any(unserved > 0)):
        return None
    x = _days(result, max_points)
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08)
    fig.add_trace(go.Scatter(x=x, y=_count(result, "generators_running", max_points), name="units on line",
                             mode="lines", line=dict(color=SOURCE_COLORS["generators"], width=1.2, shape="hv"),
                             hovertemplate="%{y:,} units"), row=1, col=1)
    fig.add_trace(go.Scatter(x=x, y=_power_mw(result, "unserved_w", max_points), name="unserved", mode="lines",
                             fill="tozeroy", line=dict(color="#e45756", width=1), hovertemplate="%{y:.2f} MW"),
                  row=2, col=1)
    _layout(fig, "Generators on line and unserved power", "", height=460)
    fig.update_yaxes(title_text="units", row=1, col=1)
    fig.update_yaxes(title_text="unserved (MW)", row=2, col=1)
    fig.update_xaxes(title_text="day", row=2, col=1)
    return fig


def cost_by_item(result: SimResult) -> go.Figure | None:
    cost = result.summary.get("cost") if isinstance(result.summary, dict) else None
    items = cost.get("usd_by_item") if isinstance(cost, dict) else None
    if not isinstance(items, dict) or not items:
        return None
    names = [k for k, v in items.items() if isinstance(v, (int, float)) and v > 0]
    if not names:
        return None
    values = [float(items[k]) / 1e6 for k in names]
    fig = go.Figure(go.Bar(x=[k.replace("_", " ") for k in names], y=values, name="cost",
                           marker=dict(color=PALETTE[0]), hovertemplate="%{y:,.2f} M USD"))
    fig.update_layout(hovermode="closest")
    return _layout(fig, "Cost by item", "million USD")


def _token_unit(largest: float) -> tuple[float, str]:
    for scale, label in ((1e12, "trillion tokens"), (1e9, "billion tokens"), (1e6, "million tokens")):
        if largest >= scale:
            return scale, label
    return 1.0, "tokens"


def _named_targets(result: SimResult, names: list[str]) -> dict[str, tuple[float, float]]:
    """``name -> (target tokens, finish time s)``, NaN where unknown; the job table first, then the summary."""
    out = {name: (math.nan, math.nan) for name in names}
    for row in result.summary.get("jobs", []) or []:
        if isinstance(row, dict) and row.get("name") in out:
            fin = row.get("finished_at_s")
            out[row["name"]] = (float(row.get("train_tokens") or math.nan), math.nan if fin is None else float(fin))
    jobs = result.jobs
    if "name" in jobs and "work_total" in jobs:
        for i, name in enumerate(np.asarray(jobs["name"]).tolist()):
            if name in out and ("kind" not in jobs or jobs["kind"][i] == "named"):
                fin = float(jobs["finished_at_s"][i]) if "finished_at_s" in jobs else out[name][1]
                out[name] = (float(jobs["work_total"][i]), fin)
    return out


def job_progress(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure | None:
    names = [c.removeprefix("tokens:") for c in result.timeseries if c.startswith("tokens:")]
    if not names:
        return None
    x = _days(result, max_points)
    targets = _named_targets(result, names)
    largest = max([float(np.nanmax(result.timeseries[f"tokens:{n}"], initial=0.0)) for n in names]
                  + [t for t, _ in targets.values() if math.isfinite(t)])
    scale, unit = _token_unit(largest)
    fig = go.Figure()
    for k, name in enumerate(names):
        color = PALETTE[k % len(PALETTE)]
        tokens = bucket_last(result.timeseries[f"tokens:{name}"], max_points)
        fig.add_trace(go.Scatter(x=x, y=_f32(tokens / scale), name=name, mode="lines", legendgroup=name,
                                 line=dict(color=color, width=2), hovertemplate="%{y:.3g} " + unit))
        target, finished_s = targets[name]
        if math.isfinite(target) and x.size:
            fig.add_trace(go.Scatter(x=[float(x[0]), float(x[-1])], y=[target / scale] * 2, mode="lines",
                                     name=f"{name} target", legendgroup=name, showlegend=False,
                                     line=dict(color=color, width=1, dash="dash"), hoverinfo="skip"))
        if math.isfinite(finished_s):
            fig.add_trace(go.Scatter(x=[finished_s / DAY], y=[target / scale if math.isfinite(target) else None],
                                     mode="markers", name=f"{name} finished", legendgroup=name, showlegend=False,
                                     marker=dict(color=color, size=10, symbol="star"),
                                     hovertemplate="finished on day %{x:.1f}"))
    fig.update_xaxes(title_text="day")
    return _layout(fig, "Training progress of the named jobs", unit)


def deficit_response(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure:
    x = _days(result, max_points)
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.06)
    fig.add_trace(go.Scatter(x=x, y=_power_mw(result, "shed_w", max_points), name="power shed", mode="lines",
                             fill="tozeroy", line=dict(color="#e45756", width=1), hovertemplate="%{y:.1f} MW"),
                  row=1, col=1)
    cap = _f32(bucket_mean(_col(result.timeseries, "gpu_cap_w", "timeseries"), max_points))
    fig.add_trace(go.Scatter(x=x, y=cap, name="GPU power cap", mode="lines", line=dict(color="#4c78a8", width=1.2),
                             hovertemplate="%{y:.0f} W"), row=2, col=1)
    fig.add_trace(go.Scatter(x=x, y=_count(result, "gpus_parked", max_points), name="GPUs parked", mode="lines",
                             line=dict(color="#f58518", width=1.2), hovertemplate="%{y:,} GPUs"), row=3, col=1)
    _layout(fig, "Deficit response", "", height=560)
    fig.update_yaxes(title_text="shed (MW)", row=1, col=1)
    fig.update_yaxes(title_text="cap (W per GPU)", row=2, col=1)
    fig.update_yaxes(title_text="GPUs parked", row=3, col=1)
    fig.update_xaxes(title_text="day", row=3, col=1)
    return fig


def battery_soc(result: SimResult, max_points: int = MAX_POINTS) -> go.Figure | None:
    ts = result.timeseries
    soc = _col(ts, "battery_soc_j", "timeseries")
    moved = any(np.any(np.asarray(ts.get(c, 0.0)) > 0) for c in ("battery_charge_w", "battery_discharge_w"))
    if not (np.any(soc > 0) or moved):
        return None
    x = _days(result, max_points)
    fig = go.Figure(go.Scatter(x=x, y=_f32(bucket_last(soc, max_points) / MWH), name="stored energy", mode="lines",
                               fill="tozeroy", line=dict(color=SOURCE_COLORS["battery"], width=1.2),
                               hovertemplate="%{y:.1f} MWh"))
    fig.update_xaxes(title_text="day")
    return _layout(fig, "Battery state of charge", "MWh")


def failures_by_cause(result: SimResult) -> go.Figure | None:
    ev = result.events
    kind = _col(ev, "kind", "events")
    mask = kind == "failure"
    if not np.any(mask):
        return None
    day = np.floor(_col(ev, "time_s", "events")[mask] / DAY).astype(np.int64)
    cause = np.array([str(c) if str(c) else "unknown" for c in _col(ev, "detail", "events")[mask]], dtype=object)
    num_days = max(int(math.ceil(result.days)), int(day.max()) + 1)
    causes, totals = np.unique(cause.astype(str), return_counts=True)
    order = sorted(range(causes.size), key=lambda i: (-totals[i], causes[i]))  # most frequent at the bottom
    fig = go.Figure()
    for k, i in enumerate(order):
        per_day = np.bincount(day[cause == causes[i]], minlength=num_days)
        fig.add_trace(go.Bar(x=np.arange(num_days), y=per_day, name=str(causes[i]),
                             marker=dict(color=PALETTE[k % len(PALETTE)], line=dict(width=0)),
                             hovertemplate="%{y} failures"))
    fig.update_layout(barmode="stack", bargap=0.1)
    fig.update_xaxes(title_text="day")
    return _layout(fig, "Failures per day by cause", "failures")


DOMAIN_COLORS = {"rack_power": "#e45756", "rack_cooling": "#4c78a8", "leaf switch": "#f58518", "feeder": "#54a24b"}


def _domain_kind(detail: str) -> str:
    """``rack 12: rack_power`` -> ``rack_power``; ``leaf 3: ...`` -> ``leaf switch``; ``feeder: ...`` -> ``feeder``."""
    if detail.startswith("leaf "):
        return "leaf switch"
    if detail.startswith("feeder"):
        return "feeder"
    return detail.split(": ", 1)[-1]


def failure_domains(result: SimResult) -> go.Figure | None:
    ev = result.events
    mask = _col(ev, "kind", "events") == "domain_failure"
    if not np.any(mask):
        return None
    day = _f32(_col(ev, "time_s", "events")[mask] / DAY)
    gpus = _f32(_col(ev, "value", "events")[mask])
    detail = [str(d) for d in _col(ev, "detail", "events")[mask]]
    jobs = [str(j) or "no named job" for j in _col(ev, "job", "events")[mask]]
    kinds = np.array([_domain_kind(d) for d in detail], dtype=object)
    fig = go.Figure()
    for k, kind in enumerate(sorted(set(kinds), key=lambda x: (x not in DOMAIN_COLORS, x))):
        sel = np.flatnonzero(kinds == kind)
        hit = np.array([jobs[i] != "no named job" for i in sel])
        fig.add_trace(go.Scatter(
            x=day[sel], y=gpus[sel], name=f"{kind} ({sel.size})", mode="markers",
            marker=dict(color=DOMAIN_COLORS.get(kind, PALETTE[k % len(PALETTE)]), size=np.where(hit, 11, 6),
                        symbol=np.where(hit, "diamond", "circle"), line=dict(width=0)),
            customdata=np.array([[detail[i], jobs[i]] for i in sel], dtype=object),
            hovertemplate="%{customdata[0]}<br>%{y:,.0f} GPUs<br>interrupted: %{customdata[1]}"))
    fig.update_xaxes(title_text="day (diamonds: a named job was interrupted)")
    _layout(fig, "Correlated failures by domain", "GPUs taken out")
    fig.update_layout(hovermode="closest")
    return fig


def _ecdf(values_s: np.ndarray, max_points: int) -> tuple[np.ndarray, np.ndarray]:
    """(delay in minutes, share of jobs with at most that delay), at most ``max_points`` ranks."""
    v = np.sort(values_s)
    idx = np.unique(np.linspace(0, v.size - 1, min(v.size, max_points)).round().astype(np.int64))
    return _f32(np.maximum(v[idx], 1.0) / MINUTE), _f32((idx + 1) / v.size)


def filler_queue_delay(result: SimResult, max_points: int = 2000) -> go.Figure | None:
    jobs = result.jobs
    if "kind" not in jobs or "queue_delay_s" not in jobs:
        return None
    filler = np.asarray(jobs["kind"]) == "filler"
    delay = np.asarray(jobs["queue_delay_s"], dtype=np.float64)
    trace = np.asarray(jobs.get("trace_delay_s", np.full(delay.size, np.nan)), dtype=np.float64)
    replayed = filler & np.isfinite(trace) & np.isfinite(delay)
    curves: list[tuple[str, np.ndarray, str]] = []
    if np.any(replayed):
        curves = [("simulated", delay[replayed], "#4c78a8"), ("trace", trace[replayed], "#f58518")]
    elif np.any(filler & np.isfinite(delay)):
        curves = [("simulated", delay[filler & np.isfinite(delay)], "#4c78a8")]
    if not curves:
        return None
    fig = go.Figure()
    for label, values, color in curves:
        x, y = _ecdf(values, max_points)
        fig.add_trace(go.Scatter(x=x, y=y, name=f"{label} ({values.size:,} jobs)", mode="lines",
                                 line=dict(color=color, width=2, shape="hv"),
                                 hovertemplate="%{y:.0%} within %{x:.3g} min"))
    fig.update_xaxes(type="log", title_text="queueing delay (minutes; under 1 s drawn at 1 s)")
    _layout(fig, "Queueing delay of filler jobs", "share of jobs")
    fig.update_layout(hovermode="closest")
    fig.update_yaxes(range=[0, 1.02], rangemode=None, tickformat=".0%")
    return fig


#: Every figure, in report order; each maps (result, max_points) -> figure or None.
_BUILDERS: dict[str, Callable[[SimResult, int], go.Figure | None]] = {
    "power_by_source": power_by_source,
    "power_by_use": power_by_use,
    "gpus_by_state": gpus_by_state,
    "job_progress": job_progress,
    "deficit_response": deficit_response,
    "battery_soc": battery_soc,
    "plant": plant,
    "failures_by_cause": lambda result, _max_points: failures_by_cause(result),
    "failure_domains": lambda result, _max_points: failure_domains(result),
    "filler_queue_delay": lambda result, max_points: filler_queue_delay(result, min(max_points, 2000)),
    "cost_by_item": lambda result, _max_points: cost_by_item(result),
}

#: Names of the figures ``build_figures`` may return, in order.
NAMES: tuple[str, ...] = tuple(_BUILDERS)


def build_figures(result: SimResult, max_points: int = MAX_POINTS) -> dict[str, go.Figure]:
    """Every figure the result has data for, keyed by name in the order of ``NAMES``."""
    figures: dict[str, go.Figure] = {}
    for name, build in _BUILDERS.items():
        fig = build(result, max_points)
        if fig is not None:
            figures[name] = fig
    return figures
