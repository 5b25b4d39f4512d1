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
from types import MappingProxyType
from typing import Any, Mapping

from colossus import catalog
from colossus.errors import SpecError

#: The catalog files the performance model reads, by short name.
TABLES: tuple[str, ...] = ("compute", "network", "software", "memory")


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return MappingProxyType({k: _freeze(v) for k, v in value.items()})
    return value


def _thaw(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: _thaw(v) for k, v in value.items()}
    return value


@dataclass(frozen=True, eq=False)  # identity hash: usable as a cache key
class PerfAssumptions:
    """All named assumptions, as four nested read-only tables."""

    compute: Mapping[str, Any] = field(default_factory=dict)
    network: Mapping[str, Any] = field(default_factory=dict)
    software: Mapping[str, Any] = field(default_factory=dict)
    memory: Mapping[str, Any] = field(default_factory=dict)

    def get(self, dotted: str) -> Any:
        """One value by dotted path, e.g. ``"network.nccl.net_busbw_eff"``."""
        parts = dotted.split(".")
        node: Any = getattr(self, parts[0]) if parts[0] in TABLES else None
        for part in parts[1:]:
            if not isinstance(node, Mapping) or part not in node:
                raise SpecError(f"unknown performance assumption '{dotted}'")
            node = node[part]
        if node is None:
            raise SpecError(f"unknown performance assumption '{dotted}' (tables: {', '.join(TABLES)})")
        return node

    def with_overrides(self, overrides: Mapping[str, Any]) -> "PerfAssumptions":
        """A copy with values replaced by dotted path; an unknown path is a ``SpecError``."""
        tables = {name: _thaw(getattr(self, name)) for name in TABLES}
        for dotted, value in overrides.items():
            self.get(dotted)  # must exist: no silent new keys
            parts = dotted.split(".")
            node = tables[parts[0]]
            for part in parts[1:-1]:
                node = node[part]
            node[parts[-1]] = value
        return PerfAssumptions(**{name: _freeze(t) for name, t in tables.items()})

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
    return PerfAssumptions(**{name: _freeze(catalog.read_table(f"perf_{name}")) for name in TABLES})
