"""``docs/python-api.md`` runs: every ``python`` code block, in order, in one namespace, from the repository root.

The blocks are the done-when one-liners of issue 15 (simulate, estimate,
plan, power, reliability, sweep), so a change that breaks the tour breaks here.
"""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path
import re

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOC = ROOT / "docs" / "python-api.md"


def blocks() -> list[str]:
    return re.findall(r"```python\n(.*?)```", DOC.read_text(encoding="utf-8"), flags=re.S)


def test_the_tour_has_the_one_liners():
    text = "\n".join(blocks())
    for call in ("c.simulate(", "c.estimate(", "c.plan(", "c.analyse_power(", "c.analyse_reliability(", "c.sweep("):
        assert call in text, call
    assert "r.summary.jobs[0].name, r.timeseries.to_pandas().shape" in text


@pytest.mark.slow  # ~15 s: a 10-day simulation, a plan, a small sweep
def test_every_code_block_runs(tmp_path, monkeypatch):
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    monkeypatch.chdir(tmp_path)  # the sweep writes under runs/ here, not in the repository
    namespace: dict[str, object] = {}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for i, code in enumerate(blocks()):
            exec(compile(code, f"{DOC.name}[block {i}]", "exec"), namespace)  # noqa: S102
    text = out.getvalue()
    assert "grok2 (" in text and "MW while training" in text and "no job 'grk2'" in text
    assert os.path.isfile(tmp_path / "runs" / "api-tour-sweep" / "sweep.duckdb")
