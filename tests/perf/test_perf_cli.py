"""The estimate / plan / validate commands, in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colossus.cli import main

RUN = """
- id: gpt3-test
  model: {layers: 96, hidden: 12288, heads: 96, activation: gelu, seq_len: 2048}
  cluster: {gpu: a100-sxm4-80gb, gpus: 1024, nic_gbit_per_s: 200}
  layout: {tp: 8, pp: 8, global_batch: 1536, recompute: full}
  measured: {tflops_per_gpu: 150, convention: hardware}
- id: bad-layout
  model: {layers: 96, hidden: 12800, heads: 100, activation: gelu, seq_len: 2048}
  cluster: {gpu: a100-sxm4-80gb, gpus: 1024}
  layout: {tp: 8, pp: 8, global_batch: 1536}
  measured: {step_time_s: 10.0}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "runs.yaml"
    path.write_text(text)
    return path


def test_validate_json_reports_unpredictable_cases(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, RUN)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"cases", "mape", "max_abs_error"} <= set(doc)
    good, bad = doc["cases"]
    assert set(good) >= {"id", "metric", "measured", "predicted", "error"}
    assert good["error"] == (good["predicted"] - good["measured"]) / good["measured"]
    assert bad["predicted"] is None and "heads" in bad["reason"]


NOT_FITTING = """
- id: too-big
  model: {layers: 96, hidden: 12288, heads: 96, activation: gelu, seq_len: 2048}
  cluster: {gpu: a100-sxm4-80gb, gpus: 8}
  layout: {tp: 8, pp: 1, dp: 1, global_batch: 8, recompute: none, zero: 0}
  measured: {step_time_s: 10.0}
"""


@pytest.mark.parametrize("cv", [False, True])
def test_validate_prints_each_case_note_under_its_table(tmp_path, capsys, cv, monkeypatch):
    """A case's note (here: the layout does not fit the memory estimate) is printed in the text report too,
    with the case's id, not only in the JSON."""
    if cv:  # (a one-run file: the refit has nothing to leave out but this family; keep it to one constant)
        from colossus.perf import calibrate

        monkeypatch.setattr(calibrate, "FITTED", {"compute.overheads.step_overhead_s": (0.0, 1.0, 0.05)})
    assert main(["validate", str(write(tmp_path, NOT_FITTING)), *(["--cv", "family"] if cv else [])]) == 0
    words = " ".join(capsys.readouterr().out.split())
    assert "too-big: predicted memory exceeds the GPU's HBM" in words


def test_estimate_json_has_units_in_names(tmp_path, capsys):
    one = RUN.split("- id: bad-layout")[0]
    assert main(["estimate", str(write(tmp_path, one)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("step_time_s", "mfu", "model_flop_per_s_per_gpu", "hardware_flop_per_s_per_gpu",
                "memory_per_gpu_bytes", "time_to_train_s", "fits"):
        assert key in doc
    assert not any("tflop" in key for key in doc)  # SI in JSON: FLOP/s, not TFLOP/s
    assert 1e13 < doc["model_flop_per_s_per_gpu"] < 1e15
    assert set(doc["breakdown_s"]) >= {"compute_s", "bubble_s", "tp_exposed_s", "dp_exposed_s", "recompute_s"}


def test_estimate_human_output(tmp_path, capsys):
    one = RUN.split("- id: bad-layout")[0]
    assert main(["estimate", str(write(tmp_path, one))]) == 0
    out = capsys.readouterr().out
    assert "MFU" in out and "time to train" in out
    words = " ".join(out.split())  # (the console wraps long lines at its width)
    assert "80% range" in words and "family left out of the fit" in words


def test_an_estimate_states_the_range_its_left_out_errors_give(tmp_path, capsys):
    """tokens/s and the time to train carry the range the model's errors on unseen families put around them."""
    from colossus.forecast.step_time import prediction_range

    one = RUN.split("- id: bad-layout")[0]
    assert main(["estimate", str(write(tmp_path, one)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    r, band = doc["prediction_range"], prediction_range(moe=False)  # a dense model: the dense runs' range
    assert r["probability"] == 0.8 and "published dense runs" in r["basis"]
    assert (r["throughput_factor_low"], r["throughput_factor_high"]) == (band.low, band.high)
    assert r["tokens_per_s_per_gpu_low"] == pytest.approx(doc["tokens_per_s_per_gpu"] * band.low)
    assert r["tokens_per_s_per_gpu_high"] == pytest.approx(doc["tokens_per_s_per_gpu"] * band.high)
    assert r["time_to_train_s_short"] == pytest.approx(doc["time_to_train_s"] / band.high)
    assert r["time_to_train_s_long"] == pytest.approx(doc["time_to_train_s"] / band.low)
    assert r["time_to_train_s_short"] < doc["time_to_train_s"] < r["time_to_train_s_long"]


def test_plan_json(capsys):
    argv = ["plan", "--model", "llama3-8b", "--gpus", "64", "--gpu", "h100-sxm5-80gb", "--seq-len", "8192",
            "--global-batch-tokens", "4M", "--top", "3", "--json"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    doc = json.loads(first)
    assert len(doc["best"]) == 3 and doc["layouts_explored"] > 0 and doc["why_best"]
    r = doc["prediction_range"]
    assert r["probability"] == 0.8 and r["throughput_factor_low"] < r["throughput_factor_high"] and r["basis"]
    assert main(argv) == 0
    assert capsys.readouterr().out == first  # the same question, the same bytes (no wall time in the answer)


def test_broken_file_is_one_line_error(tmp_path, capsys):
    path = write(
        tmp_path,
        "- id: x\n  model: {layers: 2}\n  cluster: {gpu: h100-sxm5-80gb, gpus: 8}\n  layout: {global_batch: 8}\n",
    )
    assert main(["validate", str(path), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "runs.yaml" in err and "model" in err


@pytest.mark.parametrize(("layout", "said"), [
    ("{tp: 8, pp: 1, interleave: 2, global_batch: 1536}", "[1]: second: invalid layout: interleave needs pipeline"),
    ("{tp: 8, pp: 8, global_batch: 1536, precision: fp8}", "[1].layout.precision: a100-sxm4-80gb has no fp8"),
])
def test_a_run_the_estimate_cannot_take_is_named_with_its_file_and_place(tmp_path, capsys, layout, said):
    """What a run cannot be estimated for (an invalid stated layout, a precision its GPU lacks) is one line
    that names the file, the run's entry in it and the field or rule, with exit code 2."""
    one = RUN.split("- id: bad-layout")[0]
    second = one.replace("gpt3-test", "second").replace("{tp: 8, pp: 8, global_batch: 1536, recompute: full}", layout)
    path = write(tmp_path, one + second)
    assert main(["estimate", str(path)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and " ".join(err.split()).startswith(f"error: {path}: {said}")


def test_bad_token_count(capsys):
    assert main(["plan", "--model", "llama3-8b", "--gpus", "8", "--global-batch-tokens", "lots"]) == 2


CV_RUNS = """
- id: alpha-1
  model: {layers: 24, hidden: 4096, heads: 32, activation: swiglu, ffn_hidden: 11008, vocab: 32000, seq_len: 4096}
  cluster: {gpu: a100-sxm4-80gb, gpus: 8}
  layout: {tp: 1, dp: 8, global_batch: 32, recompute: none, zero: 1}
  software: {framework: megatron-lm, version: "2024"}
  measured: {tokens_per_s_per_gpu: 2500}
- id: alpha-2
  model: {layers: 24, hidden: 4096, heads: 32, activation: swiglu, ffn_hidden: 11008, vocab: 32000, seq_len: 4096}
  cluster: {gpu: a100-sxm4-80gb, gpus: 16}
  layout: {tp: 2, dp: 8, global_batch: 32, recompute: none, zero: 1}
  software: {framework: megatron-lm, version: "2024"}
  measured: {tokens_per_s_per_gpu: 2300}
- id: beta-1
  model: {layers: 24, hidden: 4096, heads: 32, activation: swiglu, ffn_hidden: 11008, vocab: 32000, seq_len: 4096}
  cluster: {gpu: a100-sxm4-80gb, gpus: 32}
  layout: {tp: 4, dp: 8, global_batch: 32, recompute: none, zero: 1}
  software: {framework: megatron-lm, version: "2024"}
  measured: {tokens_per_s_per_gpu: 2000}
"""


def test_validate_without_cv_has_no_cv_error(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, CV_RUNS)), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert all("cv_error" not in c and {"fits", "memory_per_gpu_bytes"} <= set(c) for c in doc["cases"])
    # each case says which options its run left open and what the model took (beta-1 leaves pp, sp and
    # interleave open; at tp 4 the stack's sequence parallelism is one of them)
    beta = next(c for c in doc["cases"] if c["id"] == "beta-1")
    assert "sequence_parallel" in beta["assumed"] and isinstance(beta["assumed"]["sequence_parallel"], bool)
    assert "zero" not in beta["assumed"] and "recompute" not in beta["assumed"]  # stated, so not assumed


def test_validate_cv_family_adds_left_out_errors_and_families(tmp_path, capsys, monkeypatch):
    """The command's document (the fit's accuracy is the golden tests' business): the fit is held to the two
    constants three A100 runs inform, so that the solver does not walk the flat directions of the others."""
    import functools

    from colossus.perf import calibrate

    informed = {k: v for k, v in calibrate.FITTED.items()
                if k in ("compute.gemm.ampere.bf16.eff_max", "compute.overheads.step_overhead_s")}
    assert len(informed) == 2
    monkeypatch.setattr(calibrate, "cross_validate", functools.partial(calibrate.cross_validate, parameters=informed))
    assert main(["validate", str(write(tmp_path, CV_RUNS)), "--cv", "family", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert {"cases", "mape", "max_abs_error", "families", "cv_mape", "fitted"} <= set(doc)
    assert {f["family"] for f in doc["families"]} == {"alpha", "beta"}
    assert all({"family", "n", "cv_mean_error", "cv_mape"} <= set(f) for f in doc["families"])
    assert all(isinstance(c["cv_error"], float) and isinstance(c["fits"], bool) for c in doc["cases"])
    assert all(set(v) == {"value", "fitted_on"} for v in doc["fitted"].values())
    # the dense runs and the MoE runs apart (a file of dense runs only: one kind)
    assert [k["kind"] for k in doc["kinds"]] == ["dense"] and doc["kinds"][0]["n"] == len(doc["cases"])


def test_validate_cv_family_says_where_a_held_back_familys_uninformed_constants_come_from(tmp_path, capsys,
                                                                                         monkeypatch):
    """Families the shipped constants never saw (alpha, beta), alone in their file, are fitted beside what
    the public runs say of the constants, and the report says so."""
    import functools

    from colossus.perf import calibrate

    informed = {k: v for k, v in calibrate.FITTED.items() if k == "compute.overheads.step_overhead_s"}
    monkeypatch.setattr(calibrate, "cross_validate", functools.partial(calibrate.cross_validate, parameters=informed))
    assert main(["validate", str(write(tmp_path, CV_RUNS)), "--cv", "family"]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert ("alpha, beta: families the shipped constants were not fitted on; each fit (each left out in turn, and"
            " all in-sample) is made beside what the public runs say of the constants") in out
    assert main(["validate", str(write(tmp_path, CV_RUNS)), "--cv", "family", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["public_prior"] is True


@pytest.mark.parametrize("cv", [[], ["--cv", "family"]])
def test_validate_without_measurements_or_predictions_says_so(tmp_path, capsys, cv):
    """A file of runs without a measured: block is no validation (one line, exit 2); a file whose every case
    cannot be predicted says so (the cross-validated report used to end in a TypeError's traceback)."""
    first = RUN.split("- id: bad-layout")[0]
    unmeasured = first.replace("  measured: {tflops_per_gpu: 150, convention: hardware}\n", "")
    assert "measured" not in unmeasured
    assert main(["validate", str(write(tmp_path, unmeasured)), *cv]) == 2
    err = capsys.readouterr().err
    assert "no run has a measured: block" in err and len(err.strip().splitlines()) == 1
    unpredictable = "- id: bad-layout" + RUN.split("- id: bad-layout")[1]
    assert main(["validate", str(write(tmp_path, unpredictable)), *cv]) == 0
    assert "no case could be predicted" in capsys.readouterr().out


@pytest.mark.parametrize(("args", "said"), [
    (["--power-limit-w", "100"], "error: --power-limit-w: power limit 100 W is below"),
    (["--precision", "fp64"], "error: --precision: fp64 training is not modelled"),
    (["--gpu", "a100-sxm4-80gb", "--software-set", "attention=flash3"],
     "error: --software-set attention: FlashAttention-3 runs on Hopper GPUs only"),
    (["--software-set", "selective_recompute=norm_moe"],
     "error: --software-set selective_recompute: 'norm_moe' recomputes the norms and the whole MoE block, and the"
     " model has no moe: block; the policies that apply to it: attention_core, op_level"),
])
def test_a_plan_names_the_option_that_set_what_it_cannot_take(args, said, capsys):
    assert main(["plan", "--model", "llama3-8b", "--gpus", "8", *args]) == 2
    err = capsys.readouterr().err
    assert " ".join(err.split()).startswith(said) and len(err.strip().splitlines()) == 1


def test_an_estimate_names_the_option_behind_what_it_cannot_take(tmp_path, capsys):
    one = RUN.split("- id: bad-layout")[0]  # (an A100 run)
    assert main(["estimate", str(write(tmp_path, one)), "--power-limit-w", "60"]) == 2  # (A100: 100 W at the least)
    assert capsys.readouterr().err.startswith("error: --power-limit-w: power limit 60 W is below")
    assert main(["estimate", str(write(tmp_path, one)), "--software-set", "attention=flash3"]) == 2
    assert capsys.readouterr().err.startswith("error: --software-set attention: FlashAttention-3 runs on Hopper")


def test_validate_rejects_an_unknown_scheme(tmp_path, capsys):
    assert main(["validate", str(write(tmp_path, CV_RUNS)), "--cv", "random"]) == 2
    assert "cross-validation" in capsys.readouterr().err


def test_counts_take_decimal_si_prefixes(tmp_path, capsys):
    """15T tokens are 15e12 (decimal SI, as token counts are quoted); 16Mi is 2^24 where binary is meant."""
    from colossus.cli.perf import parse_count

    assert parse_count("15T", option="x") == 15e12 and parse_count("1.5B", option="x") == 1.5e9
    assert parse_count("16M", option="x") == 16e6 and parse_count("16Mi", option="x") == 2**24
    assert parse_count("4.2e6", option="x") == 4.2e6
    one = RUN.split("- id: bad-layout")[0]
    assert main(["estimate", str(write(tmp_path, one)), "--json", "--train-tokens", "15T"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["train_tokens"] == 15e12
    assert doc["time_to_train_s"] == pytest.approx(15e12 / (doc["tokens_per_s_per_gpu"] * doc["num_gpus"]), rel=1e-9)


DUALPIPE_RUN = """
- id: dualpipe
  model: {layers: 32, hidden: 4096, heads: 32, kv_heads: 8, ffn_hidden: 14336, activation: swiglu, seq_len: 4096}
  cluster: {gpu: h100-sxm5-80gb, gpus: 64}
  software: {framework: megatron-lm, version: "2025; DualPipe"}
  layout: {tp: 1, pp: 8, dp: 8, global_batch: 128, recompute: none, interleave: 1}
"""


def test_software_set_states_single_fields_over_the_runs_own_block(tmp_path, capsys):
    path = write(tmp_path, DUALPIPE_RUN)
    assert main(["estimate", str(path), "--json"]) == 0
    named = json.loads(capsys.readouterr().out)
    assert named["software"]["pipeline_schedule"] == "dualpipe"  # from the version text
    argv = ["estimate", str(path), "--json", "--software-set", "pipeline_schedule=1f1b",
            "--software-set", "optimizer_moments_dtype=bf16"]
    assert main(argv) == 0
    stated = json.loads(capsys.readouterr().out)
    sw = stated["software"]
    assert sw["pipeline_schedule"] == "1f1b" and sw["optimizer_moments_dtype"] == "bf16"  # stated wins
    assert sw["framework"] == "megatron-lm" and {"pipeline_schedule", "optimizer_moments_dtype"} <= set(sw["stated"])
    assert stated["breakdown_s"]["bubble_s"] > named["breakdown_s"]["bubble_s"]


def test_plan_takes_software_fields(capsys):
    argv = ["plan", "--model", "llama3-8b", "--gpus", "8", "--top", "1", "--json",
            "--software-set", "cp_comm_type=all_gather"]
    assert main(argv) == 0
    assert json.loads(capsys.readouterr().out)["software"]["cp_comm_type"] == "all_gather"


def test_assume_changes_a_named_assumption_and_says_so(tmp_path, capsys):
    """--assume NAME=VALUE runs the model with one of its catalog assumptions changed (a what-if), and the
    answer records it; without it nothing is recorded (the shipped model)."""
    path = write(tmp_path, RUN.split("- id: bad-layout")[0])
    assert main(["estimate", str(path), "--json"]) == 0
    shipped = json.loads(capsys.readouterr().out)
    assert "assumptions_set" not in shipped
    assert main(["estimate", str(path), "--json", "--assume", "network.nccl.net_busbw_eff=0.45"]) == 0
    slower = json.loads(capsys.readouterr().out)
    assert slower["assumptions_set"] == {"network.nccl.net_busbw_eff": 0.45}
    assert slower["assumed"] == shipped["assumed"]  # (the defaults the estimate applied, as before)
    assert slower["step_time_s"] > shipped["step_time_s"]
    assert slower["breakdown_s"]["compute_s"] == shipped["breakdown_s"]["compute_s"]
    assert main(["plan", "--model", "llama3-8b", "--gpus", "8", "--top", "1", "--json",
                 "--assume", "compute.gemm.hopper.bf16.eff_max=0.7"]) == 0
    assert json.loads(capsys.readouterr().out)["assumptions_set"] == {"compute.gemm.hopper.bf16.eff_max": 0.7}


@pytest.mark.parametrize(
    ("option", "pair", "said"),
    [("--software-set", "pipeline_schedule=gpipe", "pipeline_schedule: Input should be"),
     ("--software-set", "nonsense", "expected NAME=VALUE"),
     ("--software-set", "warp_speed=9", "unknown field 'warp_speed'"),
     ("--assume", "network.nccl.nope=1", "unknown performance assumption 'network.nccl.nope'"),
     ("--assume", "network.nccl.net_busbw_eff=fast", "is a number like 0.9"),
     ("--assume", "network.nccl=1", "is a table, not a value"), ("--assume", "eff", "expected NAME=VALUE"),
     ("--assume", "network.nccl.net_busbw_eff=inf", "must be finite"),
     ("--assume", "network.nccl.net_busbw_eff=0", "must be > 0"),
     ("--assume", "network.nccl.net_busbw_eff=-0.5", "must be > 0"),
     ("--assume", "network.nccl.net_busbw_eff=1.5", "is a fraction: at most 1"),
     ("--assume", "compute.gemm.hopper.bf16.eff_max=2", "is a fraction: at most 1")],  # (a GEMM ceiling of 200%)
)
def test_a_bad_name_value_pair_is_a_one_line_error(option, pair, said, capsys):
    assert main(["plan", "--model", "llama3-8b", "--gpus", "8", option, pair]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and option in err and said in err


def test_the_text_estimate_names_a_schedule_beyond_1f1b(tmp_path, capsys):
    assert main(["estimate", str(write(tmp_path, DUALPIPE_RUN)), "--software-set", "optimizer_moments_dtype=bf16"]) == 0
    words = " ".join(capsys.readouterr().out.split())
    assert "dualpipe pipeline schedule" in words and "bf16 Adam moments" in words


MOE_RUN = """
- id: moe
  model: {layers: 32, hidden: 4096, heads: 32, kv_heads: 8, ffn_hidden: 14336, activation: swiglu, seq_len: 4096,
          moe: {experts: 8, top_k: 2, expert_ffn_hidden: 14336}}
  cluster: {gpu: h100-sxm5-80gb, gpus: 64}
  software: {framework: megatron-lm, version: "2025"}
  layout: {tp: 1, pp: 4, dp: 16, ep: 8, global_batch: 256, recompute: full}
"""


def test_the_text_estimate_names_the_token_dispatcher_and_a_stated_overlap(tmp_path, capsys):
    path = str(write(tmp_path, MOE_RUN))
    assert main(["estimate", path, "--software-set", "ep_dispatcher=deepep", "--software-set",
                 "ep_comm_overlap=true"]) == 0
    words = " ".join(capsys.readouterr().out.split())
    assert "deepep token dispatcher, expert all-to-all overlapped" in words
    assert "stated: ep_dispatcher, ep_comm_overlap" in words
    assert main(["estimate", path]) == 0
    words = " ".join(capsys.readouterr().out.split())
    assert "token dispatcher" in words and "overlapped" not in words


def test_a_plan_row_names_what_it_takes_to_state_it_again():
    """The table's layout names the expert tensor parallelism and a selective policy beyond the stack's own,
    which a user must state to estimate the row again."""
    from dataclasses import replace

    from colossus.cli.perf import _layout_text
    from colossus.perf import estimate, plan
    from colossus.spec import RunSpec, SelectiveRecompute, lookup

    best = plan(lookup("models", "grok-1-314b"), lookup("gpus", "h100-sxm5-80gb"), num_gpus=512,
                global_batch_tokens=2**20, top=1).best[0]
    assert best.layout.etp > 1 and f" etp{best.layout.etp} " in _layout_text(best)  # Grok-1's wide experts split
    run = RunSpec.model_validate({"model": "llama3-8b", "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8},
                                  "layout": {"dp": 8, "global_batch": 8, "recompute": "selective"}})
    est = estimate(run)
    assert "selective(" not in _layout_text(est)  # the stack's own policy: nothing to add
    other = replace(est, selective_recompute=SelectiveRecompute.NORM_ACT)
    assert " selective(norm_act) " in _layout_text(other)
