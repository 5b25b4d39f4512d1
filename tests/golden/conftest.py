"""Fixtures of the golden tests: the published runs of ../shared/validation, loaded once."""

from __future__ import annotations

import pytest

from colossus.spec import RunSpec, load_runs
from tests.conftest import need_shared
from tests.golden.perf_ratchet import RUNS


@pytest.fixture(scope="session")
def published_runs() -> list[RunSpec]:
    """The 73 published training runs (fails in CI, skips elsewhere, when ../shared is missing)."""
    return load_runs(need_shared(RUNS, "shared/validation/training_runs.yaml"))
