"""Parsing ``--vary PATH=VALUES``: ranges, comma lists, types, duplicates."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st
import pytest

from colossus.errors import SpecError
from colossus.sweep import parse_values, parse_vary
from colossus.sweep.values import MAX_RANGE_VALUES, parse_value


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("0:28:2", list(range(0, 29, 2))),
        ("0:5:2", [0, 2, 4]),  # stop off the grid: not included
        ("1:4", [1, 2, 3, 4]),  # step 1 by default
        ("10:0:-5", [10, 5, 0]),
        ("0.1:0.5:0.1", [0.1, 0.2, 0.3, 0.4, 0.5]),  # exact decimals: no float drift
        ("0:1:0.25", [0.0, 0.25, 0.5, 0.75, 1.0]),
        ("3:3:1", [3]),
        ("10000,20000,40000", [10000, 20000, 40000]),
        ("h100-sxm5-80gb,h200-sxm-141gb", ["h100-sxm5-80gb", "h200-sxm-141gb"]),
        ("1e6,2.5", [1e6, 2.5]),
        ("true,false", [True, False]),
        ("null,30", [None, 30]),
        ("14", [14]),
        ("mix", ["mix"]),
    ],
)
def test_values(text, values):
    parsed = parse_values(text)
    assert parsed == values
    assert [type(v) for v in parsed] == [type(v) for v in values]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("", "no values"),
        ("1,,2", "empty item"),
        ("0:10:0", "step must not be 0"),
        ("0:10:-1", "never goes"),
        ("a:b", "not a number"),
        ("0:10:2:1", "not a range"),
        (f"0:{MAX_RANGE_VALUES * 10}:1", "check the step"),
        ("1,2,1", "listed twice"),
        ("0:nan:1", "finite"),
    ],
)
def test_bad_values(text, problem):
    with pytest.raises(SpecError, match=problem):
        parse_values(text)


def test_int_and_float_are_different_values():
    assert parse_values("1,1.0") == [1, 1.0]


def test_parse_vary_names_the_option():
    vary = parse_vary("supply.generators.count=0:28:2")
    assert vary.path == "supply.generators.count" and len(vary.values) == 15
    for bad in ("supply.generators.count", "=1,2", "x=1,,2"):
        with pytest.raises(SpecError) as err:
            parse_vary(bad)
        assert str(err.value).startswith(f"--vary {bad}: ")


def test_nan_and_inf_stay_text():
    assert parse_value("nan") == "nan" and parse_value("inf") == "inf"


@given(
    start=st.integers(-1000, 1000), length=st.integers(0, 200), step=st.integers(1, 50), extra=st.integers(0, 49),
)
def test_integer_range_matches_python_range(start, length, step, extra):
    """start:stop:step is Python's range with stop included when it lands on the grid."""
    stop = start + length * step + min(extra, step - 1)
    assert parse_values(f"{start}:{stop}:{step}") == list(range(start, stop + 1, step))
