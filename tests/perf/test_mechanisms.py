"""The performance model's mechanisms, one at a time: each moves the step the way its physics says."""

from __future__ import annotations

import numpy as np
import pytest

from colossus.perf import estimate, plan
from colossus.perf.compute import attention_core_s
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.powercap import compute_clock_frac
from colossus.spec import RunSpec, lookup

LLAMA8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
           "activation": "swiglu", "vocab": 128256, "seq_len": 8192}


def run(layout: dict, *, model=None, gpu="h100-sxm5-80gb", gpus=8, software=None, **cluster) -> RunSpec:
    doc = {"id": "t", "model": model or LLAMA8B, "cluster": {"gpu": gpu, "gpus": gpus, **cluster}, "layout": layout}
    if software is not None:
        doc["software"] = software
    return RunSpec.model_validate(doc)


FSDP8 = {"tp": 1, "pp": 1, "dp": 8, "micro_batch": 1, "global_batch": 8, "zero": 3, "recompute": "none"}


# --- attention kernels ---------------------------------------------------------------


def _attn_flop_rate(seq: int, cp: int = 1, attention: str = "cudnn") -> float:
    """Executed attention FLOP/s per GPU (forward) at a sequence length and context parallelism."""
    r = run({"tp": 1, "cp": cp, "dp": 8 // cp, "global_batch": 8 // cp, "recompute": "none"},
            model={**LLAMA8B, "seq_len": seq}, software={"framework": "megatron-lm", "attention": attention})
    ctx, lay = run_context(r), from_spec(r.layout)
    fwd, _ = attention_core_s(ctx, lay)
    executed = 0.5 * 2.0 * seq / cp * seq * 32 * 256  # causal half of 2 q s heads (qk + v)
    return executed / float(fwd[0])


def test_a_fused_kernel_runs_faster_on_longer_blocks():
    rates = [_attn_flop_rate(s) for s in (1024, 4096, 16384)]
    assert rates[0] < rates[1] < rates[2] < 989e12


def test_small_context_parallel_blocks_cost_what_they_cost():
    """8k tokens over cp=4 leaves 2k-token blocks: slower per FLOP than one 8k block."""
    assert _attn_flop_rate(8192, cp=4) < 0.95 * _attn_flop_rate(8192, cp=1)


def test_the_stacks_kernel_decides_the_speed():
    assert _attn_flop_rate(8192, attention="flash3") > _attn_flop_rate(8192, attention="flash2")
    assert _attn_flop_rate(8192, attention="flash2") > _attn_flop_rate(8192, attention="unfused")


def test_context_parallel_exchange_shows_on_a_slow_fabric():
    """A ring over two servers waits for its slowest (network) hop where the blocks are too short to hide it."""
    layout = {"tp": 1, "cp": 16, "dp": 1, "global_batch": 1, "recompute": "none"}
    model = {**LLAMA8B, "seq_len": 16384}
    fast = estimate(run(layout, model=model, gpus=16, nic_gbit_per_s=400))
    slow = estimate(run(layout, model=model, gpus=16, nic_gbit_per_s=12.5))
    assert slow.parts_s["cp_exposed_s"] > fast.parts_s["cp_exposed_s"] >= 0.0


# --- overlap is bounded by the compute that can hide it ----------------------------------


def test_data_parallel_overlap_hides_only_under_the_last_micro_batch():
    """More micro-batches add compute but not hiding room: the exposed reduction does not shrink."""
    base = {"tp": 8, "pp": 1, "dp": 16, "micro_batch": 1, "zero": 1, "recompute": "full"}
    sw = {"framework": "megatron-lm", "dp_comm_overlap": True}
    few = estimate(run({**base, "global_batch": 16}, gpus=128, software=sw, nic_gbit_per_s=50))
    many = estimate(run({**base, "global_batch": 128}, gpus=128, software=sw, nic_gbit_per_s=50))
    assert many.parts_s["dp_exposed_s"] == pytest.approx(few.parts_s["dp_exposed_s"], rel=0.05)
    plain = estimate(run({**base, "global_batch": 16}, gpus=128, software={**sw, "dp_comm_overlap": False},
                         nic_gbit_per_s=50))
    assert plain.parts_s["dp_exposed_s"] > few.parts_s["dp_exposed_s"]


def test_deepspeeds_pipeline_engine_reduces_gradients_after_its_last_backward():
    """DeepSpeed's PipelineEngine ends a step with ReduceGrads after the last backward: with pp > 1 its
    reduction shows whole even where the stack overlaps it without a pipeline, unlike Megatron's."""
    layout = {"tp": 8, "pp": 2, "dp": 8, "micro_batch": 1, "global_batch": 64, "zero": 1, "recompute": "full"}
    overlapping = {"dp_comm_overlap": True}
    ds = estimate(run(layout, gpus=128, nic_gbit_per_s=50, software={"framework": "deepspeed", **overlapping}))
    mg = estimate(run(layout, gpus=128, nic_gbit_per_s=50, software={"framework": "megatron-lm", **overlapping}))
    shown = estimate(run(layout, gpus=128, nic_gbit_per_s=50,
                         software={"framework": "megatron-lm", "dp_comm_overlap": False}))
    assert ds.parts_s["dp_exposed_s"] > mg.parts_s["dp_exposed_s"]
    assert ds.parts_s["dp_exposed_s"] == pytest.approx(shown.parts_s["dp_exposed_s"], rel=0.02)
    # without a pipeline DeepSpeed overlaps as its setting says
    flat = {**layout, "pp": 1, "dp": 16, "global_batch": 128}
    ds1 = estimate(run(flat, gpus=128, nic_gbit_per_s=50, software={"framework": "deepspeed", **overlapping}))
    ds1_shown = estimate(run(flat, gpus=128, nic_gbit_per_s=50,
                             software={"framework": "deepspeed", "dp_comm_overlap": False}))
    assert ds1.parts_s["dp_exposed_s"] < ds1_shown.parts_s["dp_exposed_s"]


def test_deepspeeds_pipeline_engine_sends_partitioned_activations_one_blocking_transfer_at_a_time():
    """DeepSpeed's PipelineEngine partitions what it sends over the TP group (is_pipe_partitioned) and issues
    RecvActivation, SendGrad, SendActivation and RecvGrad as blocking steps one at a time: four transfers of
    1/tp of an activation a micro-batch on a stage's path, where Megatron-LM 2021's blocking pipeline pairs a
    send with a receive (two)."""
    layout = {"tp": 8, "pp": 4, "dp": 4, "micro_batch": 1, "global_batch": 64, "zero": 1, "recompute": "full",
              "interleave": 1}
    ds = estimate(run(layout, gpus=128, nic_gbit_per_s=50, software={"framework": "deepspeed"}))
    mg = estimate(run(layout, gpus=128, nic_gbit_per_s=50, software={"framework": "megatron-lm", "version": "2021"}))
    assert not ds.software.pp_comm_overlap and not mg.software.pp_comm_overlap
    assert ds.software.pp_transfers_serial and not mg.software.pp_transfers_serial
    assert ds.parts_s["pp_exposed_s"] == pytest.approx(2 * mg.parts_s["pp_exposed_s"], rel=1e-9)
    whole = estimate(run(layout, gpus=128, nic_gbit_per_s=50,
                         software={"framework": "megatron-lm", "version": "2021", "pp_comm_overlap": False}))
    assert whole.parts_s["pp_exposed_s"] == mg.parts_s["pp_exposed_s"]  # (Megatron's scatter-gather: 1/tp too)


def test_tp_overlap_and_a_parallel_block_cut_exposed_tensor_parallel_time():
    layout = {"tp": 8, "pp": 1, "dp": 1, "global_batch": 1, "sequence_parallel": True, "recompute": "none"}
    plain = estimate(run(layout, software={"framework": "megatron-lm", "version": "2024"}))
    overlapped = estimate(
        run(layout, software={"framework": "megatron-lm", "version": "2024", "tp_comm_overlap": True})
    )
    parallel = estimate(run(layout, software={"framework": "megatron-lm", "version": "2024", "parallel_block": True}))
    assert overlapped.parts_s["tp_exposed_s"] < plain.parts_s["tp_exposed_s"]
    assert parallel.parts_s["tp_exposed_s"] == pytest.approx(plain.parts_s["tp_exposed_s"] / 2, rel=0.01)


def test_compiled_code_is_faster_than_eager():
    eager = estimate(run(FSDP8, software={"framework": "torchtitan", "compiled": False}))
    compiled = estimate(run(FSDP8, software={"framework": "torchtitan", "compiled": True}))
    assert compiled.step_time_s < eager.step_time_s


# --- the GPU as it was run -----------------------------------------------------------------


def test_a_power_limit_slows_compute_by_the_cap_curve():
    full = estimate(run(FSDP8))
    capped = estimate(run(FSDP8, power_limit_w=500))
    frac = compute_clock_frac(lookup("gpus", "h100-sxm5-80gb"), 500)
    assert 0.8 < frac < 0.95
    assert full.step_time_s < capped.step_time_s <= full.step_time_s / frac * (1 + 1e-9)


def test_a_power_limit_below_the_settable_range_is_an_error():
    with pytest.raises(Exception, match="lowest settable"):
        estimate(run(FSDP8, power_limit_w=100))


def test_an_hbm_variant_changes_capacity_and_speed():
    stock = estimate(run(FSDP8))
    variant = estimate(run(FSDP8, hbm_gb=96, hbm_gb_per_s=2400))
    assert variant.hbm_bytes == pytest.approx(96e9)
    assert variant.step_time_s > stock.step_time_s  # slower HBM: element-wise work and optimizer


# --- layouts frameworks run ---------------------------------------------------------------

QWEN3 = {"layers": 94, "hidden": 4096, "heads": 64, "kv_heads": 4, "head_dim": 128, "ffn_hidden": 1536,
         "activation": "swiglu", "vocab": 151936, "seq_len": 4096,
         "moe": {"experts": 128, "top_k": 8, "expert_ffn_hidden": 1536}}


def test_experts_fold_over_tensor_and_data_parallel_ranks():
    """EP 32 with TP 2 x DP 16: Megatron-core's MoE parallel folding (EP x ETP divides TP x CP x DP)."""
    r = run({"tp": 2, "pp": 8, "dp": 16, "ep": 32, "interleave": 4, "global_batch": 2048}, model=QWEN3, gpus=256,
            software={"framework": "megatron-lm", "version": "2025"})
    assert estimate(r).layout.ep == 32


def test_embedding_and_loss_may_count_as_pipeline_stages_where_the_stack_does():
    layout = {"tp": 2, "pp": 32, "dp": 4, "ep": 8, "interleave": 3, "global_batch": 2048}
    new = run(layout, model=QWEN3, gpus=256, software={"framework": "megatron-lm", "version": "2025"})
    old = run(layout, model=QWEN3, gpus=256, software={"framework": "megatron-lm", "version": "Megatron-Core r0.8.0"})
    assert estimate(new).step_time_s > 0 and not [n for n in estimate(new).notes if "pipeline" in n]
    # core 0.8 had no account-for-* flags: the stated split says the stack counted them, flagged as such
    assert any("the embedding and the loss as pipeline stages" in n and "does not offer" in n
               for n in estimate(old).notes)


def test_a_loss_stage_heavier_than_a_layer_paces_the_pipeline():
    """With the loss counted as a pipeline slot, the last GPU runs the output layer in place of a layer: a
    vocabulary whose output layer outweighs a layer slows every micro-batch; a small one costs nothing extra."""
    layout = {"tp": 2, "pp": 32, "dp": 4, "ep": 8, "interleave": 3, "global_batch": 2048}
    sw = {"framework": "megatron-lm", "version": "2025"}
    big, small = (estimate(run(layout, model={**QWEN3, "vocab": v}, gpus=256, software=sw)) for v in (151936, 4096))
    assert big.step_time_s > 1.05 * small.step_time_s
    assert big.parts_s["compute_s"] > small.parts_s["compute_s"]


def test_many_small_experts_waste_gpu_waves():
    """The same expert work as 16 experts of 512 rows fills the SMs worse than as 4 experts of 2048 rows
    (one GEMM per expert over a few streams: wave quantisation), and a big dense GEMM loses almost nothing."""
    from colossus.perf.compute import wave_eff

    ctx = run_context(run({"tp": 1, "dp": 8, "global_batch": 8}))
    small, large = float(wave_eff(ctx, 512.0, 3072.0, 16.0)[0]), float(wave_eff(ctx, 2048.0, 3072.0, 4.0)[0])
    assert small < large <= 1.0
    assert float(wave_eff(ctx, 8192.0, 28672.0, 1.0)[0]) > 0.98


def test_a_row_past_a_tile_is_never_cheaper_than_the_tile():
    """An expert of 129 rows runs a second, mostly padded, row of tiles: as long as the waves do not grow, it costs
    what 128 rows cost (the padding is busy but useless), never half as it would if the padded tiles counted as
    work."""
    from colossus.perf.compute import gemm_rates, gemm_time_s, wave_eff

    ctx = run_context(run({"tp": 1, "dp": 8, "global_batch": 8}))
    r = gemm_rates(ctx, from_spec(run({"tp": 1, "dp": 8, "global_batch": 8}).layout))

    def expert_s(rows: float) -> float:
        return float((gemm_time_s(r, rows, 3072.0, 4096.0, 4.0) / wave_eff(ctx, rows, 3072.0, 4.0))[0])

    for rows in (128.0, 256.0, 512.0):
        assert expert_s(rows + 1) >= 0.99 * expert_s(rows)
        assert expert_s(rows + 1) <= 2.01 * expert_s(rows)


def test_a_left_out_interleave_is_the_fastest_with_whole_layers():
    model = {**LLAMA8B, "layers": 36}
    est = estimate(run({"tp": 8, "pp": 4, "dp": 1, "global_batch": 32}, model=model, gpus=32,
                       software={"framework": "megatron-lm", "version": "2024"}))
    assert 36 % (4 * est.layout.interleave) == 0 and est.layout.interleave > 1
    assert est.assumed["interleave"] == est.layout.interleave


# --- pipeline schedules: memory in flight, uneven virtual stages -------------------------

LLAMA405B = {"layers": 126, "hidden": 16384, "heads": 128, "kv_heads": 8, "ffn_hidden": 53248,
             "activation": "swiglu", "vocab": 128256, "seq_len": 8192}
META = {"tp": 8, "pp": 16, "dp": 128, "micro_batch": 1, "global_batch": 2048, "recompute": "none", "zero": 2}


def test_an_interleaved_step_of_pp_micro_batches_holds_what_1f1b_holds():
    """Megatron-core's interleaved warm-up runs ``2 (pp-1) + (v-1) pp`` chunk forwards on stage 0 but never
    more than the step's ``m v`` chunks: with m = pp every forward runs first and stage 0 holds m micro-batches
    of its layers, as 1F1B does; with many micro-batches it holds 1 + (pp-1)/(pp v) times that."""
    model = {**LLAMA8B, "layers": 32}
    acts = {}
    for v, gb in ((1, 4), (2, 4), (1, 64), (2, 64)):
        est = estimate(run({"tp": 2, "pp": 4, "dp": 1, "micro_batch": 1, "global_batch": gb, "interleave": v,
                            "recompute": "none", "sequence_parallel": True}, model=model))
        acts[v, gb] = est.memory_bytes["activations_bytes"]
    assert acts[2, 4] == pytest.approx(acts[1, 4], rel=1e-9)
    assert acts[2, 64] == pytest.approx(acts[1, 64] * (1 + 3 / 8), rel=0.02)


def test_the_embedding_slot_lightens_the_first_stage():
    """126 layers + embedding + loss over pp 16 (8 slots a stage): stage 0 holds 16 micro-batches of 7 layers,
    stage 1 holds 15 of 8, so 120 layer-micro-batches are in flight at the peak, not 16 x 8 = 128. Under the
    interleaved warm-up (v 8, 32 micro-batches) stage 0 holds 143 one-slot chunks, 31 of them the
    embedding's, stage 1 141 chunks of a layer."""
    from colossus.perf.memory import in_flight_layers

    sw = {"framework": "megatron-lm", "version": "2025"}
    for v, gb, expected in ((1, 32, 120), (8, 32, 141)):
        r = run({**META, "dp": 64, "global_batch": gb * 64, "interleave": v}, model=LLAMA405B, gpus=8192,
                software=sw)
        ctx, lay = run_context(r), from_spec(r.layout)
        assert float(in_flight_layers(ctx, lay)[0]) == pytest.approx(expected)


def test_the_stage_with_the_embedding_slot_holds_a_layer_fewer():
    """Where the embedding takes stage 0's first slot, stage 0 holds the embedding and a layer fewer, a middle
    stage its whole share of layers and no embedding: the fullest stage's weights are 8 of Llama 3 405B's
    layers (an embedding matrix is smaller than a layer), where the stage used to be charged both. A model
    whose embedding outweighs a layer (126 layers of Llama 3 8B's width, its 128k vocabulary), with little
    else in memory (full recompute, replicated optimizer state), is charged stage 0's: seven layers and the
    embedding."""
    sw = {"framework": "megatron-lm", "version": "2025"}
    layer = 2 * 16384 * 16384 + 2 * 16384 * 1024 + 3 * 16384 * 53248 + 2 * 16384  # weights of one layer
    r = run({**META, "dp": 64, "global_batch": 2048, "interleave": 8}, model=LLAMA405B, gpus=8192, software=sw)
    est = estimate(r)
    assert est.memory_bytes["weights_bytes"] == pytest.approx(8 * layer / 8 * 2, rel=1e-6)
    small = {**LLAMA8B, "layers": 126}
    est = estimate(run({**META, "dp": 64, "global_batch": 2048, "interleave": 8, "recompute": "full", "zero": 0},
                       model=small, gpus=8192, software=sw))
    h, f = 4096, 14336
    small_layer = 2 * h * h + 2 * h * 1024 + 3 * h * f + 2 * h
    assert est.memory_bytes["weights_bytes"] == pytest.approx((7 * small_layer + 128256 * h) / 8 * 2, rel=1e-6)


def test_meta_llama3_layout_fits_as_meta_ran_it():
    """Llama 3 405B as Meta ran it on 16k H100 (Llama 3 paper Sec. 3.3.2 and Table 4: TP 8, PP 16, DP 128,
    8k tokens, 16M-token batch, no activation checkpointing, gradients and optimizer sharded, an interleaved
    schedule, one layer fewer on the first and last stages): it fits, and the stack's fastest interleave keeps
    the bubble small. Meta measured 38-43% MFU; this is a check, not a fit."""
    est = estimate(run(META, model=LLAMA405B, gpus=16384, software={"framework": "other"}))
    assert est.fits and est.layout.interleave > 1
    assert 0.33 < est.mfu < 0.46


def test_a_run_that_leaves_recompute_out_may_recompute_the_norms_alone():
    """Llama 3 405B on 8,192 GPUs (32 micro-batches a replica) needs 80.8 of 79.7 GiB with nothing recomputed
    at two virtual stages a GPU; recomputing the norms alone (the cheapest saving) fits, repeating 0.3% of the
    step, where every other matmul repeated cost 12%. It repeats no matmul (HFU = MFU). A run that says
    ``selective`` ran its stack's selective modules, and a mixture of experts' recipes recompute the norms
    with the MoE activation: ``norm`` is open to neither."""
    from colossus.perf.assumptions import default_assumptions
    from colossus.perf.estimate import selective_options, software_for

    layout = {k: v for k, v in META.items() if k != "recompute"}
    est = estimate(run({**layout, "dp": 64}, model=LLAMA405B, gpus=8192, software={"framework": "other"}))
    assert est.fits and est.layout.recompute.value == "selective" and est.layout.interleave == 8
    assert est.selective_recompute is not None and est.selective_recompute.value == "norm"
    assert est.parts_s["recompute_s"] < 0.005 * est.step_time_s and est.hfu == pytest.approx(est.mfu)
    stated = estimate(run({**layout, "dp": 64, "recompute": "selective"}, model=LLAMA405B, gpus=8192,
                          software={"framework": "other"}))
    assert stated.selective_recompute is not None and stated.selective_recompute.value != "norm"
    assert stated.step_time_s > est.step_time_s
    sw = software_for(None, lookup("gpus", "h100-sxm5-80gb"), default_assumptions())
    dense = run(layout, model=LLAMA405B, gpus=16384).model
    moe = run({"tp": 2, "dp": 4, "global_batch": 8}, model=QWEN3).model
    assert "norm" in [o.value for o in selective_options(dense, sw)]
    assert "norm" not in [o.value for o in selective_options(dense, sw, recompute_open=False)]
    assert "norm" not in [o.value for o in selective_options(moe, sw)]


def test_uneven_virtual_stages_are_paced_by_the_fullest():
    """126 layers over pp 16 x v 7 leaves virtual stages of one or two layers: the two-layer ones set the
    bubble, the same as v 4's even two-layer stages, not 1/7 of a stage's pass."""
    steps = {}
    for v in (4, 7):
        est = estimate(run({**META, "interleave": v}, model=LLAMA405B, gpus=16384, software={"framework": "other"}))
        steps[v] = est.parts_s["bubble_s"] / est.parts_s["compute_s"]
    assert steps[7] == pytest.approx(steps[4], rel=0.05)


def test_a_stated_uneven_interleave_on_an_even_only_stack_is_taken_with_a_note():
    est = estimate(run({**META, "interleave": 7}, model=LLAMA405B, gpus=16384,
                       software={"framework": "megatron-lm", "version": "2024"}))
    assert est.layout.interleave == 7
    assert any("unequal layer counts" in n for n in est.notes), est.notes


def test_a_stated_split_with_embedding_and_loss_stages_is_taken_on_any_stack():
    """94 layers over pp 32 x v 3 = 96 virtual stages: the embedding and the loss are stages of their own,
    which a stated layout shows the stack did, whatever its profile says."""
    model = {**LLAMA8B, "layers": 94, "hidden": 2048, "heads": 16, "kv_heads": 4, "seq_len": 4096}
    layout = {"tp": 1, "pp": 32, "dp": 1, "interleave": 3, "micro_batch": 1, "global_batch": 32}
    est = estimate(run(layout, model=model, gpus=32, software={"framework": "megatron-lm", "version": "2022"}))
    assert est.layout.interleave == 3
    assert any("the embedding and the loss as pipeline stages" in n for n in est.notes), est.notes


def test_a_stack_we_do_not_know_recomputes_selectively_what_fits():
    """'selective' on the generic stack: PyTorch's selective activation checkpointing can save or recompute
    any op, so an unnamed policy goes to the fastest that fits (Llama 3 8B, 8k tokens, FSDP 8, micro-batch 2:
    recomputing the attention core alone would need more than the 80 GB)."""
    est = estimate(run({**FSDP8, "micro_batch": 2, "global_batch": 16, "recompute": "selective"},
                       software={"framework": "other"}))
    assert est.fits
    assert est.assumed["selective_recompute"] != "attention_core"


def test_a_data_parallel_only_stack_is_planned_as_one():
    """llm-foundry runs FSDP alone: the planner offers no tensor or pipeline split, and a run that states
    one is estimated as its stack's, with a note."""
    from colossus.spec import SoftwareSpec

    model, gpu = lookup("models", "llama3-70b"), lookup("gpus", "h100-sxm5-80gb")
    best = plan(model, gpu, num_gpus=256, global_batch_tokens=4e6, software=SoftwareSpec(profile="llm-foundry"),
                top=20).best
    assert best and all(e.layout.tp == 1 and e.layout.pp == 1 for e in best)
    est = estimate(run({"tp": 2, "pp": 2, "dp": 2, "global_batch": 16, "zero": 0}, software={"profile": "llm-foundry"}))
    assert any("tensor parallelism, pipeline parallelism" in n for n in est.notes), est.notes


def test_a_version_naming_the_token_dispatcher_sets_it_on_any_megatron_stack():
    """'DeepEP' in a NeMo run's version: the Bridge profile's all-to-all default gives way, with a note;
    naming both dispatchers decides nothing."""
    layout = {"tp": 1, "pp": 1, "dp": 32, "ep": 32, "global_batch": 64, "recompute": "full"}
    base = {"framework": "nemo", "version": "NeMo 25.09 (Megatron-Bridge)"}
    plain = estimate(run(layout, model=QWEN3, gpus=32, software=base))
    deepep = estimate(run(layout, model=QWEN3, gpus=32, software={**base, "version": base["version"] + ", DeepEP"}))
    both = estimate(run(layout, model=QWEN3, gpus=32,
                        software={**base, "version": base["version"] + ", DeepEP vs all-to-all"}))
    assert deepep.step_time_s < plain.step_time_s
    assert any("deepep token dispatcher" in n for n in deepep.notes)
    assert both.step_time_s == plain.step_time_s


def test_a_model_trained_without_dropout_keeps_no_masks():
    """Llama-style (SwiGLU) models train without dropout: the two hidden dropouts' masks (1 byte per element,
    Korthikanti et al. 2022) are not stored, unless the model says it uses dropout."""
    layout = {**FSDP8, "recompute": "none"}
    plain = estimate(run(layout))
    dropped = estimate(run(layout, model={**LLAMA8B, "dropout": True}))
    per_token_layer = 2 * 4096  # two masks of h one-byte elements
    tokens_layers = 8192 * 32
    extra = dropped.memory_bytes["activations_bytes"] - plain.memory_bytes["activations_bytes"]
    assert extra == pytest.approx(per_token_layer * tokens_layers, rel=0.05)
    assert RunSpec.model_validate({"model": {**LLAMA8B, "activation": "gelu"}, "cluster": {"gpu": "h100-sxm5-80gb",
                                   "gpus": 8}, "layout": FSDP8}).model.dropout


def test_a_version_saying_the_all_to_all_is_overlapped_hides_it():
    """DualPipe (DeepSeek-V3) or Megatron-core's 1F1B overlap named in the version hides the expert
    all-to-all behind another micro-batch's compute, DualPipe more (its chunk pairing, with 20 SMs given to
    communication, against the model zoo's measured 1F1B overlap); an explicit A2A_OVERLAP=0 keeps it exposed."""
    layout = {"tp": 1, "pp": 2, "dp": 32, "ep": 32, "global_batch": 256, "recompute": "full"}
    sw = {"framework": "megatron-lm", "version": "2025"}
    exposed = {}
    for tag, version in (("plain", "2025"), ("dualpipe", "2025 with DualPipe"), ("zoo", "2025; 1F1B overlap"),
                         ("off", "2025; DualPipe; A2A_OVERLAP=0")):
        est = estimate(run(layout, model=QWEN3, gpus=64, software={**sw, "version": version}))
        exposed[tag] = est.parts_s["ep_exposed_s"]
    assert exposed["dualpipe"] < exposed["zoo"] < exposed["plain"]
    # each hides its fraction of the same window (here the other micro-batch's compute, shorter than the comm)
    saved = (exposed["plain"] - exposed["zoo"]) / (exposed["plain"] - exposed["dualpipe"])
    from colossus.perf.assumptions import default_assumptions

    k = default_assumptions()
    assert saved == pytest.approx(k.f("overlap.ep.hide_frac") / k.f("overlap.ep.dualpipe_hide_frac"))
    assert exposed["off"] == exposed["plain"]


def test_a_stated_all_to_all_overlap_wins_over_the_version_text():
    """``software.ep_comm_overlap`` states the overlap the version text may only imply: stated true hides the
    all-to-all like Megatron-core's 1F1B overlap named in the version; stated false keeps it exposed even
    under DualPipe."""
    layout = {"tp": 1, "pp": 2, "dp": 32, "ep": 32, "global_batch": 256, "recompute": "full"}
    sw = {"framework": "megatron-lm", "version": "2025"}

    def exposed(**stated) -> float:
        est = estimate(run(layout, model=QWEN3, gpus=64, software={**sw, **stated}))
        return est.parts_s["ep_exposed_s"]

    assert exposed(ep_comm_overlap=True) == exposed(version="2025; 1F1B overlap")
    assert exposed(ep_comm_overlap=False, version="2025 with DualPipe") == exposed()
    assert exposed(ep_comm_overlap=True) < 0.9 * exposed()


def test_a_run_of_2022_gets_a_stack_of_its_year():
    """An unnamed stack of 2022 (OPT's metaseq era) ran no FlashAttention and no sequence parallelism, and a
    2022 Megatron-DeepSpeed (BLOOM's) is not the 2023-24 one with FlashAttention-2."""
    layout = {"tp": 2, "dp": 4, "global_batch": 8, "recompute": "full"}
    old = estimate(run(layout, software={"framework": "other", "version": "metaseq, 2022"}))
    new = estimate(run(layout, software={"framework": "other"}))
    assert old.software.profile == "generic-2022" and old.software.attention.value == "unfused"
    assert not old.layout.sequence_parallel and new.software.profile == "generic-pytorch"
    bloom = estimate(run(layout, software={"framework": "deepspeed", "version": "Megatron-DeepSpeed, 2022"}))
    later = estimate(run(layout, software={"framework": "deepspeed", "version": "Megatron-DeepSpeed"}))
    assert bloom.software.profile == "deepspeed-zero3-2021" and later.software.profile == "deepspeed-2023"


def test_the_planner_offers_only_what_the_stack_runs():
    model, gpu = lookup("models", "llama3-70b"), lookup("gpus", "h100-sxm5-80gb")
    old = plan(model, gpu, num_gpus=256, global_batch_tokens=4e6, software=None, top=50)
    assert any(e.layout.cp > 1 or e.layout.interleave > 1 for e in old.best) or old.best
    from colossus.spec import SoftwareSpec

    legacy = plan(model, lookup("gpus", "a100-sxm4-80gb"), num_gpus=256, global_batch_tokens=4e6,
                  software=SoftwareSpec(profile="megatron-lm-2021"), top=50)
    assert all(e.layout.cp == 1 and e.layout.zero == 0 and not e.layout.sequence_parallel for e in legacy.best)
    assert legacy.software.profile == "megatron-lm-2021"
    for est in legacy.best:  # Megatron-LM 2021: every virtual stage the same number of layers
        lay = est.layout
        if lay.interleave > 1:
            assert model.layers % (lay.pp * lay.interleave) == 0
    for est in old.best:  # planned with even virtual stages (the embedding and loss may count as stages)
        lay = est.layout
        if lay.interleave > 1:
            assert model.layers % (lay.pp * lay.interleave) == 0 or (model.layers + 2) % (lay.pp * lay.interleave) == 0


def test_published_llama3_layout_and_the_plan_next_to_it():
    """Meta measured 38-43% BF16 MFU for Llama 3 405B on 8-16k H100 (TP 8, PP 16; Llama 3 paper, Table 4).

    The planner may find a faster layout than the one Meta ran, but not one that
    is physically implausible next to it: below 60% MFU, buildable, fitting.
    """
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    meta = estimate(RunSpec.model_validate({
        "model": model.model_dump(mode="json"), "cluster": {"gpu": gpu.name, "gpus": 16384},
        "layout": {"tp": 8, "pp": 16, "dp": 128, "global_batch": 2048}}))
    assert 0.30 < meta.mfu < 0.46 and meta.fits
    best = plan(model, gpu, num_gpus=16384, global_batch_tokens=16 * 2**20).best[0]
    assert best.fits and best.mfu < 0.60
    lay = best.layout
    assert (
        lay.interleave == 1
        or (model.layers + 2) % (lay.pp * lay.interleave) == 0
        or model.layers % (lay.pp * lay.interleave) == 0
    )


def test_mla_counts_deepseek_v3_at_its_published_size():
    model = lookup("models", "deepseek-v3-671b")
    assert model.num_params == pytest.approx(671e9, rel=0.01)
    assert model.num_active_params == pytest.approx(37e9, rel=0.03)
    assert np.isclose(model.qk_head_dim, 192) and model.v_head_dim == 128


# --- selective recompute modules, MoE dispatch ------------------------------------------

QWEN3_LONG = {**QWEN3, "heads": 64, "kv_heads": 4, "head_dim": 128, "ffn_hidden": 1536, "layers": 94,
              "seq_len": 16384}
LONG_LAYOUT = {"tp": 4, "pp": 8, "dp": 8, "ep": 8, "interleave": 4, "global_batch": 256, "recompute": "selective",
               "sequence_parallel": True, "zero": 1, "micro_batch": 1}


def test_unnamed_selective_modules_go_to_the_fastest_policy_that_fits():
    """'selective' without modules: the stack's default when it fits, else a policy saving more memory
    (Megatron-core --recompute-modules layernorm moe at 16k tokens, the model-zoo long-context runs)."""
    sw = {"framework": "megatron-lm", "version": "2025; DeepEP dispatcher"}
    short = estimate(run({**LONG_LAYOUT, "global_batch": 2048}, model={**QWEN3_LONG, "seq_len": 4096}, gpus=256,
                         software=sw))
    assert short.assumed["selective_recompute"] == "norm_act" and short.fits
    long = estimate(run(LONG_LAYOUT, model=QWEN3_LONG, gpus=256, software=sw))
    assert long.assumed["selective_recompute"] == "norm_moe" and long.fits
    stated = estimate(run(LONG_LAYOUT, model=QWEN3_LONG, gpus=256, software={**sw, "selective_recompute": "norm_act"}))
    assert "selective_recompute" not in stated.assumed and not stated.fits
    assert stated.memory_per_gpu_bytes > long.memory_per_gpu_bytes
    assert long.parts_s["recompute_s"] > stated.parts_s["recompute_s"]  # the MoE block is computed again
    # the estimate carries its policy, so a re-evaluation of its layout (placement) reproduces it
    from colossus.perf.step import step_parts

    r = run(LONG_LAYOUT, model=QWEN3_LONG, gpus=256, software=sw)
    assert long.selective_recompute.value == "norm_moe"
    again = step_parts(run_context(r), from_spec(long.layout, long.selective_recompute)).step_time_s[0]
    assert again == pytest.approx(long.step_time_s, rel=1e-12)
    assert step_parts(run_context(r), from_spec(long.layout)).step_time_s[0] < long.step_time_s


def test_mla_up_projection_recompute_is_offered_only_for_mla_models():
    dsv3 = lookup("models", "deepseek-v3-671b").model_dump(mode="json")
    layout = {"tp": 2, "pp": 8, "dp": 64, "ep": 64, "interleave": 4, "global_batch": 8192, "precision": "fp8",
              "micro_batch": 1, "recompute": "selective"}  # selective, as the Bridge preset: which modules is open
    est = estimate(run(layout, model={**dsv3, "seq_len": 4096}, gpus=1024,
                       software={"framework": "nemo", "version": "25.09"}))
    assert est.fits and est.assumed["selective_recompute"] == "mla_up"
    dense = estimate(run({"tp": 2, "dp": 4, "global_batch": 8, "recompute": "selective"},
                         software={"framework": "nemo", "version": "25.09"}))
    assert "selective_recompute" not in dense.assumed


def test_deepep_sends_a_token_to_a_rank_once():
    """Intra-node EP 8 with top-8 routing: the all-to-all dispatcher sends 7 copies over NVLink per token,
    DeepEP one per distinct destination rank (7 (1 - (7/8)^8) ~ 4.6)."""
    layout = {"tp": 1, "dp": 8, "ep": 8, "global_batch": 8, "recompute": "none", "zero": 1}
    parts = {}
    for dispatcher in ("alltoall", "deepep"):
        sw = {"framework": "megatron-lm", "version": "2025", "ep_dispatcher": dispatcher}
        parts[dispatcher] = estimate(run(layout, model={**QWEN3, "layers": 4}, software=sw)).parts_s["ep_exposed_s"]
    ratio = parts["deepep"] / parts["alltoall"]
    assert ratio == pytest.approx(7 * (1 - (7 / 8) ** 8) / 7, rel=0.05)


def test_megatron_fsdp_reduces_gradients_in_bf16_unless_the_run_says_otherwise():
    """The Megatron-FSDP user guide recommends --grad-reduce-in-bf16; the distributed optimizer keeps fp32."""
    from colossus.perf.software import resolve
    from colossus.spec import SoftwareSpec

    sw = resolve(SoftwareSpec(framework="megatron-lm", version="2025"), "hopper", default_profile="megatron-core-2025")
    assert sw.grad_reduce_bytes == 4.0 and sw.zero3_grad_reduce_bytes == 2.0
    stated = resolve(SoftwareSpec(framework="megatron-lm", version="2025", grad_reduce_dtype="fp32"), "hopper",
                     default_profile="megatron-core-2025")
    assert stated.zero3_grad_reduce_bytes == 4.0
    layout = {"tp": 1, "dp": 16, "global_batch": 64, "micro_batch": 1, "zero": 3, "recompute": "full"}
    fsdp = estimate(run(layout, gpus=16, software={"framework": "megatron-lm", "version": "2025"}))
    fp32 = estimate(run(layout, gpus=16, software={"framework": "megatron-lm", "version": "2025",
                                                   "grad_reduce_dtype": "fp32"}))
    assert fsdp.parts_s["dp_exposed_s"] < fp32.parts_s["dp_exposed_s"]


def test_moe_recompute_modules_are_not_offered_to_a_dense_model():
    """moe_act / moe recompute nothing in a dense model: a dense 'selective' run keeps the stack's policy."""
    est = estimate(run({"tp": 2, "dp": 4, "global_batch": 8, "recompute": "selective"},
                       software={"framework": "megatron-lm", "version": "2025"}))
    assert "selective_recompute" not in est.assumed


def test_deepspeed_zero3_gathers_a_recomputed_layer_again_when_it_exceeds_the_reuse_distance():
    """DeepSpeed keeps a parameter gathered only if it is reused within stage3_max_reuse_distance (1e9)
    parameters: a recomputed layer larger than that is gathered a third time for its backward; a smaller
    one, or a stack that keeps the unit gathered (PyTorch FSDP), is not."""
    from colossus.perf.software import resolve
    from colossus.spec import SoftwareSpec

    assert resolve(SoftwareSpec(framework="deepspeed"), "ampere", default_profile="megatron-core-2025"
                   ).zero3_max_reuse_params == 1e9
    layout = {"tp": 1, "pp": 1, "dp": 64, "micro_batch": 1, "global_batch": 64, "zero": 3}
    big = {"layers": 8, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200, "seq_len": 2048}
    small = {**big, "hidden": 4096, "heads": 32}

    def dp_s(model, recompute, software):
        est = estimate(run({**layout, "recompute": recompute}, model=model, gpu="a100-sxm4-80gb", gpus=64,
                           software=software))
        return est.parts_s["dp_exposed_s"]

    ds, fsdp = {"framework": "deepspeed"}, {"framework": "torchtitan"}
    assert dp_s(big, "full", ds) > 1.2 * dp_s(big, "none", ds)  # 1.8e9 parameters a layer: a third gather
    assert dp_s(small, "full", ds) <= dp_s(small, "none", ds)  # 0.2e9: kept, and more compute to hide under
    assert dp_s(big, "full", fsdp) <= dp_s(big, "none", fsdp)


def test_an_fsdp_gather_hides_under_the_whole_previous_layer_pass():
    """A prefetched ZeRO-3 gather runs beside everything the layer before does, its exposed collectives
    included: more such time can only hide more of it, and never below zero."""
    from colossus.perf.compute import layer_times
    from colossus.perf.memory import stage_of
    from colossus.perf.step import dp_exposed_s

    r = run({"tp": 2, "dp": 64, "micro_batch": 1, "global_batch": 64, "zero": 3, "recompute": "none"},
            model={**LLAMA8B, "seq_len": 1024}, gpus=128, nic_gbit_per_s=100)
    ctx, lay = run_context(r), from_spec(r.layout)
    lt = layer_times(ctx, lay)
    _, layers, params = stage_of(ctx, lay)
    alone = dp_exposed_s(ctx, lay, lt, layers, params)
    beside = dp_exposed_s(ctx, lay, lt, layers, params, layer_comm_s=10 * lt.fwd_s)
    assert 0.0 <= float(beside[0]) < float(alone[0])


def _fsdp_pipeline(profile: str, global_batch: int) -> RunSpec:
    return RunSpec.model_validate({
        "id": "fsdp-pp", "model": {"layers": 80, "hidden": 8192, "heads": 64, "kv_heads": 8, "ffn_hidden": 28672,
                                   "activation": "swiglu", "vocab": 128256, "seq_len": 8192},
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 256},
        "software": {"profile": profile},
        "layout": {"tp": 8, "pp": 4, "dp": 8, "micro_batch": 1, "global_batch": global_batch, "interleave": 1,
                   "recompute": "full", "zero": 3, "precision": "bf16"},
    })


def test_a_pipeline_over_pytorch_fsdp_gathers_and_reduces_once_a_step():
    """torchtitan keeps a stage gathered across micro-batches with pp (no reshard after forward) and syncs
    gradients on the last micro-batch only; DeepSpeed-style ZeRO-3 gathers and reduces every micro-batch."""
    once = [estimate(_fsdp_pipeline("torchtitan", gb)) for gb in (64, 256)]
    every = [estimate(_fsdp_pipeline("deepspeed-2023", gb)) for gb in (64, 256)]
    # four times the micro-batches: the same data-parallel traffic for torchtitan, four times DeepSpeed's
    assert once[1].parts_s["dp_exposed_s"] == pytest.approx(once[0].parts_s["dp_exposed_s"], rel=1e-9)
    assert every[1].parts_s["dp_exposed_s"] > 3.5 * every[0].parts_s["dp_exposed_s"]
    assert once[1].parts_s["dp_exposed_s"] < every[1].parts_s["dp_exposed_s"]
    # what it costs instead: the stage's parameters and gradients stay whole in memory for the step
    t, d = once[0].memory_bytes, every[0].memory_bytes
    assert t["weights_bytes"] == pytest.approx(8 * d["weights_bytes"])
    assert t["gradients_bytes"] == pytest.approx(8 * d["gradients_bytes"])
    # without a pipeline torchtitan's FSDP shards as before
    flat = estimate(RunSpec.model_validate({**_fsdp_pipeline("torchtitan", 64).model_dump(),
                                            "layout": {"tp": 8, "pp": 1, "dp": 32, "micro_batch": 1,
                                                       "global_batch": 64, "recompute": "full", "zero": 3}}))
    assert flat.memory_bytes["weights_bytes"] < t["weights_bytes"] / 8
