"""Dropless MoE routing: the busiest expert-parallel rank paces a layer (perf/compute.expert_load_factor)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import numpy as np
import pytest

from colossus.perf import estimate
from colossus.perf.assumptions import default_assumptions
from colossus.perf.compute import expert_load_factor
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.routing import dropless, dropless_pairs
from colossus.spec import ExpertRouting, LayoutSpec, RunSpec

QWEN3 = {"layers": 94, "hidden": 4096, "heads": 64, "kv_heads": 4, "head_dim": 128, "ffn_hidden": 1536,
         "activation": "swiglu", "vocab": 151936, "seq_len": 4096,
         "moe": {"experts": 128, "top_k": 8, "expert_ffn_hidden": 1536}}
STACK = {"framework": "megatron-lm", "version": "2025"}


def qwen(layout: dict, *, routing: str | None = None, model: dict | None = None, gpus: int = 64,
         **stated) -> RunSpec:
    software = {**STACK, **({"expert_routing": routing} if routing else {}), **stated}
    return RunSpec.model_validate({"id": "q", "model": model or QWEN3, "software": software,
                                   "cluster": {"gpu": "h100-sxm5-80gb", "gpus": gpus}, "layout": layout})


EP8 = {"tp": 1, "pp": 4, "dp": 16, "ep": 8, "global_batch": 256, "recompute": "full"}


def factor(run: RunSpec) -> float:
    layout = LayoutSpec.model_validate(run.layout.model_dump())
    return float(np.broadcast_to(expert_load_factor(run_context(run), from_spec(layout)), 1)[0])


def test_benchmarks_force_balance_unless_a_run_says_dropless():
    plain = estimate(qwen(EP8))
    assert plain.software.expert_routing is ExpertRouting.BALANCED
    slow = estimate(qwen(EP8, routing="dropless"))
    assert slow.software.expert_routing is ExpertRouting.DROPLESS and "expert_routing" in slow.software.stated
    assert slow.step_time_s > plain.step_time_s
    # attention and the dense parts do not wait for the experts' busiest rank; the experts and their all-to-all do
    assert slow.parts_s["ep_exposed_s"] > plain.parts_s["ep_exposed_s"]
    assert slow.parts_s["compute_s"] > plain.parts_s["compute_s"]
    assert estimate(qwen(EP8, routing="balanced")).step_time_s == plain.step_time_s


def test_without_expert_parallelism_or_experts_routing_costs_nothing():
    no_ep = {**EP8, "ep": 1}
    assert factor(qwen(no_ep, routing="dropless")) == 1.0
    assert estimate(qwen(no_ep, routing="dropless")).step_time_s == estimate(qwen(no_ep)).step_time_s
    dense = {k: v for k, v in QWEN3.items() if k != "moe"}
    layout = {**EP8, "ep": 1}
    assert estimate(qwen(layout, model=dense, routing="dropless")).step_time_s == estimate(
        qwen(layout, model=dense)).step_time_s


@pytest.mark.parametrize("ep", [2, 4, 8, 16, 32])
def test_the_busiest_rank_is_the_largest_of_ep_draws_of_its_experts_mean_load(ep):
    """1 + cv / sqrt(E / ep) x (expected largest of ep standard normals, Blom): more ranks, fewer experts each,
    a busier busiest rank."""
    from scipy.special import ndtri

    cv = default_assumptions().f("compute.moe.expert_load_cv")
    layout = {**EP8, "ep": ep, "dp": 16, "pp": 4}
    expected = 1 + cv / np.sqrt(128 / ep) * ndtri((ep - 0.375) / (ep + 0.25))
    assert factor(qwen(layout, routing="dropless")) == pytest.approx(expected)
    if ep > 2:
        assert factor(qwen(layout, routing="dropless")) > factor(qwen({**layout, "ep": ep // 2}, routing="dropless"))


def test_the_busiest_rank_holds_more_of_the_experts_activations():
    keep = {**EP8, "recompute": "none"}
    assert (estimate(qwen(keep, routing="dropless")).memory_bytes["activations_bytes"]
            > estimate(qwen(keep)).memory_bytes["activations_bytes"])


def test_pairs_are_read_from_a_runs_notes():
    run = qwen(EP8).model_copy(update={"notes": "Row: TFLOPS 335 (forced\n    balance) / 277 (dropless). Other."})
    (pair,) = dropless_pairs([run, qwen(EP8)])
    assert (pair.balanced_tflops, pair.dropless_tflops) == (335.0, 277.0)
    assert pair.measured_ratio == pytest.approx(277 / 335)
    assert dropless(run).software.expert_routing is ExpertRouting.DROPLESS


def test_an_expert_parallel_estimate_says_how_it_routed():
    assumed = estimate(qwen(EP8)).notes
    assert any("taken as force-balanced" in n for n in assumed)
    stated = estimate(qwen(EP8, routing="dropless")).notes
    load = factor(qwen(EP8, routing="dropless"))
    assert any(f"busiest of 8 expert-parallel ranks takes x{load:.2f}" in n for n in stated)
    assert not any("force-balanced" in n for n in estimate(qwen(EP8, routing="balanced")).notes)
    assert not any("routing" in n for n in estimate(qwen({**EP8, "ep": 1})).notes)


def test_the_planner_prices_dropless_routing():
    from colossus.perf import plan
    from colossus.spec import ModelSpec, SoftwareSpec, lookup

    model = ModelSpec.model_validate(QWEN3)
    gpu = lookup("gpus", "h100-sxm5-80gb")
    balanced = plan(model, gpu, num_gpus=64, global_batch_tokens=1e6, software=SoftwareSpec(**STACK), top=1)
    routed = plan(model, gpu, num_gpus=64, global_batch_tokens=1e6,
                  software=SoftwareSpec(**STACK, expert_routing="dropless"), top=1)
    assert routed.best[0].step_time_s > balanced.best[0].step_time_s


@settings(max_examples=25, deadline=None)
@given(st.sampled_from([1, 2, 4]), st.sampled_from([1, 2, 4]), st.sampled_from([2, 4, 8, 16, 32]),
       st.sampled_from(["none", "selective", "full"]), st.sampled_from([8, 64, 128]), st.sampled_from([1, 2, 8]))
def test_dropless_never_beats_forced_balance(tp, pp, ep, recompute, experts, top_k):
    """Whatever the layout and expert count, waiting for the busiest rank costs time and memory, never saves it;
    and the more ranks share the experts, the more the busiest one carries."""
    ep = min(ep, experts)
    dp = max(ep, 2)
    model = {**QWEN3, "layers": 8, "moe": {"experts": experts, "top_k": min(top_k, experts), "expert_ffn_hidden": 1536}}
    layout = {"tp": tp, "pp": pp, "dp": dp, "ep": ep, "global_batch": dp * 2 * pp, "recompute": recompute,
              "sequence_parallel": tp > 1, "zero": 1, "interleave": 1}  # (every default stated: the same layout)
    gpus = tp * pp * dp
    balanced = estimate(qwen(layout, model=model, gpus=gpus))
    routed = estimate(qwen(layout, model=model, gpus=gpus, routing="dropless"))
    assert routed.step_time_s >= balanced.step_time_s
    assert routed.memory_per_gpu_bytes >= balanced.memory_per_gpu_bytes * (1 - 1e-12)
    load = factor(qwen(layout, model=model, gpus=gpus, routing="dropless"))
    assert load == 1.0 if ep == 1 else load > 1.0


def test_token_drop_caps_the_busiest_rank_at_its_capacity():
    """Megatron-core --moe-expert-capacity-factor C drops an expert's tokens beyond C x its mean share before the
    dispatch: dropless routing then costs at most C; padded to capacity every expert runs exactly C, forced
    balance or not; below 1, even a balanced run drops tokens and does less."""
    dropless = factor(qwen(EP8, routing="dropless"))
    assert factor(qwen(EP8, routing="dropless", expert_capacity_factor=1.2)) == pytest.approx(min(dropless, 1.2))
    assert factor(qwen(EP8, routing="dropless", expert_capacity_factor=1.0, expert_pad_to_capacity=True)) == 1.0
    assert factor(qwen(EP8, expert_capacity_factor=1.5, expert_pad_to_capacity=True)) == 1.5
    assert factor(qwen({**EP8, "ep": 1}, expert_capacity_factor=0.8)) == 0.8
    balanced = estimate(qwen(EP8)).step_time_s
    capped = estimate(qwen(EP8, routing="dropless", expert_capacity_factor=1.2)).step_time_s
    assert balanced < capped < estimate(qwen(EP8, routing="dropless")).step_time_s
    assert estimate(qwen(EP8, routing="dropless", expert_capacity_factor=1.0,
                         expert_pad_to_capacity=True)).step_time_s == pytest.approx(balanced, rel=1e-12)
    notes = estimate(qwen(EP8, routing="dropless", expert_capacity_factor=1.2)).notes
    assert any("token drop at capacity factor 1.2" in n for n in notes)
    with pytest.raises(ValueError, match="expert_capacity_factor"):
        qwen(EP8, expert_capacity_factor=0)
