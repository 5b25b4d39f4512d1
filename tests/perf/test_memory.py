"""Memory per GPU against Korthikanti et al. 2022 and ZeRO."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.memory import activation_bytes_per_token_layer, memory_parts
from colossus.spec import LayoutSpec, RunSpec
from colossus.spec.layout import Recompute

GPT3 = {"layers": 96, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200, "seq_len": 2048}
#: Megatron-LM 2022 (Korthikanti et al.): the unfused attention kernel, whose scores count.
STACK = {"framework": "megatron-lm", "version": "2022"}


def ctx_for(layout: LayoutSpec, software=STACK):
    run = RunSpec.model_validate({"model": GPT3, "cluster": {"gpu": "a100-sxm4-80gb", "gpus": layout.num_gpus},
                                  "layout": layout.model_dump(), "software": software})
    return run_context(run)


def per_token(**kw) -> float:
    layout = LayoutSpec(dp=1, global_batch=8, **kw)
    return float(activation_bytes_per_token_layer(ctx_for(layout), from_spec(layout))[0])


def test_korthikanti_eq_tensor_parallel():
    """s b h (10 + 24/t + 5 a s / (h t)) per layer, here per token."""
    h, a, s, t = 12288, 96, 2048, 8
    assert per_token(tp=t) == pytest.approx(h * (10 + 24 / t + 5 * a * s / (h * t)))


def test_korthikanti_eq_sequence_parallel_and_selective():
    h, t = 12288, 8
    assert per_token(tp=t, sequence_parallel=True, recompute="selective") == pytest.approx(h * 34 / t)


def test_full_recompute_keeps_layer_input():
    assert per_token(tp=8, recompute="full") == pytest.approx(2 * 12288)


@pytest.mark.parametrize("zero", [1, 2, 3])
def test_each_zero_stage_shards_more(zero):
    layout = LayoutSpec(dp=8, global_batch=64, zero=zero - 1)
    ctx = ctx_for(layout, software={"framework": "deepspeed"})
    lay = from_spec(layout)
    more = replace(lay, zero=np.array([zero]))
    assert memory_parts(ctx, more).total_bytes[0] < memory_parts(ctx, lay).total_bytes[0]


def test_zero3_over_one_rank_gathers_nothing():
    """A data-parallel group of one shards nothing: ZeRO-3 there holds what ZeRO-2 holds, with no gathered copy
    of the layers it computes on (the weights are whole already)."""
    two = LayoutSpec(tp=8, dp=1, global_batch=8, zero=2)
    ctx = ctx_for(two, software={"framework": "deepspeed"})
    three = replace(from_spec(two), zero=np.array([3]))
    assert memory_parts(ctx, three).total_bytes[0] == pytest.approx(memory_parts(ctx, from_spec(two)).total_bytes[0])


def test_flash_attention_drops_the_scores():
    layout = LayoutSpec(dp=1, global_batch=8, tp=8)
    unfused = activation_bytes_per_token_layer(ctx_for(layout), from_spec(layout))[0]
    flash = activation_bytes_per_token_layer(ctx_for(layout, {"framework": "megatron-lm", "attention": "flash2"}),
                                             from_spec(layout))[0]
    assert unfused - flash == pytest.approx(5 * 96 * 2048 / 8)


def _activations_gib(layout: LayoutSpec, software=STACK) -> float:
    return float(memory_parts(ctx_for(layout, software), from_spec(layout)).activations_bytes[0]) / 2**30


def test_the_layer_being_recomputed_holds_what_its_policy_dropped():
    """During a layer's backward its recomputed tensors sit beside what every layer kept: a whole layer under
    full recompute; under selective recompute only what the policy dropped, here the attention's scores of
    one layer (unfused kernel), and nothing where a fused kernel keeps no scores (so selective recompute
    never needs more memory than none)."""
    sel = LayoutSpec(tp=8, dp=1, global_batch=8, sequence_parallel=True, recompute="selective")
    none = sel.model_copy(update={"recompute": Recompute.NONE})
    tokens = 2048  # one micro-batch of one sequence
    scores_gib = 5 * 96 * 2048 / 8 * tokens / 2**30  # 5 a s / t bytes per token (Korthikanti et al. eq. 2)
    assert _activations_gib(none) - _activations_gib(sel) == pytest.approx(95 * scores_gib, rel=1e-6)
    flash = {"framework": "megatron-lm", "attention": "flash2"}
    assert _activations_gib(sel, flash) == pytest.approx(_activations_gib(none, flash), rel=1e-9)


LLAMA_8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336, "activation": "swiglu",
            "vocab": 128256, "seq_len": 8192}


def _kept_per_token(model: dict, software: dict, recompute: str = "none", precision: str = "bf16") -> float:
    layout = LayoutSpec(tp=1, dp=8, global_batch=8, recompute=recompute, precision=precision)
    run = RunSpec.model_validate({"model": model, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
                                  "layout": layout.model_dump(), "software": software})
    return float(activation_bytes_per_token_layer(run_context(run), from_spec(layout))[0])


def test_what_a_layer_keeps_follows_how_its_stack_is_compiled():
    """A SwiGLU layer without recompute: eager autograd also keeps silu(gate) (one FFN-wide tensor more than
    fused kernels); torch.compile's min-cut partitioner recomputes the norm outputs and the FFN product."""
    h, f = 4096, 14336
    kernels = _kept_per_token(LLAMA_8B, {"profile": "megatron-core-2024"})
    eager = _kept_per_token(LLAMA_8B, {"profile": "torchtitan", "compiled": False})
    min_cut = _kept_per_token(LLAMA_8B, {"profile": "torchtitan", "compiled": True})
    assert eager - kernels == pytest.approx(2.0 * f)  # silu(gate), 16 bit
    assert kernels - min_cut == pytest.approx(2.0 * 2 * h + 2.0 * f)  # two norm outputs and the product
    # the same stack not compiled is eager whatever compiles it otherwise
    assert _kept_per_token(LLAMA_8B, {"profile": "megatron-core-2024", "compiled": False}) == pytest.approx(eager)


def test_a_module_policy_under_torch_compile_keeps_no_more_than_no_recompute():
    """Under torch.compile the partitioner recomputes the norm outputs and the FFN product outside a policy's
    checkpointed modules, so a module policy keeps no more than the compiled layer without recompute: the
    attention core (a fused kernel keeps no scores) and the norms alone keep exactly that (it charged 22 GiB
    more than no recompute on torchtitan's compiled Llama 3 8B FSDP row); the op-level policy decides every
    tensor itself and keeps what it keeps eager."""
    compiled = {"profile": "torchtitan", "compiled": True}
    none = _kept_per_token(LLAMA_8B, compiled)
    for policy in ("attention_core", "norm"):
        assert _kept_per_token(LLAMA_8B, {**compiled, "selective_recompute": policy}, "selective") == (
            pytest.approx(none))
    eager = {"profile": "torchtitan", "compiled": False}
    assert _kept_per_token(LLAMA_8B, {**eager, "selective_recompute": "norm"}, "selective") < _kept_per_token(
        LLAMA_8B, eager)


def test_a_gelu_layer_keeps_as_much_eager_as_fused():
    """GeLU's output is FC2's input either way: eager autograd keeps nothing more than fused kernels."""
    gpt = dict(GPT3, seq_len=2048)
    assert _kept_per_token(gpt, {"profile": "llm-foundry"}) == pytest.approx(
        _kept_per_token(gpt, {"profile": "megatron-core-2024"}))


def test_recompute_policies_and_fp8_inputs_are_not_rematerialised_again():
    """Selective recompute says itself what is kept; an FP8 GEMM's weight gradient reads its kept cast."""
    for recompute in ("selective", "full"):
        assert _kept_per_token(LLAMA_8B, {"profile": "torchtitan", "compiled": True}, recompute) == pytest.approx(
            _kept_per_token(LLAMA_8B, {"profile": "torchtitan", "compiled": False}, recompute))
    fp8_min_cut = _kept_per_token(LLAMA_8B, {"profile": "torchtitan-compile"}, precision="fp8")
    fp8_kernels = _kept_per_token(LLAMA_8B, {"profile": "megatron-core-2024"}, precision="fp8")
    assert fp8_min_cut == pytest.approx(fp8_kernels)


def test_narrower_adam_moments_hold_and_stream_fewer_bytes():
    """BF16 moments (DeepSeek-V3; Megatron-core's precision-aware optimizer): 8 bytes of optimizer state a
    parameter instead of 12, and 8 fewer bytes read and written by the optimizer step."""
    from colossus.perf import estimate

    def run(dtype: str | None) -> RunSpec:
        sw = {"framework": "megatron-lm", "version": "2025"}
        if dtype:
            sw["optimizer_moments_dtype"] = dtype
        return RunSpec.model_validate({
            "id": "moments", "software": sw, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
            "model": {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
                      "activation": "swiglu", "vocab": 128256, "seq_len": 4096},
            "layout": {"tp": 1, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 8, "zero": 1,
                       "recompute": "full"},
        })

    fp32, bf16, fp8 = (estimate(run(d)) for d in (None, "bf16", "fp8"))
    assert bf16.memory_bytes["optimizer_bytes"] == pytest.approx(8 / 12 * fp32.memory_bytes["optimizer_bytes"])
    assert fp8.memory_bytes["optimizer_bytes"] == pytest.approx(6 / 12 * fp32.memory_bytes["optimizer_bytes"])
    assert bf16.parts_s["optimizer_s"] == pytest.approx((36 - 8) / 36 * fp32.parts_s["optimizer_s"])
    assert bf16.memory_bytes["weights_bytes"] == fp32.memory_bytes["weights_bytes"]


@pytest.mark.parametrize(("framework", "follows"), [("megatron-lm", True), ("nemo", True), ("deepspeed", False),
                                                    ("other", False)])
def test_megatrons_gradient_buffer_is_in_its_reduction_dtype(framework, follows):
    """Megatron's DDP allocates the gradient buffer in fp32 only with grad_reduce_in_fp32, else in the
    parameters' bf16 (the Megatron-Bridge performance recipes turn it off); other stacks keep fp32 gradients."""
    from colossus.perf import estimate

    def grads(dtype: str) -> float:
        run = RunSpec.model_validate({
            "id": "grads", "software": {"framework": framework, "grad_reduce_dtype": dtype},
            "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
            "model": {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
                      "activation": "swiglu", "vocab": 128256, "seq_len": 4096},
            "layout": {"tp": 1, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 8, "zero": 1,
                       "recompute": "full"},
        })
        return estimate(run).memory_bytes["gradients_bytes"]

    assert grads("bf16") == pytest.approx((0.5 if follows else 1.0) * grads("fp32"))


def test_megatron_reduces_an_fp16_runs_gradients_in_fp16():
    """Megatron forces fp32 gradient accumulation and reduction for bf16 only ('bfloat16 requires gradient
    accumulation and all-reduce to be done in fp32'): an fp16 run reduces, and keeps its gradient buffer, in
    fp16, unless it states fp32; the generic stack keeps fp32 whatever the precision."""
    from colossus.perf.step import dp_collectives

    def reduce(framework: str, precision: str, stated: str | None = None) -> tuple[float, float]:
        software = {"framework": framework, **({"grad_reduce_dtype": stated} if stated else {})}
        run = RunSpec.model_validate({
            "id": "fp16", "software": software, "cluster": {"gpu": "a100-sxm4-80gb", "gpus": 64},
            "model": GPT3 | {"layers": 8},
            "layout": {"tp": 8, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 64, "zero": 1,
                       "recompute": "full", "precision": precision},
        })
        ctx, lay = run_context(run), from_spec(run.layout)
        return float(dp_collectives(ctx, lay)[0][0]), float(memory_parts(ctx, lay).gradients_bytes[0])

    bf16, fp16 = reduce("megatron-lm", "bf16"), reduce("megatron-lm", "fp16")
    assert fp16[0] < 0.6 * bf16[0] and fp16[1] == pytest.approx(bf16[1] / 2)
    assert reduce("megatron-lm", "fp16", "fp32") == pytest.approx(bf16)
    assert reduce("other", "fp16") == pytest.approx(reduce("other", "bf16"))


def _dp_traffic(software: dict, precision: str, zero: int = 1) -> tuple[float, float, float]:
    """(gradient reduction s, parameter all-gather s, gradient bytes) of one step of a 64-GPU H100 run."""
    from colossus.perf.step import dp_collectives

    run = RunSpec.model_validate({
        "id": "dtype", "software": software, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 64},
        "model": GPT3 | {"layers": 8},
        "layout": {"tp": 8, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 64, "zero": zero,
                   "recompute": "full", "precision": precision},
    })
    ctx, lay = run_context(run), from_spec(run.layout)
    reduce, gather = dp_collectives(ctx, lay)
    return float(reduce[0]), float(gather[0]), float(memory_parts(ctx, lay).gradients_bytes[0])


def test_nemo_2_reduces_fp8_runs_in_bf16_and_gathers_fp8_weights():
    """NeMo 2.0's performance scripts (NeMo 25.01-25.08) reduce a bf16 run's gradients in fp32 (bf16_mixed) and
    an FP8 run's in bf16 (set_precision_configs), and their FP8 recipes gather FP8 weights (fp8_param_gather):
    the FP8 run's reduction and gradient buffer halve and so does its parameter all-gather, where Megatron-LM
    (--bf16 forces fp32 reduction; --fp8-param-gather is opt-in) changes neither."""
    nemo = {"framework": "nemo", "version": "NeMo 25.04"}
    bf16, fp8 = _dp_traffic(nemo, "bf16"), _dp_traffic(nemo, "fp8")
    assert fp8[0] < 0.6 * bf16[0] and fp8[1] < 0.6 * bf16[1] and fp8[2] == pytest.approx(bf16[2] / 2)
    assert _dp_traffic({**nemo, "fp8_param_gather": False}, "fp8")[1] == pytest.approx(bf16[1])
    assert _dp_traffic({**nemo, "grad_reduce_dtype": "fp32"}, "fp8")[0] == pytest.approx(bf16[0])  # stated wins
    megatron = {"framework": "megatron-lm", "version": "2025"}
    assert _dp_traffic(megatron, "fp8") == pytest.approx(_dp_traffic(megatron, "bf16"))
    # with Megatron FSDP the FP8 run's reduce-scatter is in bf16 too, and its per-layer gathers in FP8
    z3_bf16, z3_fp8 = _dp_traffic(nemo, "bf16", zero=3), _dp_traffic(nemo, "fp8", zero=3)
    assert z3_fp8[0] < 0.6 * z3_bf16[0] and z3_fp8[1] < 0.6 * z3_bf16[1]


MIXTRAL = dict(LLAMA_8B, vocab=32000, seq_len=4096,
               moe={"experts": 8, "top_k": 2, "expert_ffn_hidden": 14336, "shared_experts": 0, "every": 1})


def test_fp8_experts_keep_their_routed_input_as_its_fp8_cast():
    """The permuted tokens are the routed experts' FC1 input: under FP8, Transformer Engine keeps its 1-byte
    cast for the weight gradient, as for every other FP8 GEMM input, so FP8 saves top_k x hidden bytes a token
    there beyond what it saves on a dense layer."""
    h, k = 4096, 2
    stack = {"profile": "megatron-core-2024"}
    moe_saved = _kept_per_token(MIXTRAL, stack) - _kept_per_token(MIXTRAL, stack, precision="fp8")
    dense_saved = _kept_per_token(LLAMA_8B, stack) - _kept_per_token(LLAMA_8B, stack, precision="fp8")
    # the dense FFN's FC2 input (14336 wide) is also the MoE block's width top_k x 14336 here
    fc2_extra = (k - 1) * 14336
    assert moe_saved - dense_saved == pytest.approx(k * h + fc2_extra)


def test_fsdp2_under_a_torch_pipeline_accumulates_whole_gradients_in_the_reduce_dtype():
    """torch pipelining over FSDP2 reduces a stage's gradients once a step: until then FSDP2 keeps each one
    unsharded, upcast to its reduce dtype (FSDPParam.to_accumulated_grad_if_needed), so the gradient memory is
    the stage's parameters times that dtype's bytes: half with a bf16 reduction of what fp32 takes."""
    layout = LayoutSpec(tp=1, pp=2, dp=4, global_batch=16, recompute="full", zero=3, interleave=1)
    grads = {}
    for dtype in ("fp32", "bf16"):
        run = RunSpec.model_validate({"model": LLAMA_8B, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
                                      "layout": layout.model_dump(),
                                      "software": {"framework": "torchtitan", "grad_reduce_dtype": dtype}})
        grads[dtype] = float(memory_parts(run_context(run), from_spec(layout)).gradients_bytes[0])
    assert grads["bf16"] == pytest.approx(grads["fp32"] / 2)
    assert grads["fp32"] > 4 * 6e9 / 2 * 0.9  # the whole stage (about half of 8B parameters) at 4 bytes


def test_the_norm_act_policy_recomputes_a_dense_ffns_activation_only_in_moe_blocks():
    """Megatron-core's ``--recompute-modules layernorm moe_act`` (the DeepEP recipes' default, norm_act) on a
    dense layer recomputes the norms alone: the FFN's activation output stays kept (moe_act is the experts')."""
    software = {"framework": "megatron-lm", "version": "deepep recipe"}  # (the profile whose default is norm_act)
    none = _kept_per_token(LLAMA_8B, software)
    norm_act = _kept_per_token(LLAMA_8B, software, recompute="selective")
    assert none - norm_act == pytest.approx(2 * 2 * 4096)  # the two norms' bf16 outputs, nothing of the FFN


def test_the_norm_policy_drops_the_norm_outputs_on_any_model():
    """``norm`` (Megatron-core's ``--recompute-modules layernorm``) keeps everything but the two norms' outputs,
    on a dense model and, stated, on a mixture of experts."""
    software = {"framework": "megatron-lm", "version": "2025", "selective_recompute": "norm"}
    none = _kept_per_token(LLAMA_8B, software)
    assert none - _kept_per_token(LLAMA_8B, software, recompute="selective") == pytest.approx(2 * 2 * 4096)
    moe_none = _kept_per_token(MIXTRAL, software)
    assert moe_none - _kept_per_token(MIXTRAL, software, recompute="selective") == pytest.approx(2 * 2 * 4096)
