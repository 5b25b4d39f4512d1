"""Parallel layouts as arrays: one layout, or every candidate of a search, in one shape.

The model's arithmetic runs on numpy arrays so that ``estimate`` (one layout)
and ``plan`` (tens of thousands) share one code path. ``Layouts`` holds one
array per degree; ``check`` says, per layout, why it is invalid for a model
and cluster (an empty string when it is valid).

Rank order (Megatron-LM's default ``tp-cp-ep-dp-pp``): tensor-parallel ranks
are adjacent (inside a server), then context, data, and pipeline outermost.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

import numpy as np

from colossus.spec import LayoutSpec, ModelSpec, Precision, Recompute

#: Recompute modes as integer codes, in order of memory saved.
RECOMPUTE_CODES: tuple[Recompute, ...] = (Recompute.NONE, Recompute.SELECTIVE, Recompute.FULL)
RC_NONE, RC_SELECTIVE, RC_FULL = 0, 1, 2


@dataclass(frozen=True)
class Layouts:
    """Parallel degrees and options of N layouts (arrays of length N)."""

    tp: np.ndarray
    pp: np.ndarray
    dp: np.ndarray
    cp: np.ndarray
    ep: np.ndarray
    mb: np.ndarray  # sequences per micro-batch
    v: np.ndarray  # virtual pipeline stages per GPU (interleave)
    rc: np.ndarray  # recompute code, see RECOMPUTE_CODES
    sp: np.ndarray  # sequence parallelism (bool)
    zero: np.ndarray  # ZeRO stage 0..3
    global_batch: int
    precision: Precision

    @property
    def size(self) -> int:
        return int(self.tp.shape[0])

    @property
    def num_gpus(self) -> np.ndarray:
        return self.tp * self.pp * self.cp * self.dp

    @property
    def m(self) -> np.ndarray:
        """Micro-batches per replica per optimizer step."""
        return self.global_batch // (self.dp * self.mb)

    def take(self, index: np.ndarray) -> "Layouts":
        """The layouts at ``index`` (a boolean mask or integer indices)."""
        arrays = {f.name: getattr(self, f.name)[index] for f in fields(self) if f.name not in _SCALARS}
        return replace(self, **arrays)

    def spec(self, i: int) -> LayoutSpec:
        """Layout ``i`` as a ``LayoutSpec``."""
        return LayoutSpec(
            tp=int(self.tp[i]), pp=int(self.pp[i]), dp=int(self.dp[i]), cp=int(self.cp[i]),
            ep=int(self.ep[i]), micro_batch=int(self.mb[i]), global_batch=self.global_batch,
            interleave=int(self.v[i]), recompute=RECOMPUTE_CODES[int(self.rc[i])],
            sequence_parallel=bool(self.sp[i]), zero=int(self.zero[i]), precision=self.precision,
        )


_SCALARS = ("global_batch", "precision")


def from_spec(layout: LayoutSpec) -> Layouts:
    """One ``LayoutSpec`` as a ``Layouts`` of size 1."""

    def one(value: int | bool) -> np.ndarray:
        return np.array([value], dtype=np.int64)

    return Layouts(
        tp=one(layout.tp), pp=one(layout.pp), dp=one(layout.dp), cp=one(layout.cp), ep=one(layout.ep),
        mb=one(layout.micro_batch), v=one(layout.interleave),
        rc=one(RECOMPUTE_CODES.index(layout.recompute)), sp=one(layout.sequence_parallel).astype(bool),
        zero=one(layout.zero), global_batch=layout.global_batch, precision=layout.precision,
    )


def _rules(lay: Layouts, model: ModelSpec, num_gpus: int) -> list[tuple[np.ndarray, str]]:
    """(mask of layouts breaking the rule, the rule) for every validity rule."""
    experts = model.moe.experts if model.moe is not None else 1
    return [
        (lay.num_gpus != num_gpus, f"tp*pp*cp*dp must equal the {num_gpus} GPUs"),
        (model.heads % lay.tp != 0, f"tp must divide the {model.heads} attention heads"),
        (lay.pp > model.layers, f"pp exceeds the {model.layers} layers"),
        (lay.pp * lay.v > model.layers, "pp x interleave exceeds the layers (a virtual stage needs a layer)"),
        ((lay.v > 1) & (lay.pp == 1), "interleave needs pipeline parallelism (pp > 1)"),
        (lay.global_batch % (lay.dp * lay.mb) != 0, "global_batch must be a multiple of dp x micro_batch"),
        ((lay.v > 1) & (lay.m < lay.pp), "the interleaved schedule needs at least pp micro-batches"),
        (((model.seq_len % (2 * lay.cp)) != 0) & (lay.cp > 1), "cp needs seq_len divisible by 2 x cp (load-balanced causal)"),
        ((lay.ep > 1) & (model.moe is None), "ep > 1 needs a mixture-of-experts model"),
        (experts % lay.ep != 0, f"ep must divide the {experts} experts"),
        ((lay.dp * lay.cp) % lay.ep != 0, "ep must divide dp x cp (expert ranks reuse data-parallel ranks)"),
    ]


def valid_mask(lay: Layouts, model: ModelSpec, *, num_gpus: int) -> np.ndarray:
    """True for every layout valid for ``model`` on ``num_gpus`` GPUs."""
    ok = np.ones(lay.size, dtype=bool)
    for bad, _ in _rules(lay, model, num_gpus):
        ok &= ~np.asarray(bad, dtype=bool)
    return ok


def check(lay: Layouts, model: ModelSpec, *, num_gpus: int) -> np.ndarray:
    """Per layout, the reason it is invalid ('' when valid), as an array of strings."""
    reasons = np.full(lay.size, "", dtype=object)
    for bad, why in _rules(lay, model, num_gpus):
        mask = np.asarray(bad, dtype=bool) & (reasons == "")
        reasons[mask] = why
    return reasons
