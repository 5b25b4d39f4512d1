"""``colossus forecast`` in-process: the JSON answer, the folder it writes, human output, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from colossus.cli import main
from tests.forecast.forecast_helpers import tiny_doc


@pytest.fixture
def scenario_file(tmp_path: Path) -> Path:
    doc = tiny_doc(rate_scale=4.0, train_tokens=6e10)
    doc["forecast"] = {"step_time_error": "measured", "failure_rate_spread": "measured"}
    doc["start_date"] = "2024-05-02"
    path = tmp_path / "tiny.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    return path


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["forecast", *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_json_answer_and_the_folder(capsys, scenario_file, tmp_path):
    out_dir = tmp_path / "fc"
    code, out, _ = _run(capsys, str(scenario_file), "--job", "grok2", "--by", "0.4", "--runs", "6", "--seed", "2",
                        "--out", str(out_dir), "--json")
    assert code == 0
    doc = json.loads(out)
    for key in ("p_finish_by", "finish_day_p10", "finish_day_p50", "finish_day_p90", "runs", "drivers"):
        assert key in doc
    assert doc["runs"] == 6 and doc["seed"] == 2 and doc["report"] == str(out_dir.resolve() / "report.html")
    assert sorted(p.name for p in out_dir.iterdir()) == ["draws.duckdb", "forecast.json", "report.html"]
    stored = json.loads((out_dir / "forecast.json").read_text())
    assert stored == {k: v for k, v in doc.items() if k != "report"}
    html = (out_dir / "report.html").read_text()
    assert 'id="forecast"' in html and 'id="fig-forecast-progress_fan"' in html
    code, again, _ = _run(capsys, str(scenario_file), "--job", "grok2", "--by", "0.4", "--runs", "6", "--seed", "2",
                          "--out", str(out_dir), "--json")
    assert code == 0 and again == out  # the same command, the same bytes (from the store this time)


def test_a_date_and_the_human_answer(capsys, scenario_file, tmp_path):
    code, out, _ = _run(capsys, str(scenario_file), "--by", "2024-05-03", "--runs", "4", "--out", str(tmp_path / "h"))
    assert code == 0
    assert "P(finish by day 1 (2024-05-03))" in out and "finish day P50" in out and "Leaves out" in out
    assert "4 simulated now, 0 from the store" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--job", "nope", "--by", "1"], "no job 'nope'"),
    (["--by", "soon"], "--by: 'soon' is neither a day number nor an ISO date"),
    (["--by", "0"], "--by: the date must fall after day 0"),
    (["--by", "2024-05-01"], "--by: the date must fall after day 0"),
    (["--by", "5", "--start", "May"], "--start: must be an ISO date"),
    (["--by", "1", "--runs", "0"], "--runs"),
    (["--by", "1", "--days", "0.5"], "--days: the draws must be simulated at least to the date"),
    (["--by", "1", "--address", "auto"], "--address: a cluster address needs --backend ray"),
])
def test_bad_input_is_one_line_and_exit_2(capsys, scenario_file, tmp_path, args, message):
    out_dir = tmp_path / "bad"
    code, out, err = _run(capsys, str(scenario_file), *args, "--out", str(out_dir))
    assert code == 2
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert not out_dir.exists()  # nothing written for a question that cannot be asked


def test_a_date_without_a_start_date_says_how(capsys, tmp_path):
    doc = tiny_doc()
    path = tmp_path / "nodate.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    code, _, err = _run(capsys, str(path), "--by", "2024-12-31", "--out", str(tmp_path / "x"))
    assert code == 2 and "start_date" in err and len(err.strip().splitlines()) == 1


def test_a_folder_of_other_files_is_refused(capsys, scenario_file, tmp_path):
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    code, _, err = _run(capsys, str(scenario_file), "--by", "1", "--out", str(other))
    assert code == 2 and "holds other files" in err


def test_a_job_whose_stated_layout_cannot_run_is_named_in_its_file(capsys, tmp_path):
    """Every draw would hold the job back: the forecast refuses at once, naming the file and the job's layout."""
    doc = tiny_doc()
    doc["jobs"][0]["layout"] = {"tp": 8, "pp": 1, "dp": 32, "interleave": 2, "global_batch": 256}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc, sort_keys=False))
    out_dir = tmp_path / "out"
    code, _, err = _run(capsys, str(path), "--by", "1", "--out", str(out_dir))
    assert code == 2 and len(err.strip().splitlines()) == 1, err
    assert f"{path}: jobs[0].layout: job '" in err and "states a layout it cannot run" in err
    assert not out_dir.exists()
