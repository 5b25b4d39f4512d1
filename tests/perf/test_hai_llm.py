"""DeepSeek's HAI-LLM stack as its reports describe it, and the two memory savings it brought.

The ``hai-llm`` profile (catalog ``software.toml``) is what a run whose version text names HAI-LLM gets:
DualPipe, the experts' dispatch overlapped, DeepEP-kind node-aware dispatch, BF16 Adam moments, the
norms and MLA's up-projections recomputed (``norm_mla_up``), and FP8 runs caching their experts' SwiGLU
inputs in FP8 with its output recomputed (``fp8_moe_activation_cache``; DeepSeek-V3 report Sec. 3.3.3).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from colossus.errors import InfeasibleError
from colossus.perf import estimate
from colossus.perf.compute import layer_times
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.memory import activation_bytes_per_token_layer
from colossus.perf.software import resolve
from colossus.spec import PipelineSchedule, RunSpec, SoftwareSpec, lookup

DEFAULT = "megatron-core-2025"
DSV3 = {**lookup("models", "deepseek-v3-671b").model_dump(mode="json"), "seq_len": 4096}
QWEN3 = {"layers": 4, "hidden": 4096, "heads": 64, "kv_heads": 4, "head_dim": 128, "ffn_hidden": 1536,
         "activation": "swiglu", "vocab": 151936, "seq_len": 4096,
         "moe": {"experts": 128, "top_k": 8, "expert_ffn_hidden": 1536}}
#: DeepSeek-V3's own layout (report Sec. 3.2): PP 16, EP 64 over 8 nodes, ZeRO-1, no TP, 2,048 H800.
V3_LAYOUT = {"tp": 1, "pp": 16, "dp": 128, "ep": 64, "micro_batch": 1, "global_batch": 15360,
             "recompute": "selective", "zero": 1, "precision": "fp8"}


def run(layout: dict, *, model: dict, gpus: int, software: dict, gpu: str = "h800-sxm5-80gb") -> RunSpec:
    return RunSpec.model_validate({"id": "hai", "model": model, "layout": layout, "software": software,
                                   "cluster": {"gpu": gpu, "gpus": gpus}})


def test_a_version_naming_hai_llm_takes_deepseeks_stack():
    sw = resolve(SoftwareSpec(framework="other", version="HAI-LLM"), "hopper", default_profile=DEFAULT)
    assert sw.profile == "hai-llm" and not sw.profile_assumed
    assert sw.pipeline_schedule is PipelineSchedule.DUALPIPE and sw.ep_comm_overlap and not sw.interleave
    assert sw.ep_dispatcher.value == "deepep" and sw.optimizer_moments_dtype.value == "bf16"
    assert sw.selective_recompute.value == "norm_mla_up" and sw.fp8_moe_activation_cache
    # DeepSeek-V2's zero-bubble pipeline, named in the version text, replaces the profile's DualPipe
    v2 = resolve(SoftwareSpec(framework="other", version="HAI-LLM, 16-way zero-bubble"), "hopper",
                 default_profile=DEFAULT)
    assert v2.pipeline_schedule is PipelineSchedule.ZERO_BUBBLE
    # the name as a word: another stack's name that contains it is not DeepSeek's
    assert resolve(SoftwareSpec(framework="other", version="chai-llm 0.3"), "hopper",
                   default_profile=DEFAULT).profile != "hai-llm"
    # no other stack caches its experts' activation inputs in FP8
    assert not resolve(SoftwareSpec(framework="other"), "hopper", default_profile=DEFAULT).fp8_moe_activation_cache


def _ctx_lay(layout: dict, model: dict, software: dict, gpus: int):
    r = run(layout, model=model, gpus=gpus, software=software)
    return run_context(r), from_spec(r.layout)


def test_fp8_experts_keep_their_activation_inputs_in_fp8_and_not_its_output():
    """Per token and layer the experts' SwiGLU inputs (gate and up, 2 x 2 bytes per FFN unit) shrink to their
    FP8 casts (2 x 1) and the product (FC2's 1-byte input) is not kept: 3 bytes per expert FFN unit saved;
    a BF16 run keeps what it kept."""
    layout = {"tp": 1, "dp": 8, "ep": 8, "micro_batch": 1, "global_batch": 8, "recompute": "none", "zero": 1}
    for precision, saved_per_unit in (("fp8", 3.0), ("bf16", 0.0)):
        ctx, lay = _ctx_lay({**layout, "precision": precision}, QWEN3, {"framework": "other", "version": "HAI-LLM"},
                            8)
        on = float(activation_bytes_per_token_layer(ctx, lay)[0])
        off = float(activation_bytes_per_token_layer(replace(ctx, sw_fp8_moe_act_cache=np.array([False])), lay)[0])
        units = 8 * 1536  # top_k x expert FFN width (no shared expert; balanced routing)
        assert off - on == pytest.approx(saved_per_unit * units)


def test_the_cached_activation_is_recomputed_once():
    """What the cache saves in memory it pays in the backward: the experts' activation forward again, unless
    full recompute or a policy that repeats the activation anyway (norm_act) already runs it."""
    base = {"tp": 1, "dp": 8, "ep": 8, "micro_batch": 1, "global_batch": 8, "zero": 1, "precision": "fp8"}
    hai = {"framework": "other", "version": "HAI-LLM"}
    extra = {}
    for name, layout, software in (("none", {"recompute": "none"}, hai),
                                   ("norm_act", {"recompute": "selective"}, {**hai, "selective_recompute": "norm_act"}),
                                   ("full", {"recompute": "full"}, hai)):
        ctx, lay = _ctx_lay({**base, **layout}, QWEN3, software, 8)
        on = float(layer_times(ctx, lay).recompute_s[0])
        off = float(layer_times(replace(ctx, sw_fp8_moe_act_cache=np.array([False])), lay).recompute_s[0])
        extra[name] = on - off
    assert extra["none"] > 0.0
    assert extra["norm_act"] == pytest.approx(0.0) and extra["full"] == pytest.approx(0.0)


def test_recomputing_the_norms_with_mlas_up_projections_keeps_less_and_repeats_more():
    layout = {"tp": 1, "pp": 1, "dp": 8, "ep": 8, "micro_batch": 1, "global_batch": 8, "recompute": "selective",
              "zero": 1, "precision": "bf16"}
    model = {**DSV3, "layers": 4}
    kept, repeated = {}, {}
    for policy in ("mla_up", "norm_mla_up"):
        ctx, lay = _ctx_lay(layout, model, {"framework": "other", "version": "HAI-LLM",
                                            "selective_recompute": policy}, 8)
        kept[policy] = float(activation_bytes_per_token_layer(ctx, lay)[0])
        repeated[policy] = float(layer_times(ctx, lay).recompute_s[0])
    # the norms' outputs (the inputs of the projections after them: 2 x hidden x 2 bytes) are no longer kept
    assert kept["mla_up"] - kept["norm_mla_up"] == pytest.approx(2 * 7168 * 2)
    assert repeated["norm_mla_up"] > repeated["mla_up"]


def test_the_mla_policies_are_not_offered_to_a_model_without_mla():
    dense = {"layers": 4, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336, "activation": "swiglu",
             "vocab": 128256, "seq_len": 4096}
    est = estimate(run({"tp": 1, "dp": 8, "global_batch": 8, "recompute": "selective"}, model=dense, gpus=8,
                       software={"framework": "megatron-lm", "version": "2025"}, gpu="h100-sxm5-80gb"))
    assert est.assumed.get("selective_recompute") not in ("mla_up", "norm_mla_up")


def test_deepseek_v3s_own_layout_fits_on_its_stack():
    """Published runs must fit: DeepSeek-V3's layout on 2,048 H800 with the memory savings its report names
    (recomputed norms and MLA up-projections, FP8-cached SwiGLU inputs, BF16 moments) fits; without them
    (the same layout on an unnamed 2024 PyTorch stack, with DualPipe stated) it would not."""
    hai = estimate(run(V3_LAYOUT, model=DSV3, gpus=2048, software={"framework": "other", "version": "HAI-LLM"}))
    assert hai.fits and hai.software.pipeline_schedule is PipelineSchedule.DUALPIPE
    plain = estimate(run(V3_LAYOUT, model=DSV3, gpus=2048,
                         software={"framework": "other", "pipeline_schedule": "dualpipe", "ep_comm_overlap": True,
                                   "selective_recompute": "mla_up"}))
    assert not plain.fits
    assert hai.memory_per_gpu_bytes < plain.memory_per_gpu_bytes


def test_an_estimate_says_whose_routing_it_took():
    """A stack whose profile states its routing is said to route so; any other, the benchmarks' forced balance."""
    layout = {"tp": 1, "dp": 8, "ep": 8, "micro_batch": 1, "global_batch": 8, "recompute": "none", "zero": 1}
    hai = estimate(run(layout, model=QWEN3, gpus=8, software={"framework": "other", "version": "HAI-LLM"}))
    assert any("as the hai-llm profile says" in n for n in hai.notes)
    mcore = estimate(run(layout, model=QWEN3, gpus=8, software={"framework": "megatron-lm", "version": "2025"}))
    assert any("as published MoE benchmarks run it" in n for n in mcore.notes)


DENSE = {"layers": 30, "hidden": 4096, "heads": 32, "activation": "swiglu", "vocab": 102400, "seq_len": 4096}


@pytest.mark.parametrize(("layout", "gpus", "schedule", "why"), [
    ({"tp": 2, "pp": 3, "dp": 16, "global_batch": 512}, 96, PipelineSchedule.ZERO_BUBBLE,
     "DualPipe needs an even number of pipeline stages; it states pp 3"),
    ({"tp": 2, "pp": 2, "dp": 16, "global_batch": 240}, 64, PipelineSchedule.ZERO_BUBBLE,
     "it needs an even number of them; it states pp 2, interleave 1, 15 micro-batches"),
    ({"tp": 2, "pp": 3, "dp": 16, "interleave": 2, "global_batch": 512}, 96, PipelineSchedule.ONE_F_ONE_B,
     "run one model chunk per stage (interleave 1); it states pp 3, interleave 2"),
])
def test_a_layout_dualpipe_cannot_run_is_estimated_on_the_stacks_other_schedules(layout, gpus, schedule, why):
    """The stack's earlier schedules (DeepSeek-V2's zero-bubble, DeepSeek LLM's 1F1B) ran what DualPipe
    cannot: the run is predicted on the first of them that runs its layout, with a note, not rejected."""
    est = estimate(run(layout, model=DENSE, gpus=gpus, software={"framework": "other", "version": "HAI-LLM"}))
    assert est.software.pipeline_schedule is schedule
    assert any(why in n and f"{schedule.value} schedule taken" in n for n in est.notes)
    assert est.step_time_s > 0


def test_a_named_schedule_is_kept_and_a_layout_it_cannot_run_refused():
    """A run that names DualPipe ran DualPipe: an odd pipeline is then an invalid layout, not a fallback."""
    named = {"framework": "other", "version": "HAI-LLM with DualPipe"}
    with pytest.raises(InfeasibleError, match="DualPipe needs an even number of pipeline stages"):
        estimate(run({"tp": 2, "pp": 3, "dp": 16, "global_batch": 512}, model=DENSE, gpus=96, software=named))
    stated = {"framework": "other", "version": "HAI-LLM", "pipeline_schedule": "dualpipe"}
    with pytest.raises(InfeasibleError, match="DualPipe needs an even number of pipeline stages"):
        estimate(run({"tp": 2, "pp": 3, "dp": 16, "global_batch": 512}, model=DENSE, gpus=96, software=stated))
    even = estimate(run({"tp": 2, "pp": 2, "dp": 16, "global_batch": 512}, model=DENSE, gpus=64,
                        software={"framework": "other", "version": "HAI-LLM"}))
    assert even.software.pipeline_schedule is PipelineSchedule.DUALPIPE
