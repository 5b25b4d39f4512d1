"""Memory per GPU against Korthikanti et al. 2022 and ZeRO."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from colossus.perf.assumptions import default_assumptions
from colossus.perf.layout import from_spec
from colossus.perf.memory import activation_bytes_per_token_layer, memory_parts
from colossus.spec import LayoutSpec, ModelSpec

GPT3 = ModelSpec(layers=96, hidden=12288, heads=96, activation="gelu", vocab=51200, seq_len=2048)
MEM = default_assumptions().memory["bytes"]


def per_token(**kw) -> float:
    lay = from_spec(LayoutSpec(dp=1, global_batch=8, **kw))
    return float(activation_bytes_per_token_layer(GPT3, lay, MEM, flash=False)[0])


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
    a = default_assumptions()
    lay = from_spec(LayoutSpec(dp=8, global_batch=64, zero=zero - 1))
    more = replace(lay, zero=np.array([zero]))
    assert memory_parts(GPT3, more, a, flash=True).total_bytes[0] < memory_parts(GPT3, lay, a, flash=True).total_bytes[0]
