"""The forecast section of the report: finish-date distribution, the tornado of drivers, the progress fan.

Pure functions of a forecast's document (``colossus.forecast.Forecast.as_dict()``,
what ``colossus forecast --json`` prints), so the report, the dashboard and a
stored ``forecast.json`` draw the same figures; this module does not import
the forecast package. ``write_forecast_report`` writes one self-contained,
deterministic HTML file (plotly.js inlined, fixed div ids), atomically.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from pathlib import Path
from typing import Any

import plotly
import plotly.graph_objects as go
import plotly.offline

import colossus
from colossus.report.figures import template
from colossus.report.html import _CSS
from colossus.results.paths import write_text_atomic

#: One line each on what a figure shows.
FORECAST_CAPTIONS: dict[str, str] = {
    "finish_distribution": "When the job finishes, over the draws: how many finished on each day (bars) and the"
                           " share finished by each day (line); the dashed line is the date asked about.",
    "tornado": "What drives the risk: the P50 finish day with each source of doubt held near its P10 and its P90"
               " (the draws in its lowest and highest fifth) while the others vary; widest first.",
    "progress_fan": "Tokens trained (checkpointed) over time: the P10-P90 band and the P50 of the draws, against"
                    " the job's token budget; the dashed line is the date asked about.",
}
_BAND = "rgba(76,120,168,0.25)"
_BLUE, _ORANGE, _GREEN, _RED = "#4c78a8", "#f58518", "#54a24b", "#e45756"


def _layout(fig: go.Figure, title: str, xtitle: str, ytitle: str) -> go.Figure:
    fig.update_layout(title=title, xaxis_title=xtitle, yaxis_title=ytitle, template=template(),
                      margin={"l": 60, "r": 20, "t": 50, "b": 50}, height=380,
                      legend={"orientation": "h", "y": -0.2})
    return fig


def _by_line(fig: go.Figure, by_day: float) -> None:
    fig.add_vline(x=by_day, line_dash="dash", line_color=_RED, annotation_text=f"day {by_day:g}",
                  annotation_position="top")


def finish_distribution(doc: Mapping[str, Any]) -> go.Figure:
    days = sorted(d for d in doc["finish_days"] if d is not None)
    n = int(doc["runs"])
    fig = go.Figure()
    span = (days[-1] - days[0]) if days else 0.0
    size = 1.0 if span >= 30 else max(span / 30, 1e-3)  # day-wide bars, finer for a short spread
    fig.add_trace(go.Histogram(x=days, name="draws finishing", marker_color=_BLUE, opacity=0.7,
                               xbins={"size": size}))
    if days:
        xs = [days[0]] + days
        ys = [0.0] + [(i + 1) / n for i in range(len(days))]
        fig.add_trace(go.Scatter(x=xs, y=ys, name="share finished by the day", mode="lines", line_shape="hv",
                                 line_color=_ORANGE, yaxis="y2"))
    fig.update_layout(yaxis2={"title": "share of draws", "overlaying": "y", "side": "right", "range": [0, 1],
                              "tickformat": ".0%", "dtick": 0.25, "showgrid": False}, bargap=0.05)
    _by_line(fig, float(doc["by_day"]))
    return _layout(fig, f"Finish day of {doc['job']} over {n} draws", "day", "draws")


def tornado(doc: Mapping[str, Any]) -> go.Figure | None:
    drivers = [d for d in doc["drivers"] if d["p50_low_day"] is not None or d["p50_high_day"] is not None]
    if not drivers:
        return None
    horizon = float(doc["horizon_day"])
    fig = go.Figure()
    labels = [d["label"] for d in drivers][::-1]
    for key, name, colour in (("p50_low_day", "held near its P10", _GREEN),
                              ("p50_high_day", "held near its P90", _ORANGE)):
        xs = [d[key] if d[key] is not None else horizon for d in drivers][::-1]
        text = [f"{d[key]:.4g}" if d[key] is not None else f"> {horizon:g}" for d in drivers][::-1]
        fig.add_trace(go.Scatter(x=xs, y=labels, mode="markers+text", name=name, text=text, textposition="top center",
                                 marker={"size": 12, "color": colour}))
    for d, label in zip(drivers[::-1], labels):
        lo = d["p50_low_day"] if d["p50_low_day"] is not None else horizon
        hi = d["p50_high_day"] if d["p50_high_day"] is not None else horizon
        fig.add_shape(type="line", x0=lo, x1=hi, y0=label, y1=label, line={"color": "#888", "width": 6},
                      layer="below")
    if doc.get("finish_day_p50") is not None:
        fig.add_vline(x=float(doc["finish_day_p50"]), line_color="#444", annotation_text="P50, all vary",
                      annotation_position="bottom")
    return _layout(fig, "What moves the P50 finish day", "P50 finish day", "")


def progress_fan(doc: Mapping[str, Any]) -> go.Figure:
    fan = doc["fan"]
    days = fan["day"]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=days, y=fan["tokens_p90"], mode="lines", line={"width": 0}, name="P90",
                             showlegend=False, hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=days, y=fan["tokens_p10"], mode="lines", line={"width": 0}, fill="tonexty",
                             fillcolor=_BAND, name="P10-P90"))
    fig.add_trace(go.Scatter(x=days, y=fan["tokens_p50"], mode="lines", line_color=_BLUE, name="P50"))
    fig.add_hline(y=float(doc["train_tokens"]), line_dash="dot", line_color="#444", annotation_text="token budget")
    _by_line(fig, float(doc["by_day"]))
    return _layout(fig, f"Progress of {doc['job']}", "day", "tokens (checkpointed)")


def forecast_figures(doc: Mapping[str, Any]) -> dict[str, go.Figure]:
    """The section's figures by name (a tornado only where a source of doubt applies)."""
    out = {"finish_distribution": finish_distribution(doc)}
    tor = tornado(doc)
    if tor is not None:
        out["tornado"] = tor
    out["progress_fan"] = progress_fan(doc)
    return out


# --- html -------------------------------------------------------------------------------------------


def _day(value: Any) -> str:
    return "beyond the period" if value is None else f"{float(value):.1f}"


def _pct(value: float) -> str:
    return f"{100.0 * value:.0f}%"


def _tokens(value: float) -> str:
    return f"{value / 1e12:.2f} T"


def headline(doc: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs of the key numbers."""
    when = f"day {doc['by_day']:g}" + (f" ({doc['by_date']})" if doc.get("by_date") else "")
    return [
        (f"P(finish by {when})", f"{_pct(doc['p_finish_by'])} \u00b1 {_pct(doc['p_finish_by_se'])}"),
        ("finish day P10", _day(doc["finish_day_p10"])),
        ("finish day P50", _day(doc["finish_day_p50"])),
        ("P50's 90% band (Monte Carlo)", " to ".join(_day(v) for v in doc["finish_day_p50_band"])),
        ("finish day P90", _day(doc["finish_day_p90"])),
        (f"expected tokens by {when}", f"{_tokens(doc['expected_tokens_by'])} of {_tokens(doc['train_tokens'])}"),
        ("draws", f"{doc['runs']} (seed {doc['seed']})"),
        ("simulated to", f"day {doc['horizon_day']:g}"),
    ]


def _table(header: tuple[str, ...], rows: Sequence[tuple[Any, ...]], table_id: str) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in row) + "</tr>" for row in rows)
    if not rows:
        body = f'<tr><td colspan="{len(header)}">none</td></tr>'
    return f'<div class="wide" id="{table_id}"><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>'


def _values(values: Mapping[str, float]) -> str:
    return ", ".join(f"{k.split('.', 1)[1]} {v:.3g}" for k, v in values.items())


def _drivers_table(doc: Mapping[str, Any]) -> str:
    def swing(d: Mapping[str, Any]) -> str:
        if d["swing_days"] is None:
            return "beyond the period" if d["swing_beyond_period"] else "-"
        noise = d.get("noise_days")
        text = f"{d['swing_days']:.1f}" + (f" \u00b1 {noise:.1f}" if noise is not None else "")
        return text + (" (chance)" if noise is not None and d["swing_days"] < 2 * noise else "")

    rows = [(d["label"], _day(d["p50_low_day"]), _day(d["p50_high_day"]), swing(d),
             f"{_pct(d['p_finish_by_low'])} / {_pct(d['p_finish_by_high'])}",
             f"{_values(d['value_low'])} / {_values(d['value_high'])}", f"{d['n_low']} / {d['n_high']}", d["lever"])
            for d in doc["drivers"]]
    return _table(("source of doubt", "P50 at its P10", "P50 at its P90", "swing (days, \u00b1 chance)",
                   "P(by the date)", "value at P10 / P90", "draws", "what moves it"), rows, "table-drivers")


def _sources_table(doc: Mapping[str, Any]) -> str:
    rows = []
    for s in doc["sources"]:
        dist = s["distribution"]
        if dist.get("kind") == "measured":
            runs = f"{dist['model_kind']} validation runs" if dist.get("model_kind") else "validation runs"
            what = (f"measured: {dist['cases']} {runs} of {dist['families']} families, left out one family"
                    f" at a time (P10 {dist['p10']:.3g}, P50 {dist['p50']:.3g}, P90 {dist['p90']:.3g})")
        elif dist.get("kind") == "lognormal":
            what = (f"measured: lognormal, median 1, log sd {dist['log_sd']:.2f} (spread of {len(dist['fleets'])}"
                    " published fleets)")
        elif dist.get("kind") == "none":
            what = "off (as predicted)"
        else:
            what = "; ".join(f"{k}: {v['low']:g} / {v['mode']:g} / {v['high']:g} (low / likely / high)"
                             for k, v in dist.items() if isinstance(v, Mapping))
        state = "drawn" if s["active"] else ("fixed" if s["applies"] else "not in this scenario")
        rows.append((s["label"], state, what))
    return _table(("source", "in this forecast", "distribution"), rows, "table-sources")


def _figure_html(name: str, fig: go.Figure) -> str:
    div = fig.to_html(include_plotlyjs=False, full_html=False, div_id=f"fig-forecast-{name}",
                      config={"displaylogo": False, "responsive": True})
    caption = escape(FORECAST_CAPTIONS[name])
    return f'<figure id="figure-forecast-{name}">{div}<figcaption>{caption}</figcaption></figure>'


def forecast_section_html(doc: Mapping[str, Any]) -> str:
    """The forecast section (``<section id="forecast">``) for a report page with plotly.js loaded."""
    cards = "".join(f'<div class="card"><div class="v">{escape(v)}</div><div class="k">{escape(k)}</div></div>'
                    for k, v in headline(doc))
    scope = doc.get("scope", {})
    notes = [
        f"{doc['runs']} draws of the facility simulation of <b>{escape(str(doc['scenario']))}</b>, each with every"
        f" source of doubt drawn; each simulated to {doc['horizon_factor']:g} x its own expected finish, at least"
        f" to the date (periods up to day {doc['horizon_day']:g}); {_pct(doc['finished_frac'])} of them finished"
        " the job within their period. A draw that did not finish counts as not finished by the date.",
        "Includes: " + escape("; ".join(scope.get("includes", []))) + ".",
        "Leaves out: " + escape("; ".join(scope.get("leaves_out", []))) + ".",
    ]
    if doc.get("errors"):
        notes.append(f"{doc['errors']} draws could not run the job: {escape(str(doc.get('first_error')))}")
    plots = "".join(_figure_html(name, fig) for name, fig in forecast_figures(doc).items())
    return (f'<section id="forecast"><h2>Forecast: {escape(str(doc["job"]))}</h2><div class="cards">{cards}</div>'
            f"<h3>What drives the risk</h3>{_drivers_table(doc)}{plots}<h3>Sources of doubt</h3>{_sources_table(doc)}"
            "<ul class=note>" + "".join(f"<li>{n}</li>" for n in notes) + "</ul></section>\n")


def render_forecast_report(doc: Mapping[str, Any]) -> str:
    js = plotly.offline.get_plotlyjs().replace("</script", "<\\/script")
    title = f"colossus forecast: {doc['scenario']}, {doc['job']} by day {doc['by_day']:g}"
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{escape(title)}</title>'
        f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{_CSS}</style>'
        f'<script type="text/javascript">{js}</script></head>\n<body><h1>{escape(title)}</h1>'
        f"{forecast_section_html(doc)}"
        f'<p class="note">Generated by colossus {escape(colossus.__version__)} with plotly'
        f" {escape(plotly.__version__)}.</p></body></html>\n"
    )


def write_forecast_report(doc: Mapping[str, Any], path: Path | str) -> Path:
    """Write the forecast's self-contained HTML report to ``path`` atomically; returns the path."""
    target = Path(path)
    text = render_forecast_report(doc)
    return write_text_atomic(target, text)


__all__ = ["FORECAST_CAPTIONS", "finish_distribution", "forecast_figures", "forecast_section_html", "headline",
           "progress_fan", "render_forecast_report", "tornado", "write_forecast_report"]
