"""The HTML report: self-contained, every text escaped, deterministic, atomic, small and fast enough."""

from __future__ import annotations

import os
from pathlib import Path
import re

import plotly.offline
import pytest
from results_synthetic import make_result

from colossus.report import build_figures, render_report, summary_tables, write_report
from colossus.report import format as fmt
from colossus.results import write_result
from colossus.sim.result import SimResult


def test_layout_of_the_page(small_result: SimResult, tmp_path: Path):
    path = write_report(small_result, tmp_path / "report.html")
    text = path.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>")
    assert text.count(plotly.offline.get_plotlyjs()[:200]) == 1  # plotly.js inlined exactly once
    assert "<script src=" not in text and "cdn" not in text.lower().split("</script>", 1)[1]
    order = [text.index(marker) for marker in ('id="summary"', 'id="plots"', 'id="assumptions"')]
    assert order == sorted(order)
    ids = re.findall(r'<div id="(fig-[a-z_]+)" class="plotly-graph-div"', text)
    assert ids == [f"fig-{name}" for name in build_figures(small_result)]
    assert "synthetic-memphis" in text and "seed 7" in text


def test_key_numbers(small_result: SimResult):
    text = render_report(small_result)
    s = small_result.summary
    assert fmt.energy(s["energy_j"]["used"]) in text
    assert fmt.power(s["power"]["peak_demand_w"]) in text
    assert fmt.percent(s["throughput_lost_to_deficit_frac"]) == "4.2%" and "4.2%" in text
    assert "grok-3" in text and "llama-405b" in text


def test_text_is_escaped(tmp_path: Path):
    evil = "</script><script>alert(1)</script>"
    result = make_result(scenario=f"x {evil} & co", named={f"job {evil}": 1e12})
    text = render_report(result)
    assert evil not in text
    assert "alert(1)" in text  # it is there, but only escaped
    assert "x &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &amp; co" in text


def test_deterministic(small_result: SimResult, tmp_path: Path):
    a = write_report(small_result, tmp_path / "a.html").read_bytes()
    b = write_report(make_result(), tmp_path / "b.html").read_bytes()
    assert a == b


def test_sparse_summary_renders_dashes(small_result: SimResult):
    small_result.summary = {}
    text = render_report(small_result)
    assert fmt.MISSING in text
    assert [t.name for t in summary_tables(small_result)] == ["jobs", "energy", "environment", "failures"]


def test_atomic_write_keeps_the_old_report(small_result: SimResult, tmp_path: Path, monkeypatch):
    target = tmp_path / "report.html"
    target.write_text("old")

    def fail(*_args, **_kwargs):
        raise KeyboardInterrupt

    import colossus.results.paths as paths  # the one atomic writer the report uses

    monkeypatch.setattr(paths.os, "replace", fail)
    with pytest.raises(KeyboardInterrupt):
        write_report(small_result, target)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["report.html"]


def test_formats():
    assert fmt.power(153.2e6) == "153 MW" and fmt.power(None) == fmt.MISSING
    assert fmt.energy(3.6e12) == "1.00 GWh" and fmt.energy(3.6e9) == "1.00 MWh"
    assert fmt.mass(2.5e7) == "25,000 t" and fmt.mass(12.0) == "12.0 kg"
    assert fmt.tokens(1.5e12) == "1.50 T" and fmt.day(86400 * 42.26) == "day 42.3"
    assert fmt.duration(30) == "30.0 s" and fmt.duration(5400) == "1.50 h" and fmt.duration(float("nan")) == "\u2014"
    assert fmt.volume_l(4.2e8) == "420,000 m\u00b3" and fmt.percent(0.5) == "50.0%"


@pytest.mark.slow
def test_ninety_days_write_and_report(long_result: SimResult, tmp_path: Path):
    """129,600 samples x 27 columns, 100k events, 10k jobs: results and a report of bounded size.

    How long it takes is printed by benchmarks/bench_sim.py, not asserted here (a shared CI machine is noisy).
    """
    write_result(long_result, tmp_path / "run")
    path = write_report(long_result, tmp_path / "run" / "report.html")
    assert os.path.getsize(path) < 8e6  # plotly.js is ~4.8 MB of it
