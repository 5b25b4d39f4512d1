"""``colossus simulate`` in-process: the JSON contract, files written, bad input, determinism."""

from __future__ import annotations

import json
from pathlib import Path
import sys

import pytest
import yaml

from colossus.cli import main

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "sim"))
from sim_helpers import small_doc  # noqa: E402


@pytest.fixture
def small_file(tmp_path: Path) -> Path:
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_doc(days=1.0)))
    return path


def test_simulate_json_has_the_documented_keys(small_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", str(small_file), "--out", str(out), "--json", "--seed", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    for key in ("jobs", "energy_j_by_source", "deficit_s", "report_path", "period_s"):
        assert key in doc
    job = doc["jobs"][0]
    for key in ("name", "finished_at_s", "goodput", "tokens_trained"):
        assert key in job
    assert set(doc["energy_j_by_source"]) == {"grid", "generators", "battery"}
    assert Path(doc["report_path"]) == out / "report.html"
    for name in ("report.html", "results.duckdb", "timeseries.parquet", "events.parquet", "jobs.parquet",
                 "summary.json"):
        assert (out / name).is_file(), name
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")], "no temporary folder left behind"


def test_simulate_prints_a_summary_and_the_report_path(small_file, tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["simulate", str(small_file), "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "Named jobs" in text and "Power by source" in text and "report.html" in text


def test_same_seed_gives_identical_files(small_file, tmp_path, capsys):
    for name in ("a", "b"):
        assert main(["simulate", str(small_file), "--out", str(tmp_path / name), "--json"]) == 0
    capsys.readouterr()
    for name in ("timeseries.parquet", "events.parquet", "jobs.parquet", "report.html"):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name


@pytest.mark.parametrize(("patch", "expect"), [
    ({"days": -1}, "simulation.days"),
    ({"buildout": [{"pool": "nope", "ramp_days": 3}]}, "nope"),
    ({"power": {"deficit_strategy": "pray"}}, "simulation.power.deficit_strategy"),
    ({"workload": {"source": "philly", "trace": "missing.json"}}, "missing.json"),
    ({"failures": {"rate_scale_typo": 1}}, "rate_scale"),
])
def test_bad_simulation_block_is_one_line_and_exit_2(tmp_path, capsys, patch, expect):
    doc = small_doc(days=1.0)
    doc["simulation"].update(patch)
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err and len(err.splitlines()) == 1, err
    assert expect in err and "bad.yaml" in err
    assert not out.exists(), "no result folder for a bad input"


def test_bad_days_option(small_file, tmp_path, capsys):
    assert main(["simulate", str(small_file), "--days", "0", "--out", str(tmp_path / "x")]) == 2
    assert "--days" in capsys.readouterr().err


def test_interrupted_run_leaves_no_result_folder(small_file, tmp_path, monkeypatch, capsys):
    import colossus.sim as cmd  # the command loads the simulation when it runs

    def boom(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cmd, "simulate", boom)
    out = tmp_path / "run"
    assert main(["simulate", str(small_file), "--out", str(out), "--json"]) != 0  # click: "Aborted!", exit 1
    assert not out.exists()


def test_a_job_whose_stated_layout_cannot_run_is_bad_input(tmp_path, capsys):
    """A job stating a layout its model or stack cannot run (here interleaving without a pipeline) would wait
    for ever, silently: the simulation and the job's estimate refuse it, naming the file and the job's layout,
    and write no result folder."""
    doc = small_doc(days=1.0)
    doc["jobs"][0]["layout"] = {"tp": 8, "pp": 1, "dp": 128, "interleave": 2, "global_batch": 256}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    said = f"{path}: jobs[0].layout: job 'grok2' states a layout it cannot run: invalid layout: interleave needs"
    for argv in (["simulate", str(path), "--out", str(out)], ["estimate", str(path), "--job", "grok2"]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and " ".join(err.split()).startswith(f"error: {said}"), err
    assert not out.exists(), "no result folder for a bad input"
    doc["jobs"][0]["layout"]["pp"], doc["jobs"][0]["layout"]["dp"] = 2, 64  # (the same layout, buildable)
    path.write_text(yaml.safe_dump(doc))
    assert main(["estimate", str(path), "--job", "grok2", "--json"]) == 0


@pytest.mark.parametrize(("patch", "said"), [
    ({"software": {"profile": "nope"}}, "jobs[0].software.profile: unknown software profile 'nope'"),
    ({"software": {"attention": "flash3"}, "gpu": "a100-sxm4-80gb"},
     "jobs[0].software.attention: FlashAttention-3 runs on Hopper GPUs only"),
])
def test_a_jobs_stack_is_checked_before_the_simulation_starts(tmp_path, capsys, patch, said):
    """What a job's estimate cannot take is found when the simulation starts, not when the job first would
    (here the pool's servers come up after the simulated half day: the job never asked, and the run ended
    with exit 0 and a result folder); named at the job, in its file."""
    doc = small_doc(days=0.5)
    if "gpu" in patch:
        doc["cluster"]["pools"][0]["gpu"] = patch["gpu"]
    doc["jobs"][0]["software"] = patch["software"]
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    out = tmp_path / "run"
    assert main(["simulate", str(path), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and " ".join(err.split()).startswith(f"error: {path}: {said}"), err
    assert not out.exists(), "no result folder for a bad input"
