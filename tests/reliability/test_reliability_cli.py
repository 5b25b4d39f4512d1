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
    assert {"interruptions_per_day", "mtti_s", "by_cause", "checkpoint", "goodput", "monte_carlo"} <= set(doc)
    assert {"size_bytes", "write_s", "stall_s", "optimal_interval_s"} <= set(doc["checkpoint"])
    assert 0 < doc["goodput"]["ettr"] < 1
    mc = doc["monte_carlo"]
    assert mc["finish_s_p10"] <= mc["finish_s_p50"] <= mc["finish_s_p90"]
    assert 0 <= mc["p_by_deadline"] <= 1
    assert doc["checkpoint"]["interval_s"] == 1800.0  # the scenario's 30 minutes
    assert sum(doc["by_cause"].values()) == pytest.approx(doc["interruptions_per_day"])


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
])
def test_bad_input_is_one_line_and_exit_2(capsys, args):
    assert main(["reliability", *args]) == 2
    err = capsys.readouterr().err.strip()
    assert err and len(err.splitlines()) == 1
