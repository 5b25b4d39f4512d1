"""The dashboard in a real browser: headless Chromium runs a scenario, sees the charts and compares two runs.

The app is served by uvicorn on a free loopback port; every request the page
makes must go to that server (plotly.js included), and the page must log no
JavaScript error.
"""

from __future__ import annotations

from collections.abc import Iterator
import re
from typing import Any

import pytest
from web_browser_helpers import (
    LAUNCH_ARGS,
    Unavailable,
    choose_scenario,
    ensure_chromium,
    served,
    simulate_in_page,
    wait_for_plots,
)
from web_helpers import make_scenarios, write_simulate_sweep_store, write_sweep_store
import yaml

from colossus.web import create_app
from tests.forecast.forecast_helpers import tiny_doc


@pytest.fixture(scope="module")
def chromium() -> str:
    try:
        return ensure_chromium()
    except Unavailable as exc:
        pytest.skip(f"browser test needs Chromium: {exc}")


@pytest.fixture(scope="module")
def base_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    root = tmp_path_factory.mktemp("browser")
    write_sweep_store(root / "runs" / "sweep-colossus-memphis")
    scenarios = make_scenarios(root / "scenarios")
    tiny = tiny_doc(rate_scale=4.0, train_tokens=6e10)  # a forecast of it takes seconds, not minutes
    tiny.update({"name": "forecast-tiny", "description": "a small job for forecasts",
                 "forecast": {"step_time_error": "measured", "failure_rate_spread": "measured"}})
    (scenarios / "forecast-tiny.yaml").write_text(yaml.safe_dump(tiny, sort_keys=False), encoding="utf-8")
    write_simulate_sweep_store(root / "runs" / "sweep-simulated")
    app = create_app(scenarios, root / "runs", max_concurrent=1)
    with served(app) as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(chromium: str, base_url: str) -> Iterator[tuple[Any, list[str], list[str]]]:
    sync_api = pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed")
    requests: list[str] = []
    errors: list[str] = []
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium, args=LAUNCH_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            # Every wait bounds behaviour (the answer arrives), not speed: playwright's 30 s default was passed
            # once on a loaded CI machine while a sweep plot was still drawing.
            page.set_default_timeout(120_000)
            page.on("request", lambda r: requests.append(r.url))
            page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
            page.on("console", lambda m: errors.append(f"console: {m.text}") if m.type == "error" else None)
            page.goto(base_url + "/", wait_until="load")
            yield page, requests, errors
        finally:
            browser.close()


def _fresh(browser_page: tuple[Any, list[str], list[str]]) -> tuple[Any, list[str], list[str]]:
    """The shared page with its request and error logs emptied (each test stands alone, also under xdist)."""
    page, requests, errors = browser_page
    requests.clear()
    errors.clear()
    return page, requests, errors


def _memphis_quick(browser_page: tuple[Any, list[str], list[str]], kind: str) -> tuple[Any, list[str]]:
    """A fresh page on the default scenario with its ``kind`` quick panel open: (page, browser errors)."""
    page, _, errors = _fresh(browser_page)
    choose_scenario(page, "colossus-memphis")
    _quick(page, kind)
    return page, errors


def _quick(page: Any, kind: str) -> None:
    """Press a quick check's button and wait for its panel (an earlier test's panel is emptied first)."""
    page.evaluate("() => document.querySelector('#quick').replaceChildren()")
    page.click(f"#{kind}-button")
    title = {"estimate": "Performance estimate", "power": "Power check", "reliability": "Reliability"}[kind]
    page.wait_for_selector(f"#quick h2:has-text('{title}')")


def _plots(page: Any, container: str) -> list[dict[str, Any]]:
    return page.evaluate("""(sel) => Array.from(document.querySelectorAll(sel + ' .js-plotly-plot')).map(el => ({
        id: el.id, svg: el.querySelectorAll('.main-svg').length, traces: (el.data || []).length,
        height: el.getBoundingClientRect().height}))""", container)


@pytest.mark.slow  # ~10 s warm; a fresh machine first installs Chromium
def test_run_a_scenario_and_see_the_charts(browser_page: tuple[Any, list[str], list[str]], base_url: str):
    page, requests, errors = _fresh(browser_page)
    simulate_in_page(page, days=2)
    plots = _plots(page, "#charts")
    assert [p["id"] for p in plots][:3] == ["fig-power_by_source", "fig-power_by_use", "fig-gpus_by_state"]
    for plot in plots:
        assert plot["svg"] > 0 and plot["traces"] > 0 and plot["height"] > 100, plot
    cards = page.eval_on_selector_all("#headline .card", "cards => cards.map(c => c.innerText)")
    assert len(cards) == 10 and any("energy used" in c and "MWh" in c for c in cards), cards
    assert any("GPUs powered off" in c for c in cards) and any("per million tokens" in c for c in cards), cards
    # GPUs switched off for lack of power are a state of their own: in the chart, its legend and the table
    states = page.evaluate("() => document.getElementById('fig-gpus_by_state').data.map(t => t.name)")
    assert "powered off" in states and "idle" in states and "capped" in states and "parked" in states, states
    legend = page.evaluate("() => document.querySelector('#fig-gpus_by_state .legend').textContent")
    assert "powered off" in legend
    gpus = page.inner_text("#table-gpus")
    assert "powered off (lack of power)" in gpus and "idle (powered, no work)" in gpus
    assert "colossus-memphis: 2 days" in page.inner_text("#run-title")
    assert page.is_visible("#table-jobs") and "grok2" in page.inner_text("#table-jobs")
    assert page.inner_text("#job-text").startswith("done")
    assert errors == []
    assert [u for u in requests if not u.startswith(base_url + "/")] == []  # no CDN, nothing external


@pytest.mark.slow
def test_quick_check_and_a_bad_knob(browser_page: tuple[Any, list[str], list[str]]):
    page, errors = _memphis_quick(browser_page, "power")
    assert "Power check: colossus-memphis" in page.inner_text("#quick h2")
    assert "MW" in page.inner_text("#quick")
    page.fill("[data-key='pools/h100-phase1/num_gpus']", "1001")
    page.click("#estimate-button")
    page.wait_for_selector("#form-error:not([hidden])")
    assert "whole servers" in page.inner_text("#form-error")
    assert "invalid" in page.get_attribute("[data-key='pools/h100-phase1/num_gpus']", "class")
    page.click("#reset-button")
    assert page.input_value("[data-key='pools/h100-phase1/num_gpus']") == "100000"
    assert [e for e in errors if "409" not in e] == []  # the browser logs the refused request, nothing else


@pytest.mark.slow
def test_the_fleet_knob_changes_the_reliability_check(browser_page: tuple[Any, list[str], list[str]]):
    page, _, errors = _fresh(browser_page)
    choose_scenario(page, "colossus-memphis")
    assert page.input_value("[data-key='fleet']") == "llama3-h100"
    _quick(page, "reliability")
    before = page.inner_text("#quick")
    assert "interruptions per day" in before
    page.select_option("[data-key='fleet']", "opt175b-a100")
    _quick(page, "reliability")
    assert "interruptions per day" in page.inner_text("#quick")
    assert page.inner_text("#quick") != before
    assert errors == []


@pytest.mark.slow
def test_compare_two_stored_runs(browser_page: tuple[Any, list[str], list[str]], base_url: str):
    page, requests, errors = _fresh(browser_page)
    runs = [simulate_in_page(page, days=1), simulate_in_page(page, days=1, generators=28)]
    page.click(".tab[data-view='runs']")
    for run in runs:  # the table lists this test's runs (it may list earlier tests' runs too)
        page.check(f"#runs-table tr[data-run='{run}'] input[type=checkbox]")
    page.click("#compare-button")
    wait_for_plots(page, "#compare-charts", 2)
    table = page.inner_text("#compare-table")
    assert "energy used" in table and "MWh" in table and "generators.gas-recip-2500kw=28" in table
    for plot in _plots(page, "#compare-charts"):
        assert plot["svg"] > 0 and plot["traces"] == 2, plot
    assert errors == []
    assert [u for u in requests if not u.startswith(base_url + "/")] == []


@pytest.mark.slow
def test_browse_a_sweep(browser_page: tuple[Any, list[str], list[str]], base_url: str):
    page, requests, errors = _fresh(browser_page)
    page.click(".tab[data-view='sweeps']")
    page.wait_for_selector("#sweeps-table button")
    assert "sweep-colossus-memphis" in page.inner_text("#sweeps-table")
    _open_sweep(page, "sweep-colossus-memphis")
    assert page.input_value("#sweep-x") == "power.supply.generators[0].count"
    assert page.input_value("#sweep-y") == "grok2.tokens_per_s"
    assert page.evaluate("() => document.querySelector('#sweep-chart').data[0].x.length") == 3
    assert "infeasible" in page.inner_text("#sweep-rows")
    assert errors == []
    assert [u for u in requests if not u.startswith(base_url + "/")] == []


@pytest.mark.slow
def test_forecast_panel_shows_the_answer_and_its_plots(browser_page: tuple[Any, list[str], list[str]], base_url: str):
    page, requests, errors = _fresh(browser_page)
    choose_scenario(page, "forecast-tiny")
    assert "forecasts" in page.inner_text("#scenario-description")
    page.wait_for_selector("#forecast-by")
    assert page.input_value("#forecast-job") == "grok2"
    page.click("#forecast-button")  # no day given: the server names the field
    page.wait_for_selector("#form-error:not([hidden])")
    assert "by_day" in page.inner_text("#form-error")
    page.fill("#forecast-by", "0.4")
    page.fill("#forecast-runs", "6")
    page.click("#forecast-button")
    page.wait_for_selector("#forecast-view:not([hidden])", timeout=120_000)
    wait_for_plots(page, "#forecast-charts", 2)
    cards = page.eval_on_selector_all("#forecast-cards .card", "cards => cards.map(c => c.innerText)")
    assert any("P(finish by day 0.4)" in c for c in cards) and any("finish day P90" in c for c in cards), cards
    assert "What drives the risk" in page.inner_text("#forecast-drivers")
    plots = _plots(page, "#forecast-charts")
    assert "fig-forecast-progress_fan" in [p["id"] for p in plots]
    for plot in plots:
        assert plot["svg"] > 0 and plot["traces"] > 0 and plot["height"] > 100, plot
    assert page.inner_text("#job-text").startswith("done") and "6 draws" in page.inner_text("#job-text")
    assert page.get_attribute(".progress", "aria-valuenow") == "100"
    assert [e for e in errors if "422" not in e] == []  # the refused request is logged, nothing else
    assert [u for u in requests if not u.startswith(base_url + "/")] == []


def _open_sweep(page: Any, name: str) -> None:
    """Open a sweep and wait until the page shows it (the chart of a sweep opened before is no sign)."""
    page.click(f"#sweeps-table tr:has-text('{name}') button")
    page.wait_for_function("(n) => document.querySelector('#sweep-title').textContent === n", arg=name)
    wait_for_plots(page, "#view-sweeps")


@pytest.mark.slow
def test_the_last_sweep_opened_is_shown_whichever_answer_comes_last(browser_page: tuple[Any, list[str], list[str]]):
    page, _, errors = _fresh(browser_page)
    page.click(".tab[data-view='sweeps']")
    page.wait_for_selector("#sweeps-table tr:has-text('sweep-simulated') button")
    held: list[Any] = []
    page.route("**/api/sweeps/sweep-colossus-memphis?*", lambda route: held.append(route))  # held until released
    try:
        page.click("#sweeps-table tr:has-text('sweep-colossus-memphis') button")
        _open_sweep(page, "sweep-simulated")
        assert len(held) == 1
        with page.expect_response(lambda r: "sweep-colossus-memphis?" in r.url) as late:
            held[0].continue_()
        late.value.finished()
        page.wait_for_timeout(300)  # the late answer is in the page: give it time to act on it (it must not)
    finally:
        page.unroute("**/api/sweeps/sweep-colossus-memphis?*")
    assert page.inner_text("#sweep-title") == "sweep-simulated"
    assert page.evaluate("() => document.querySelector('#sweep-chart').data[0].x.length") == 6
    assert errors == []


def _points_drawn(page: Any) -> int:
    """Points of the sweep chart with both coordinates (a trace of nulls draws an empty frame)."""
    return page.evaluate("""() => { const t = document.querySelector('#sweep-chart').data[0];
        return t.x.filter((x, i) => x !== null && t.y[i] !== null).length; }""")


@pytest.mark.slow
def test_the_default_sweep_plot_is_never_empty(browser_page: tuple[Any, list[str], list[str]]):
    page, _, errors = _fresh(browser_page)
    page.click(".tab[data-view='sweeps']")
    page.wait_for_selector("#sweeps-table button")
    for name, rows, points in (("sweep-colossus-memphis", 3, 2), ("sweep-simulated", 6, 6)):
        _open_sweep(page, name)
        page.wait_for_function("(n) => document.querySelector('#sweep-chart').data[0].x.length === n", arg=rows)
        assert page.input_value("#sweep-x") == "power.supply.generators[0].count", name
        assert _points_drawn(page) == points, (name, page.input_value("#sweep-y"))
    assert page.input_value("#sweep-y") == "grok2.tokens_trained"  # finish and progress hold no value there
    assert errors == []


@pytest.mark.slow
def test_the_estimate_shows_the_range_of_the_time_to_train(browser_page: tuple[Any, list[str], list[str]]):
    page, errors = _memphis_quick(browser_page, "estimate")
    assert "time to train (80% range)" in page.inner_text("#quick th:last-child")
    cell = page.inner_text("#quick tr:nth-child(2) td:last-child")
    assert re.fullmatch(r"[\d.,]+ days \([\d.,]+\u2013[\d.,]+\)", cell), cell
    # the MoE job's routing knob: dropless waits for the busiest expert rank, so the time to train changes
    assert page.input_value("[data-key='jobs/grok2/expert_routing']") == "balanced"
    page.select_option("[data-key='jobs/grok2/expert_routing']", "dropless")
    _quick(page, "estimate")
    assert page.inner_text("#quick tr:nth-child(2) td:last-child") != cell
    assert errors == []


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["estimate", "reliability", "power"])
def test_quick_panels_are_not_clipped_at_1400_px(browser_page: tuple[Any, list[str], list[str]], kind: str):
    page, errors = _memphis_quick(browser_page, kind)
    assert page.evaluate("() => window.innerWidth") == 1400
    overflow = page.evaluate("""() => { const q = document.querySelector('#quick');
        const edge = q.getBoundingClientRect().right;
        return { scroll: q.scrollWidth - q.clientWidth, past: Array.from(q.querySelectorAll('*'))
            .filter(e => e.getBoundingClientRect().right > edge + 0.5)
            .map(e => e.tagName + ' ' + e.textContent.slice(0, 40)),
            hidden: Array.from(q.querySelectorAll('.wide')).filter(w => w.scrollWidth > w.clientWidth).length }; }""")
    assert overflow == {"scroll": 0, "past": [], "hidden": 0}, overflow
    assert errors == []
