"""plan(): the search over layouts."""

from __future__ import annotations

from colossus.perf import plan
from colossus.spec import lookup


def test_plan_llama3_405b_16k_h100():
    """The search's behaviour; its speed is printed by benchmarks/bench_perf.py, not asserted."""
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    result = plan(model, gpu, num_gpus=16384, global_batch_tokens=16 * 2**20)
    assert result.num_explored > 10_000
    rates = [e.tokens_per_s_per_gpu for e in result.best]
    assert rates == sorted(rates, reverse=True) and len(result.best) == 10
    assert all(e.fits for e in result.best)
    assert all(e.layout.tp * e.layout.pp * e.layout.cp * e.layout.dp == 16384 for e in result.best)
    assert "bound by" in result.why


def test_h200_fits_layouts_h100_cannot():
    model = lookup("models", "llama3-70b")
    h100, h200 = lookup("gpus", "h100-sxm5-80gb"), lookup("gpus", "h200-sxm-141gb")
    a = plan(model, h100, num_gpus=64, global_batch_tokens=2**20)
    b = plan(model, h200, num_gpus=64, global_batch_tokens=2**20)
    assert b.num_fitting > a.num_fitting
    assert b.best[0].step_time_s <= a.best[0].step_time_s


def test_moe_plan_explores_expert_parallelism():
    model, gpu = lookup("models", "grok-1-314b"), lookup("gpus", "h100-sxm5-80gb")
    result = plan(model, gpu, num_gpus=512, global_batch_tokens=2**22)
    assert result.best and result.best[0].fits


def test_no_valid_layout_says_why():
    import pytest

    from colossus.errors import InfeasibleError

    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    # one sequence a step cannot be split over 100,000 GPUs: every layout needs dp >= 3
    with pytest.raises(InfeasibleError, match="multiple of dp x micro_batch"):
        plan(model, gpu, num_gpus=100_000, global_batch_tokens=8192)


def test_public_api_exported():
    import colossus.perf

    for name in colossus.perf.__all__:
        assert hasattr(colossus.perf, name)


def test_a_round_figure_batch_is_a_target_each_layout_rounds():
    """'16M tokens' at 8k is 1,953.1 sequences, which almost no dp divides: the plan must not collapse to dp 1."""
    from colossus.perf.search import BATCH_TOLERANCE_FRAC, layout_batch

    assert layout_batch(1953, 128, 1) == 1920 and layout_batch(1953, 64, 2) == 1920
    assert layout_batch(1953, 1, 1) == 1953 and layout_batch(1953, 2048, 2) is None
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    decimal = plan(model, gpu, num_gpus=16384, global_batch_tokens=16e6)
    binary = plan(model, gpu, num_gpus=16384, global_batch_tokens=16 * 2**20)
    for est in decimal.best:
        lay = est.layout
        assert lay.global_batch % (lay.dp * lay.micro_batch) == 0
        assert abs(lay.global_batch - 1953) <= BATCH_TOLERANCE_FRAC * 1953
    assert decimal.best[0].layout.dp > 1
    assert decimal.best[0].tokens_per_s_per_gpu > 0.95 * binary.best[0].tokens_per_s_per_gpu
    if decimal.best[0].layout.global_batch != 1953:
        assert "rounded to a multiple of dp x micro-batch" in decimal.why


def test_a_replica_may_run_its_whole_share_of_the_batch_as_one_micro_batch():
    """Powers of two, and the divisors of a replica's share (up to the cap): six sequences a GPU in one
    micro-batch, as llm-foundry ran MPT-7B on 512 GPUs, is offered."""
    from colossus.perf.search import MAX_MICRO_BATCH, MICRO_BATCHES, micro_batches

    assert micro_batches(3072, 512) == [1, 2, 3, 4, 6, 8]
    assert micro_batches(1024, 32) == [1, 2, 4, 8]  # a share of 32: its divisors up to the cap
    assert micro_batches(30, 6) == [1, 2, 4, 5, 8]  # a share of 5: five sequences in one micro-batch
    assert set(MICRO_BATCHES) <= set(micro_batches(7, 7)) and max(micro_batches(10**6, 1)) == MAX_MICRO_BATCH


def test_a_plan_lists_no_layout_another_of_its_shape_beats_on_speed_and_memory():
    """Rows of one parallel shape (degrees, micro-batch, interleave) that differ in ZeRO stage, sequence
    parallelism or recompute: one slower and no smaller than another is no choice and is not listed (Llama 3
    405B on 8,192 GPUs with the generic stack listed ZeRO-3 twins of ZeRO-2 rows, slower and up to 24 GiB
    larger); one that trades speed for memory is. The runner-up is said slower by throughput."""
    from colossus.spec import SoftwareSpec

    result = plan(lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb"), num_gpus=8192,
                  global_batch_tokens=16e6, software=SoftwareSpec(framework="other"), top=10)
    best = result.best
    assert len(best) == 10
    for i, slow in enumerate(best):
        shape = (slow.layout.tp, slow.layout.pp, slow.layout.dp, slow.layout.cp, slow.layout.micro_batch,
                 slow.layout.interleave)
        for fast in best[:i]:
            if (fast.layout.tp, fast.layout.pp, fast.layout.dp, fast.layout.cp, fast.layout.micro_batch,
                    fast.layout.interleave) == shape:
                assert slow.memory_per_gpu_bytes < fast.memory_per_gpu_bytes, (fast.layout, slow.layout)
    rates = [e.tokens_per_s_per_gpu for e in best]
    assert rates == sorted(rates, reverse=True)
    assert " slower, mostly in " in result.why and "is -" not in result.why
