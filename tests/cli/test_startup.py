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
