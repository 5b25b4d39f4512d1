"""``plan``: search every layout a software stack can run for a model, GPU count and batch; keep the best.

The space is the product of tp (divisors of the server size that divide the
heads), cp, pp (divisors of the GPU count up to the layers), ep (MoE only),
micro-batch, interleave, recompute, sequence parallelism and ZeRO stage; dp
is what is left. The stack decides what is on offer (``perf.software``): no
interleaving, context or expert parallelism where it has none, only the ZeRO
stages it implements, sequence parallelism only with tp > 1, and interleaving
only with whole layers per virtual stage. All candidates are built as numpy
arrays and estimated in one vectorised pass (the same code ``estimate`` runs),
invalid ones dropped by ``layout.check``, those that do not fit in HBM next,
and the rest ranked by tokens/s.

The batch is a target, not an exact count: a batch given as "16M tokens" is a
round figure (16e6 / 8,192 = 1,953.1 sequences, divisible by almost no data-
parallel degree), so each layout runs the multiple of its ``dp x micro-batch``
nearest the target, within ``BATCH_TOLERANCE_FRAC`` of it, and says so.
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
from colossus.perf.context import SELECTIVE_CODES, RunInputs, build_context
from colossus.perf.estimate import (
    PART_NAMES,
    Estimate,
    check_selective_policy,
    evaluate_layouts,
    make_estimate,
    selective_options,
    software_for,
)
from colossus.perf.layout import (
    PRECISIONS,
    RC_SELECTIVE,
    RECOMPUTE_CODES,
    STACK_DEFAULT,
    Layouts,
    check,
    training_precision_problem,
    valid_mask,
    whole_layers,
)
from colossus.perf.network import default_fabric
from colossus.perf.software import Software
from colossus.spec import FabricSpec, GpuSpec, ModelSpec, Precision, SoftwareSpec

MICRO_BATCHES = (1, 2, 4, 8)
#: Beside those, every divisor of a replica's share of the batch up to this many sequences (its whole share in
#: one micro-batch, no gradient accumulation, is what FSDP stacks run: llm-foundry's MPT-7B on 512 H100s, six
#: sequences a GPU in one micro-batch). Up to 16 (MPT-13B's, the largest a published run states) made the
#: search half as long again (``colossus fit`` on the default scenario 8.0 -> 11.7 s) and no published run's
#: plan faster; the model finds the 16-sequence runs faster at smaller micro-batches.
MAX_MICRO_BATCH = 8
INTERLEAVES = (1, 2, 3, 4, 5, 6, 7, 8, 12, 16)
CONTEXT_PARALLEL = (1, 2, 4, 8, 16, 32)
MAX_PP = 128
#: How far a layout may round the target batch to a multiple of its dp x micro-batch (a planning choice:
#: the batch a user gives is a round figure, and a layout that cannot come near it is not offered).
BATCH_TOLERANCE_FRAC = 0.10


@dataclass(frozen=True)
class Plan:
    """The best layouts, best first, and what the search saw."""

    best: tuple[Estimate, ...]
    num_explored: int  # valid layouts estimated
    num_fitting: int
    num_candidates: int  # before the validity rules
    search_s: float  # wall time of the search: printed in the table, kept out of ``as_dict`` (same input, same bytes)
    why: str
    software: Software

    def as_dict(self) -> dict[str, Any]:
        return {
            "software": self.software.as_dict(),
            "layouts_explored": self.num_explored,
            "layouts_candidates": self.num_candidates,
            "layouts_fitting": self.num_fitting,
            "why_best": self.why,
            "best": [e.as_dict() for e in self.best],
        }


def _divisors(n: int, limit: int) -> list[int]:
    return [d for d in range(1, min(n, limit) + 1) if n % d == 0]


def micro_batches(global_batch: int, dp: int) -> list[int]:
    """The micro-batches tried at ``dp`` replicas: ``MICRO_BATCHES`` and the divisors of a replica's share of the
    batch up to ``MAX_MICRO_BATCH`` (so that its share may run as one micro-batch, or a few equal ones)."""
    share = max(1, round(global_batch / dp))
    return sorted(set(MICRO_BATCHES) | set(_divisors(share, MAX_MICRO_BATCH)))


def layout_batch(global_batch: int, dp: int, mb: int) -> int | None:
    """The multiple of ``dp x mb`` sequences nearest the target batch, or None beyond ``BATCH_TOLERANCE_FRAC``."""
    unit = dp * mb
    batch = max(1, round(global_batch / unit)) * unit
    return batch if abs(batch - global_batch) <= BATCH_TOLERANCE_FRAC * global_batch else None


def candidates(model: ModelSpec, sw: Software, *, num_gpus: int, gpus_per_server: int, global_batch: int,
               precision: Precision) -> Layouts:
    """Every combination of degrees and options the stack offers whose product of degrees is ``num_gpus``.

    Rules that depend on one degree at a time are applied while the product is built (tp divides the
    heads, dp x micro-batch comes within ``BATCH_TOLERANCE_FRAC`` of the batch, interleaving keeps whole layers
    and needs pp micro-batches), so the arrays hold only plausible rows; ``layout.check`` applies every
    rule again afterwards. Each row carries its own batch (``layout_batch``).
    """
    rows = []
    rejected: Counter[str] = Counter()
    experts = model.moe.experts if model.moe is not None and sw.expert_parallel else 1
    cps = CONTEXT_PARALLEL if sw.context_parallel else (1,)
    slots_extra = 2 if sw.embedding_loss_stages else 0
    max_tp = gpus_per_server if sw.tensor_parallel else 1
    for tp in (t for t in _divisors(gpus_per_server, max_tp) if model.heads % t == 0):
        for cp in (c for c in cps if num_gpus % (tp * c) == 0 and (c == 1 or model.seq_len % (2 * c) == 0)):
            for pp in _divisors(num_gpus // (tp * cp), min(model.layers, MAX_PP) if sw.pipeline_parallel else 1):
                dp = num_gpus // (tp * cp * pp)
                for mb in micro_batches(global_batch, dp):
                    gb = layout_batch(global_batch, dp, mb)
                    if gb is None:
                        rejected[f"no multiple of dp x micro_batch within {BATCH_TOLERANCE_FRAC:.0%} of the batch"] += 1
                        continue
                    m = gb // (dp * mb)
                    for v in INTERLEAVES if sw.interleave and pp > 1 else (1,):
                        whole = model.layers % (pp * v) == 0 or (
                            pp > 1 and (model.layers + slots_extra) % (pp * v) == 0
                        )
                        if v > 1 and not whole:
                            rejected["interleaving needs whole layers per virtual stage"] += 1
                            continue
                        if v > 1 and m < pp:
                            rejected["interleaving needs at least pp micro-batches"] += 1
                            continue
                        for ep in (e for e in _divisors(experts, experts) if (tp * cp * dp) % e == 0):
                            # experts whole on a rank (ETP 1, fine-grained experts) or split like the
                            # attention (ETP = TP, large experts): Megatron-core's two usual foldings
                            for etp in sorted({1, tp}) if ep > 1 or experts > 1 else (1,):
                                if (tp * cp * dp) % (ep * etp) == 0 and (model.moe is None or
                                                                        model.moe.expert_ffn_hidden % etp == 0):
                                    rows.append((tp, cp, pp, dp, ep, mb, v, etp, gb))
    if not rows:
        why = rejected.most_common(1)[0][0] if rejected else "tp must divide the heads and the server's GPUs"
        missing = [name for name, has in (("tensor", sw.tensor_parallel), ("pipeline", sw.pipeline_parallel))
                   if not has]
        if missing:
            why += f" ({sw.profile} has no {' or '.join(missing)} parallelism)"
        raise InfeasibleError(
            f"no layout of {model.name} splits {num_gpus} GPUs and a batch of {global_batch} sequences: {why}"
        )
    base = np.array(rows, dtype=np.int64)
    sps = (0, 1) if sw.sequence_parallel_supported else (0,)
    rcs = [RECOMPUTE_CODES.index(m) for m in sw.recompute_modes]  # only what the stack can run
    # selective recompute with the stack's default policy or any further one it offers (as ``estimate`` leaves
    # a run's policy open): the fastest that fits wins
    sels = [STACK_DEFAULT] + [SELECTIVE_CODES.index(o) for o in selective_options(model, sw)]
    opts = np.array([(rc, sp, z, sel) for rc, sp, z in itertools.product(rcs, sps, sw.zero_stages)
                     for sel in (sels if rc == RC_SELECTIVE else [STACK_DEFAULT])], dtype=np.int64)
    b = np.repeat(base, len(opts), axis=0)
    o = np.tile(opts, (len(base), 1))
    n = b.shape[0]
    lay = Layouts(tp=b[:, 0], pp=b[:, 2], dp=b[:, 3], cp=b[:, 1], ep=b[:, 4], etp=b[:, 7],
                  mb=b[:, 5], v=b[:, 6], rc=o[:, 0], sp=o[:, 1].astype(bool), zero=o[:, 2],
                  gb=b[:, 8],
                  prec=np.full(n, PRECISIONS.index(precision), dtype=np.int64),
                  sel=o[:, 3])
    # sequence parallelism is a no-op at tp = 1, and TE's TP overlap needs it
    keep = ~(lay.sp & (lay.tp == 1))
    if sw.tp_comm_overlap:
        keep &= lay.sp | (lay.tp == 1)
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
    software: SoftwareSpec | None = None,
    power_limit_w: float | None = None,
    assumptions: PerfAssumptions | None = None,
    top: int = 10,
) -> Plan:
    """The ``top`` fastest layouts of ``model`` on ``num_gpus`` GPUs that the stack can run and that fit."""
    t0 = time.perf_counter()
    assumptions = assumptions or default_assumptions()
    global_batch = int(round(global_batch_tokens / model.seq_len))
    if global_batch < 1:
        raise SpecError(
            f"global batch of {global_batch_tokens:g} tokens is less than one {model.seq_len}-token sequence"
        )
    if problem := training_precision_problem(precision):
        raise SpecError(problem, path=["precision"])
    if not gpu.supports(precision):
        raise SpecError(f"{gpu.name} has no {precision.value} tensor cores", path=["precision"])
    fabric = fabric or default_fabric(gpu, nic_gbit_per_s, assumptions)
    sw = software_for(software, gpu, assumptions)
    check_selective_policy(model, sw)
    if precision is Precision.FP8 and not sw.fp8:
        raise SpecError(f"software profile '{sw.profile}' has no FP8 training (it predates Transformer Engine):"
                        " plan it in bf16, or name a later stack", path=["precision"])
    inputs = RunInputs(model, gpu, sw, fabric, num_gpus, gpus_per_server, power_limit_w)
    every = candidates(model, sw, num_gpus=num_gpus, gpus_per_server=gpus_per_server, global_batch=global_batch,
                       precision=precision)
    ctx = build_context([inputs], assumptions)
    # interleaved stages hold the same whole number of layers (Megatron's num_layers_per_virtual_stage); a
    # plain pipeline may put one layer more on some stages (the slowest stage sets the pace). A stack that
    # can split virtual stages unevenly is still planned with even ones: its uneven splits lie between two
    # even ones in bubble and memory, and offering every count slowed 'colossus fit' by 65%
    split = (every.v == 1) | whole_layers(ctx.layers, every, ctx.sw_embedding_loss)
    ok = valid_mask(every, ctx, num_gpus=num_gpus) & split
    lay = every.take(np.flatnonzero(ok))
    if lay.size == 0:
        reasons = check(every, ctx, num_gpus=num_gpus)
        raise InfeasibleError(f"no valid layout of {model.name} on {num_gpus} GPUs with {sw.profile}:"
                              f" {_commonest(reasons)}")
    batch = evaluate_layouts(inputs, lay, assumptions)
    fits = batch.memory.total_bytes <= gpu.hbm_bytes
    if not fits.any():
        raise InfeasibleError(
            f"none of {lay.size} valid layouts of {model.name} fits in {gpu.name} memory on {num_gpus} GPUs"
        )
    # ranked by throughput: layouts may round the batch differently (with one batch, the same as step time)
    rate = np.where(fits, lay.gb / batch.parts.step_time_s, -np.inf)
    order = _undominated(lay, np.argsort(-rate, kind="stable")[: int(fits.sum())], batch.memory.total_bytes, top)
    best = tuple(make_estimate(f"plan-{i}", inputs, batch, int(i), {}) for i in order)
    why = explain(best, num_valid=lay.size, num_fitting=int(fits.sum()))
    if best[0].layout.global_batch != global_batch:
        why += (f" It runs {best[0].layout.global_batch:,} sequences a step: the {global_batch:,} asked,"
                " rounded to a multiple of dp x micro-batch.")
    return Plan(best, lay.size, int(fits.sum()), every.size, time.perf_counter() - t0, why, sw)


def _undominated(lay: Layouts, ranked: np.ndarray, memory_bytes: np.ndarray, top: int) -> list[int]:
    """The first ``top`` of ``ranked`` (fastest first) that no faster row of the same parallel shape dominates.

    Rows of one shape (tp, pp, dp, cp, ep, etp, micro-batch, interleave) differ in ZeRO stage, sequence
    parallelism and recompute: such a row that is slower than another and needs no less memory is no choice
    (ZeRO-3 beside ZeRO-2 with a stage's parameters held whole for the step), while one that trades speed for
    memory is (the norms recomputed for 4 GiB less).
    """
    least_bytes: dict[tuple[int, ...], float] = {}  # per shape, the least memory of the rows kept so far
    out: list[int] = []
    chunk = max(4 * top, 64)  # (walked a chunk at a time: the top rows are found long before the end)
    for start in range(0, ranked.size, chunk):
        rows = ranked[start:start + chunk]
        keys = np.stack([a[rows] for a in (lay.tp, lay.pp, lay.dp, lay.cp, lay.ep, lay.etp, lay.mb, lay.v)],
                        axis=1)
        for row, key, need_bytes in zip(rows.tolist(), map(tuple, keys.tolist()), memory_bytes[rows].tolist(),
                                        strict=True):
            if key in least_bytes and least_bytes[key] <= need_bytes:
                continue
            least_bytes[key] = min(need_bytes, least_bytes.get(key, need_bytes))
            out.append(row)
            if len(out) == top:
                return out
    return out


def _commonest(reasons: np.ndarray) -> str:
    # Counter, not np.unique: sorting ~10^5 strings costs ~0.1 s per call
    counts = Counter(r for r in reasons.tolist() if r)
    return str(max(sorted(counts), key=counts.__getitem__)) if counts else "no candidates"


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
        # per sequence trained: two layouts may round the batch differently, and they are ranked by throughput
        second = best[1]
        per_win, per_second = 1.0 / win.layout.global_batch, 1.0 / second.layout.global_batch
        diff = {k: second.parts_s[k] * per_second - win.parts_s[k] * per_win for k in PART_NAMES}
        worst = max(diff, key=diff.__getitem__).removesuffix("_s")
        slower = win.tokens_per_s_per_gpu / second.tokens_per_s_per_gpu - 1
        text += f" The runner-up is {slower:.1%} slower, mostly in {worst}."
    return text
