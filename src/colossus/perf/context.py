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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, fields, replace
from functools import cached_property, lru_cache
from typing import Any

import numpy as np

from colossus.errors import SpecError
from colossus.perf.assumptions import PerfAssumptions
from colossus.perf.layout import CP_COMM_CODES, SCHEDULE_CODES
from colossus.perf.powercap import compute_clock_frac
from colossus.perf.software import Software, dtype_bytes
from colossus.spec import CompiledBy, ExpertRouting, FabricSpec, GpuSpec, ModelSpec, Precision, SelectiveRecompute
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
    rms_norm: np.ndarray
    rotary: np.ndarray
    dropout: np.ndarray
    attn_params: np.ndarray  # one layer's attention projections
    dense_ffn_params: np.ndarray  # one dense FFN
    expert_params: np.ndarray  # one expert's FFN (0 for a dense model)
    # GPU
    peak_bf16_flop_per_s: np.ndarray
    peak_fp8_flop_per_s: np.ndarray
    hbm_bytes_per_s: np.ndarray  # achievable (nominal x hbm_eff)
    hbm_bytes: np.ndarray
    clock_frac: np.ndarray  # compute speed at the power limit relative to TDP
    sms: np.ndarray  # streaming multiprocessors (GEMM waves)
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
    sw_eager_acts: np.ndarray  # autograd keeps every op's inputs (not compiled)
    sw_min_cut_acts: np.ndarray  # torch.compile's min-cut partitioner recomputes cheap ops for the backward
    sw_dp_overlap: np.ndarray
    sw_pp_dp_overlap: np.ndarray  # the DP reduction overlaps with pp > 1 too (else: after the last backward)
    sw_pp_overlap: np.ndarray
    sw_parallel_block: np.ndarray
    sw_grad_bytes: np.ndarray
    sw_zero3_grad_bytes: np.ndarray  # with ZeRO-3/FSDP
    sw_fp16_grad_bytes: np.ndarray  # when the run trains in fp16
    sw_fp8_grad_bytes: np.ndarray  # when the run trains in FP8 (ZeRO 0-2)
    sw_fp8_zero3_grad_bytes: np.ndarray  # when the run trains in FP8 with ZeRO-3/FSDP
    sw_fp8_param_gather: np.ndarray  # an FP8 run all-gathers its parameters in FP8
    sw_grad_buffer_reduce: np.ndarray  # gradients accumulate in the reduction dtype (else fp32 main gradients)
    sw_selective: np.ndarray  # code, see SELECTIVE_CODES
    sw_deepep: np.ndarray
    sw_ep_overlap: np.ndarray
    sw_dropless: np.ndarray  # MoE tokens go where the router sends them (expert loads vary), not force-balanced
    sw_capacity: np.ndarray  # an expert's token capacity over its mean share (inf: no token drop)
    sw_pad_capacity: np.ndarray  # every expert runs exactly its capacity
    sw_fsdp_agg: np.ndarray
    sw_pp_scatter: np.ndarray
    sw_pp_serial: np.ndarray  # each pipeline send and receive a blocking step of its own (four a micro-batch)
    sw_embedding_loss: np.ndarray
    sw_uneven_stages: np.ndarray  # virtual stages may hold different numbers of layers
    sw_interleave: np.ndarray
    sw_interleave_pp_groups: np.ndarray  # interleaving needs the micro-batches in whole groups of pp
    sw_tensor_parallel: np.ndarray
    sw_pipeline_parallel: np.ndarray
    sw_context_parallel: np.ndarray
    sw_expert_parallel: np.ndarray
    sw_sequence_parallel: np.ndarray
    sw_zero: np.ndarray
    sw_pipeline_zero_max: np.ndarray  # highest ZeRO stage beside pipeline parallelism
    sw_zero3_live_layers: np.ndarray
    sw_zero3_reuse_params: np.ndarray  # inf where the stack keeps a recomputed layer gathered for its backward
    sw_zero3_pp_once: np.ndarray  # with pp > 1, ZeRO-3 gathers once a step and reduces once (PyTorch pipelining)
    sw_schedule: np.ndarray  # pipeline schedule, code of SCHEDULE_CODES
    sw_cp_comm: np.ndarray  # context-parallel exchange, code of CP_COMM_CODES
    sw_moment_bytes: np.ndarray  # bytes of one Adam moment
    sw_fp8_moe_act_cache: np.ndarray  # FP8 runs keep the experts' SwiGLU inputs in FP8 and recompute its output
    sw_compiled: np.ndarray
    # network
    num_gpus: np.ndarray
    ecmp: np.ndarray  # the fabric hashes flows onto its paths statically (no adaptive routing)
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

    @cached_property
    def any_mla(self) -> bool:
        return bool(self.mla.any())

    @cached_property
    def any_moe(self) -> bool:
        return bool(self.is_moe.any())

    @cached_property
    def all_flash(self) -> bool:
        return bool(self.flash.all())

    def flag(self, name: str) -> bool | None:
        """True (False) where every row has boolean field ``name`` set (unset); None where the rows differ."""
        return self.kept("flag:" + name, lambda ctx: _agreed(getattr(ctx, name)))

    @cached_property
    def _kept(self) -> dict[str, Any]:
        return {}

    def kept(self, name: str, make: Callable[[Context], Any]) -> Any:
        """``make(self)``, computed once per context and kept with it under ``name``.

        For what depends on the rows alone (model, GPU, stack, network and the assumptions), not on a
        layout: the model evaluates it once per context, however many layouts or evaluations use it.
        The fields are never written in place (``take`` makes a new context, which derives afresh).
        """
        kept = self._kept
        if name not in kept:
            kept[name] = make(self)
        return kept[name]

    def take(self, index: np.ndarray) -> Context:
        """Rows at ``index``."""
        return replace(self, **{f.name: getattr(self, f.name)[index] for f in fields(self) if f.name != "k"})


def _agreed(values: np.ndarray) -> bool | None:
    if values.all():
        return True
    return None if values.any() else False


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
        "rms_norm": model.norm.value == "rmsnorm", "rotary": model.rotary,
        "dropout": model.dropout, "attn_params": model.attention_params, "dense_ffn_params": model.dense_ffn_params,
        "expert_params": model.expert_params,
    }


def _gpu_static(gpu: GpuSpec, power_limit_w: float | None) -> dict[str, float]:
    return {
        "peak_bf16_flop_per_s": gpu.peak_flop_per_s(Precision.BF16),
        "peak_fp8_flop_per_s": gpu.peak_flop_per_s(Precision.FP8) if gpu.supports(Precision.FP8) else 0.0,
        "hbm_bytes_per_s": gpu.hbm_bytes_per_s,  # nominal here; x hbm_eff when tuned
        "hbm_bytes": gpu.hbm_bytes,
        "clock_frac": compute_clock_frac(gpu, power_limit_w),
        "nvlink_bytes_per_s": gpu.nvlink_bytes_per_s,  # nominal here; x NCCL efficiency when tuned
    }


def _software_static(sw: Software) -> dict[str, float]:
    return dict(
        flash=sw.flash, sw_compiled=sw.compiled, sw_eager_acts=not sw.compiled,
        sw_min_cut_acts=sw.compiled and sw.compiled_by is CompiledBy.TORCH_COMPILE,
        sw_tp_overlap=sw.tp_comm_overlap or sw.async_tp, sw_dp_overlap=sw.dp_comm_overlap,
        sw_pp_dp_overlap=sw.pipeline_dp_overlap,
        sw_pp_overlap=sw.pp_comm_overlap, sw_parallel_block=sw.parallel_block, sw_grad_bytes=sw.grad_reduce_bytes,
        sw_zero3_grad_bytes=sw.zero3_grad_reduce_bytes,
        sw_fp16_grad_bytes=dtype_bytes(sw.fp16_grad_reduce_dtype), sw_grad_buffer_reduce=sw.grad_buffer_in_reduce_dtype,
        sw_fp8_grad_bytes=dtype_bytes(sw.fp8_grad_reduce_dtype),
        sw_fp8_zero3_grad_bytes=dtype_bytes(sw.fp8_zero3_grad_reduce_dtype),
        sw_fp8_param_gather=sw.fp8_param_gather,
        sw_selective=SELECTIVE_CODES.index(sw.selective_recompute), sw_deepep=sw.ep_dispatcher.value == "deepep",
        sw_ep_overlap=sw.ep_comm_overlap, sw_dropless=sw.expert_routing is ExpertRouting.DROPLESS,
        sw_capacity=float("inf") if sw.expert_capacity_factor is None else sw.expert_capacity_factor,
        sw_pad_capacity=sw.expert_pad_to_capacity and sw.expert_capacity_factor is not None,
        sw_fsdp_agg=sw.fsdp_node_aggregation, sw_pp_scatter=sw.pp_scatter_gather,
        sw_pp_serial=sw.pp_transfers_serial,
        sw_embedding_loss=sw.embedding_loss_stages, sw_uneven_stages=sw.uneven_virtual_stages,
        sw_interleave=sw.interleave, sw_interleave_pp_groups=sw.interleave_in_pp_groups,
        sw_tensor_parallel=sw.tensor_parallel, sw_pipeline_parallel=sw.pipeline_parallel,
        sw_context_parallel=sw.context_parallel, sw_expert_parallel=sw.expert_parallel,
        sw_sequence_parallel=sw.sequence_parallel, sw_zero=sw.zero, sw_pipeline_zero_max=sw.pipeline_zero_max,
        sw_zero3_live_layers=sw.zero3_live_layers,
        sw_zero3_reuse_params=float("inf") if sw.zero3_max_reuse_params is None else sw.zero3_max_reuse_params,
        sw_zero3_pp_once=sw.zero3_pp_gather_once, sw_schedule=SCHEDULE_CODES.index(sw.pipeline_schedule),
        sw_cp_comm=CP_COMM_CODES.index(sw.cp_comm_type), sw_moment_bytes=sw.moment_bytes,
        sw_fp8_moe_act_cache=sw.fp8_moe_activation_cache,
    )


#: Fields that hold booleans (the rest are float64, the network's levels 2-D).
_BOOL = {
    "tied",
    "is_moe",
    "mla",
    "rms_norm",
    "rotary",
    "dropout",
    "flash",
    "sw_compiled",
    "sw_tp_overlap",
    "ecmp",
    "sw_eager_acts",
    "sw_min_cut_acts",
    "sw_dp_overlap",
    "sw_pp_dp_overlap",
    "sw_fp8_param_gather",
    "sw_fp8_moe_act_cache",
    "sw_grad_buffer_reduce",
    "sw_pp_overlap",
    "sw_parallel_block",
    "sw_deepep",
    "sw_ep_overlap",
    "sw_dropless",
    "sw_pad_capacity",
    "sw_fsdp_agg",
    "sw_pp_scatter",
    "sw_pp_serial",
    "sw_embedding_loss",
    "sw_uneven_stages",
    "sw_interleave",
    "sw_interleave_pp_groups",
    "sw_tensor_parallel",
    "sw_pipeline_parallel",
    "sw_context_parallel",
    "sw_expert_parallel",
    "sw_sequence_parallel",
    "sw_zero3_pp_once",
}
_INT = {"layers", "heads", "experts", "expert_ffn_hidden", "seq", "num_gpus", "gpus_per_server", "sw_selective",
        "sw_zero", "sw_pipeline_zero_max", "sw_schedule", "sw_cp_comm"}


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
        "tile_m": float(c["moe"]["waves"]["tile_m"]),
        "tile_n": float(c["moe"]["waves"]["tile_n"]),
        "gemm_streams": float(c["moe"]["waves"]["streams"]),
        "grouped_gemm_eff": float(c["moe"]["grouped_gemm_eff"]),
        "expert_overhead_s": float(c["moe"]["expert_overhead_s"]),
        "expert_load_cv": float(c["moe"]["expert_load_cv"]),
        "tp_hide": float(o["tp"]["hide_frac"]),
        "dp_contention": float(o["dp"]["contention_frac"]),
        "ep_hide": float(o["ep"]["hide_frac"]),
        "ep_hide_dualpipe": float(o["ep"]["dualpipe_hide_frac"]),
        "pp_hide": float(o["pp"]["hide_frac"]),
        "zero3_unaggregated_eff": float(o["zero3"]["unaggregated_bus_eff"]),
        "zero3_unaggregated_contention": float(o["zero3"]["unaggregated_contention_frac"]),
        "nvlink_latency_s": float(a.network["nccl"]["nvlink_latency_s"]),
        "p2p_latency_s": float(a.network["nccl"]["p2p_latency_s"]),
        "a2a_eff": float(a.network["nccl"]["a2a_busbw_eff"]),
        **{f"mem_{k}": float(v) for k, v in m["bytes"].items()},
        **{f"mem_{k}": float(v) for k, v in m["reserve"].items()},
    }


@dataclass(frozen=True)
class StaticRows:
    """What a context's rows hold independent of the model's assumptions (built once per set of runs)."""

    cols: dict[str, np.ndarray]
    arch: np.ndarray  # GPU architecture per row
    kernel: np.ndarray  # attention kernel per row
    level_span_gpus: np.ndarray
    level_bytes_per_s: np.ndarray  # nominal, before NCCL efficiency
    level_latency_s: np.ndarray  # switches and cables, before the NIC's own latency


def static_rows(runs: Sequence[RunInputs]) -> StaticRows:
    cols: dict[str, list[Any]] = {}
    spans, bws, lats = [], [], []
    for run in runs:
        row = {**_model_row(run.model), **_gpu_static(run.gpu, run.power_limit_w), **_software_static(run.software)}
        row.update(num_gpus=run.num_gpus, gpus_per_server=run.gpus_per_server, ecmp=not run.fabric.adaptive)
        for key, value in row.items():
            cols.setdefault(key, []).append(value)
        levels = np.array(_levels(run.fabric.model_dump_json(), run.num_gpus, run.gpus_per_server))
        spans.append(levels[:, 0])
        bws.append(levels[:, 1])
        lats.append(levels[:, 2])
    arrays = {k: np.array(v, dtype=bool if k in _BOOL else np.int64 if k in _INT else np.float64)
              for k, v in cols.items()}
    return StaticRows(
        arrays,
        np.array([r.gpu.architecture for r in runs]),
        np.array([r.software.attention.value for r in runs]),
        _pad_levels(spans), _pad_levels(bws), _pad_levels(lats),
    )


def _per_key(keys: np.ndarray, value_of) -> np.ndarray:
    """``value_of(key)`` for every row, evaluated once per distinct key."""
    memo: dict[str, float] = {}
    return np.array([memo[k] if k in memo else memo.setdefault(k, value_of(k)) for k in keys.tolist()],
                    dtype=np.float64)


def _curve(a: PerfAssumptions, arch: str, prec: str, i: int) -> float:
    """One figure of a GEMM curve; 1.0 where the generation has no curve in that precision (never used)."""
    table = a.compute["gemm"].get(arch, {})
    return float(table[prec]["eff_max" if i == 0 else "dim_half"]) if prec in table else 1.0


def _elementwise(a: PerfAssumptions, cols: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Forward element-wise bytes per token: per hidden unit (norms, residuals, rotary) and per FFN unit."""
    tables = a.compute["elementwise"]

    def pick(key: str) -> np.ndarray:
        return np.where(cols["sw_compiled"], float(tables["fused"][key]), float(tables["eager"][key]))

    norm = np.where(cols["rms_norm"], pick("rmsnorm_bytes"), pick("layernorm_bytes"))
    qk_per_hidden = (cols["heads"] * cols["qk_dim"] + cols["kv_heads"] * cols["qk_dim"]) / cols["hidden"]
    rope = np.where(cols["rotary"], pick("rope_bytes") * qk_per_hidden, 0.0)
    return 2 * norm + 2 * pick("residual_bytes") + rope, pick("bytes_per_token_ffn_fwd")


def build_context(runs: Sequence[RunInputs], assumptions: PerfAssumptions, static: StaticRows | None = None) -> Context:
    """One row per run: the static rows (``static_rows``) tuned by the assumptions."""
    a = assumptions
    st = static or static_rows(runs)
    nccl = a.network["nccl"]
    cols = dict(st.cols)
    cols["hbm_bytes_per_s"] = cols["hbm_bytes_per_s"] * a.f("compute.memory_bound.hbm_eff")
    cols["nvlink_bytes_per_s"] = cols["nvlink_bytes_per_s"] * float(nccl["nvlink_busbw_eff"])
    for arch in np.unique(st.arch):
        a.gemm_curve(str(arch), "bf16")  # a generation without a BF16 curve is an error worth naming
    for prec in ("bf16", "fp8"):
        cols[f"{prec}_eff_max"] = _per_key(st.arch, lambda arch: _curve(a, arch, prec, 0))  # noqa: B023 (called now)
        cols[f"{prec}_dim_half"] = _per_key(st.arch, lambda arch: _curve(a, arch, prec, 1))  # noqa: B023
    sms = a.compute["moe"]["waves"]["sms"]
    for arch in np.unique(st.arch):
        if str(arch) not in sms:
            raise SpecError(f"no SM count for {arch} GPUs in catalog/data/perf_compute.toml [moe.waves] sms")
    cols["sms"] = _per_key(st.arch, lambda arch: float(sms[arch]))
    pairs = np.char.add(np.char.add(st.kernel.astype(str), "/"), st.arch.astype(str))
    flash = cols["flash"]
    for name, key in (("attn_fwd_eff", "fwd_eff"), ("attn_bwd_eff", "bwd_eff"), ("attn_seq_half_full", "seq_half_full"),
                      ("attn_seq_half_causal", "seq_half_causal"), ("attn_hd_half", "hd_half")):
        value = _per_key(pairs, lambda pair: float(a.attention_kernel(*pair.split("/"))[key])  # noqa: B023 (called now)
                         if pair.split("/")[0] != "unfused" else 0.0)
        cols[name] = np.where(flash, value, 1.0 if key.endswith("eff") else 0.0)
    cols["ew_hidden_bytes"], cols["ew_ffn_bytes"] = _elementwise(a, cols)
    level_bytes_per_s = st.level_bytes_per_s * float(nccl["net_busbw_eff"])
    if cols["ecmp"].any():  # flow collisions beyond the leaf of a statically hashed fabric (ECMP)
        beyond_leaf = np.arange(level_bytes_per_s.shape[1]) >= 1
        level_bytes_per_s = np.where(cols["ecmp"][:, None] & beyond_leaf,
                                     level_bytes_per_s * float(nccl["ecmp_spine_eff"]), level_bytes_per_s)
    return Context(**cols, level_span_gpus=st.level_span_gpus, level_bytes_per_s=level_bytes_per_s,
                   level_latency_s=st.level_latency_s + float(nccl["nic_latency_s"]), k=shared_constants(a))


def peak_gemm_flop_per_s(ctx: Context, fp8: np.ndarray) -> np.ndarray:
    """Peak of the GEMM precision per row."""
    return np.where(fp8, ctx.peak_fp8_flop_per_s, ctx.peak_bf16_flop_per_s)


__all__ = [
    "Context",
    "RunInputs",
    "SELECTIVE_CODES",
    "StaticRows",
    "build_context",
    "peak_gemm_flop_per_s",
    "static_rows",
]
