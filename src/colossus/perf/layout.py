"""Parallel layouts as arrays: one layout, every candidate of a search, or many runs at once.

The model's arithmetic runs on numpy arrays so that ``estimate`` (one layout),
``plan`` (tens of thousands) and ``validate`` (every published run at once)
share one code path. ``Layouts`` holds one array per degree and option;
``check`` says, per layout, why it is invalid for a model, a GPU count and a
software stack (an empty string when it is valid).

Rank order (Megatron-LM's default ``tp-cp-ep-dp-pp``): tensor-parallel ranks
are adjacent (inside a server), then context, data, and pipeline outermost.
Expert parallelism folds over the ``tp x cp x dp`` ranks of a stage with its
own expert tensor parallelism ``etp`` (Megatron-core "MoE parallel folding",
Liu et al. 2025): ``ep x etp`` must divide ``tp x cp x dp``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields, replace
from functools import cached_property
from typing import Any

import numpy as np

from colossus.spec import CpCommType, LayoutSpec, PipelineSchedule, Precision, Recompute, SelectiveRecompute

#: Pipeline-schedule codes (``perf.context.Context.sw_schedule``).
SCHEDULE_CODES: tuple[PipelineSchedule, ...] = (
    PipelineSchedule.ONE_F_ONE_B, PipelineSchedule.ZERO_BUBBLE, PipelineSchedule.DUALPIPE,
)
SCHED_1F1B, SCHED_ZERO_BUBBLE, SCHED_DUALPIPE = range(3)
#: Context-parallel exchange codes (``perf.context.Context.sw_cp_comm``).
CP_COMM_CODES: tuple[CpCommType, ...] = (CpCommType.P2P, CpCommType.ALL_GATHER, CpCommType.A2A)
CP_P2P, CP_ALL_GATHER, CP_A2A = range(3)
#: Recompute modes as integer codes, in order of memory saved.
RECOMPUTE_CODES: tuple[Recompute, ...] = (Recompute.NONE, Recompute.SELECTIVE, Recompute.FULL)
RC_NONE, RC_SELECTIVE, RC_FULL = 0, 1, 2
#: ``Layouts.sel`` of a layout that keeps its stack's selective-recompute policy.
STACK_DEFAULT = -1
#: Every precision a layout names, as integer codes (the model trains in TRAINING_PRECISIONS of them).
PRECISIONS: tuple[Precision, ...] = tuple(Precision)
#: The number formats the performance model trains in: GEMMs at the BF16/FP16 or the FP8 tensor-core rate
#: (fp64, tf32 and fp4 are GPU catalog facts, not training precisions the model prices).
TRAINING_PRECISIONS: tuple[Precision, ...] = (Precision.BF16, Precision.FP16, Precision.FP8)


def training_precision_problem(precision: Precision) -> str:
    """Why the model cannot price training in ``precision`` ('' when it can)."""
    if precision in TRAINING_PRECISIONS:
        return ""
    return (f"{precision.value} training is not modelled: the performance model trains in "
            + ", ".join(p.value for p in TRAINING_PRECISIONS))


@dataclass(frozen=True)
class Layouts:
    """Parallel degrees and options of N layouts (arrays of length N).

    What is derived from the degrees alone (``m``, ``fp8``, ``rc_full``, ``hidden_split``, ``bounds``,
    ``kept``) is computed on first use and kept with them: the arrays are never written in place, so one
    set of candidate layouts evaluated again (under other assumptions, or after its evaluation was
    dropped) does not derive them again.
    """

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    etp: np.ndarray  # expert tensor parallelism (MoE layers)
    mb: np.ndarray  # sequences per micro-batch
    v: np.ndarray  # virtual pipeline stages per GPU (interleave)
    rc: np.ndarray  # recompute code, see RECOMPUTE_CODES
    sp: np.ndarray  # sequence parallelism (bool)
    zero: np.ndarray  # ZeRO stage 0..3
    gb: np.ndarray  # sequences per optimizer step
    prec: np.ndarray  # precision code, see PRECISIONS
    sel: np.ndarray  # selective-recompute policy code (perf.context.SELECTIVE_CODES); -1: the stack's default

    @property
    def size(self) -> int:
        return int(self.tp.shape[0])

    @property
    def num_gpus(self) -> np.ndarray:
        return self.tp * self.pp * self.cp * self.dp

    @cached_property
    def m(self) -> np.ndarray:
        """Micro-batches per replica per optimizer step."""
        return self.gb // (self.dp * self.mb)

    @cached_property
    def fp8(self) -> np.ndarray:
        return self.prec == PRECISIONS.index(Precision.FP8)

    @cached_property
    def any_fp8(self) -> bool:
        return bool(self.fp8.any())

    @cached_property
    def fp16(self) -> np.ndarray:
        return self.prec == PRECISIONS.index(Precision.FP16)

    @cached_property
    def rc_none(self) -> np.ndarray:
        """True where the layout recomputes nothing."""
        return self.rc == RC_NONE

    @cached_property
    def rc_selective(self) -> np.ndarray:
        """True where the layout recomputes selectively."""
        return self.rc == RC_SELECTIVE

    @cached_property
    def any_rc_selective(self) -> bool:
        return bool(self.rc_selective.any())

    @cached_property
    def rc_full(self) -> np.ndarray:
        """True where the layout recomputes whole layers."""
        return self.rc == RC_FULL

    @cached_property
    def hidden_split(self) -> np.ndarray:
        """Ranks a layer's hidden-sized activations are split over: tp with sequence parallelism, else 1."""
        return np.where(self.sp, self.tp, 1)

    @cached_property
    def _kept(self) -> dict[str, Any]:
        return {}

    def kept(self, name: str, make: Callable[[Layouts], Any]) -> Any:
        """``make(self)``, computed once per set of layouts and kept with it under ``name``."""
        kept = self._kept
        if name not in kept:
            kept[name] = make(self)
        return kept[name]

    def bounds(self, name: str) -> tuple[int, int]:
        """(least, largest) value of field ``name`` over the layouts: whether any row uses an option, or all do."""
        return self.kept("bounds:" + name, lambda lay: _bounds(getattr(lay, name)))

    def take(self, index: np.ndarray) -> Layouts:
        """The layouts at ``index`` (a boolean mask or integer indices)."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self)})

    def spec(self, i: int, *, validated: bool = False) -> LayoutSpec:
        """Layout ``i`` as a ``LayoutSpec``.

        ``validated``: the caller knows row ``i`` holds what a ``LayoutSpec`` accepts (a candidate of a
        validated run layout with options from its stack, as ``estimate`` picks), so pydantic does not
        check it again.
        """
        values: dict[str, Any] = dict(
            tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), cp=int(self.cp[i]),
            ep=int(self.ep[i]), etp=int(self.etp[i]), micro_batch=int(self.mb[i]), global_batch=int(self.gb[i]),
            interleave=int(self.v[i]), recompute=RECOMPUTE_CODES[int(self.rc[i])],
            sequence_parallel=bool(self.sp[i]), zero=int(self.zero[i]), precision=PRECISIONS[int(self.prec[i])],
        )
        return LayoutSpec.model_construct(**values) if validated else LayoutSpec(**values)

    @staticmethod
    def concat(parts: list[Layouts]) -> Layouts:
        return Layouts(**{f.name: np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Layouts)})


def _bounds(x: np.ndarray) -> tuple[int, int]:
    return (int(x.min()), int(x.max())) if x.size else (0, 0)


def from_spec(layout: LayoutSpec, selective: SelectiveRecompute | None = None) -> Layouts:
    """One ``LayoutSpec`` as a ``Layouts`` of size 1 (``selective``: its selective-recompute policy, if not the
    stack's default; ``Estimate.selective_recompute`` gives it back for an estimated layout)."""

    def one(value: int | bool) -> np.ndarray:
        return np.array([value], dtype=np.int64)

    return Layouts(
        tp=one(layout.tp), pp=one(layout.pp), dp=one(layout.dp), cp=one(layout.cp), ep=one(layout.ep),
        etp=one(layout.etp), mb=one(layout.micro_batch), v=one(layout.interleave),
        rc=one(RECOMPUTE_CODES.index(layout.recompute)), sp=one(layout.sequence_parallel).astype(bool),
        zero=one(layout.zero), gb=one(layout.global_batch), prec=one(PRECISIONS.index(layout.precision)),
        sel=one(STACK_DEFAULT if selective is None else tuple(SelectiveRecompute).index(selective)),
    )


def stage_layer_slots(layers: np.ndarray, lay: Layouts, extra: np.ndarray) -> np.ndarray:
    """Layer slots the pipeline splits: the layers, plus the embedding and the loss as one slot each
    when the stack can count them (Megatron-core ``--account-for-embedding/loss-in-pipeline-split``)
    and only that makes the split whole (94 layers + 2 = 96 slots over pp 32 x v 3)."""
    chunks = lay.pp * lay.v
    counted = extra & (lay.pp > 1) & (layers % chunks != 0) & ((layers + 2) % chunks == 0)
    return layers + 2 * counted


def whole_layers(layers: np.ndarray, lay: Layouts, extra: np.ndarray) -> np.ndarray:
    """True where every virtual pipeline stage gets the same whole number of layer slots."""
    return stage_layer_slots(layers, lay, extra) % (lay.pp * lay.v) == 0


def buildable_split(layers: np.ndarray, lay: Layouts, extra: np.ndarray, uneven: np.ndarray) -> np.ndarray:
    """True where the stack can split the layers over ``pp x v`` stages: a plain pipeline may put a layer
    more on some stages; interleaved stages hold the same whole number of layer slots, unless the stack
    lets each virtual stage hold its own count (``uneven``), when each needs one layer at least."""
    slots = stage_layer_slots(layers, lay, extra)
    chunks = lay.pp * lay.v
    return (lay.v == 1) | (slots % chunks == 0) | (uneven & (chunks <= slots))


def schedule_rules(schedule, pp, v, m) -> list[tuple[Any, str]]:
    """(broken, the rule) for the pipeline schedules' own rules: scalars (one stated layout, before a
    ``Context`` exists: ``perf.software`` picks a stack's fallback schedule with them) or arrays (``_rules``).
    ``schedule`` is a ``SCHEDULE_CODES`` index, ``m`` the micro-batches a pipeline runs a step."""
    dual = schedule == SCHED_DUALPIPE
    return [
        ((v > 1) & (schedule != SCHED_1F1B),
         "the DualPipe and zero-bubble schedules run one model chunk per stage (interleave 1)"),
        (dual & (pp > 1) & (pp % 2 == 1), "DualPipe needs an even number of pipeline stages"),
        (dual & (pp > 1) & (m % 2 == 1),
         "DualPipe feeds micro-batches from both ends of the pipeline: it needs an even number of them"),
    ]


def _rules(lay: Layouts, rows, num_gpus: np.ndarray) -> list[tuple[np.ndarray, str]]:
    """(mask of layouts breaking the rule, the rule) for every validity rule.

    ``rows`` is a ``perf.context.Context`` (model shape and software, arrays
    broadcastable against ``lay``).
    """
    experts = rows.experts
    slots = stage_layer_slots(rows.layers, lay, rows.sw_embedding_loss)
    one_chunk, even_stages, even_micro_batches = schedule_rules(rows.sw_schedule, lay.pp, lay.v, lay.m)
    return [
        (lay.num_gpus != num_gpus, "tp*pp*cp*dp must equal the run's GPUs"),
        (rows.heads % lay.tp != 0, "tp must divide the attention heads"),
        (lay.pp > slots, "pp exceeds the layers"),
        (lay.pp * lay.v > slots, "pp x interleave exceeds the layers (a virtual stage needs a layer)"),
        ((lay.v > 1) & (lay.pp == 1), "interleave needs pipeline parallelism (pp > 1)"),
        one_chunk,
        ((lay.v > 1) & ~rows.sw_interleave, "the software stack has no interleaved pipeline schedule"),
        (lay.gb % (lay.dp * lay.mb) != 0, "global_batch must be a multiple of dp x micro_batch"),
        ((lay.v > 1) & (lay.m < lay.pp), "the interleaved schedule needs at least pp micro-batches"),
        ((lay.v > 1) & rows.sw_interleave_pp_groups & (lay.m % lay.pp != 0),
         "the stack's interleaved schedule needs the micro-batches in whole groups of pp"),
        even_stages,
        even_micro_batches,
        ((rows.seq % (2 * lay.cp) != 0) & (lay.cp > 1), "cp needs seq_len divisible by 2 x cp (load-balanced causal)"),
        ((rows.sw_cp_comm == CP_A2A) & (lay.cp > 1) & ((rows.heads // lay.tp) % lay.cp != 0),
         "all-to-all (Ulysses) context parallelism splits the heads: cp must divide the heads per TP rank"),
        ((lay.tp > 1) & ~rows.sw_tensor_parallel, "the software stack has no tensor parallelism"),
        ((lay.pp > 1) & ~rows.sw_pipeline_parallel, "the software stack has no pipeline parallelism"),
        ((lay.pp > 1) & (lay.zero > rows.sw_pipeline_zero_max),
         "the software stack shards gradients or parameters (ZeRO-2/3) only without pipeline parallelism"),
        ((lay.cp > 1) & ~rows.sw_context_parallel, "the software stack has no context parallelism"),
        ((lay.ep > 1) & ~rows.is_moe, "ep > 1 needs a mixture-of-experts model"),
        ((lay.ep > 1) & ~rows.sw_expert_parallel, "the software stack has no expert parallelism"),
        (experts % lay.ep != 0, "ep must divide the experts"),
        ((lay.tp * lay.cp * lay.dp) % (lay.ep * lay.etp) != 0,
         "ep x etp must divide tp x cp x dp (expert ranks fold over a stage's ranks)"),
        (rows.expert_ffn_hidden % lay.etp != 0, "etp must divide the expert FFN width"),
    ]


def _broken(lay: Layouts, rows, num_gpus) -> tuple[np.ndarray, list[str]]:
    """(rules x layouts mask of the rules each layout breaks, the rules' texts)."""
    rules = _rules(lay, rows, np.asarray(num_gpus))
    bad = np.empty((len(rules), lay.size), dtype=bool)
    for i, (mask, _) in enumerate(rules):
        bad[i] = mask  # (a rule that holds for every layout is one value: the assignment broadcasts it)
    return bad, [why for _, why in rules]


def valid_mask(lay: Layouts, rows, *, num_gpus) -> np.ndarray:
    """True for every layout valid for the rows' models and stacks on ``num_gpus`` GPUs."""
    bad, _ = _broken(lay, rows, num_gpus)
    return np.logical_not(bad.any(axis=0))


def check(lay: Layouts, rows, *, num_gpus) -> np.ndarray:
    """Per layout, the reason it is invalid ('' when valid): the first rule it breaks, as an array of strings."""
    bad, whys = _broken(lay, rows, num_gpus)
    reasons = np.full(lay.size, "", dtype=object)
    broken = bad.any(axis=0)
    if broken.any():
        reasons[broken] = np.array(whys, dtype=object)[bad.argmax(axis=0)[broken]]
    return reasons
