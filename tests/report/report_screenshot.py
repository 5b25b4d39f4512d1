"""Render a report in headless Chromium and save the top of it as ``docs/report.png``.

Run once by hand when the report's look changes (not on every test run, so
the PNG in git does not churn)::

    .venv/bin/python tests/report/report_screenshot.py [RESULTS_DIR]

With a results folder it shows that result; without, the synthetic one of the tests.
"""

from __future__ import annotations

from pathlib import Path
import sys
import tempfile

HERE = Path(__file__).resolve().parent
sys.path[:0] = [str(HERE), str(HERE.parent / "results")]

from playwright.sync_api import sync_playwright  # noqa: E402
from report_browser_setup import LAUNCH_ARGS, ensure_chromium  # noqa: E402
from results_synthetic import make_result  # noqa: E402

from colossus.report import write_report  # noqa: E402
from colossus.results import read_result  # noqa: E402

OUT = HERE.parents[1] / "docs" / "report.png"


def main(argv: list[str]) -> None:
    result = read_result(Path(argv[0])) if argv else make_result(days=90.0, interval_s=300.0, num_events=5000,
                                                                num_fillers=2000)
    with tempfile.TemporaryDirectory() as tmp:
        page_path = write_report(result, Path(tmp) / "report.html")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=ensure_chromium(), args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 1600}, device_scale_factor=1)
            page.goto(page_path.as_uri(), wait_until="load")
            page.wait_for_function("document.querySelectorAll('.js-plotly-plot .main-svg').length > 2")
            page.wait_for_timeout(500)
            OUT.parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(OUT), full_page=False)
            browser.close()
    sys.stdout.write(f"wrote {OUT} ({OUT.stat().st_size:,} bytes)\n")


if __name__ == "__main__":
    main(sys.argv[1:])
