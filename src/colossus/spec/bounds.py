"""The limits of every number a user can write, declared once and shared by files, CLI, web and sweeps.

Why: a value that is well-formed but absurd (``days: .inf``, a seed of
``-5``, a billion generators, a one-microsecond telemetry interval) used to
reach the models, where it grew memory without end, looped per unit in
Python, or ended in a traceback far from the field that caused it. Each
field's type below says what the value means physically, so the same
limit guards a scenario file, a CLI option (``cli`` checks options against
these types with ``check``), a dashboard knob (``web.models`` uses them) and
a swept value (a sweep validates every point as a scenario). A value out of
bounds is one ``SpecError`` line naming the file, the field, the value and
the bound.

Every number is finite (NaN and infinities are refused wherever they come
from: ``.inf`` in YAML, ``nan`` on the command line, ``1e400`` in JSON) and
never a boolean (``true`` is not 1). Whole numbers fit in 64 bits.

The limits are not fitted to anything: each is far outside what a real
cluster or run has, and close enough that the work a single value can ask
for stays bounded (the reason is beside each). Limits on what several fields
ask for together (telemetry samples, generator outages) are checked where
those fields meet.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from colossus.catalog.assumptions import check_overrides
from colossus.errors import SpecError

# --- the limits ------------------------------------------------------------------------------

#: Largest value of any quantity in a file's human units. The largest real ones (tokens of a
#: training run, ~1e13) are far below; products of a few such values stay finite in float64.
MAX_QUANTITY = 1e18
#: Largest whole number: integers are exact in float64 up to 2**53, and the models compute in floats.
MAX_WHOLE = 2**53
#: Seeds are non-negative 64-bit integers (numpy's SeedSequence; the int64 seed column of results).
MAX_SEED = 2**63 - 1
#: Longest simulated period, days: a decade, beyond the service life of a GPU cluster.
MAX_DAYS = 3650.0
#: Telemetry samples one simulation may record: about four years of one-minute samples
#: (each sample is a row of about 30 float64 columns, kept in memory until written).
MAX_TELEMETRY_SAMPLES = 2**21
#: Shortest telemetry interval, minutes: one second, finer than any facility meter.
MIN_TELEMETRY_MIN = 1 / 60
#: Shortest checkpoint interval, minutes: the fastest published cadence is a few minutes; one
#: minute keeps a job's checkpoint events at most one per simulated minute.
MIN_CHECKPOINT_MIN = 1.0
#: GPUs of one pool, job or measured run: ten times the largest cluster built (~100k-200k GPUs).
MAX_GPUS = 1_000_000
#: Pools of one cluster (one fabric): a few in practice.
MAX_POOLS = 64
#: Named jobs of one scenario.
MAX_JOBS = 1000
#: Generator fleets or battery banks of one site.
MAX_FLEETS = 256
#: Units of one generator fleet or battery bank (Colossus had 14-35 generators, 168 Megapacks).
MAX_UNITS = 10_000
#: Power in MW of a grid feed or contract (the largest power plants are ~10 GW).
MAX_MW = 100_000.0
#: Power of one component (a GPU, a switch, a NIC, a server's fans), W: a whole rack draws ~100 kW.
MAX_PART_W = 100_000.0
#: Multiple of the fleet's failure rates: a small test cluster may be stressed at a few hundred times the
#: fleet's rates; at 1000x a 100k-GPU job would be interrupted every couple of seconds.
MAX_RATE_SCALE = 1000.0
#: Shortest mean generator outage, hours: six minutes, a trip and restart.
MIN_GENERATOR_MTTR_H = 0.1
#: Expected generator outages drawn for one simulation (each is an event of the simulation).
MAX_GENERATOR_OUTAGES = 1_000_000
#: Monte Carlo histories of one reliability analysis (memory grows linearly: ~100 bytes each per step).
MAX_MC_RUNS = 100_000
#: Tokens of one training run (today's largest are ~1.5e13); at least one token.
MAX_TOKENS = 1e18
#: A link, port or NIC bandwidth, Gbit/s: from 100 Mbit/s (a management port) to 1 Pbit/s.
MIN_GBIT_PER_S, MAX_GBIT_PER_S = 0.1, 1e6
#: Runs of one sweep (points x seeds): each is at least an estimate, and a row in the store.
MAX_SWEEP_RUNS = 1_000_000
#: Largest transformer dimension (hidden, FFN width, vocabulary, sequence length): 2**24.
MAX_WIDTH = 2**24
#: Largest structural count of a model or layout (layers, heads, experts, parallel degree): 2**16.
MAX_DEGREE = 2**16
#: Largest count of parts in one server or rack (ports, DIMMs, NICs, rack units).
MAX_PARTS = 4096


# --- checks shared by every number -------------------------------------------------------------


def _not_bool(value: Any) -> Any:
    """``true``/``false`` are not numbers (pydantic's lax mode would read them as 1 and 0)."""
    if isinstance(value, bool):
        raise PydanticCustomError("number_not_bool", "must be a number, not {value}",
                                  {"value": str(value).lower()})
    return value


def _whole(value: Any) -> Any:
    """A whole number: never a boolean; an integral float (``12.0``, as JSON may write it) is the integer."""
    value = _not_bool(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


NotBool = BeforeValidator(_not_bool)
WholeNumber = BeforeValidator(_whole)


def real(*, gt: float | None = None, ge: float | None = None, lt: float | None = None,
         le: float | None = MAX_QUANTITY) -> Any:
    """A finite float with bounds (upper bound ``MAX_QUANTITY`` unless given).

    The bounds come before the boolean check so that pydantic applies them
    natively and the JSON schema shows them (``minimum``, ``maximum``).
    """
    return Annotated[float, Field(gt=gt, ge=ge, lt=lt, le=le, allow_inf_nan=False), NotBool]


def whole(*, gt: int | None = None, ge: int | None = None, le: int = MAX_WHOLE) -> Any:
    """A whole number with bounds (upper bound ``MAX_WHOLE`` unless given)."""
    return Annotated[int, Field(gt=gt, ge=ge, le=le), WholeNumber]


# --- generic kinds ---------------------------------------------------------------------------------

PositiveFloat = real(gt=0)
NonNegFloat = real(ge=0)
Fraction = real(ge=0, le=1)
#: An efficiency or share that cannot be zero (PSU efficiency, round-trip efficiency, MFU).
Efficiency = real(gt=0, le=1)
PositiveInt = whole(gt=0)
NonNegInt = whole(ge=0)
#: Any finite float (assumption overrides: their own model checks the range).
FiniteFloat = real(le=None)


def overrides(prefix: str) -> Any:
    """Overrides of the ``prefix`` model's named assumptions by dotted path (finite numbers, flags or text),
    checked against the catalog's tables when read (``catalog.assumptions.check_overrides``)."""
    def check(value: dict[str, Any]) -> dict[str, Any]:
        try:
            check_overrides(prefix, value)
        except SpecError as exc:
            raise ValueError(str(exc)) from None
        return value
    return Annotated[dict[str, Annotated[float, Field(allow_inf_nan=False), NotBool] | int | bool | str],
                     AfterValidator(check)]


#: Overrides of the performance model's named assumptions (``catalog/data/perf_*.toml``).
PerfOverrides = overrides("perf")
#: Overrides of the power model's named assumptions (``catalog/data/power_*.toml``).
PowerOverrides = overrides("power")

# --- physical kinds ----------------------------------------------------------------------------------

Seed = whole(ge=0, le=MAX_SEED)
#: A simulated period, days.
Days = real(gt=0, le=MAX_DAYS)
#: A day of a scenario's calendar (start, ramp, burn-in, contract start), days from the start.
Day = real(ge=0, le=MAX_DAYS)
TelemetryMinutes = real(ge=MIN_TELEMETRY_MIN, le=24 * 60)
#: Minutes between checkpoints (at most a week: a job that never checkpoints sets no interval).
CheckpointMinutes = real(ge=MIN_CHECKPOINT_MIN, le=7 * 24 * 60)
GpuCount = whole(gt=0, le=MAX_GPUS)
#: Units of a generator fleet or battery bank (0: none).
UnitCount = whole(ge=0, le=MAX_UNITS)
Megawatts = real(ge=0, le=MAX_MW)
#: Power of one component, W (> 0).
PartWatts = real(gt=0, le=MAX_PART_W)
#: Power of one component that may draw nothing, W.
PartWattsOrZero = real(ge=0, le=MAX_PART_W)
RateScale = real(ge=0, le=MAX_RATE_SCALE)
GeneratorMttrHours = real(ge=MIN_GENERATOR_MTTR_H, le=365 * 24)
MonteCarloRuns = whole(ge=0, le=MAX_MC_RUNS)
Tokens = real(ge=1, le=MAX_TOKENS)
GbitPerS = real(ge=MIN_GBIT_PER_S, le=MAX_GBIT_PER_S)
#: A transformer dimension: hidden, FFN width, head width, vocabulary, sequence length, LoRA rank.
Width = whole(gt=0, le=MAX_WIDTH)
WidthOrZero = whole(ge=0, le=MAX_WIDTH)
#: A structural count: layers, heads, experts, parallel degrees, interleave, micro-batch.
Degree = whole(gt=0, le=MAX_DEGREE)
DegreeOrZero = whole(ge=0, le=MAX_DEGREE)
#: Sequences per optimizer step (a 16M-token batch of 8k sequences is 2,048).
BatchSequences = whole(gt=0, le=2**32)
#: Parts of one server, rack or switch: ports, CPUs, DIMMs, NICs, rack units.
Parts = whole(gt=0, le=MAX_PARTS)
PartsOrZero = whole(ge=0, le=MAX_PARTS)
#: A scheduling priority (higher runs first).
Priority = whole(ge=0, le=2**31 - 1)
#: Days a schedule may slip in a forecast (negative: early), as far as a simulated period reaches.
SlipDays = real(ge=-MAX_DAYS, le=MAX_DAYS)
#: A forecast's multiplier of a duration or a rate: from a hundredth to a hundred times.
Factor = real(ge=0.01, le=100)
#: A forecast's multiplier of a forced-outage share (0: never out).
OutageFactor = real(ge=0, le=100)
#: Multiple of the date (or the expected finish) a forecast's simulated period reaches first.
HorizonFactor = real(ge=1, le=10)


def telemetry_samples(days: float, interval_min: float) -> float:
    """Samples a simulation of ``days`` records at one per ``interval_min``."""
    return days * 24 * 60 / interval_min


def telemetry_problem(days: float, interval_min: float) -> str | None:
    """Why ``days`` at ``interval_min`` is too many samples, or None."""
    samples = telemetry_samples(days, interval_min)
    if samples <= MAX_TELEMETRY_SAMPLES:
        return None
    shortest = days * 24 * 60 / MAX_TELEMETRY_SAMPLES
    return (f"{days:g} days at one sample per {interval_min:g} min is {samples:,.0f} telemetry samples"
            f" (limit {MAX_TELEMETRY_SAMPLES:,}); use telemetry_interval_min >= {shortest:.3g} or fewer days")


__all__ = [
    "BatchSequences",
    "Factor",
    "HorizonFactor",
    "OutageFactor",
    "SlipDays",
    "CheckpointMinutes",
    "Day",
    "Days",
    "Degree",
    "DegreeOrZero",
    "Efficiency",
    "FiniteFloat",
    "Fraction",
    "GbitPerS",
    "GeneratorMttrHours",
    "GpuCount",
    "MAX_DAYS",
    "MAX_FLEETS",
    "MAX_GENERATOR_OUTAGES",
    "MAX_GPUS",
    "MAX_JOBS",
    "MAX_MC_RUNS",
    "MAX_MW",
    "MAX_POOLS",
    "MAX_QUANTITY",
    "MAX_SEED",
    "MAX_SWEEP_RUNS",
    "MAX_TELEMETRY_SAMPLES",
    "MAX_UNITS",
    "MAX_WHOLE",
    "Megawatts",
    "MonteCarloRuns",
    "NonNegFloat",
    "NonNegInt",
    "PartWatts",
    "PartWattsOrZero",
    "PerfOverrides",
    "PowerOverrides",
    "overrides",
    "Parts",
    "PartsOrZero",
    "PositiveFloat",
    "PositiveInt",
    "Priority",
    "RateScale",
    "Seed",
    "TelemetryMinutes",
    "Tokens",
    "UnitCount",
    "Width",
    "WidthOrZero",
    "real",
    "telemetry_problem",
    "telemetry_samples",
    "whole",
]
