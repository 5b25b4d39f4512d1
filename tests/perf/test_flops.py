"""FLOPs per token against the published formulas."""

from __future__ import annotations

import pytest

from colossus.perf.flops import token_flops
from colossus.spec import ModelSpec


def gpt(layers: int, hidden: int, heads: int, vocab: int = 51200, seq: int = 2048) -> ModelSpec:
    return ModelSpec(layers=layers, hidden=hidden, heads=heads, activation="gelu", vocab=vocab, seq_len=seq)


@pytest.mark.parametrize("layers,hidden,heads", [(96, 12288, 96), (24, 2304, 24), (128, 25600, 160)])
def test_model_flops_match_korthikanti_eq7(layers, hidden, heads):
    """72 l h^2 (1 + s/6h + V/12lh) per token (Korthikanti et al. 2022, App. A)."""
    m = gpt(layers, hidden, heads)
    s, v = m.seq_len, m.vocab
    expected = 72 * layers * hidden**2 * (1 + s / (6 * hidden) + v / (12 * layers * hidden))
    assert token_flops(m).model_flop == pytest.approx(expected, rel=1e-9)


def test_full_recompute_hardware_flops_match_narayanan_eq3():
    """96 l h^2 (1 + s/6h + V/16lh) per token (Narayanan et al. 2021, eq. 3)."""
    m = gpt(96, 12288, 96)
    s, v, h, l = m.seq_len, m.vocab, m.hidden, m.layers  # noqa: E741 (the paper's symbols)
    expected = 96 * l * h**2 * (1 + s / (6 * h) + v / (16 * l * h))
    assert token_flops(m).hardware_flop("full") == pytest.approx(expected, rel=1e-9)


def test_selective_recompute_adds_attention_core_forward():
    m = gpt(96, 12288, 96)
    tf = token_flops(m)
    assert tf.hardware_flop("selective") - tf.model_flop == pytest.approx(tf.attn_core_fwd_flop)
    assert tf.hardware_flop("none") == tf.model_flop


def test_gqa_swiglu_matches_nemo_llama3_70b():
    """NeMo's published 0.4814 TFLOP per token for Llama 3 70B (validation notes)."""
    m = ModelSpec(layers=80, hidden=8192, heads=64, kv_heads=8, ffn_hidden=28672, activation="swiglu",
                  vocab=128256, seq_len=8192)
    assert token_flops(m).model_flop == pytest.approx(0.4814e12, rel=1e-3)


def test_moe_counts_only_routed_and_shared_experts():
    dense = ModelSpec(layers=4, hidden=1024, heads=8, activation="swiglu", seq_len=1024)
    moe = ModelSpec.model_validate({
        **dense.model_dump(), "moe": {"experts": 8, "top_k": 2, "expert_ffn_hidden": 4096, "shared_experts": 1},
    })
    ffn_dense = token_flops(dense).ffn_fwd_flop
    ffn_moe = token_flops(moe).ffn_fwd_flop
    router = 2 * 4 * 1024 * 8
    assert ffn_moe == pytest.approx(3 * ffn_dense + router)


def test_selective_hardware_flops_follow_the_policy():
    """What each selective policy repeats, in matmul FLOPs: the attention core (Korthikanti), every other
    matmul (op level), the MoE blocks, MLA's up-projections, or none (norms and activations)."""
    from colossus.spec import SelectiveRecompute as P

    mla = {"q_lora_rank": 512, "kv_lora_rank": 256, "qk_nope_head_dim": 64, "qk_rope_head_dim": 32,
           "v_head_dim": 64}
    m = ModelSpec.model_validate({"layers": 4, "hidden": 1024, "heads": 8, "activation": "swiglu", "vocab": 32000,
                                  "seq_len": 1024, "mla": mla, "moe": {"experts": 8, "top_k": 2, "every": 2}})
    tf = token_flops(m)
    extra = {p: tf.hardware_flop("selective", p) - tf.model_flop for p in P}
    assert extra[P.ATTENTION_CORE] == tf.attn_core_fwd_flop == tf.hardware_flop("selective") - tf.model_flop
    assert extra[P.OP_LEVEL] == pytest.approx(0.5 * (tf.attn_linear_fwd_flop + tf.ffn_fwd_flop))
    assert extra[P.NORM_ACT] == 0.0
    assert 0 < extra[P.NORM_MOE] == tf.moe_ffn_fwd_flop < tf.ffn_fwd_flop  # two of the four layers are MoE
    up = 2 * 4 * (512 * 8 * 96 + 256 * 8 * (64 + 64))  # q up to heads x (nope + rope), kv up to heads x (nope + v)
    assert extra[P.MLA_UP] == extra[P.NORM_MLA_UP] == pytest.approx(up) and up < tf.attn_linear_fwd_flop
