"""Will a training run finish by a date? Many facility simulations, every source of doubt drawn.

>>> from colossus.forecast import forecast                                   # doctest: +SKIP
>>> f = forecast("scenarios/colossus-memphis.yaml", job="grok2", by_day=40)  # doctest: +SKIP
>>> f.p_finish_by, f.finish_day_p50, [d.name for d in f.drivers]            # doctest: +SKIP

* ``sources``: the sources of doubt (the step time's measured error, the
  failure rates' spread between fleets, build-out slip, generator
  availability, the grid contract date) and the draws that sample them;
* ``step_time``: the performance model's leave-one-family-out errors, shipped as data;
* ``runner``: the draws on the sweep backends, stored and resumed (``forecast``);
* ``answer``: P(finish by the date), finish-day quantiles, tokens by the date,
  the tornado of drivers and the progress fan (``Forecast``);
* ``store``: a forecast's folder (the draws' DuckDB store, ``forecast.json``, the report).
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from colossus.forecast.answer import Driver, Forecast
    from colossus.forecast.runner import BACKENDS, MAX_RUNS, ForecastInterrupted, forecast

__all__ = ["BACKENDS", "Driver", "Forecast", "ForecastInterrupted", "MAX_RUNS", "forecast"]

#: Where each export lives. They load on first use, so that ``colossus.forecast.step_time`` (the performance
#: model's error table, which every estimate reads for its range) does not import the forecast's engine: the
#: sweep backends, DuckDB, the simulator and the power models.
_EXPORTS = {"Driver": "answer", "Forecast": "answer", "BACKENDS": "runner", "MAX_RUNS": "runner",
            "ForecastInterrupted": "runner", "forecast": "runner"}


def __getattr__(name: str) -> Any:
    source = _EXPORTS.get(name)
    if source is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f"{__name__}.{source}"), name)
    globals()[name] = value  # once loaded, a plain attribute
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))

# colossus.forecast(...) runs a forecast (colossus.api.forecast); the subpackage stays importable as before
import colossus as _colossus  # noqa: E402

_colossus.callable_module(__name__)
