"""The sweep's picture: its main output against each varied field, mean and spread over seeds.

One subplot per varied field. When other fields vary too, each combination
of their values is its own line (up to ``MAX_LINES``; beyond that the lines
are pooled and the spread covers them as well, which the legend says).
Error bars are one standard deviation over the runs at a point; hovering
shows the count, min and max and how many runs were infeasible.

The HTML is self-contained (plotly.js inline, no CDN: planners open it
offline) and written atomically (a temporary file, then a rename), so a
reader never sees half a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
import itertools
import math
from pathlib import Path
from typing import Any

from colossus.sweep.plan import SweepPlan
from colossus.sweep.values import Value

#: More lines than this in one subplot are pooled into one.
MAX_LINES = 8


def stats(values: Sequence[float]) -> dict[str, float | int | None]:
    """Mean, sample standard deviation (0 for one value), min, max and count; None when empty."""
    n = len(values)
    if n == 0:
        return {"n": 0, "mean": None, "std": None, "min": None, "max": None}
    mean = math.fsum(values) / n
    var = math.fsum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return {"n": n, "mean": mean, "std": math.sqrt(var), "min": min(values), "max": max(values)}


def _numeric(values: Sequence[Value]) -> bool:
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in values)


def _series(
    rows: Sequence[Mapping[str, Any]], inputs_of: Mapping[str, dict[str, Value]], main: str,
    column: str, fixed: Mapping[str, Value], xs: Sequence[Value],
) -> tuple[list[dict[str, Any]], list[int]]:
    """Stats of ``main`` at each x of ``column``, over rows whose other inputs equal ``fixed``."""
    out, infeasible = [], []
    for x in xs:
        picked = [r for r in rows if inputs_of[r["content_hash"]].get(column) == x
                  and all(inputs_of[r["content_hash"]].get(c) == v for c, v in fixed.items())]
        values = [float(r[main]) for r in picked if isinstance(r.get(main), (int, float))]
        out.append(stats(values))
        infeasible.append(sum(1 for r in picked if r.get("error")))
    return out, infeasible


def figure(plan: SweepPlan, rows: Sequence[Mapping[str, Any]], main: str) -> Any:
    """A plotly figure of ``main`` against each varied field of ``plan``."""
    import plotly.graph_objects as go  # noqa: PLC0415
    from plotly.subplots import make_subplots  # noqa: PLC0415 (plotly is slow to import)

    from colossus.report.figures import template  # noqa: PLC0415 (plotly's, loaded with it)

    inputs_of = {p.content_hash: dict(p.inputs) for p in plan.points}
    varied = [(target.column, list(vary.values)) for vary, target in plan.varied]
    fig = make_subplots(rows=len(varied), cols=1, subplot_titles=[f"{main} vs {c}" for c, _ in varied],
                        vertical_spacing=0.12 if len(varied) > 1 else 0.0)
    for index, (column, xs) in enumerate(varied, start=1):
        others = [(c, vs) for c, vs in varied if c != column]
        combos = list(itertools.product(*(vs for _, vs in others)))
        pooled = len(combos) > MAX_LINES
        groups = [{}] if pooled else [dict(zip((c for c, _ in others), combo)) for combo in combos]
        x_axis = list(xs) if _numeric(xs) else [str(x) for x in xs]
        for fixed in groups:
            points, infeasible = _series(rows, inputs_of, main, column, fixed, xs)
            label = ", ".join(f"{c}={v}" for c, v in fixed.items()) or ("all other values pooled" if pooled else main)
            fig.add_trace(go.Scatter(
                x=x_axis, y=[p["mean"] for p in points], mode="lines+markers", name=label,
                showlegend=True,
                error_y={"type": "data", "array": [p["std"] or 0.0 for p in points], "visible": True},
                customdata=[[p["n"], p["min"], p["max"], bad] for p, bad in zip(points, infeasible)],
                hovertemplate=(f"{column}=%{{x}}<br>{main} mean %{{y:.4g}}<br>n=%{{customdata[0]}},"
                               " min %{customdata[1]:.4g}, max %{customdata[2]:.4g}<br>"
                               "infeasible runs: %{customdata[3]}<extra>%{fullData.name}</extra>"),
            ), row=index, col=1)
        fig.update_xaxes(title_text=column, row=index, col=1)
        fig.update_yaxes(title_text=main, row=index, col=1)
    fig.update_layout(
        title=f"{plan.scenario}: {plan.kind} sweep, {main} (mean ± 1 std over {plan.seeds} seed(s) per point)",
        height=max(420, 380 * len(varied)), template=template(),
    )
    return fig


def write_html(fig: Any, path: str | Path) -> Path:
    """Write a self-contained HTML file (plotly.js inline) atomically (``results.paths.write_text_atomic``)."""
    from colossus.results.paths import write_text_atomic  # noqa: PLC0415

    return write_text_atomic(path, fig.to_html(full_html=True, include_plotlyjs=True))
