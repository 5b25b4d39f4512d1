"""Pipeline schedules beyond 1F1B: zero-bubble (ZB-H1) and DualPipe, their bubbles, memory and rules."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus.errors import InfeasibleError
from colossus.perf import estimate
from colossus.perf.compute import layer_times
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.software import resolve
from colossus.spec import PipelineSchedule, RunSpec, SoftwareSpec

LLAMA8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
           "activation": "swiglu", "vocab": 128256, "seq_len": 8192}
PP8 = {"tp": 1, "pp": 8, "dp": 8, "micro_batch": 1, "global_batch": 128, "recompute": "none", "zero": 1,
       "interleave": 1}


def run(schedule: str | None = None, *, version: str | None = None, **layout) -> RunSpec:
    software: dict = {"framework": "megatron-lm", "version": version or "2025"}
    if schedule is not None:
        software["pipeline_schedule"] = schedule
    lay = {**PP8, **layout}
    return RunSpec.model_validate({
        "id": "schedule", "model": LLAMA8B, "software": software, "layout": lay,
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": lay["tp"] * lay["pp"] * lay["dp"]},
    })


def _fbw(r: RunSpec) -> tuple[float, float, float]:
    """One layer's forward, full backward and weight-gradient GEMM times (the schedules' F, B, W per layer)."""
    lt = layer_times(run_context(r), from_spec(r.layout))
    return float(lt.fwd_s[0]), float(lt.bwd_s[0] + lt.recompute_s[0]), float(lt.linear_fwd_s[0])


def test_the_stack_runs_1f1b_unless_told_and_other_schedules_run_one_chunk_per_stage():
    plain = resolve(SoftwareSpec(framework="megatron-lm"), "hopper", default_profile="megatron-core-2025")
    assert plain.pipeline_schedule is PipelineSchedule.ONE_F_ONE_B and plain.interleave
    dual = resolve(SoftwareSpec(framework="megatron-lm", pipeline_schedule="dualpipe"), "hopper",
                   default_profile="megatron-core-2025")
    assert dual.pipeline_schedule is PipelineSchedule.DUALPIPE and not dual.interleave


@pytest.mark.parametrize(
    ("version", "expected"),
    [
        ("in-house, with DualPipe and DeepEP", PipelineSchedule.DUALPIPE),  # (HAI-LLM: its own profile)
        ("in-house, zero-bubble pipeline (ZB-H1)", PipelineSchedule.ZERO_BUBBLE),
        ("ZB1P schedule", PipelineSchedule.ZERO_BUBBLE),
        ("DualPipe compared with ZB-H1", PipelineSchedule.ONE_F_ONE_B),  # names both: decides nothing
        ("2025", PipelineSchedule.ONE_F_ONE_B),
    ],
)
def test_a_version_naming_a_schedule_sets_it(version, expected):
    sw = resolve(SoftwareSpec(framework="other", version=version), "hopper", default_profile="megatron-core-2025")
    assert sw.pipeline_schedule is expected
    assert (expected.value in sw.note) == (expected is not PipelineSchedule.ONE_F_ONE_B)


def test_the_zero_bubble_and_dualpipe_bubbles_follow_the_deepseek_v3_table():
    """DeepSeek-V3 report Table 2: 1F1B (pp-1)(F+B), ZB1P (pp-1)(F+B-2W), DualPipe (pp/2-1)(F&B+B-3W)."""
    base = estimate(run("1f1b"))
    f, b, w = _fbw(run("1f1b"))
    per_mb = base.parts_s["bubble_s"] / (8 - 1)  # 1F1B: pp - 1 micro-batch times of the stage
    zb = estimate(run("zero_bubble"))
    dual = estimate(run("dualpipe"))
    assert zb.parts_s["bubble_s"] == pytest.approx(per_mb * 7 * (f + b - 2 * w) / (f + b), rel=1e-9)
    assert dual.parts_s["bubble_s"] == pytest.approx(per_mb * 3 * (f + 2 * b - 3 * w) / (f + b), rel=1e-9)
    assert dual.parts_s["bubble_s"] < zb.parts_s["bubble_s"] < base.parts_s["bubble_s"]
    # what the micro-batches themselves cost does not depend on the schedule
    assert zb.parts_s["compute_s"] == dual.parts_s["compute_s"] == base.parts_s["compute_s"]
    assert dual.step_time_s < base.step_time_s


def test_dualpipe_holds_two_copies_of_the_parameters_and_one_more_micro_batch():
    one = estimate(run("1f1b"))
    dual = estimate(run("dualpipe"))
    for part in ("weights_bytes", "gradients_bytes", "optimizer_bytes"):
        assert dual.memory_bytes[part] == pytest.approx(2 * one.memory_bytes[part], rel=1e-12)
    # 16 micro-batches per step: stage 0 holds pp + 1 = 9 of them, not pp = 8
    assert dual.memory_bytes["activations_bytes"] == pytest.approx(9 / 8 * one.memory_bytes["activations_bytes"],
                                                                   rel=1e-12)
    zb = estimate(run("zero_bubble"))
    assert zb.memory_bytes == one.memory_bytes  # ZB-H1 holds what 1F1B holds


def test_without_a_pipeline_the_schedule_changes_nothing():
    one = estimate(run("1f1b", pp=1, dp=64, global_batch=128))
    dual = estimate(run("dualpipe", pp=1, dp=64, global_batch=128))
    assert dual.step_time_s == one.step_time_s and dual.memory_bytes == one.memory_bytes


@pytest.mark.parametrize(
    ("layout", "said"),
    [
        ({"pp": 4, "dp": 16, "interleave": 2}, "one model chunk per stage"),
        ({"pp": 2, "dp": 8, "global_batch": 24}, "even number of them"),  # 3 micro-batches per step
        ({"pp": 1, "dp": 8, "global_batch": 8}, ""),  # no pipeline: nothing to refuse
    ],
)
def test_dualpipe_refuses_what_it_cannot_run(layout, said):
    r = run("dualpipe", **layout)
    if not said:
        assert estimate(r).step_time_s > 0
        return
    with pytest.raises(InfeasibleError, match=said):
        estimate(r)


def test_dualpipe_needs_an_even_pipeline():
    model = {**LLAMA8B, "layers": 30}
    r = RunSpec.model_validate({
        "id": "odd", "model": model, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 24},
        "software": {"framework": "megatron-lm", "pipeline_schedule": "dualpipe"},
        "layout": {**PP8, "pp": 3, "dp": 8, "global_batch": 16},
    })
    with pytest.raises(InfeasibleError, match="even number of pipeline stages"):
        estimate(r)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([1, 2, 4, 8]), st.sampled_from([2, 4, 8, 16]), st.sampled_from([1, 2]),
       st.sampled_from(["none", "selective", "full"]), st.sampled_from([1, 2, 4]))
def test_each_schedule_bubbles_no_more_than_the_one_it_improves_on(tp, pp, mb, recompute, per_stage_micro):
    """DualPipe <= ZB-H1 <= 1F1B for any layout: the weight gradients a zero-bubble schedule defers take no more
    than the backward, and DualPipe's half-length fill costs no more than ZB-H1's (W <= F)."""
    dp = 64 // (tp * pp) if tp * pp <= 64 else 1
    layout = {"tp": tp, "pp": pp, "dp": dp, "micro_batch": mb, "global_batch": dp * mb * 2 * pp * per_stage_micro,
              "recompute": recompute, "sequence_parallel": tp > 1}
    bubbles = [estimate(run(kind, **layout)).parts_s["bubble_s"] for kind in ("1f1b", "zero_bubble", "dualpipe")]
    assert bubbles[2] <= bubbles[1] * (1 + 1e-12) and bubbles[1] <= bubbles[0] * (1 + 1e-12)


def test_dualpipe_under_zero3_gathers_one_copy_a_micro_batch():
    """Each micro-batch runs through one of the two copies of a stage: ZeRO-3 gathers and reduce-scatters that
    copy's layers, as under 1F1B, while each GPU holds the shards of both copies."""
    one = estimate(run("1f1b", zero=3))
    dual = estimate(run("dualpipe", zero=3))
    assert dual.parts_s["dp_exposed_s"] == pytest.approx(one.parts_s["dp_exposed_s"], rel=1e-12)
    assert dual.memory_bytes["weights_bytes"] == pytest.approx(2 * one.memory_bytes["weights_bytes"], rel=1e-12)
    assert dual.memory_bytes["comm_buffers_bytes"] == pytest.approx(one.memory_bytes["comm_buffers_bytes"],
                                                                    rel=1e-12)
