"""Golden tests fail, not skip, under CI when ../shared is missing (CI green must mean validated)."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]


def test_missing_shared_fails_under_ci_and_skips_elsewhere(tmp_path):
    probe = tmp_path / "test_probe.py"
    probe.write_text(
        f"import sys\nsys.path.insert(0, {str(ROOT)!r})\nfrom pathlib import Path\n"
        "from tests.conftest import need_shared\n\n"
        f"def test_golden():\n    need_shared(Path({str(tmp_path / 'absent')!r}), 'the probe data')\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if k != "CI"}

    def run(extra: dict[str, str]) -> str:
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly",
                               str(probe)], capture_output=True, text=True, env={**env, **extra}, cwd=tmp_path)
        return done.stdout

    assert "1 failed" in run({"CI": "true"})
    assert "1 skipped" in run({})
