"""Every figure in a shipped scenario says whether it is reported or an assumption."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

SCENARIOS = sorted((Path(__file__).resolve().parents[1] / "scenarios").glob("*.yaml"))
# a value that is a number, a list of numbers or a boolean
FIGURE = re.compile(r":\s*(-?[0-9][0-9_.eE+-]*|\[[0-9.eE+, -]*\]|true|false)\s*$")
TAG = re.compile(r"#.*\[(reported|assumption)(:[^\]]*)?\]")


@pytest.mark.parametrize("path", SCENARIOS, ids=lambda p: p.name)
def test_every_figure_is_tagged(path: Path):
    missing = [
        f"{number}: {line.strip()}"
        for number, line in enumerate(path.read_text().splitlines(), start=1)
        if FIGURE.search(line.split("#", 1)[0].rstrip()) and not TAG.search(line)
    ]
    assert not missing, "untagged figures:\n" + "\n".join(missing)


def test_default_scenario_ships():
    assert any(p.name == "colossus-memphis.yaml" for p in SCENARIOS)
