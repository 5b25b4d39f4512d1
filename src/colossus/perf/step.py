"""One training step: compute, exposed communication, pipeline bubble, optimizer; and its rates.

Composition (per GPU of the slowest pipeline stage, arrays over layouts):

* a micro-batch passes ``ceil(L / pp)`` layers forward and backward (plus what
  recompute repeats) and the output layer on the last stage; tensor-, context-
  and expert-parallel communication inside a layer shows where the software
  does not overlap it (``perf_software.toml``);
* the pipeline runs ``m`` micro-batches plus a bubble of ``(pp - 1) / v``
  micro-batch times (1F1B: Narayanan et al. 2021 Sec. 2.2, interleaved: v
  virtual stages per GPU), plus exposed send/recv;
* the data-parallel gradient reduction (all-reduce, or reduce-scatter +
  all-gather with ZeRO-1/2) overlaps with the backward pass by the software's
  fraction; ZeRO-3 gathers weights per micro-batch, hidden behind compute up to
  its length; then the optimizer step streams its state through HBM.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.compute import Compute, LayerTimes, build_compute, layer_times, logits_times
from colossus.perf.layout import RC_FULL, Layouts
from colossus.perf.memory import MemoryParts, memory_parts, stage_params
from colossus.perf.network import Network, moe_dispatch_time_s, p2p_time_s, ring_time_s
from colossus.spec import GpuSpec, ModelSpec, Precision

#: 16-bit activations and weights on the wire.
WIRE_BYTES = 2.0
#: Collectives per layer and pass for tensor parallelism: two all-reduces = two (all-gather + reduce-scatter).
TP_UNITS_PER_PASS = 4


@dataclass(frozen=True)
class Context:
    """Everything about a run except its layout: model, GPU, network, assumptions."""

    model: ModelSpec
    gpu: GpuSpec
    num_gpus: int
    network: Network
    compute: Compute
    profile: dict
    assumptions: PerfAssumptions


def build_context(
    model: ModelSpec, gpu: GpuSpec, network: Network, precision: Precision, assumptions: PerfAssumptions, *, num_gpus: int
) -> Context:
    profile = dict(assumptions.software_profile(gpu.architecture))
    compute = build_compute(gpu, precision, assumptions)
    return Context(model, gpu, num_gpus, network, compute, profile, assumptions)


@dataclass(frozen=True)
class StepParts:
    """Seconds per optimizer step by part (they sum to ``step_time_s``), arrays over layouts."""

    compute_s: np.ndarray
    recompute_s: np.ndarray
    tp_exposed_s: np.ndarray
    cp_exposed_s: np.ndarray
    ep_exposed_s: np.ndarray
    pp_exposed_s: np.ndarray
    bubble_s: np.ndarray
    dp_exposed_s: np.ndarray
    optimizer_s: np.ndarray
    other_s: np.ndarray

    @property
    def step_time_s(self) -> np.ndarray:
        return (
            self.compute_s + self.recompute_s + self.tp_exposed_s + self.cp_exposed_s + self.ep_exposed_s
            + self.pp_exposed_s + self.bubble_s + self.dp_exposed_s + self.optimizer_s + self.other_s
        )


@dataclass(frozen=True)
class LayerComm:
    """Exposed communication seconds per layer per micro-batch (arrays over layouts)."""

    tp_s: np.ndarray
    cp_s: np.ndarray
    ep_s: np.ndarray


def _tokens(model: ModelSpec, lay: Layouts) -> np.ndarray:
    return lay.mb * model.seq_len / lay.cp


def layer_comm(ctx: Context, lay: Layouts, *, moe_layer: bool) -> LayerComm:
    """Exposed TP, CP and EP communication of one layer, forward + backward (+ recompute)."""
    model, net, prof = ctx.model, ctx.network, ctx.profile
    tokens = _tokens(model, lay)
    passes = 2.0 + (lay.rc == RC_FULL)  # forward, backward, and the recomputed forward
    act = tokens * model.hidden * WIRE_BYTES
    tp_unit = ring_time_s(net, act, lay.tp, np.ones_like(lay.tp), all_reduce=False)
    tp = (1 - prof["tp_overlap_frac"]) * TP_UNITS_PER_PASS * passes * tp_unit
    kv = tokens * 2 * np.maximum(model.kv_heads / lay.tp, 1) * model.head_dim * WIRE_BYTES
    cp_hop = p2p_time_s(net, kv, lay.tp)
    cp_passes = 1.0 + 2.0 + (lay.rc == RC_FULL)  # backward sends K, V and their gradients
    cp = np.where(lay.cp > 1, (1 - prof["cp_overlap_frac"]) * (lay.cp - 1) * cp_passes * cp_hop, 0.0)
    ep = np.zeros_like(tp)
    if moe_layer and model.moe is not None:
        ep = passes * moe_exchange_time_s(ctx, lay, tokens)
    return LayerComm(tp, cp, ep)


def moe_exchange_time_s(ctx: Context, lay: Layouts, tokens: np.ndarray) -> np.ndarray:
    """Dispatch + combine of one MoE layer's tokens for one pass (FP8 dispatch in FP8 runs)."""
    model, prof = ctx.model, ctx.profile
    assert model.moe is not None
    dispatch_bytes = 1.0 if lay.precision is Precision.FP8 else WIRE_BYTES
    per_token = model.hidden / lay.tp  # with sequence parallelism each TP rank sends its share
    kwargs = {"per_server": bool(prof["ep_dispatch_per_server"])}
    stride = lay.tp * lay.cp
    dispatch = moe_dispatch_time_s(ctx.network, tokens * per_token * dispatch_bytes, model.moe.top_k, lay.ep, stride, **kwargs)
    combine = moe_dispatch_time_s(ctx.network, tokens * per_token * WIRE_BYTES, model.moe.top_k, lay.ep, stride, **kwargs)
    return (1 - prof["ep_overlap_frac"]) * (dispatch + combine)


def _mix(model: ModelSpec, dense, moe):
    """Average over layers of a per-layer quantity, weighting dense and MoE layers."""
    if moe is None:
        return dense
    frac = model.num_moe_layers / model.layers
    return (1 - frac) * dense + frac * moe


def _layer_parts(ctx: Context, lay: Layouts) -> tuple[LayerTimes, LayerComm]:
    model = ctx.model
    dense_t = layer_times(ctx.compute, model, lay, moe_layer=False)
    dense_c = layer_comm(ctx, lay, moe_layer=False)
    if model.moe is None:
        return dense_t, dense_c
    moe_t = layer_times(ctx.compute, model, lay, moe_layer=True)
    moe_c = layer_comm(ctx, lay, moe_layer=True)
    times = LayerTimes(*(_mix(model, getattr(dense_t, f), getattr(moe_t, f)) for f in LayerTimes.__dataclass_fields__))
    comm = LayerComm(*(_mix(model, getattr(dense_c, f), getattr(moe_c, f)) for f in LayerComm.__dataclass_fields__))
    return times, comm


def dp_times(ctx: Context, lay: Layouts) -> tuple[np.ndarray, np.ndarray]:
    """(per-step gradient reduction seconds, per-micro-batch ZeRO-3 gather/scatter seconds)."""
    net, prof = ctx.network, ctx.profile
    replicated, experts = stage_params(ctx.model, lay)
    group, stride = lay.dp * lay.cp, lay.tp
    expert_group = np.maximum(group // lay.ep, 1)
    grad_bytes = float(prof["grad_reduce_bytes"])

    def collective(params, size, stride_, *, all_reduce, bytes_per, aggregate=True):
        return ring_time_s(net, params * bytes_per, size, stride_, all_reduce=all_reduce, aggregate=aggregate)

    def reduce(params, size, stride_):
        all_reduce = collective(params, size, stride_, all_reduce=True, bytes_per=grad_bytes)
        sharded = collective(params, size, stride_, all_reduce=False, bytes_per=grad_bytes)
        sharded = sharded + collective(params, size, stride_, all_reduce=False, bytes_per=WIRE_BYTES)
        return np.where(lay.zero == 0, all_reduce, np.where(lay.zero >= 3, 0.0, sharded))

    per_step = reduce(replicated, group, stride) + reduce(experts, expert_group, stride * lay.ep)
    agg = bool(prof["zero3_net_aggregation"])

    def zero3(params, size, stride_):
        gather = collective(params, size, stride_, all_reduce=False, bytes_per=WIRE_BYTES, aggregate=agg)
        scatter = collective(params, size, stride_, all_reduce=False, bytes_per=grad_bytes, aggregate=agg)
        return 2 * gather + scatter

    per_micro = zero3(replicated, group, stride) + zero3(experts, expert_group, stride * lay.ep)
    return per_step, np.where(lay.zero >= 3, per_micro, 0.0)


def optimizer_time_s(ctx: Context, lay: Layouts) -> np.ndarray:
    """Adam step over this GPU's (possibly sharded) parameters, HBM-bound."""
    replicated, experts = stage_params(ctx.model, lay)
    shard = np.where(lay.zero >= 1, lay.dp * lay.cp, 1)
    expert_shard = np.where(lay.zero >= 1, np.maximum(lay.dp * lay.cp // lay.ep, 1), 1)
    params = replicated / shard + experts / expert_shard
    per_param = float(ctx.assumptions.compute["optimizer"]["bytes_per_param"])
    return params * per_param / ctx.compute.hbm_bytes_per_s


def step_parts(ctx: Context, lay: Layouts) -> StepParts:
    """Seconds per step by part for every layout in ``lay``."""
    model, prof = ctx.model, ctx.profile
    times, comm = _layer_parts(ctx, lay)
    stage_layers = np.ceil(model.layers / lay.pp)
    logit_f, logit_b = logits_times(ctx.compute, model, lay)
    compute_mb = stage_layers * (times.fwd_s + times.bwd_s) + logit_f + logit_b
    recompute_mb = stage_layers * times.recompute_s
    comm_mb = stage_layers * (comm.tp_s + comm.cp_s + comm.ep_s)
    sg = np.where(bool(prof["pp_scatter_gather"]) | lay.sp, lay.tp, 1)
    p2p_bytes = _tokens(model, lay) * model.hidden * WIRE_BYTES / sg
    p2p = p2p_time_s(ctx.network, p2p_bytes, lay.tp * lay.cp * lay.dp)
    pp_mb = np.where(lay.pp > 1, (1 - prof["pp_overlap_frac"]) * 2 * lay.v * p2p, 0.0)
    per_mb = compute_mb + recompute_mb + comm_mb + pp_mb
    m = lay.m.astype(np.float64)
    bubble = (lay.pp - 1) / lay.v * per_mb
    dp_step, z3_mb = dp_times(ctx, lay)
    busy = m * (compute_mb + recompute_mb)
    z3 = m * z3_mb
    z3_exposed = z3 - prof["zero3_overlap_frac"] * np.minimum(z3, busy)  # max(a, b) + (1 - f) min(a, b)
    dp_exposed = (1 - prof["dp_overlap_frac"]) * dp_step + z3_exposed
    other = float(ctx.assumptions.compute["overheads"]["step_overhead_s"])
    return StepParts(
        compute_s=m * compute_mb,
        recompute_s=m * recompute_mb,
        tp_exposed_s=m * stage_layers * comm.tp_s,
        cp_exposed_s=m * stage_layers * comm.cp_s,
        ep_exposed_s=m * stage_layers * comm.ep_s,
        pp_exposed_s=m * pp_mb,
        bubble_s=bubble,
        dp_exposed_s=dp_exposed,
        optimizer_s=optimizer_time_s(ctx, lay),
        other_s=np.full_like(bubble, other),
    )


def step_memory(ctx: Context, lay: Layouts) -> MemoryParts:
    return memory_parts(ctx.model, lay, ctx.assumptions, flash=ctx.compute.flash)
