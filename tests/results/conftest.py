"""Fixtures of the results-store tests: a small synthetic ``SimResult`` (see ``results_synthetic``), and a real
SIGINT sent the moment a function returns (``signal_after``)."""

from __future__ import annotations

from collections.abc import Callable
import os
import signal
from typing import Any

import pytest
from results_synthetic import make_result

from colossus.sim.result import SimResult


@pytest.fixture
def signal_after(monkeypatch: pytest.MonkeyPatch) -> Callable[[Any, str], None]:
    """``signal_after(module, name)``: ``module.name`` sends this process a real SIGINT as it returns (a signal
    that lands the moment a temporary file or folder exists, before its writer holds its name)."""
    def install(module: Any, name: str) -> None:
        real = getattr(module, name)

        def then_signal(*args: Any, **kwargs: Any) -> Any:
            made = real(*args, **kwargs)
            os.kill(os.getpid(), signal.SIGINT)
            return made

        monkeypatch.setattr(module, name, then_signal)

    return install


@pytest.fixture
def small_result() -> SimResult:
    return make_result()
