"""The dashboard served by uvicorn on a free loopback port in a thread, and headless Chromium driving it.

Shared by the browser test and the screenshot script (``web_screenshots.py``).
Chromium comes from ``tests/report/report_browser_setup.py`` (installed with
apt under a file lock when missing).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
import re
import sys
import threading
import time
from typing import Any

import uvicorn

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "report"))

from report_browser_setup import LAUNCH_ARGS, Unavailable, ensure_chromium  # noqa: E402

__all__ = ["LAUNCH_ARGS", "Unavailable", "choose_scenario", "ensure_chromium", "served", "simulate_in_page",
           "wait_for_plots"]


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve ``app`` on 127.0.0.1 and a free port in a background thread; yields the base URL."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, name="uvicorn-test", daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.05)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def wait_for_plots(page: Any, container: str, count: int = 1, timeout_ms: int = 120_000) -> None:
    """Wait until ``count`` Plotly charts in ``container`` have drawn their SVG.

    A function (not an expression string) because the page's Content-Security-Policy forbids eval.
    """
    page.wait_for_function(
        "([sel, n]) => document.querySelectorAll(sel + ' .js-plotly-plot .main-svg').length >= n",
        arg=[container, count], timeout=timeout_ms)


def choose_scenario(page: Any, name: str) -> None:
    """Show a scenario's knobs at their defaults (the page is shared: knobs an earlier test set are reset)."""
    page.click(".tab[data-view='scenario']")
    page.wait_for_selector(f"#scenario-select option[value='{name}']", state="attached")
    page.select_option("#scenario-select", name)
    page.wait_for_selector(f"#knobs-form[data-scenario='{name}']", state="attached")
    page.click("#reset-button")


def simulate_in_page(page: Any, *, days: float, generators: int | None = None) -> str:
    """Set the days (and the generator count) of the default scenario, press Run, wait for the charts;
    return the new run's id."""
    choose_scenario(page, "colossus-memphis")
    page.fill("[data-key='days']", f"{days:g}")
    if generators is not None:
        page.fill("[data-key='generators/gas-recip-2500kw']", str(generators))
    before = page.evaluate("() => document.querySelector('#run-title').textContent")
    page.click("#run-button")
    page.wait_for_function("(old) => { const t = document.querySelector('#run-title').textContent;"
                           " return t && t !== old; }", arg=before, timeout=120_000)
    wait_for_plots(page, "#charts")
    title = page.inner_text("#run-title")
    found = re.search(r"\brun (\S+);", title)
    assert found, title
    return found.group(1)
