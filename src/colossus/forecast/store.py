"""A forecast's folder: the draws' store, the answer as JSON, and the report.

::

    runs/forecast-<scenario>/      (or --out DIR)
        draws.duckdb    table ``runs``: one row per draw, its inputs beside its outputs (kind ``forecast``);
                        kept and extended, so the same command resumes and more runs reuse the stored ones
        forecast.json   the answer (``Forecast.to_json()``), strict JSON
        report.html     the report's forecast section, one self-contained file

The store is a ``sweep.RunStore`` (one writer at a time: DuckDB locks the
file, and a second forecast on it is refused with one line); the JSON and the
report are replaced atomically (a temporary file renamed into place), so a
reader never sees half of either.
"""

from __future__ import annotations

import json
from pathlib import Path

from colossus.errors import SpecError
from colossus.forecast.answer import Forecast
from colossus.results import check_out_dir, safe_name
from colossus.results.paths import write_text_atomic

STORE_NAME = "draws.duckdb"
JSON_NAME = "forecast.json"
REPORT_NAME = "report.html"


def default_folder(scenario_name: str) -> Path:
    return Path("runs") / f"forecast-{safe_name(scenario_name)}"


def check_folder(folder: Path | str, *, option: str | None = None) -> Path:
    """``folder`` made absolute, or an error if a forecast may not be written there."""
    target = check_out_dir(folder, option=option, kind="a forecast")
    if target.is_dir() and any(target.iterdir()) and not (target / STORE_NAME).is_file():
        said = f"{option}: " if option else ""
        raise SpecError(f"{said}{target} holds other files and no {STORE_NAME}; give a forecast a folder of its own")
    return target


def write_outputs(result: Forecast, folder: Path | str) -> dict[str, Path]:
    """Write ``forecast.json`` and ``report.html`` into ``folder``; their paths."""
    from colossus.report.forecast import write_forecast_report  # noqa: PLC0415 (plotly: slow to import)
    from colossus.units import si_document  # noqa: PLC0415

    root = Path(folder)
    doc = result.as_dict()
    # the file holds what --json prints: SI where a key names a human unit (units.si_document); the keys the
    # forecast is asked for (finish_day_p50, by_day, ...) say their unit, the day, and stay as they are
    text = json.dumps(si_document(doc), indent=2, sort_keys=True, allow_nan=False) + "\n"
    return {"json": write_text_atomic(root / JSON_NAME, text),
            "report": write_forecast_report(doc, root / REPORT_NAME)}


__all__ = ["JSON_NAME", "REPORT_NAME", "STORE_NAME", "check_folder", "default_folder", "write_outputs"]
