"""The answer of a forecast, from its draws: the probability of finishing by the date, and what drives it.

Read from the stored rows of the draws (one per draw, in draw order), so a
forecast computed now and one read back from its store are the same bytes.

* **Finish day** quantiles are the empirical ones of the draws (the smallest
  day by which at least a share ``p`` of the draws finished: the "inverted
  CDF" order statistic). A draw that did not finish within the simulated
  period counts as finishing later than any that did, so it is never
  "finished by the date"; a quantile that falls among unfinished draws is
  ``None`` (beyond the period). The runner lengthens the period before that
  happens where it can (``runner``).
* **How sure**: the P50 carries a 90% band from the draws' order statistics (the ranks
  ``n/2 -+ z sqrt(n)/2`` of a binomial around the median rank, ``answer.band_z``), and
  ``P(finish by)`` its binomial standard error ``sqrt(p (1 - p) / n)``: the Monte Carlo error of the
  answer itself, which more ``--runs`` shrink (not the doubt the draws carry, which they do not).
* **Tokens by the date**: each draw's checkpointed tokens on a daily grid,
  linear in between; the expectation is the mean over draws, the fan chart
  the P10/P50/P90 of the draws on each day (up to the end of the shortest
  period among unfinished draws: beyond it, not every draw is known).
* **Drivers** (the tornado): for each source of doubt that applies, the
  draws whose probability for that source lies in its lowest fifth (middle:
  its P10) and in its highest fifth (middle: its P90), the others varying
  freely; the P50 finish day of each group. The wider the swing, the more
  holding that source near one end (buying generators, spares, a measured
  stack) moves the answer. With N draws each group holds about N/5, so each
  driver carries ``noise_days``, the standard error of its swing from the two
  groups' order statistics: a swing within about twice that is chance.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
import json
import math
from typing import Any

import numpy as np

from colossus.forecast.sources import LEVERS, SOURCES, Source, default

#: The quantiles reported.
QUANTILES: tuple[float, ...] = (0.1, 0.5, 0.9)


def quantile(values: Sequence[float], p: float) -> float:
    """The smallest value by which a share ``p`` of ``values`` lies (inf: an unfinished draw)."""
    ordered = sorted(values)
    k = max(0, math.ceil(p * len(ordered) - 1e-9) - 1)
    return ordered[k]


def _day(value: float) -> float | None:
    return value if math.isfinite(value) else None


@dataclass(frozen=True)
class Driver:
    """One row of the tornado: the P50 finish day with a source held near its P10 and near its P90."""

    name: str
    label: str
    lever: str
    p50_low_day: float | None
    p50_high_day: float | None
    p_finish_by_low: float
    p_finish_by_high: float
    value_low: dict[str, float]
    value_high: dict[str, float]
    n_low: int
    n_high: int
    noise_days: float | None  # how far the swing moves by chance alone (one standard error), None if unknown

    @property
    def swing_days(self) -> float | None:
        """How far apart the two P50s lie (inf when one is beyond the period)."""
        lo, hi = self.p50_low_day, self.p50_high_day
        if lo is None and hi is None:
            return None
        if lo is None or hi is None:
            return math.inf
        return abs(hi - lo)

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        swing = self.swing_days
        out["swing_days"] = None if swing is None or not math.isfinite(swing) else swing
        out["swing_beyond_period"] = swing is not None and not math.isfinite(swing)
        return out


@dataclass(frozen=True)
class Forecast:
    """Will the job finish by the date: the answer, its spread, and what drives it."""

    scenario: str
    job: str
    by_day: float
    by_date: str | None
    start_date: str | None
    runs: int
    seed: int
    horizon_day: float
    horizon_factor: float
    factors_tried: tuple[float, ...]
    nominal_finish_day: float | None
    fillers: bool
    train_tokens: float
    p_finish_by: float
    finish_day_p10: float | None
    finish_day_p50: float | None
    finish_day_p90: float | None
    finish_day_p50_band: tuple[float | None, float | None]
    p_finish_by_se: float
    finished_frac: float
    start_day_p50: float | None
    expected_tokens_by: float
    tokens_by_p10: float
    tokens_by_p50: float
    tokens_by_p90: float
    errors: int
    first_error: str | None
    drivers: tuple[Driver, ...]
    sources: tuple[dict[str, Any], ...]
    fan: dict[str, list[float]]
    finish_days: tuple[float | None, ...]
    scope: dict[str, Any]
    store: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def expected_progress_by(self) -> float:
        return self.expected_tokens_by / self.train_tokens if self.train_tokens > 0 else 0.0

    def as_dict(self) -> dict[str, Any]:
        """The forecast as a JSON-able document (``--json``; the keys the issue asks for are top level)."""
        out = asdict(self)
        out["drivers"] = [d.as_dict() for d in self.drivers]
        out["sources"] = list(self.sources)
        out["factors_tried"] = list(self.factors_tried)
        out["finish_days"] = list(self.finish_days)
        out["finish_day_p50_band"] = list(self.finish_day_p50_band)
        out["expected_progress_by"] = self.expected_progress_by
        out.update(out.pop("extras"))
        return out

    def to_dict(self) -> dict[str, Any]:
        """The same document as ``as_dict`` (the public API's name on every result)."""
        return self.as_dict()

    def to_json(self) -> str:
        """Strict JSON, sorted keys: the same forecast gives the same text."""
        return json.dumps(self.as_dict(), indent=2, sort_keys=True, allow_nan=False) + "\n"

    def to_pandas(self) -> Any:
        """One row per draw: its index and finish day (NaN: not finished within its simulated period)."""
        import pandas as pd  # noqa: PLC0415 (heavy; only a notebook asks)

        days = [math.nan if d is None else float(d) for d in self.finish_days]
        return pd.DataFrame({"draw": range(len(days)), "finish_day": days})


# --- from rows ----------------------------------------------------------------------------------


def tokens_grid(horizon_day: float) -> np.ndarray:
    """The days on which a draw's tokens are stored: every ``draws.tokens_grid_days`` (finer for a period
    shorter than ``draws.tokens_min_samples`` of those), and the end of the period."""
    step = min(float(default("draws.tokens_grid_days")), horizon_day / float(default("draws.tokens_min_samples")))
    grid = np.arange(0.0, horizon_day, step)
    return np.append(grid, horizon_day)


def _finish(row: dict[str, Any]) -> float:
    day = row.get("finish_day")
    return math.inf if row.get("error") or day is None else float(day)


def _tokens(row: dict[str, Any]) -> np.ndarray:
    """A draw's checkpointed tokens on the grid of its period (``tokens_grid(days)``)."""
    grid = tokens_grid(float(row["days"]))
    text = row.get("tokens_daily")
    if row.get("error") or not text:
        return np.zeros(grid.size)
    values = np.array(json.loads(text), dtype=np.float64)
    if values.size != grid.size:
        raise ValueError(f"draw {row.get('draw.index')}: {values.size} token samples, expected {grid.size}")
    return values


def _fan(rows: list[dict[str, Any]], finish: np.ndarray, train_tokens: float) -> dict[str, list[float]]:
    """P10/P50/P90 of the draws' tokens on each day, up to where every draw's tokens are known.

    A draw's tokens are known to the end of its period, and beyond it if it finished (its budget);
    the fan stops at the end of the shortest period among unfinished draws.
    """
    ends = [float(r["days"]) for r, f in zip(rows, finish) if not math.isfinite(f)]
    end = min(ends) if ends else max(float(r["days"]) for r in rows)
    grid = tokens_grid(end)
    table = np.empty((len(rows), grid.size))
    for i, (row, f) in enumerate(zip(rows, finish)):
        own = tokens_grid(float(row["days"]))
        tokens = _tokens(row)
        table[i] = np.interp(grid, own, tokens, right=train_tokens if math.isfinite(f) else tokens[-1])
    ordered = np.sort(table, axis=0)
    n = len(rows)
    fan = {"day": grid.tolist()}
    for p in QUANTILES:
        fan[f"tokens_p{round(p * 100)}"] = ordered[max(0, math.ceil(p * n - 1e-9) - 1)].tolist()
    return fan


def _median_se(values: np.ndarray) -> float:
    """One standard error of a group's median, from its order statistics: half the distance between
    the values at ranks n/2 -+ sqrt(n)/2 (a binomial's standard deviation around the median rank)."""
    n = values.size
    half = 0.5 / math.sqrt(n)
    lo, hi = quantile(values.tolist(), max(0.0, 0.5 - half)), quantile(values.tolist(), min(1.0, 0.5 + half))
    return (hi - lo) / 2.0 if math.isfinite(hi - lo) else math.inf


def median_band(values: Sequence[float], z: float) -> tuple[float, float]:
    """A two-sided band for the median of the distribution ``values`` were drawn from: the values at ranks
    ``n/2 -+ z sqrt(n)/2`` (the binomial count of draws below the true median, normal approximation)."""
    n = len(values)
    half = z * math.sqrt(n) / 2.0
    ordered = sorted(values)
    lo = max(0, math.floor(n / 2.0 - half) - 1) if n else 0
    hi = min(n - 1, math.ceil(n / 2.0 + half) - 1) if n else 0
    return ordered[lo], ordered[hi]


def _drivers(rows: list[dict[str, Any]], finish: np.ndarray, by_day: float, sources: Sequence[Source]) -> list[Driver]:
    frac = float(default("tornado.bin_frac"))
    out = []
    for source in sources:
        if not source.active:
            continue
        u = np.array([float(r[f"u.{source.name}"]) for r in rows])
        low, high = finish[u < frac], finish[u >= 1.0 - frac]
        if low.size == 0 or high.size == 0:
            continue
        out.append(Driver(
            name=source.name, label=source.label, lever=LEVERS[source.name],
            p50_low_day=_day(quantile(low.tolist(), 0.5)), p50_high_day=_day(quantile(high.tolist(), 0.5)),
            p_finish_by_low=float(np.mean(low <= by_day)), p_finish_by_high=float(np.mean(high <= by_day)),
            value_low=source.at(0.1), value_high=source.at(0.9), n_low=int(low.size), n_high=int(high.size),
            noise_days=_day(math.hypot(_median_se(low), _median_se(high)))))
    out.sort(key=lambda d: (-(d.swing_days if d.swing_days is not None else -1.0), SOURCES.index(d.name)))
    return out


@dataclass(frozen=True)
class Question:
    """What was asked (everything of the answer that does not come from the draws)."""

    scenario: str
    job: str
    by_day: float
    by_date: str | None
    start_date: str | None
    seed: int
    fillers: bool
    train_tokens: float
    nominal_finish_day: float | None
    scope: dict[str, Any]


def answer(question: Question, rows: list[dict[str, Any]], sources: Sequence[Source], *, horizons: Sequence[float],
           factors_tried: Sequence[float], store: str | None = None) -> Forecast:
    """The forecast from the draws' rows (in draw order), each simulated to its own period (``days``)."""
    if not rows:
        raise ValueError("a forecast needs at least one draw")
    finish = np.array([_finish(r) for r in rows])
    by_tokens = np.array([np.interp(question.by_day, tokens_grid(float(r["days"])), _tokens(r)) for r in rows])
    starts = [float(r["start_day"]) if r.get("start_day") is not None else math.inf for r in rows]
    errors = [str(r["error"]) for r in rows if r.get("error")]
    n = len(rows)
    p10, p50, p90 = (_day(quantile(finish.tolist(), p)) for p in QUANTILES)
    band = median_band(finish.tolist(), float(default("answer.band_z")))
    p_by = float(np.mean(finish <= question.by_day))
    return Forecast(
        scenario=question.scenario, job=question.job, by_day=question.by_day, by_date=question.by_date,
        start_date=question.start_date, runs=n, seed=question.seed, horizon_day=float(max(horizons)),
        horizon_factor=float(factors_tried[-1]), factors_tried=tuple(factors_tried),
        nominal_finish_day=question.nominal_finish_day, fillers=question.fillers, train_tokens=question.train_tokens,
        p_finish_by=p_by, p_finish_by_se=math.sqrt(p_by * (1.0 - p_by) / n),
        finish_day_p10=p10, finish_day_p50=p50, finish_day_p90=p90,
        finish_day_p50_band=(_day(band[0]), _day(band[1])),
        finished_frac=float(np.mean(np.isfinite(finish))), start_day_p50=_day(quantile(starts, 0.5)),
        expected_tokens_by=float(np.mean(by_tokens)),
        tokens_by_p10=float(quantile(by_tokens.tolist(), 0.1)), tokens_by_p50=float(quantile(by_tokens.tolist(), 0.5)),
        tokens_by_p90=float(quantile(by_tokens.tolist(), 0.9)),
        errors=len(errors), first_error=errors[0] if errors else None,
        drivers=tuple(_drivers(rows, finish, question.by_day, sources)),
        sources=tuple(s.as_dict() for s in sources), fan=_fan(rows, finish, question.train_tokens),
        finish_days=tuple(_day(f) for f in finish.tolist()), scope=question.scope, store=store,
    )


__all__ = ["Driver", "Forecast", "QUANTILES", "Question", "answer", "median_band", "quantile", "tokens_grid"]
