"""How much slower a GPU computes under a power limit below its TDP.

The throughput-vs-cap curve is the one the power model fits to the Zeus
power-limit sweeps (You et al., NSDI 2023; ``catalog/data/power_capping.toml``,
fitted by ``colossus.power.capping.fit_cap_curve``): with ``h = cap / u`` (``u``
the power the work would draw uncapped),

    r(h) = (1 + (knee / h)^n) ^ (-g / n).

A training run's GEMM and attention phases would draw ``u = compute_draw_frac x
TDP`` (``power_load.toml [phases]``); their speed at a limit ``P`` relative to
the TDP is ``r(P / u) / r(TDP / u)``. Memory-bound work and communication are
taken as unaffected (HBM and NIC clocks are not lowered by the SM power limit).
The curve lives here, below ``power`` in the import graph, so that the power
model and the performance model use one curve.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.catalog import read_table
from colossus.errors import SpecError
from colossus.spec import GpuSpec


@dataclass(frozen=True, slots=True)
class CapCurve:
    """The fitted throughput and draw curves of a capped GPU."""

    knee: float
    sharpness: float
    low_exponent: float
    draw_knee: float
    draw_sharpness: float

    def _raw_throughput(self, h):
        return (1.0 + (self.knee / h) ** self.sharpness) ** (-self.low_exponent / self.sharpness)

    def throughput_frac(self, cap_w, uncapped_w, reference_cap_w=None):
        """Throughput at ``cap_w`` relative to ``reference_cap_w`` (default: no cap at all).

        Works on floats and numpy arrays alike.
        """
        kept = self._raw_throughput(np.asarray(cap_w, dtype=float) / uncapped_w)
        if reference_cap_w is not None:
            kept = kept / self._raw_throughput(np.asarray(reference_cap_w, dtype=float) / uncapped_w)
        return kept

    def drawn_w(self, cap_w, uncapped_w):
        """Average power drawn under ``cap_w`` by work that would draw ``uncapped_w``."""
        h = np.asarray(cap_w, dtype=float) / uncapped_w
        return uncapped_w * (1.0 + (self.draw_knee / h) ** self.draw_sharpness) ** (-1.0 / self.draw_sharpness)


def shipped_curve() -> CapCurve:
    """The curve in ``power_capping.toml [curve]``."""
    curve = read_table("power_capping")["curve"]
    return CapCurve(*(float(curve[k]) for k in ("knee", "sharpness", "low_exponent", "draw_knee", "draw_sharpness")))


def compute_clock_frac(gpu: GpuSpec, power_limit_w: float | None) -> float:
    """Speed of compute-bound work at ``power_limit_w`` relative to the GPU at its TDP (1.0 if no limit)."""
    if power_limit_w is None or power_limit_w >= gpu.tdp_w:
        return 1.0
    if power_limit_w < gpu.min_power_cap_w:
        raise SpecError(
            f"power limit {power_limit_w:g} W is below {gpu.name}'s lowest settable limit ({gpu.min_power_cap_w:g} W)",
            path=["cluster", "power_limit_w"],
        )
    uncapped_w = float(read_table("power_load")["phases"]["compute_draw_frac"]) * gpu.tdp_w
    return float(shipped_curve().throughput_frac(power_limit_w, uncapped_w, reference_cap_w=gpu.tdp_w))
