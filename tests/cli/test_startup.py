"""The command line starts without the models: ``import colossus.cli`` loads none of the heavy modules.

Speed itself is printed by ``benchmarks/bench_startup.py``, not asserted here;
this checks the behaviour that makes it fast (the import graph).
"""

from __future__ import annotations

import subprocess
import sys

HEAVY = ("numpy", "scipy", "pydantic", "plotly", "duckdb", "pandas", "pyarrow", "fastapi", "uvicorn", "ray",
         "yaml", "colossus.spec", "colossus.sim", "colossus.perf")


def _loaded(statement: str) -> list[str]:
    probe = f"import sys\n{statement}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[-1].split() if out.strip() else []


def test_import_colossus_cli_loads_no_heavy_module():
    assert _loaded("import colossus.cli") == []


def test_help_loads_no_heavy_module():
    assert (
        _loaded(
            "import contextlib, io\nfrom colossus.cli import main\nwith contextlib.redirect_stdout(io.StringIO()):\n"
            "    main(['--help'])"
        )
        == []
    )


def test_import_colossus_is_light_until_a_name_is_used():
    assert _loaded("import colossus") == []
    assert "pydantic" in _loaded("import colossus\ncolossus.Scenario")


def test_an_estimate_reads_the_error_table_without_the_forecast_engine():
    """``estimate`` states its range from ``colossus.forecast.step_time``; importing it must not pull the
    forecast's runner (the sweep backends, DuckDB, the simulator, the power models)."""
    loaded = _loaded("from colossus.forecast.step_time import prediction_range")
    assert "colossus.sim" in HEAVY and not {"duckdb", "colossus.sim", "plotly", "pandas"} & set(loaded)
    from colossus.forecast import Forecast, forecast  # the package's exports still load, on first use

    assert Forecast.__name__ == "Forecast" and callable(forecast)
