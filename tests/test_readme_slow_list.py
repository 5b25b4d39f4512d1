"""The README lists the tests marked ``slow`` (so a reader knows what ``-m "not slow"`` leaves out): all of them,
and only them. Collected the way pytest collects them, from the source, without running anything."""

from __future__ import annotations

import ast
from pathlib import Path
import re

ROOT = Path(__file__).resolve().parents[1]


def _marked_slow() -> set[str]:
    found: set[str] = set()
    for path in sorted((ROOT / "tests").rglob("test_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in tree.body:
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_") and any(
                    "slow" in ast.unparse(d) and "mark" in ast.unparse(d) for d in node.decorator_list):
                found.add(f"{path.relative_to(ROOT).as_posix()}::{node.name}")
    return found


def _listed() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return set(re.findall(r"^- `(tests/[^`]+::[^`]+)`$", text, flags=re.M))


def test_the_readme_lists_every_slow_test_and_only_those():
    marked, listed = _marked_slow(), _listed()
    assert marked, "no test marked slow was found: the collector is broken"
    assert marked - listed == set(), f"marked slow but not in the README: {sorted(marked - listed)}"
    assert listed - marked == set(), f"in the README but not marked slow: {sorted(listed - marked)}"
