"""Any columns of the contract's kinds survive the store unchanged (hypothesis)."""

from __future__ import annotations

from pathlib import Path
import tempfile

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
from results_synthetic import assert_same_result

from colossus.results import read_result, write_result
from colossus.sim.result import SimResult

floats = st.floats(allow_nan=True, allow_infinity=True, width=64)
text = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=12)


@st.composite
def results(draw) -> SimResult:
    n = draw(st.integers(0, 20))
    m = draw(st.integers(0, 20))
    ts = {"time_s": np.array(draw(st.lists(floats, min_size=n, max_size=n)), dtype=np.float64),
          "gpus_busy": np.array(draw(st.lists(st.integers(-2**40, 2**40), min_size=n, max_size=n)), dtype=np.int64)}
    events = {"time_s": np.array(draw(st.lists(floats, min_size=m, max_size=m)), dtype=np.float64),
              "kind": np.array(draw(st.lists(text, min_size=m, max_size=m)), dtype=object),
              "job": np.array(draw(st.lists(text, min_size=m, max_size=m)), dtype=object),
              "detail": np.array(draw(st.lists(text, min_size=m, max_size=m)), dtype=object),
              "value": np.array(draw(st.lists(floats, min_size=m, max_size=m)), dtype=np.float64)}
    jobs = {"name": np.array(draw(st.lists(text, min_size=1, max_size=1)), dtype=object), "goodput": np.array([0.5])}
    summary = draw(st.dictionaries(text, st.one_of(st.none(), st.booleans(), st.integers(-2**53, 2**53),
                                                   st.floats(allow_nan=False, allow_infinity=False), text),
                                   max_size=5))
    return SimResult(draw(text), draw(st.integers(0, 2**63 - 1)), draw(st.floats(0.0, 1e4)), ts, events, jobs,
                     summary)


@settings(max_examples=25, deadline=None)
@given(results())
def test_round_trip_of_anything(result: SimResult):
    with tempfile.TemporaryDirectory() as tmp:
        assert_same_result(result, read_result(write_result(result, Path(tmp) / "r").root))
