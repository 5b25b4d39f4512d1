"""The import graph flows one way (DESIGN.md) and the public API is exported."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "colossus"

# A package may import only from packages at its own level or below.
LEVEL = {
    "units": 0, "errors": 0, "vocab": 0, "metrics": 0, "api": 9,
    "catalog": 1,
    "spec": 2,
    "topology": 3,
    "perf": 4,
    "power": 5, "reliability": 5,
    "sim": 6,
    "results": 7,
    "sweep": 8, "report": 8, "forecast": 8,
    "cli": 9, "web": 9,
}
# Third-party packages only one place may import.
OWNED = {"ray": "sweep", "fastapi": "web", "uvicorn": "web", "typer": "cli"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
    return found


def _package(path: Path) -> str:
    rel = path.relative_to(SRC)
    return rel.parts[0].removesuffix(".py")


MODULES = sorted(p for p in SRC.rglob("*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path: Path):
    own = _package(path)
    if own == "__init__":
        return
    assert own in LEVEL, f"new package {own}: give it a level in this test"
    for name in _imports(path):
        top = name.split(".")[0]
        if top == "colossus" and "." in name:
            target = name.split(".")[1]
            assert LEVEL[target] <= LEVEL[own], f"{own} imports {name} from above"
        if top in OWNED:
            assert own == OWNED[top], f"only {OWNED[top]}/ may import {top}"


def test_public_api_exported():
    import colossus
    import colossus.spec
    import colossus.topology

    for module in (colossus, colossus.spec, colossus.topology):
        for name in module.__all__:
            assert hasattr(module, name), f"{module.__name__}.{name} is in __all__ but missing"
    assert "Scenario" in colossus.__all__ and "load_scenario" in colossus.__all__


def test_test_file_names_are_unique():
    """pytest's default import mode needs unique test module basenames across folders."""
    tests = Path(__file__).resolve().parent
    names = [p.name for p in tests.rglob("test_*.py")]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    assert not duplicates, f"rename: {duplicates}"
