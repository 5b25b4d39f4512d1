"""Shared fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = ROOT / "scenarios"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def scenarios_dir() -> Path:
    return SCENARIOS


def need_shared(path: Path = SHARED, what: str = "../shared") -> Path:
    """``path`` under ../shared; missing, the test fails in CI (``CI`` set) and is skipped elsewhere.

    CI must not be green with no validation: a golden test without its data is
    a failure there, and a skip (with the reason) only on a developer's machine.
    """
    if not path.exists():
        message = f"{what} is not beside the repository ({path})"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def shared_dir() -> Path:
    return need_shared()
