"""Figures: which exist, their order, units at the edge, downsampling, and pure determinism."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import numpy as np
import pytest
from results_synthetic import make_result

from colossus.report import MAX_POINTS, NAMES, bucket_last, bucket_mean, build_figures
from colossus.report import figures as F
from colossus.sim.result import GPU_STATES, SimResult
from colossus.units import DAY, MW, MWH


def test_all_figures_in_order(small_result: SimResult):
    figs = build_figures(small_result)
    assert NAMES == (
        "power_by_source", "power_by_use", "gpus_by_state", "job_progress", "deficit_response", "battery_soc",
        "plant", "failures_by_cause", "failure_domains", "filler_queue_delay", "cost_by_item")
    assert tuple(figs) == tuple(n for n in NAMES if n != "failure_domains")  # the synthetic result has none
    assert all(len(fig.data) > 0 for fig in figs.values())


def test_figures_without_data_are_left_out():
    result = make_result(batteries=False, named={}, num_fillers=0, num_events=0)
    keep = result.events["kind"] != "failure"
    result.events = {k: v[keep] for k, v in result.events.items()}
    result.timeseries["generators_running"][:] = 0
    result.summary.pop("cost")
    figs = build_figures(result)
    assert tuple(figs) == ("power_by_source", "power_by_use", "gpus_by_state", "deficit_response")


def test_powered_off_gpus_are_their_own_state(small_result: SimResult):
    fig = F.gpus_by_state(small_result)
    names = [t.name for t in fig.data]
    assert "powered off" in names and "idle" in names and "capped" in names and "parked" in names
    off = next(t for t in fig.data if t.name == "powered off")
    assert np.max(off.y) > 0  # the synthetic run switches idle GPUs off in its deficit


def test_units_are_human(small_result: SimResult):
    fig = F.power_by_source(small_result)
    demand = next(t for t in fig.data if t.name == "demand served")
    assert float(np.max(demand.y)) == pytest.approx(small_result.timeseries["demand_w"].max() / MW, rel=1e-6)
    assert float(demand.x[-1]) == pytest.approx(small_result.days, rel=1e-6)
    assert fig.layout.yaxis.title.text == "MW" and fig.layout.xaxis.title.text == "day"
    soc = F.battery_soc(small_result).data[0]
    assert float(np.max(soc.y)) == pytest.approx(small_result.timeseries["battery_soc_j"].max() / MWH, rel=1e-6)


def test_stacked_states_sum_to_the_cluster(long_result: SimResult):
    fig = F.gpus_by_state(long_result)
    assert [t.name for t in fig.data] == [s.replace("_", " ") for s in GPU_STATES]
    total = sum(np.asarray(t.y, dtype=np.int64) for t in fig.data)
    assert np.all(total == 100_000)


def test_long_series_are_downsampled(long_result: SimResult):
    for name, fig in build_figures(long_result).items():
        for trace in fig.data:
            assert trace.x is None or len(trace.x) <= MAX_POINTS, (name, trace.name)


def test_job_progress_has_targets_and_finish_markers(small_result: SimResult):
    fig = F.job_progress(small_result)
    names = [t.name for t in fig.data]
    assert names[:2] == ["grok-3", "grok-3 target"]
    target = next(t for t in fig.data if t.name == "grok-3 target")
    assert list(target.y) == [2.0, 2.0]  # 2e12 tokens in trillions
    assert fig.layout.yaxis.title.text == "trillion tokens"


def test_failures_per_day_by_cause(small_result: SimResult):
    fig = F.failures_by_cause(small_result)
    fail = small_result.events["kind"] == "failure"
    assert sum(int(np.sum(t.y)) for t in fig.data) == int(fail.sum())
    assert fig.data[0].name == "gpu"  # the most frequent cause first (bottom of the stack)
    assert len(fig.data[0].x) == int(np.ceil(small_result.days))


def test_queue_delay_compares_replay_and_trace(small_result: SimResult):
    fig = F.filler_queue_delay(small_result)
    assert [t.name.split(" (")[0] for t in fig.data] == ["simulated", "trace"]
    assert fig.layout.xaxis.type == "log"
    for t in fig.data:
        assert np.all(np.diff(np.asarray(t.y)) > 0) and float(t.y[-1]) == pytest.approx(1.0)


def test_figures_are_deterministic(small_result: SimResult):
    again = make_result()
    a = {k: f.to_json() for k, f in build_figures(small_result).items()}
    b = {k: f.to_json() for k, f in build_figures(again).items()}
    assert a == b


def test_missing_column_is_a_clear_error(small_result: SimResult):
    del small_result.timeseries["grid_w"]
    with pytest.raises(F.ReportError, match="no column 'grid_w'"):
        build_figures(small_result)


# --- downsampling ---

@given(st.lists(st.floats(-1e9, 1e9), min_size=1, max_size=500), st.integers(1, 60))
def test_bucket_mean_keeps_the_integral(values: list[float], max_points: int):
    x = np.asarray(values)
    means = bucket_mean(x, max_points)
    assert means.size <= max_points
    step = -(-x.size // max_points)
    sizes = np.diff(np.append(np.arange(0, x.size, step), x.size)) if x.size > max_points else np.ones(x.size)
    assert float(np.sum(means * sizes)) == pytest.approx(float(np.sum(x)), rel=1e-9, abs=1e-3)


def test_bucket_last_takes_each_buckets_last_sample():
    x = np.arange(10)
    assert bucket_last(x, 4).tolist() == [2, 5, 8, 9]
    assert bucket_last(x, 10).tolist() == x.tolist()
    assert bucket_mean(np.arange(10.0), 4).tolist() == [1.0, 4.0, 7.0, 9.0]
    assert bucket_last(np.arange(129_600) * 60.0 / DAY).size <= MAX_POINTS


def test_the_template_has_the_defaults_of_every_trace_kind_drawn(long_result: SimResult):
    """The shared template keeps plotly_white's per-trace defaults for ``TRACE_KINDS`` only: a figure drawing
    another kind (a heatmap, say) would lose its defaults, so every kind drawn must be listed."""
    import plotly.io as pio

    figs = build_figures(long_result)
    kinds = {trace.type for fig in figs.values() for trace in fig.data}
    assert kinds <= set(F.TRACE_KINDS), kinds - set(F.TRACE_KINDS)
    white = pio.templates["plotly_white"]
    assert F.template().layout == white.layout
    for kind in F.TRACE_KINDS:
        assert getattr(F.template().data, kind) == getattr(white.data, kind)
    fig = next(iter(figs.values()))
    assert fig.layout.template.layout == white.layout  # each figure carries it
