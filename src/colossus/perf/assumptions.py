"""The named assumptions of the performance model, read from the catalog.

Every efficiency, overlap fraction and byte count the model uses lives in
``catalog/data/perf_compute.toml``, ``perf_network.toml``, ``perf_overlap.toml``
and ``perf_memory.toml`` (what a software stack does by default is a catalog kind of
its own, ``software.toml``), with a source or an ``# assumption:`` comment per
figure. ``PerfAssumptions`` holds them, immutable; ``with_overrides`` makes a
variant (from a scenario, or a calibration) without touching the files.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar

from colossus.catalog.assumptions import AssumptionTables
from colossus.errors import SpecError


@dataclass(frozen=True, eq=False)  # identity hash: usable as a cache key
class PerfAssumptions(AssumptionTables):
    """All named assumptions, as four nested read-only tables."""

    NOUN: ClassVar[str] = "performance"
    PREFIX: ClassVar[str] = "perf"

    compute: Mapping[str, Any] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    overlap: Mapping[str, Any] = field(default_factory=dict)
    memory: Mapping[str, Any] = field(default_factory=dict)

    # --- typed accessors used by the model ---------------------------------------
    def f(self, dotted: str) -> float:
        """One numeric assumption by dotted path."""
        return float(self.get(dotted))

    def gemm_curve(self, architecture: str, precision: str) -> tuple[float, float]:
        """``(eff_max, dim_half)`` of GEMMs on ``architecture`` in ``precision``."""
        try:
            curve = self.compute["gemm"][architecture][precision]
        except KeyError:
            raise SpecError(
                f"no GEMM efficiency for {architecture} in {precision}"
                " in catalog/data/perf_compute.toml"
            ) from None
        return float(curve["eff_max"]), float(curve["dim_half"])

    def attention_kernel(self, kernel: str, architecture: str) -> Mapping[str, Any]:
        """Efficiency curve of a fused attention kernel on a GPU generation."""
        try:
            return self.compute["attention"]["kernels"][kernel][architecture]
        except KeyError:
            raise SpecError(
                f"no efficiency figures for the {kernel} attention kernel on {architecture} GPUs"
                " in catalog/data/perf_compute.toml"
            ) from None


@cache
def default_assumptions() -> PerfAssumptions:
    """The shipped assumptions (read once)."""
    return PerfAssumptions.from_catalog()
