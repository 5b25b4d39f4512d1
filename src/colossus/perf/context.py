"""Everything about a run except its layout, as arrays over rows: model, GPU, stack, network.

The performance model is written once, on numpy arrays. A *row* is one run's
context; ``estimate`` builds one row and broadcasts it over that run's
candidate layouts, ``plan`` over tens of thousands of layouts, and
``validate`` stacks every published run's row so the whole validation set is
one pass (which is what makes refitting the model inside a cross-validation
cheap). ``Context`` is a struct of arrays; ``RunInputs`` is what one row is
built from.

Fields carry SI units in their names where they have units. ``sw_*`` fields
are the resolved software stack (``perf.software``), as numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from functools import lru_cache
from typing import Any, Sequence

import numpy as np

from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.powercap import compute_clock_frac
from colossus.perf.software import Software
from colossus.spec import FabricSpec, GpuSpec, ModelSpec, Precision, SelectiveRecompute
from colossus.topology import comm_levels

#: Selective-recompute policies as integer codes.
SELECTIVE_CODES: tuple[SelectiveRecompute, ...] = tuple(SelectiveRecompute)


@dataclass(frozen=True)
class RunInputs:
    """The layout-independent inputs of one run."""

    model: ModelSpec
    gpu: GpuSpec  # with the run's HBM variant applied
    software: Software
    fabric: FabricSpec
    num_gpus: int
    gpus_per_server: int
    power_limit_w: float | None = None


@dataclass(frozen=True)
class Context:
    """Per-row inputs of the performance model (1-D arrays; the network's levels are 2-D)."""

    # model shape
    layers: np.ndarray
    hidden: np.ndarray
    heads: np.ndarray
    kv_heads: np.ndarray
    head_dim: np.ndarray
    qk_dim: np.ndarray  # per-head width of queries and keys
    v_dim: np.ndarray  # per-head width of values
    ffn_hidden: np.ndarray
    ffn_mats: np.ndarray  # 2 (GeLU) or 3 (gated)
    vocab: np.ndarray
    seq: np.ndarray
    tied: np.ndarray
    is_moe: np.ndarray
    moe_frac: np.ndarray  # share of layers that are MoE
    experts: np.ndarray  # 1 for a dense model
    top_k: np.ndarray
    expert_ffn_hidden: np.ndarray
    shared_experts: np.ndarray
    mla: np.ndarray
    q_lora: np.ndarray
    kv_lora: np.ndarray
    qk_rope: np.ndarray
    attn_params: np.ndarray  # one layer's attention projections
    dense_ffn_params: np.ndarray  # one dense FFN
    expert_params: np.ndarray  # one expert's FFN (0 for a dense model)
    # GPU
    peak_bf16_flop_per_s: np.ndarray
    peak_fp8_flop_per_s: np.ndarray
    hbm_bytes_per_s: np.ndarray  # achievable (nominal x hbm_eff)
    hbm_bytes: np.ndarray
    clock_frac: np.ndarray  # compute speed at the power limit relative to TDP
    # GEMM curves
    bf16_eff_max: np.ndarray
    bf16_dim_half: np.ndarray
    fp8_eff_max: np.ndarray
    fp8_dim_half: np.ndarray
    # attention kernel
    flash: np.ndarray
    attn_fwd_eff: np.ndarray
    attn_bwd_eff: np.ndarray
    attn_seq_half_full: np.ndarray
    attn_seq_half_causal: np.ndarray
    attn_hd_half: np.ndarray
    # element-wise traffic (fused or eager)
    ew_hidden_bytes: np.ndarray
    ew_ffn_bytes: np.ndarray
    # software
    sw_tp_overlap: np.ndarray
    sw_dp_overlap: np.ndarray
    sw_pp_overlap: np.ndarray
    sw_parallel_block: np.ndarray
    sw_grad_bytes: np.ndarray
    sw_selective: np.ndarray  # code, see SELECTIVE_CODES
    sw_deepep: np.ndarray
    sw_ep_overlap: np.ndarray
    sw_fsdp_agg: np.ndarray
    sw_pp_scatter: np.ndarray
    sw_embedding_loss: np.ndarray
    sw_interleave: np.ndarray
    sw_context_parallel: np.ndarray
    sw_expert_parallel: np.ndarray
    sw_sequence_parallel: np.ndarray
    sw_zero: np.ndarray
    sw_zero3_live_layers: np.ndarray
    # network
    num_gpus: np.ndarray
    gpus_per_server: np.ndarray
    nvlink_bytes_per_s: np.ndarray  # per GPU per direction, after NCCL efficiency
    level_span_gpus: np.ndarray  # (rows, levels), padded with the top level
    level_bytes_per_s: np.ndarray  # (rows, levels)
    level_latency_s: np.ndarray  # (rows, levels)
    # the assumptions every row shares (scalars)
    k: dict[str, float] = field(default_factory=dict, compare=False)

    @property
    def size(self) -> int:
        return int(self.layers.shape[0])

    def take(self, index: np.ndarray) -> "Context":
        """Rows at ``index``."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self) if f.name != "k"})


def _pad_levels(rows: list[np.ndarray]) -> np.ndarray:
    width = max(r.size for r in rows)
    return np.stack([np.concatenate([r, np.repeat(r[-1:], width - r.size)]) for r in rows])


@lru_cache(maxsize=512)
def _levels(fabric_json: str, num_gpus: int, gpus_per_server: int) -> tuple[tuple[float, float, float], ...]:
    fabric = FabricSpec.model_validate_json(fabric_json)
    servers = -(-num_gpus // gpus_per_server)
    levels = comm_levels(fabric, num_gpus=servers * gpus_per_server, gpus_per_server=gpus_per_server)
    return tuple((float(lv.span_gpus), lv.bytes_per_s_per_gpu, lv.latency_s) for lv in levels)


def _model_row(model: ModelSpec) -> dict[str, float]:
    moe, mla = model.moe, model.mla
    return {
        "layers": model.layers, "hidden": model.hidden, "heads": model.heads, "kv_heads": model.kv_heads,
        "head_dim": model.head_dim, "qk_dim": model.qk_head_dim, "v_dim": model.v_head_dim,
        "ffn_hidden": model.ffn_hidden, "ffn_mats": model.activation.ffn_matrices, "vocab": model.vocab,
        "seq": model.seq_len, "tied": model.tied_embeddings, "is_moe": moe is not None,
        "moe_frac": model.num_moe_layers / model.layers,
        "experts": moe.experts if moe else 1, "top_k": moe.top_k if moe else 0,
        "expert_ffn_hidden": moe.expert_ffn_hidden if moe else 1, "shared_experts": moe.shared_experts if moe else 0,
        "mla": mla is not None, "q_lora": mla.q_lora_rank if mla else 0, "kv_lora": mla.kv_lora_rank if mla else 0,
        "qk_rope": mla.qk_rope_head_dim if mla else 0,
        "attn_params": model.attention_params, "dense_ffn_params": model.dense_ffn_params,
        "expert_params": model.expert_params,
    }


def _gpu_row(gpu: GpuSpec, power_limit_w: float | None, a: PerfAssumptions) -> dict[str, float]:
    arch = gpu.architecture
    bf16 = a.gemm_curve(arch, "bf16")
    fp8 = a.gemm_curve(arch, "fp8") if gpu.supports(Precision.FP8) else (1.0, 1.0)
    return {
        "peak_bf16_flop_per_s": gpu.peak_flop_per_s(Precision.BF16),
        "peak_fp8_flop_per_s": gpu.peak_flop_per_s(Precision.FP8) if gpu.supports(Precision.FP8) else 0.0,
        "hbm_bytes_per_s": gpu.hbm_bytes_per_s * a.f("compute.memory_bound.hbm_eff"),
        "hbm_bytes": gpu.hbm_bytes,
        "clock_frac": compute_clock_frac(gpu, power_limit_w),
        "bf16_eff_max": bf16[0], "bf16_dim_half": bf16[1], "fp8_eff_max": fp8[0], "fp8_dim_half": fp8[1],
    }


def _software_row(sw: Software, arch: str, a: PerfAssumptions) -> dict[str, float]:
    row: dict[str, float] = {"flash": sw.flash}
    if sw.flash:
        kern = a.attention_kernel(sw.attention.value, arch)
        row.update(attn_fwd_eff=float(kern["fwd_eff"]), attn_bwd_eff=float(kern["bwd_eff"]),
                   attn_seq_half_full=float(kern["seq_half_full"]), attn_seq_half_causal=float(kern["seq_half_causal"]),
                   attn_hd_half=float(kern["hd_half"]))
    else:
        row.update(attn_fwd_eff=1.0, attn_bwd_eff=1.0, attn_seq_half_full=0.0, attn_seq_half_causal=0.0,
                   attn_hd_half=0.0)
    ew = a.compute["elementwise"]["fused" if sw.compiled else "eager"]
    row.update(
        ew_hidden_bytes=float(ew["bytes_per_token_hidden_fwd"]), ew_ffn_bytes=float(ew["bytes_per_token_ffn_fwd"]),
        sw_tp_overlap=sw.tp_comm_overlap or sw.async_tp, sw_dp_overlap=sw.dp_comm_overlap,
        sw_pp_overlap=sw.pp_comm_overlap, sw_parallel_block=sw.parallel_block, sw_grad_bytes=sw.grad_reduce_bytes,
        sw_selective=SELECTIVE_CODES.index(sw.selective_recompute), sw_deepep=sw.ep_dispatcher.value == "deepep",
        sw_ep_overlap=sw.ep_comm_overlap, sw_fsdp_agg=sw.fsdp_node_aggregation, sw_pp_scatter=sw.pp_scatter_gather,
        sw_embedding_loss=sw.embedding_loss_stages, sw_interleave=sw.interleave,
        sw_context_parallel=sw.context_parallel, sw_expert_parallel=sw.expert_parallel,
        sw_sequence_parallel=sw.sequence_parallel, sw_zero=sw.zero, sw_zero3_live_layers=sw.zero3_live_layers,
    )
    return row


#: Fields that hold booleans (the rest are float64, the network's levels 2-D).
_BOOL = {"tied", "is_moe", "mla", "flash", "sw_tp_overlap", "sw_dp_overlap", "sw_pp_overlap", "sw_parallel_block",
         "sw_deepep", "sw_ep_overlap", "sw_fsdp_agg", "sw_pp_scatter", "sw_embedding_loss", "sw_interleave",
         "sw_context_parallel", "sw_expert_parallel", "sw_sequence_parallel"}
_INT = {"layers", "heads", "experts", "expert_ffn_hidden", "seq", "num_gpus", "gpus_per_server", "sw_selective",
        "sw_zero"}


def shared_constants(a: PerfAssumptions) -> dict[str, float]:
    """The scalar assumptions every row shares, by short name."""
    c, o, m = a.compute, a.overlap, a.memory
    return {
        "causal_frac": float(c["attention"]["causal_executed_frac"]),
        "attn_bwd_flop_per_fwd": float(c["attention"]["bwd_flop_per_fwd"]),
        "merge_bytes": float(c["attention"]["merge_bytes_per_element"]),
        "score_bytes_fwd": float(c["attention"]["unfused"]["score_bytes_fwd"]),
        "score_bytes_bwd": float(c["attention"]["unfused"]["score_bytes_bwd"]),
        "ew_bwd_per_fwd": float(c["memory_bound"]["bwd_per_fwd"]),
        "fp8_cast_bytes": float(c["memory_bound"]["fp8_cast_bytes_per_element"]),
        "logits_bytes": float(c["memory_bound"]["logits_bytes_per_element"]),
        "optimizer_bytes_per_param": float(c["optimizer"]["bytes_per_param"]),
        "launch_s": float(c["overheads"]["kernel_launch_s"]),
        "kernels_per_layer": float(c["overheads"]["kernels_per_layer_fwd"]),
        "step_overhead_s": float(c["overheads"]["step_overhead_s"]),
        "moe_permute_bytes": float(c["moe"]["permute_bytes_per_token_hidden"]),
        "grouped_gemm_eff": float(c["moe"]["grouped_gemm_eff"]),
        "expert_overhead_s": float(c["moe"]["expert_overhead_s"]),
        "tp_hide": float(o["tp"]["hide_frac"]),
        "dp_contention": float(o["dp"]["contention_frac"]),
        "ep_hide": float(o["ep"]["hide_frac"]),
        "pp_hide": float(o["pp"]["hide_frac"]),
        "zero3_unaggregated_eff": float(o["zero3"]["unaggregated_bus_eff"]),
        "nvlink_latency_s": float(a.network["nccl"]["nvlink_latency_s"]),
        "p2p_latency_s": float(a.network["nccl"]["p2p_latency_s"]),
        "a2a_eff": float(a.network["nccl"]["a2a_busbw_eff"]),
        **{f"mem_{k}": float(v) for k, v in m["bytes"].items()},
        **{f"mem_{k}": float(v) for k, v in m["reserve"].items()},
    }


def build_context(runs: Sequence[RunInputs], assumptions: PerfAssumptions) -> Context:
    """One row per run."""
    a = assumptions
    nccl = a.network["nccl"]
    net_eff, nvl_eff, nic_lat = (float(nccl[k]) for k in ("net_busbw_eff", "nvlink_busbw_eff", "nic_latency_s"))
    cols: dict[str, list[Any]] = {}
    spans, bws, lats = [], [], []
    for run in runs:
        row = {**_model_row(run.model), **_gpu_row(run.gpu, run.power_limit_w, a),
               **_software_row(run.software, run.gpu.architecture, a)}
        row.update(num_gpus=run.num_gpus, gpus_per_server=run.gpus_per_server,
                   nvlink_bytes_per_s=run.gpu.nvlink_bytes_per_s * nvl_eff)
        for key, value in row.items():
            cols.setdefault(key, []).append(value)
        levels = np.array(_levels(run.fabric.model_dump_json(), run.num_gpus, run.gpus_per_server))
        spans.append(levels[:, 0])
        bws.append(levels[:, 1] * net_eff)
        lats.append(levels[:, 2] + nic_lat)
    arrays = {k: np.array(v, dtype=bool if k in _BOOL else np.int64 if k in _INT else np.float64)
              for k, v in cols.items()}
    return Context(**arrays, level_span_gpus=_pad_levels(spans), level_bytes_per_s=_pad_levels(bws),
                   level_latency_s=_pad_levels(lats), k=shared_constants(a))


def peak_gemm_flop_per_s(ctx: Context, fp8: np.ndarray) -> np.ndarray:
    """Peak of the GEMM precision per row."""
    return np.where(fp8, ctx.peak_fp8_flop_per_s, ctx.peak_bf16_flop_per_s)


__all__ = ["Context", "RunInputs", "SELECTIVE_CODES", "build_context", "peak_gemm_flop_per_s"]
