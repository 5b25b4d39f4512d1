"""estimate(): composition, defaults, errors (speed is printed by benchmarks/bench_perf.py)."""

from __future__ import annotations

from perf_helpers import make_run
import pytest

from colossus.errors import InfeasibleError, SpecError
from colossus.perf import estimate
from colossus.spec import RunSpec


def test_parts_sum_to_step_time(gpt3_run):
    est = estimate(gpt3_run)
    assert sum(est.parts_s.values()) == pytest.approx(est.step_time_s)
    assert 0 < est.mfu < est.hfu < 1


def test_rates_are_consistent(gpt3_run):
    est = estimate(gpt3_run)
    tokens_per_s = est.tokens_per_s_per_gpu * est.num_gpus
    assert est.step_time_s == pytest.approx(est.tokens_per_step / tokens_per_s)
    assert est.time_to_train_s(1e12) == pytest.approx(1e12 / tokens_per_s)
    assert est.tflops_per_gpu * 1e12 == pytest.approx(est.tokens_per_s_per_gpu * est.model_flop_per_token)


def test_recompute_costs_time_and_saves_memory():
    none, full = estimate(make_run(recompute="none")), estimate(make_run(recompute="full"))
    assert full.step_time_s > none.step_time_s
    assert full.memory_bytes["activations_bytes"] < none.memory_bytes["activations_bytes"]


def test_interleaving_shrinks_the_bubble():
    plain, inter = estimate(make_run(interleave=1)), estimate(make_run(interleave=4))
    assert inter.parts_s["bubble_s"] < plain.parts_s["bubble_s"]


def test_left_out_recompute_takes_fastest_that_fits():
    run = RunSpec.model_validate(
        {**make_run().model_dump(), "layout": {"tp": 8, "pp": 8, "dp": 16, "global_batch": 1536}}
    )
    est = estimate(run)
    assert est.fits and est.assumed["recompute"] in ("none", "selective", "full")


def test_a_left_out_micro_batch_is_said_to_be_the_default():
    """The micro-batch is not searched (a team's choice the model cannot rank honestly): left out, it is the
    format's one sequence, and the estimate says it took that default; stated, it is not listed."""
    run = RunSpec.model_validate(
        {**make_run().model_dump(), "layout": {"tp": 8, "pp": 8, "dp": 16, "global_batch": 1536}}
    )
    est = estimate(run)
    assert est.assumed["micro_batch"] == 1 == est.layout.micro_batch
    assert "micro_batch" not in estimate(make_run()).assumed  # (make_run states it)


def test_a_left_out_expert_tensor_parallelism_is_said_to_be_the_default():
    """With experts and tensor parallelism, an expert TP left out is ETP 1 (experts whole on a rank), listed among
    the defaults applied; stated, or without tensor parallelism, it is not listed."""
    moe = {"layers": 8, "hidden": 2048, "heads": 16, "ffn_hidden": 4096, "activation": "swiglu", "vocab": 32000,
           "seq_len": 4096, "moe": {"experts": 8, "top_k": 2}}

    def run(**layout) -> RunSpec:
        return RunSpec.model_validate({"model": moe, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 16},
                                       "layout": {"global_batch": 64, "micro_batch": 1, **layout}})

    est = estimate(run(tp=2, dp=8, ep=8))
    assert est.assumed["etp"] == 1 == est.layout.etp
    assert "etp" not in estimate(run(tp=2, dp=8, ep=8, etp=2)).assumed
    assert "etp" not in estimate(run(tp=1, dp=16, ep=8)).assumed


@pytest.mark.parametrize(("policy", "block"), [("mla_up", "mla"), ("norm_mla_up", "mla"), ("norm_moe", "moe"),
                                               ("norm_act", "moe")])
def test_a_stated_recompute_policy_the_model_has_no_modules_for_is_refused(policy, block):
    """A policy for MLA or MoE layers stated for a model without them recomputes nothing the model names: it
    was priced as if it did (a dense Llama with mla_up: HFU above MFU); now refused, naming the field."""
    run = RunSpec.model_validate({
        "model": {"layers": 8, "hidden": 2048, "heads": 16, "ffn_hidden": 4096, "activation": "swiglu",
                  "vocab": 32000, "seq_len": 4096},
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
        "software": {"framework": "megatron-lm", "selective_recompute": policy},
        "layout": {"dp": 8, "global_batch": 64, "recompute": "selective"}})
    with pytest.raises(SpecError, match=f"'{policy}' recomputes .* the model has no {block}: block") as err:
        estimate(run)
    assert err.value.path == ("software", "selective_recompute")


def test_h200_fits_what_h100_does_not():
    base = make_run(gpus=64, pp=8, tp=8, recompute="none", global_batch=64).model_dump()
    base["layout"].pop("dp")
    h100 = RunSpec.model_validate({**base, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 64}})
    h200 = RunSpec.model_validate({**base, "cluster": {"gpu": "h200-sxm-141gb", "gpus": 64}})
    assert not estimate(h100).fits and estimate(h200).fits


def test_invalid_layout_is_infeasible():
    data = make_run().model_dump()
    data["model"].update(heads=100, kv_heads=100, head_dim=128)
    with pytest.raises(InfeasibleError, match="heads"):
        estimate(RunSpec.model_validate(data))


def test_fp8_on_a100_is_a_spec_error():
    with pytest.raises(SpecError, match="fp8"):
        estimate(make_run(precision="fp8"))


@pytest.mark.parametrize("precision", ["fp64", "tf32", "fp4"])
def test_a_precision_the_model_does_not_train_in_is_refused_not_priced_as_bf16(precision):
    """fp64, tf32 and fp4 are GPU catalog figures, not training precisions the model prices: an estimate or a
    plan in one is refused with the precisions it has (both used to price it at the BF16 rate, silently)."""
    from colossus.perf import plan
    from colossus.spec import lookup
    from colossus.vocab import Precision

    with pytest.raises(SpecError, match=f"{precision} training is not modelled.*bf16, fp16, fp8"):
        estimate(make_run(precision=precision))
    with pytest.raises(SpecError, match=f"{precision} training is not modelled"):
        plan(lookup("models", "llama3-8b"), lookup("gpus", "b200-sxm-180gb"), num_gpus=8,
             global_batch_tokens=4e6, precision=Precision(precision))


def test_a_power_limit_above_the_tdp_is_taken_at_the_tdp_and_said_so():
    data = make_run().model_dump()
    at_tdp = estimate(RunSpec.model_validate({**data, "cluster": {**data["cluster"], "power_limit_w": 400.0}}))
    above = estimate(RunSpec.model_validate({**data, "cluster": {**data["cluster"], "power_limit_w": 500.0}}))
    assert above.step_time_s == at_tdp.step_time_s
    assert any("500 W is above a100-sxm4-80gb's TDP (400 W): taken at the TDP" in n for n in above.notes)
    assert not any("TDP" in n for n in at_tdp.notes)


def test_an_estimate_asked_again_is_the_same_and_its_own():
    """A run estimated again reuses its frozen evaluation: equal numbers, a fresh object (notes its own);
    other assumptions are evaluated afresh, never served the first answer."""
    from colossus.perf.assumptions import default_assumptions

    run = make_run()
    first, again = estimate(run), estimate(run)
    assert again.as_dict() == first.as_dict() and again is not first
    first.notes.append("mine")
    assert "mine" not in estimate(run).notes
    base = default_assumptions()
    slower = base.with_overrides({"compute.gemm.ampere.bf16.eff_max": 0.5 * base.f("compute.gemm.ampere.bf16.eff_max")})
    assert estimate(run, assumptions=slower).step_time_s > first.step_time_s
    assert estimate(run).step_time_s == first.step_time_s


LLAMA_405B = {"layers": 126, "hidden": 16384, "heads": 128, "kv_heads": 8, "ffn_hidden": 53248,
              "activation": "swiglu", "vocab": 128256, "seq_len": 8192}


def _in_house_405b(**cluster) -> RunSpec:
    """Llama 3 405B on 8,192 GPUs (TP8 PP16 DP64, 32 micro-batches), no recompute, interleave left open."""
    return RunSpec.model_validate({
        "id": "in-house-405b", "model": LLAMA_405B,
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8192, **cluster},
        "software": {"framework": "other", "version": "in-house"},
        "layout": {"tp": 8, "pp": 16, "dp": 64, "micro_batch": 1, "global_batch": 2048, "recompute": "none",
                   "precision": "bf16"}})


def test_a_faster_option_missing_the_memory_by_a_thin_margin_is_named():
    """A default decided by the memory model's assumed reserve says so: which option, how much faster, by how much
    it misses, and the assumptions that decide it."""
    est = estimate(_in_house_405b())
    assert est.fits and est.layout.interleave == 1
    [note] = [n for n in est.notes if "would be" in n]
    assert note.startswith("interleave 8 would be") and "% over" in note and "perf_memory.toml" in note
    faster = estimate(_in_house_405b(hbm_gb=92))  # (a GPU with the room: the named option is taken)
    assert faster.layout.interleave == 8 and faster.step_time_s < est.step_time_s * 0.97
    assert not [n for n in faster.notes if "would be" in n]


def test_a_stated_layout_missing_the_memory_by_a_thin_margin_says_what_decides_it():
    """A layout stated whole (as a team ran it) that the model finds a little over the HBM says that the
    assumed reserve decides it, not only that it does not fit; far over, it says nothing of the kind."""
    from colossus.spec import LayoutSpec

    def stated(**cluster) -> RunSpec:
        run = _in_house_405b(**cluster)
        return run.model_copy(update={"layout": LayoutSpec.model_validate(
            {**run.layout.model_dump(mode="json"), "interleave": 8, "zero": 2, "sequence_parallel": True})})

    est = estimate(stated())
    assert not est.fits
    [note] = [n for n in est.notes if "% over" in n]
    assert note.startswith("needs ") and "assumed reserve decides" in note and "perf_memory.toml" in note
    far = estimate(stated(hbm_gb=80))  # 74.5 GiB: about 8% over
    assert not far.fits and not [n for n in far.notes if "% over" in n]


def test_a_published_layout_the_model_finds_a_little_over_says_so_in_validate():
    """``validate``'s note of a case that does not fit says by how much and that the reserve decides it."""
    from colossus.perf.validate import validate_runs

    doc = _in_house_405b().model_dump(mode="json", exclude_unset=True)
    doc["layout"].update(interleave=8, zero=2, sequence_parallel=True)
    doc["measured"] = {"tflops_per_gpu": 430.0, "convention": "model"}
    [case] = validate_runs([RunSpec.model_validate(doc)]).cases
    assert case.fits is False
    assert "estimated anyway; needs 80." in case.note and "assumed reserve decides" in case.note


def test_a_layout_label_names_a_selective_policy_beyond_the_stacks_own():
    """What the fit table, sweeps, simulated jobs and the API print of a layout says which modules it
    recomputes where the model chose other than the stack's own (to state it again)."""
    est = estimate(_in_house_405b().model_copy(update={"layout": _in_house_405b().layout.model_copy(
        update={"recompute": "selective"})}))
    assert "rc=selective" in est.layout_label
    doc = _in_house_405b().model_dump(mode="json", exclude_unset=True)
    del doc["layout"]["recompute"]
    chose = estimate(RunSpec.model_validate(doc))  # (recompute left out: the norms alone fit)
    assert chose.selective_recompute is not None and chose.selective_recompute.value == "norm"
    assert "rc=selective(norm) " in chose.layout_label and "rc=selective " in chose.layout.label


def test_an_option_missing_the_memory_by_more_than_the_reserve_is_not_named():
    est = estimate(_in_house_405b(hbm_gb=80))  # 74.5 GiB: interleave 8 misses by about 9%
    assert est.fits and est.layout.interleave == 1
    assert not [n for n in est.notes if "would be" in n]


def test_hfu_counts_what_the_selective_policy_ran():
    """An estimate's hardware FLOPs are its policy's: torchtitan's op-level policy repeats half the matmuls,
    Megatron's the attention core."""
    from colossus.perf.flops import token_flops

    model = {"layers": 8, "hidden": 2048, "heads": 16, "ffn_hidden": 8192, "activation": "swiglu", "vocab": 32000,
             "seq_len": 4096}
    for software, policy in (({"framework": "torchtitan", "selective_recompute": "op_level"}, "op_level"),
                             ({"framework": "megatron-lm"}, "attention_core")):
        run = RunSpec.model_validate({"model": model, "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
                                      "software": software,
                                      "layout": {"dp": 8, "global_batch": 64, "recompute": "selective"}})
        est = estimate(run)
        assert est.selective_recompute is not None and est.selective_recompute.value == policy
        flops = token_flops(run.model)
        assert est.hardware_flop_per_token == flops.hardware_flop("selective", est.selective_recompute)
    assert est.hfu > est.mfu
