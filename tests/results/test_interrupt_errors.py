"""DuckDB's ways of saying that a signal arrived are all read as the user's Ctrl-C, and nothing else is."""

from __future__ import annotations

import duckdb
import pytest

from colossus.results.duck import is_interrupt


@pytest.mark.parametrize("exc", [
    duckdb.InterruptException("INTERRUPT Error: Interrupted!"),
    RuntimeError("Query interrupted"),
    # the signal landed in Python code DuckDB was calling back while scanning a registered Arrow table
    duckdb.InvalidInputException("Invalid Input Error: counting the rows of the object registered as"
                                 " '_incoming' failed: KeyboardInterrupt:"),
])
def test_a_signal_during_a_query_is_an_interrupt(exc):
    assert is_interrupt(exc)


@pytest.mark.parametrize("exc", [
    duckdb.IOException("IO Error: could not write: No space left on device"),
    duckdb.InvalidInputException("Invalid Input Error: bad input"),
    RuntimeError("something else"),
    ValueError("KeyboardInterrupt in a value error is not DuckDB's report"),
])
def test_other_errors_are_not(exc):
    assert not is_interrupt(exc)
