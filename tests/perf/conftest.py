"""Fixtures of the performance-model tests."""

from __future__ import annotations

from perf_helpers import make_run
import pytest

from colossus.spec import RunSpec


@pytest.fixture
def gpt3_run() -> RunSpec:
    return make_run()
