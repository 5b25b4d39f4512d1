"""The shipped step-time errors are what a fresh cross-validation on ../shared/validation gives.

``catalog/data/forecast_step_time_error.toml`` is generated (``python -m colossus.forecast.step_time
--write``); the golden leave-one-family-out test (``tests/golden/test_validation.py``) compares it with
the cross-validation it runs (about half a minute: nine constants refitted once per family, once for
both checks), so the data cannot drift from the model or the validation set. The errors are left-out errors:
each family's is predicted by constants fitted without it, so the distribution a forecast draws from is
out of sample by construction. Fails (not skips) under CI when ../shared is missing.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from colossus.forecast.step_time import sha256_of, shipped
from tests.conftest import SHARED

VALIDATION = SHARED / "validation" / "training_runs.yaml"


def _validation() -> Path:
    if not VALIDATION.is_file():
        if os.environ.get("CI"):
            pytest.fail(f"{VALIDATION} is missing: the shipped step-time errors cannot be checked")
        pytest.skip("../shared/validation is not beside the repository")
    return VALIDATION


def test_the_data_names_the_validation_file_it_came_from():
    path = _validation()
    assert shipped().validation_sha256 == sha256_of(path), (
        "the validation set changed: regenerate with python -m colossus.forecast.step_time --write")
