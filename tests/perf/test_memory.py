"""Memory per GPU against Korthikanti et al. 2022 and ZeRO."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.perf.memory import activation_bytes_per_token_layer, memory_parts
from colossus.spec import LayoutSpec, RunSpec

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


def test_flash_attention_drops_the_scores():
    layout = LayoutSpec(dp=1, global_batch=8, tp=8)
    unfused = activation_bytes_per_token_layer(ctx_for(layout), from_spec(layout))[0]
    flash = activation_bytes_per_token_layer(ctx_for(layout, {"framework": "megatron-lm", "attention": "flash2"}),
                                             from_spec(layout))[0]
    assert unfused - flash == pytest.approx(5 * 96 * 2048 / 8)
