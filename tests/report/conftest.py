"""Fixtures of the report tests; the synthetic result comes from the results tests' helper module."""

from __future__ import annotations

from pathlib import Path
import sys

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "results"))

from results_synthetic import make_result  # noqa: E402

from colossus.sim.result import SimResult  # noqa: E402


@pytest.fixture
def small_result() -> SimResult:
    return make_result()


@pytest.fixture(scope="session")
def long_result() -> SimResult:
    """90 days at 1-minute samples (129,600 x 29 columns), 100k events, 10k jobs: the size to handle fast."""
    named = {"grok-3": 2e12, "llama-405b": 1.5e12, "gpt-4-class": 1.3e13, "grok-2": 1e12}
    return make_result(days=90.0, interval_s=60.0, num_events=100_000, num_fillers=10_000, named=named)
