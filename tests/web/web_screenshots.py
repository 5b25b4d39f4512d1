"""Run the dashboard, drive it in headless Chromium, and save ``docs/dashboard.png`` and ``docs/dashboard-compare.png``.

Run by hand when the page's look changes (not on every test run, so the PNGs
in git do not churn)::

    .venv/bin/python tests/web/web_screenshots.py [DAYS]

It simulates the default scenario for DAYS (default 150: the build-out and a
month of operation), then again with twice the generators, and compares the two.
"""

from __future__ import annotations

from pathlib import Path
import sys
import tempfile

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from playwright.sync_api import sync_playwright  # noqa: E402
from web_browser_helpers import LAUNCH_ARGS, ensure_chromium, served, simulate_in_page, wait_for_plots  # noqa: E402
from web_helpers import REPO, make_scenarios  # noqa: E402

from colossus.web import create_app  # noqa: E402

DOCS = REPO / "docs"
VIEWPORT = {"width": 1400, "height": 1000}


def main(argv: list[str]) -> None:
    days = float(argv[0]) if argv else 150.0
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(make_scenarios(Path(tmp) / "scenarios"), Path(tmp) / "runs", max_concurrent=1)
        with served(app) as url, sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=ensure_chromium(), args=LAUNCH_ARGS)
            page = browser.new_page(viewport=VIEWPORT, device_scale_factor=1)
            page.goto(url + "/", wait_until="load")
            simulate_in_page(page, days=days, generators=28)
            simulate_in_page(page, days=days)
            page.wait_for_timeout(800)
            page.evaluate("() => document.querySelector('#knobs').scrollTo(0, 0)")
            DOCS.mkdir(exist_ok=True)
            page.screenshot(path=str(DOCS / "dashboard.png"))
            page.click(".tab[data-view='runs']")
            page.wait_for_selector("#runs-table input[type=checkbox]")
            for box in page.query_selector_all("#runs-table input[type=checkbox]")[:2]:
                box.check()
            page.click("#compare-button")
            wait_for_plots(page, "#compare-charts", 2)
            page.wait_for_timeout(800)
            page.screenshot(path=str(DOCS / "dashboard-compare.png"))
            browser.close()
    for name in ("dashboard.png", "dashboard-compare.png"):
        sys.stdout.write(f"wrote {DOCS / name} ({(DOCS / name).stat().st_size:,} bytes)\n")


if __name__ == "__main__":
    main(sys.argv[1:])
