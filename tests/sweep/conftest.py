"""Fixtures of the sweep tests: a small, fast scenario and one local Ray instance per session."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from sweep_helpers import small_document, write_scenario


@pytest.fixture
def small_scenario(tmp_path: Path) -> Path:
    return write_scenario(tmp_path / "small.yaml", small_document())


@pytest.fixture(scope="session")
def ray_local():
    """One local Ray instance with 2 CPUs for the whole test session (the backend reuses it)."""
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        yield ray
        return
    ray.init(num_cpus=2, include_dashboard=False, logging_level=logging.WARNING, log_to_driver=False)
    try:
        yield ray
    finally:
        ray.shutdown()
