"""``colossus reliability`` in-process."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from colossus.cli import main

MEMPHIS = str(Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml")
LLAMA = ["--model", "llama3-405b", "--gpus", "16384", "--gpu", "h100-sxm5-80gb", "--days", "54"]


def run_json(capsys, *args: str) -> dict:
    code = main(["reliability", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def test_model_form_prints_every_section(capsys):
    assert main(["reliability", *LLAMA]) == 0
    out = capsys.readouterr().out
    for fragment in ("Failure model", "gpu", "hbm", "nvlink", "switch", "maintenance", "mean time to",
                     "Checkpointing", "optimal interval", "restart", "Goodput", "spare"):
        assert fragment in out


def test_scenario_json_has_the_documented_keys(capsys):
    doc = run_json(capsys, MEMPHIS, "--job", "grok2", "--runs", "200", "--deadline", "10")
    # JSON in SI: rates per second, periods in seconds (tables show them per day)
    assert {"interruptions_per_s", "mtti_s", "by_cause_per_s", "checkpoint", "goodput", "monte_carlo"} <= set(doc)
    assert {"size_bytes", "write_s", "stall_s", "optimal_interval_s"} <= set(doc["checkpoint"])
    assert 0 < doc["goodput"]["ettr"] < 1
    mc = doc["monte_carlo"]
    assert mc["finish_s_p10"] <= mc["finish_s_p50"] <= mc["finish_s_p90"]
    assert 0 <= mc["p_by_deadline"] <= 1
    assert doc["checkpoint"]["interval_s"] == 1800.0 or doc["checkpoint"]["interval_is_auto"]
    assert sum(doc["by_cause_per_s"].values()) == pytest.approx(doc["interruptions_per_s"])
    assert doc["interruptions_per_s"] * doc["mtti_s"] == pytest.approx(1.0)


def test_same_seed_same_document(capsys):
    args = (MEMPHIS, "--runs", "100")
    assert run_json(capsys, *args) == run_json(capsys, *args)


def test_dated_deadline_and_overrides(capsys):
    doc = run_json(capsys, *LLAMA, "--runs", "50", "--deadline", "2024-09-30", "--start", "2024-07-22",
                   "--interval-min", "60", "--blocking", "--spares", "0", "--tokens-per-s", "2.5e6")
    assert doc["monte_carlo"]["deadline_s"] == 70 * 86400.0
    assert doc["checkpoint"]["asynchronous"] is False and doc["checkpoint"]["interval_s"] == 3600.0
    assert doc["spares"]["simulated"] == 0 and doc["monte_carlo"]["spare_wait_s_mean"] > 0
    assert doc["goodput"]["tokens_per_s"] == 2.5e6


@pytest.mark.parametrize("n", [1, 8, 12, 1024, 16384, 131072])
def test_fleet_form_gives_mtti_and_mttf_for_any_size(capsys, n):
    doc = run_json(capsys, "--fleet", "opt175b-a100", "--gpus", str(n), "--gpu", "a100-sxm4-80gb")
    assert doc["fleet"] == "opt175b-a100" and doc["num_gpus"] == n and doc["gpu"] == "a100-sxm4-80gb"
    assert 0 < doc["mtti_s"] <= doc["mttf_unplanned_s"]
    assert doc["fleet_source"]["record"] == "opt175b-logbook"


def test_fleets_differ_and_the_default_is_llama3(capsys):
    default = run_json(capsys, "--gpus", "1024")
    opt = run_json(capsys, "--fleet", "opt175b-a100", "--gpus", "1024", "--gpu", "a100-sxm4-80gb")
    assert default["fleet"] == "llama3-h100"
    assert opt["mttf_unplanned_s"] < default["mttf_unplanned_s"] / 3


def test_scenario_answer_says_what_it_leaves_out(capsys):
    doc = run_json(capsys, MEMPHIS, "--job", "grok2")
    scope = doc["scope"]
    assert any("build-out" in s for s in scope["leaves_out"]) and any("power" in s for s in scope["leaves_out"])
    assert "colossus forecast" in scope["forecast"] and "--job grok2" in scope["forecast"]
    assert scope["earliest_start_s"] > 20 * 86400  # the build-out readies 20,000 GPUs only after weeks
    assert main(["reliability", MEMPHIS, "--job", "grok2"]) == 0
    out = capsys.readouterr().out
    assert "Leaves out" in out and "build-out" in out


def test_restart_phases_modes_and_auto_interval(capsys):
    doc = run_json(capsys, *LLAMA, "--interval-min", "auto", "--in-memory", "--restart-profile", "stock")
    assert doc["checkpoint"]["mode"] == "in_memory" and doc["checkpoint"]["interval_is_auto"]
    assert doc["checkpoint"]["interval_s"] == doc["checkpoint"]["optimal_interval_s"]
    r = doc["restart"]
    assert r["collective_init_s"] == pytest.approx(1047.0 * 8)  # stock: linear from 1,047 s at 2,048 GPUs
    assert r["total_s"] == pytest.approx(sum(r[p] for p in ("detect_s", "schedule_s", "process_start_s",
                                                            "collective_init_s", "load_s", "warmup_s")))


def test_compare_recovery_in_one_command(capsys):
    doc = run_json(capsys, MEMPHIS, "--job", "grok2", "--compare-recovery", "--runs", "100")
    policies = {p["policy"]: p for p in doc["recovery"]}
    assert set(policies) == {"wait", "spares", "elastic"}
    assert policies["wait"]["goodput"] < policies["spares"]["goodput"]
    assert policies["elastic"]["wait_s_mean"] == 0 and policies["spares"]["num_spares"] > 0


@pytest.mark.parametrize("args", [
    ["--model", "llama3-405", "--gpus", "16384", "--days", "5"],
    ["--model", "llama3-405b", "--gpus", "16380", "--days", "5"],
    ["--model", "llama3-405b", "--gpus", "16384"],
    ["--model", "llama3-405b"],
    [*LLAMA, "--deadline", "soon"],
    [*LLAMA, "--deadline", "2024-09-30"],
    [*LLAMA, "--interval-min", "-5"],
    [*LLAMA, "--runs", "-1"],
    [MEMPHIS, "--job", "grok3"],
    ["--fleet", "opt175", "--gpus", "8"],
    ["--gpus", "0"],
    [],
    [*LLAMA, "--interval-min", "sometimes"],
    [*LLAMA, "--in-memory", "--blocking"],
    [*LLAMA, "--restart-profile", "fast"],
    [MEMPHIS, "--fleet", "nope"],
    ["--model", "llama3-405b", "--gpus", "100000", "--days", "5", "--fleet", "opt175b-a100", "--restart-profile",
     "stock", "--runs", "10"],  # a restart of hours against faults every minutes: the job cannot progress
])
def test_bad_input_is_one_line_and_exit_2(capsys, args):
    assert main(["reliability", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
