"""plan(): the search over layouts."""

from __future__ import annotations

from colossus.perf import plan
from colossus.spec import lookup


def test_plan_llama3_405b_16k_h100():
    """The search's behaviour; its speed is printed by benchmarks/bench_perf.py, not asserted."""
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    result = plan(model, gpu, num_gpus=16384, global_batch_tokens=16 * 2**20)
    assert result.num_explored > 10_000
    times = [e.step_time_s for e in result.best]
    assert times == sorted(times) and len(result.best) == 10
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
    with pytest.raises(InfeasibleError, match="multiple of dp x micro_batch"):
        plan(model, gpu, num_gpus=100_000, global_batch_tokens=64 * 2**20)


def test_public_api_exported():
    import colossus.perf

    for name in colossus.perf.__all__:
        assert hasattr(colossus.perf, name)
