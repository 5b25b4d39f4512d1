"""The named assumptions of the performance model, read from the catalog.

Every efficiency, overlap fraction and byte count the model uses lives in
``catalog/data/perf_compute.toml``, ``perf_network.toml``, ``perf_software.toml``
and ``perf_memory.toml``, with a source or an ``# assumption:`` comment per
figure. ``PerfAssumptions`` holds them, immutable; ``with_overrides`` makes a
variant (from a scenario, or a calibration) without touching the files.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any, ClassVar, Mapping

from colossus.catalog.assumptions import AssumptionTables
from colossus.errors import SpecError



@dataclass(frozen=True, eq=False)  # identity hash: usable as a cache key
class PerfAssumptions(AssumptionTables):
    """All named assumptions, as four nested read-only tables."""

    NOUN: ClassVar[str] = "performance"
    PREFIX: ClassVar[str] = "perf"

    compute: Mapping[str, Any] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, Any] = field(default_factory=dict)
    memory: Mapping[str, Any] = field(default_factory=dict)

    # --- typed accessors used by the model ---------------------------------------
    def software_profile(self, architecture: str) -> Mapping[str, Any]:
        """Overlap and sizing profile of the software stack assumed for a GPU generation."""
        try:
            return self.software[architecture]
        except KeyError:
            raise SpecError(
                f"no software profile for GPU architecture '{architecture}'"
                f" in catalog/data/perf_software.toml (has: {', '.join(self.software)})"
            ) from None

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

    def attention(self, architecture: str) -> Mapping[str, Any]:
        try:
            return self.compute["attention"][architecture]
        except KeyError:
            raise SpecError(
                f"no attention-kernel entry for {architecture} in catalog/data/perf_compute.toml"
            ) from None


@cache
def default_assumptions() -> PerfAssumptions:
    """The shipped assumptions (read once)."""
    return PerfAssumptions.from_catalog()
