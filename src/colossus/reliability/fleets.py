"""Fleet profiles: per-unit failure rates of one published fleet, and the spread between fleets.

Only Llama 3's log gives counts by root cause, so its per-unit rates
(``rates.log_causes``) are the shape every fleet starts from. A fleet with
figures of its own (``catalog/data/fleets.toml``) scales the causes each figure
covers: an *observation* is a published count over an exposure (a job or
cluster of ``num_gpus`` for ``days``), and its multiplier is that count over
what the base rates give for the same exposure and causes. The rack domains
(``failure_domains.toml``) belong to the facility and are added unscaled.

The published fleets differ by large factors (a 2021 cloud A100 fleet without
automation fails several times as often as Llama 3's 2024 H100 fleet): that
spread is the model's honest uncertainty about a fleet nobody has measured.
``fleet_spread`` gives it as data: each fleet's unexpected-interruption rate
relative to a reference fleet at one job size, and the standard deviation of
their logarithms; ``sample_rate_multipliers`` draws multipliers from it for a
forecast (lognormal with median 1: the chosen fleet is the best guess, the
others say how wrong it can be).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from functools import cache
import math
from typing import Any

import numpy as np

from colossus import units
from colossus.catalog import read_table
from colossus.errors import CatalogError, SpecError, did_you_mean
from colossus.reliability.assumptions import default_assumptions
from colossus.reliability.rates import (
    CAUSES,
    CauseRate,
    Footprint,
    domain_causes,
    footprint,
    for_generation,
    gpu_arch,
    job_rates,
    log_arch,
    log_causes,
    mttf_unplanned_s,
    mtti_s,
    scaled,
    total_per_s,
)
from colossus.spec import FabricSpec

_FILE = "catalog/data/fleets.toml"
SELECTORS: tuple[str, ...] = ("all", "unplanned", "hardware", "spare")


@dataclass(frozen=True, slots=True)
class Observation:
    """One published count a fleet is fitted on, and the multiplier it gives."""

    what: str
    select: str
    count: float  # published count times ``share``
    days: float
    num_gpus: int
    expected: float  # what the base rates give for the same exposure and causes
    multiplier: float  # count / expected


@dataclass(frozen=True, slots=True)
class Fleet:
    name: str
    source: str
    record: str  # id in ../shared/validation/reliability.yaml
    gpu: str
    arch: str  # the GPU's architecture (rates carry over to others by ``rates.for_generation``)
    restart: str  # restart profile (restart_profiles.toml)
    rest: str  # "base" or "same": how causes no observation covers are treated
    observations: tuple[Observation, ...]
    causes: tuple[CauseRate, ...]  # fitted per-unit rates, rack domains included


def default_fabric() -> FabricSpec:
    """The fabric assumed without a scenario: Spectrum-X SN5600 at 400 Gbit/s per GPU,
    rail-optimised, as many tiers as the job needs (assumption: Colossus-like, NVIDIA's
    reference design; only its switch count matters here)."""
    return FabricSpec.model_validate({
        "name": "default-400g", "switch": "sn5600", "nic_gbit_per_s": 400, "link_gbit_per_s": 400,
        "tiers": "auto", "rail_optimized": True, "nic_link_optical": True, "optic": "osfp-800g-2xsr4",
        "cable_latency_ns_per_hop": 50,
    })


def selects(cause: CauseRate, select: str) -> bool:
    """Whether ``select`` (a selector or a comma list of cause groups) covers ``cause``."""
    if select == "all":
        return True
    if select == "unplanned":
        return not cause.planned
    if select == "hardware":
        return cause.hardware and not cause.planned
    if select == "spare":
        return cause.needs_spare
    return cause.cause in {g.strip() for g in select.split(",")}


def _check_selector(select: str, path: list[str]) -> None:
    if select in SELECTORS:
        return
    bad = [g for g in (g.strip() for g in select.split(",")) if g not in CAUSES]
    if bad:
        raise CatalogError(f"unknown selector or cause group '{bad[0]}'{did_you_mean(bad[0], (*SELECTORS, *CAUSES))}",
                           file=_FILE, path=path)


def reference_footprint(num_gpus: int, *, gpus_per_server: int = 8, servers_per_rack: int | None = None) -> Footprint:
    """What a compactly placed job of ``num_gpus`` spans on the default fabric and racks
    (``placement.servers_per_rack``); a size that does not fill whole servers spans the
    servers it touches."""
    if servers_per_rack is None:
        servers_per_rack = default_assumptions().servers_per_rack
    if num_gpus <= 0:
        raise SpecError(f"the job's GPUs must be > 0 (got {num_gpus})")
    whole = -(-num_gpus // gpus_per_server) * gpus_per_server
    fp = footprint(whole, gpus_per_server=gpus_per_server, fabric=default_fabric(), servers_per_rack=servers_per_rack)
    return replace(fp, num_gpus=num_gpus)


def expected_count(causes: tuple[CauseRate, ...], select: str, fp: Footprint, days: float) -> float:
    """Interruptions the ``select``-ed causes give a job spanning ``fp`` over ``days``."""
    return sum(r.per_s for r in job_rates(fp, causes) if selects(r.cause, select)) * days * units.DAY


def _number(row: Mapping[str, Any], key: str, path: list[str], *, positive: bool = True) -> float:
    try:
        value = float(row[key])
    except KeyError:
        raise CatalogError(f"missing '{key}'", file=_FILE, path=path) from None
    except (TypeError, ValueError):
        raise CatalogError(f"'{key}' must be a number", file=_FILE, path=path) from None
    if not math.isfinite(value) or value < 0 or (positive and value == 0):
        raise CatalogError(f"'{key}' must be a finite number {'>' if positive else '>='} 0", file=_FILE, path=path)
    return value


def _observation(row: Mapping[str, Any], base: tuple[CauseRate, ...], path: list[str]) -> Observation:
    select = str(row.get("select", ""))
    _check_selector(select, [*path, "select"])
    count = _number(row, "count", path) * (_number(row, "share", path) if "share" in row else 1.0)
    days, gpus = _number(row, "days", path), int(_number(row, "num_gpus", path))
    expected = expected_count(base, select, reference_footprint(gpus), days)
    if expected <= 0:
        raise CatalogError(f"the base rates give no '{select}' interruptions to fit", file=_FILE, path=path)
    return Observation(str(row.get("what", select)), select, count, days, gpus, expected, count / expected)


def _fit(name: str, row: Mapping[str, Any]) -> Fleet:
    for key in ("source", "record", "gpu", "restart"):
        if not isinstance(row.get(key), str) or not row[key].strip():
            raise CatalogError(f"missing '{key}'", file=_FILE, path=[name])
    arch = gpu_arch(row["gpu"])
    base = for_generation(log_causes(), log_arch(), arch)  # the log's shape on this fleet's GPUs
    rows = row.get("observations", [])
    obs = tuple(_observation(o, base, [name, "observations", str(i)]) for i, o in enumerate(rows))
    rest = str(row.get("rest", "base"))
    if rest not in ("base", "same") or (rest == "same" and len(obs) != 1):
        raise CatalogError("rest must be 'base', or 'same' with exactly one observation", file=_FILE,
                           path=[name, "rest"])
    fitted = []
    for c in base:
        covering = [o for o in obs if selects(c, o.select)]
        if len(covering) > 1:
            raise CatalogError(f"cause '{c.name}' is covered by more than one observation", file=_FILE, path=[name])
        m = covering[0].multiplier if covering else (obs[0].multiplier if rest == "same" else 1.0)
        fitted.append(replace(c, per_unit_per_s=c.per_unit_per_s * m))
    return Fleet(name, row["source"], row["record"], row["gpu"], arch, row["restart"], rest, obs,
                 tuple(fitted) + domain_causes())


@cache
def _table() -> Mapping[str, Any]:
    return read_table("fleets")


def fleet_names() -> tuple[str, ...]:
    return tuple(_table())


@cache
def fleet(name: str) -> Fleet:
    """The fleet profile ``name``; ``SpecError`` with the closest name if unknown."""
    table = _table()
    if name not in table:
        raise SpecError(f"unknown fleet '{name}'{did_you_mean(name, table)} (the catalog has: {', '.join(table)})")
    return _fit(name, table[name])


def default_fleet_name() -> str:
    """The fleet used when none is named (``reliability_assumptions.toml``)."""
    return str(read_table("reliability_assumptions")["fleet"]["default"])


def fleet_causes(name: str | None = None, *, rate_scale: float = 1.0, arch: str | None = None,
                 domain_per_rack_per_year: Mapping[str, float] | None = None) -> tuple[CauseRate, ...]:
    """Per-unit rates of fleet ``name`` (default fleet if None), every rate times ``rate_scale``.

    ``arch`` carries the rates over to GPUs of another architecture (``rates.for_generation``);
    ``domain_per_rack_per_year`` replaces rack domains' rates (a site's own incident log).
    """
    f = fleet(name or default_fleet_name())
    causes = for_generation(f.causes, f.arch, arch)
    if domain_per_rack_per_year:
        known = {c.name for c in causes if c.domain}
        for key, value in domain_per_rack_per_year.items():
            if key not in known:
                raise SpecError(f"unknown rack domain '{key}'{did_you_mean(key, known)}")
            if not (value >= 0 and math.isfinite(value)):
                raise SpecError(f"the rate of rack domain '{key}' must be a finite number >= 0")
        causes = tuple(replace(c, per_unit_per_s=domain_per_rack_per_year[c.name] / units.YEAR)
                       if c.domain and c.name in domain_per_rack_per_year else c for c in causes)
    return scaled(causes, rate_scale)


# --- the spread between published fleets -------------------------------------------


@dataclass(frozen=True, slots=True)
class FleetSpread:
    """Each fleet's unexpected-interruption rate relative to ``reference`` at ``num_gpus``."""

    reference: str
    num_gpus: int
    multipliers: dict[str, float]
    log_sd: float  # standard deviation of log(multiplier) over the fleets (n - 1 denominator)

    @property
    def factor_1sd(self) -> float:
        """The factor one standard deviation spans (exp(log_sd))."""
        return math.exp(self.log_sd)


def _spread_gpus() -> int:
    return int(read_table("reliability_assumptions")["fleet"]["spread_reference_gpus"])


@cache
def fleet_spread(reference: str | None = None) -> FleetSpread:
    """How far the published fleets' unexpected-interruption rates lie from ``reference``'s.

    Compared at one job size (``fleet.spread_reference_gpus``, a Llama-3-sized job), so
    that per-job and per-node causes weigh as they would for a large training job.
    """
    ref = reference or default_fleet_name()
    fp = reference_footprint(_spread_gpus())
    base = total_per_s(job_rates(fp, fleet(ref).causes), planned=False)
    mult = {n: total_per_s(job_rates(fp, fleet(n).causes), planned=False) / base for n in fleet_names()}
    logs = np.log(np.array(list(mult.values())))
    sd = float(np.std(logs, ddof=1)) if logs.size > 1 else 0.0
    return FleetSpread(ref, fp.num_gpus, mult, sd)


def sample_rate_multipliers(rng: np.random.Generator, num: int, spread: FleetSpread | None = None) -> np.ndarray:
    """``num`` multipliers of every failure rate, lognormal with median 1 and the fleets' log spread.

    For a forecast that carries fleet uncertainty: multiply the chosen fleet's rates by
    one draw per history. ``alternative_fleets`` is the discrete alternative.
    """
    if num < 0:
        raise SpecError(f"the number of draws must be >= 0 (got {num})")
    s = spread or fleet_spread()
    return np.exp(rng.normal(0.0, s.log_sd, num))


def alternative_fleets() -> tuple[Fleet, ...]:
    """Every published fleet profile (a forecast may sample among them)."""
    return tuple(fleet(n) for n in fleet_names())


# --- documents ---------------------------------------------------------------------


def fleet_document(name: str) -> dict[str, Any]:
    """A fleet as ``colossus show --catalog --json`` lists it (SI units)."""
    f = fleet(name)
    doc: dict[str, Any] = {
        "source": f.source, "record": f.record, "gpu": f.gpu, "architecture": f.arch,
        "restart_profile": f.restart, "rest": f.rest,
        "fitted_on": [{"what": o.what, "select": o.select, "count": o.count, "days": o.days,
                       "num_gpus": o.num_gpus, "multiplier": o.multiplier} for o in f.observations],
    }
    for n in (1024, 16384, 100000):
        rates = job_rates(reference_footprint(n), f.causes)
        doc[f"mtti_s_at_{n}_gpus"] = mtti_s(rates)
        doc[f"mttf_unplanned_s_at_{n}_gpus"] = mttf_unplanned_s(rates)
    doc["relative_to_default"] = fleet_spread().multipliers[name]
    return doc


def catalog_fleets() -> dict[str, dict[str, Any]]:
    """Every fleet's document, and the spread between them."""
    return {n: fleet_document(n) for n in fleet_names()}


__all__ = [
    "Fleet", "FleetSpread", "Observation", "SELECTORS", "alternative_fleets", "catalog_fleets",
    "default_fabric", "default_fleet_name", "expected_count", "fleet", "fleet_causes", "fleet_document",
    "fleet_names", "fleet_spread", "reference_footprint", "sample_rate_multipliers", "selects",
]
