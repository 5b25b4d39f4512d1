"""Fixtures of the results-store tests: a small synthetic ``SimResult`` (see ``results_synthetic``)."""

from __future__ import annotations

import pytest
from results_synthetic import make_result

from colossus.sim.result import SimResult


@pytest.fixture
def small_result() -> SimResult:
    return make_result()
