"""``plan``: search every valid parallel layout for a model, GPU count and batch; keep the best.

The space is the product of tp (divisors of the server size that divide the
heads), cp, pp (divisors of the GPU count up to the layers), ep (MoE only),
micro-batch, interleave, recompute, sequence parallelism and ZeRO stage; dp
is what is left. All candidates are built as numpy arrays and estimated in
one vectorised pass (the same code ``estimate`` runs), invalid ones dropped
by the rules of ``layout.valid_mask``, those that do not fit in HBM dropped
next, and the rest ranked by step time (the batch is fixed, so by tokens/s).
"""

from __future__ import annotations

from collections import Counter

from dataclasses import dataclass
import itertools
import time
from typing import Any

import numpy as np

from colossus.errors import InfeasibleError, SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.estimate import PART_NAMES, Estimate, _make_estimate, context_for
from colossus.perf.layout import RECOMPUTE_CODES, Layouts, check, valid_mask
from colossus.perf.network import default_fabric
from colossus.perf.step import Context, step_memory, step_parts
from colossus.spec import FabricSpec, GpuSpec, ModelSpec, Precision

MICRO_BATCHES = (1, 2, 4, 8)
INTERLEAVES = (1, 2, 3, 4, 6, 8, 12)
CONTEXT_PARALLEL = (1, 2, 4, 8, 16, 32)
MAX_PP = 128


@dataclass(frozen=True)
class Plan:
    """The best layouts, best first, and what the search saw."""

    best: tuple[Estimate, ...]
    num_explored: int  # valid layouts estimated
    num_fitting: int
    num_candidates: int  # before the validity rules
    search_s: float
    why: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "layouts_explored": self.num_explored,
            "layouts_candidates": self.num_candidates,
            "layouts_fitting": self.num_fitting,
            "search_s": self.search_s,
            "why_best": self.why,
            "best": [e.as_dict() for e in self.best],
        }


def _divisors(n: int, limit: int) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0]


def candidates(model: ModelSpec, *, num_gpus: int, gpus_per_server: int, global_batch: int,
               precision: Precision) -> Layouts:
    """Every combination of degrees and options whose product of degrees is ``num_gpus``."""
    rows = []
    experts = model.moe.experts if model.moe is not None else 1
    for tp in _divisors(gpus_per_server, gpus_per_server):
        for cp in (c for c in CONTEXT_PARALLEL if num_gpus % (tp * c) == 0):
            for pp in _divisors(num_gpus // (tp * cp), min(model.layers, MAX_PP)):
                dp = num_gpus // (tp * cp * pp)
                for ep in (e for e in _divisors(experts, experts) if (dp * cp) % e == 0):
                    rows.append((tp, cp, pp, dp, ep))
    if not rows:
        raise InfeasibleError(f"no factorisation of {num_gpus} GPUs")
    base = np.array(rows, dtype=np.int64)
    opts = np.array(list(itertools.product(MICRO_BATCHES, INTERLEAVES, range(len(RECOMPUTE_CODES)),
                                           (0, 1), (0, 1, 2, 3))), dtype=np.int64)
    b = np.repeat(base, len(opts), axis=0)
    o = np.tile(opts, (len(base), 1))
    return Layouts(tp=b[:, 0], pp=b[:, 2], dp=b[:, 3], cp=b[:, 1], ep=b[:, 4], mb=o[:, 0], v=o[:, 1],
                   rc=o[:, 2], sp=o[:, 3].astype(bool), zero=o[:, 4], global_batch=global_batch,
                   precision=precision)


def _prune(lay: Layouts, model: ModelSpec, num_gpus: int) -> Layouts:
    """Drop invalid layouts and exact duplicates (sequence parallelism is a no-op at tp = 1)."""
    keep = valid_mask(lay, model, num_gpus=num_gpus) & ~(lay.sp & (lay.tp == 1))
    return lay.take(np.flatnonzero(keep))


def plan(
    model: ModelSpec,
    gpu: GpuSpec,
    *,
    num_gpus: int,
    global_batch_tokens: float,
    gpus_per_server: int = 8,
    precision: Precision = Precision.BF16,
    fabric: FabricSpec | None = None,
    nic_gbit_per_s: float | None = None,
    assumptions: PerfAssumptions | None = None,
    top: int = 10,
) -> Plan:
    """The ``top`` fastest layouts of ``model`` on ``num_gpus`` GPUs that fit in memory."""
    t0 = time.perf_counter()
    assumptions = assumptions or default_assumptions()
    global_batch = int(round(global_batch_tokens / model.seq_len))
    if global_batch < 1:
        raise SpecError(f"global batch of {global_batch_tokens:g} tokens is less than one {model.seq_len}-token sequence")
    fabric = fabric or default_fabric(gpu, nic_gbit_per_s, assumptions)
    ctx = context_for(model, gpu, num_gpus=num_gpus, gpus_per_server=gpus_per_server, fabric=fabric,
                      precision=precision, assumptions=assumptions)
    every = candidates(model, num_gpus=num_gpus, gpus_per_server=gpus_per_server, global_batch=global_batch,
                       precision=precision)
    lay = _prune(every, model, num_gpus)
    if lay.size == 0:
        raise InfeasibleError(f"no valid layout of {model.name} on {num_gpus} GPUs: {_commonest_reason(every, model, num_gpus)}")
    memory = step_memory(ctx, lay)
    fits = memory.total_bytes <= gpu.hbm_bytes
    fitting = lay.take(np.flatnonzero(fits))
    if fitting.size == 0:
        raise InfeasibleError(
            f"none of {lay.size} valid layouts of {model.name} fits in {gpu.name} memory on {num_gpus} GPUs"
        )
    parts = step_parts(ctx, fitting)
    order = np.argsort(parts.step_time_s, kind="stable")[:top]
    best = tuple(_estimate_at(ctx, fitting, int(i)) for i in order)
    return Plan(best, lay.size, fitting.size, every.size, time.perf_counter() - t0,
                explain(best, num_valid=lay.size, num_fitting=fitting.size))


def _commonest_reason(lay: Layouts, model: ModelSpec, num_gpus: int) -> str:
    # Counter, not np.unique: sorting ~10^5 strings costs ~0.1 s per call, and the
    # simulation asks for plans (often infeasible batch targets) at many job sizes.
    reasons = Counter(check(lay, model, num_gpus=num_gpus).tolist())
    return str(max(sorted(reasons), key=reasons.__getitem__))


def _estimate_at(ctx: Context, lay: Layouts, i: int) -> Estimate:
    one = lay.take(np.array([i]))
    return _make_estimate(f"plan-{i}", ctx, one, step_parts(ctx, one), step_memory(ctx, one), {})


def explain(best: tuple[Estimate, ...], *, num_valid: int, num_fitting: int) -> str:
    """Why the first layout wins: what bounds its step, and what the runner-up loses on."""
    win = best[0]
    shares = {k.removesuffix("_s"): v / win.step_time_s for k, v in win.parts_s.items()}
    overhead = max((k for k in shares if k != "compute"), key=shares.__getitem__)
    text = (
        f"{num_fitting} of {num_valid} valid layouts fit in memory. The best is bound by {win.bound}"
        f" ({shares[win.bound]:.0%} of the step; largest overhead: {overhead} {shares[overhead]:.0%});"
        f" it uses {win.memory_per_gpu_bytes / win.hbm_bytes:.0%} of HBM."
    )
    if len(best) > 1:
        second = best[1]
        diff = {k: second.parts_s[k] - win.parts_s[k] for k in PART_NAMES}
        worst = max(diff, key=diff.__getitem__).removesuffix("_s")
        text += (
            f" The runner-up is {second.step_time_s / win.step_time_s - 1:.1%} slower, mostly in {worst}."
        )
    return text
