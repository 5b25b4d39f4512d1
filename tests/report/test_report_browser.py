"""The report in a real browser: headless Chromium renders every plot, offline, without errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from report_browser_setup import LAUNCH_ARGS, Unavailable, ensure_chromium

from colossus.report import build_figures, write_report
from colossus.sim.result import SimResult


@pytest.fixture(scope="session")
def chromium() -> str:
    try:
        return ensure_chromium()
    except Unavailable as exc:
        pytest.skip(f"browser test needs Chromium: {exc}")


@pytest.mark.slow  # ~4 s warm; a fresh machine first installs Chromium (~30 s)
def test_every_plot_renders_offline(chromium: str, small_result: SimResult, tmp_path: Path):
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    path = write_report(small_result, tmp_path / "report.html")
    expected = [f"fig-{name}" for name in build_figures(small_result)]
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.goto(path.as_uri(), wait_until="load")
            page.wait_for_function(
                f"document.querySelectorAll('.js-plotly-plot .main-svg').length >= {len(expected)}", timeout=30_000)
            plots = page.evaluate("""() => Array.from(document.querySelectorAll('.js-plotly-plot')).map(el => ({
                id: el.id, svg: el.querySelectorAll('.main-svg').length,
                traces: (el.data || []).length, height: el.getBoundingClientRect().height}))""")
            states = page.evaluate("() => document.getElementById('fig-gpus_by_state').data.map(t => t.name)")
            legend = page.evaluate("() => document.querySelector('#fig-gpus_by_state .legend').textContent")
            gpu_table = page.inner_text("#table-gpus")
        finally:
            browser.close()
    assert [p["id"] for p in plots] == expected
    for plot in plots:
        assert plot["svg"] > 0 and plot["traces"] > 0 and plot["height"] > 100, plot
    assert errors == []
    assert [u for u in requests if not u.startswith("file://")] == []  # self-contained: no network at all
    # GPUs switched off for lack of power are a state of their own, drawn and tabled apart from idle
    assert "powered off" in states and "idle" in states and states.index("powered off") != states.index("idle")
    assert "powered off" in legend and "capped" in legend and "parked" in legend
    assert "powered off (lack of power)" in gpu_table and "idle (powered, no work)" in gpu_table
