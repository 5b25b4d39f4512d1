"""Context parallelism by ring (p2p), all-gathered K/V (Llama 3) or all-to-all head split (Ulysses)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
import pytest

from colossus.errors import InfeasibleError
from colossus.perf import estimate
from colossus.perf.compute import attention_core_s
from colossus.perf.estimate import run_context
from colossus.perf.layout import from_spec
from colossus.spec import CpCommType, RunSpec

LLAMA8B = {"layers": 32, "hidden": 4096, "heads": 32, "kv_heads": 8, "ffn_hidden": 14336,
           "activation": "swiglu", "vocab": 128256, "seq_len": 8192}


def run(kind: str | None, *, cp: int = 8, tp: int = 1, seq: int = 8192, recompute: str = "none",
        gpus: int | None = None, nic: float | None = None, software: dict | None = None) -> RunSpec:
    sw = software or {"framework": "megatron-lm", "version": "2025"}
    if kind is not None:
        sw = {**sw, "cp_comm_type": kind}
    dp = 1 if gpus is None else gpus // (tp * cp)
    cluster = {"gpu": "h100-sxm5-80gb", "gpus": gpus or tp * cp}
    if nic is not None:
        cluster["nic_gbit_per_s"] = nic
    return RunSpec.model_validate({
        "id": "cp", "model": {**LLAMA8B, "seq_len": seq}, "cluster": cluster, "software": sw,
        "layout": {"tp": tp, "pp": 1, "cp": cp, "dp": dp, "micro_batch": 1, "global_batch": 8 * dp,
                   "recompute": recompute, "zero": 1},
    })


def _core_fwd(r: RunSpec) -> float:
    return float(attention_core_s(run_context(r), from_spec(r.layout))[0][0])


@pytest.mark.parametrize("kind", ["all_gather", "a2a"])
def test_whole_sequence_kinds_run_attention_at_the_unsplit_kernels_speed(kind):
    """Gathered K/V (or whole sequences of fewer heads) run one kernel call over all the keys: 1/cp of the
    unsplit attention's time, where ring attention's 1k-token blocks and merges cost more."""
    whole = _core_fwd(run(kind))
    unsplit = _core_fwd(run(kind, cp=1))
    assert whole == pytest.approx(unsplit / 8, rel=1e-9)
    assert whole < _core_fwd(run("p2p"))


def test_the_collectives_show_and_repeat_with_the_recomputed_forward():
    """All-gather and all-to-all CP sit on the critical path: nothing hides them, and a fully recomputed
    forward gathers (or exchanges) again: 3 passes of the forward's exchange instead of 2."""
    for kind in ("all_gather", "a2a"):
        plain = estimate(run(kind))
        again = estimate(run(kind, recompute="full"))
        per_mb_plain = plain.parts_s["cp_exposed_s"]
        assert per_mb_plain > 0
        assert again.parts_s["cp_exposed_s"] == pytest.approx(1.5 * per_mb_plain, rel=1e-9)


def test_a_ring_hides_what_a_gather_shows_on_a_slow_fabric_at_long_context():
    """64k tokens over cp 2 across two servers (tp 8 inside each) on 100G NICs: ring hops hide under
    32k-token blocks, the all-gather of the K/V does not."""
    ring = estimate(run("p2p", cp=2, tp=8, seq=65536, gpus=16, nic=100))
    gathered = estimate(run("all_gather", cp=2, tp=8, seq=65536, gpus=16, nic=100))
    assert ring.parts_s["cp_exposed_s"] < 0.5 * gathered.parts_s["cp_exposed_s"]


def test_ulysses_splits_heads_so_cp_must_divide_them():
    # 32 heads over tp 8 leaves 4 a rank: cp 8 cannot split them, cp 4 can
    with pytest.raises(InfeasibleError, match="cp must divide the heads per TP rank"):
        estimate(run("a2a", cp=8, tp=8, gpus=64))
    assert estimate(run("a2a", cp=4, tp=8, gpus=32)).step_time_s > 0


def test_the_stack_says_which_exchange_and_a_run_may_state_another():
    megatron = estimate(run(None))
    assert megatron.software.cp_comm_type is CpCommType.P2P
    stated = estimate(run("all_gather"))
    assert stated.software.cp_comm_type is CpCommType.ALL_GATHER and "cp_comm_type" in stated.software.stated
    # a DeepSpeed run that states context parallelism ran DeepSpeed-Ulysses
    ulysses = estimate(run(None, cp=4, software={"framework": "deepspeed", "version": "0.14"}))
    assert ulysses.software.cp_comm_type is CpCommType.A2A and ulysses.parts_s["cp_exposed_s"] > 0


def test_a_version_naming_ulysses_sets_the_all_to_all_exchange():
    r = run(None, cp=4, software={"framework": "other", "version": "in-house, DeepSpeed-Ulysses sequence parallel"})
    est = estimate(r)
    assert est.software.cp_comm_type is CpCommType.A2A and any("Ulysses" in n for n in est.notes)


@settings(max_examples=30, deadline=None)
@given(st.sampled_from([2, 4, 8]), st.sampled_from([1, 2, 4]), st.sampled_from([8192, 32768, 131072]))
def test_whole_sequence_attention_never_costs_more_than_the_ring_s_blocks(cp, tp, seq):
    """Split into blocks, the ring's attention runs shorter kernel calls and merges partial outputs: the same
    FLOPs over the whole sequence's keys never take longer; every exchange shows a non-negative time."""
    ring = run("p2p", cp=cp, tp=tp, seq=seq)
    for kind in ("all_gather", "a2a"):
        other = run(kind, cp=cp, tp=tp, seq=seq)
        assert _core_fwd(other) <= _core_fwd(ring) * (1 + 1e-12)
        assert estimate(other).parts_s["cp_exposed_s"] >= 0.0


def test_the_rings_backward_hides_its_hops_under_the_kernels_backward_flops():
    """A hop of the ring's backward hides under the block's backward, the catalog's backward FLOPs per forward
    FLOP (FlashAttention-2: five matmuls to two) times its forward: a costlier backward hides more, never less."""
    from colossus.perf.assumptions import default_assumptions

    slow_net = run("p2p", cp=16, nic=25.0, gpus=16)  # a ring over two servers, on a thin NIC: hops show
    shipped = estimate(slow_net).parts_s["cp_exposed_s"]
    heavier = default_assumptions().with_overrides({"compute.attention.bwd_flop_per_fwd": 4.0})
    assert 0.0 < estimate(slow_net, assumptions=heavier).parts_s["cp_exposed_s"] < shipped
