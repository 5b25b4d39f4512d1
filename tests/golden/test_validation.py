"""Golden check: the performance model against the published runs of shared/validation.

Bounds (issue 3): MAPE of the compared metric <= 10 %, no case worse than 20 %,
and every case predicted. The shared parameters are refitted on the
calibration half (alternate runs of each family) and must hold on the other half.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from colossus.perf import family_split, fit, validate_runs
from colossus.spec import load_runs

MAPE_BOUND = 0.10
WORST_BOUND = 0.20


@pytest.fixture(scope="module")
def runs(request):
    path = Path(__file__).resolve().parents[2].parent / "shared" / "validation" / "training_runs.yaml"
    if not path.is_file():
        pytest.skip("shared/validation/training_runs.yaml is not beside the repository")
    return load_runs(path)


def test_every_case_within_bounds(runs):
    result = validate_runs(runs)
    assert not result.unpredicted, [c.reason for c in result.unpredicted]
    assert result.mape <= MAPE_BOUND
    worst = result.worst
    assert abs(worst.error) <= WORST_BOUND, f"{worst.id}: {worst.error:+.1%}"


@pytest.mark.slow
def test_fit_on_half_holds_on_the_other_half(runs):
    calibration, held_out = family_split(runs)
    fitted = fit(calibration)
    held = validate_runs(held_out, assumptions=fitted.assumptions)
    assert held.mape <= MAPE_BOUND
    assert held.max_abs_error <= WORST_BOUND
