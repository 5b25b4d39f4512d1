"""The results store: round trip, folder layout, DuckDB tables, CSV export, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from results_synthetic import assert_same_result, make_result

from colossus.errors import ColossusError
from colossus.results import FILES, ResultPaths, ResultsError, export_csv, open_store, read_result, write_result
from colossus.sim.result import SimResult


def test_round_trip(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "run")
    assert_same_result(small_result, read_result(paths.root))


def test_folder_holds_exactly_the_documented_files(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "run")
    assert paths == ResultPaths.of((tmp_path / "run").absolute())
    assert sorted(p.name for p in paths.root.iterdir()) == sorted(FILES)
    assert [p.name for p in tmp_path.iterdir()] == ["run"]  # no temporary sibling left


def test_dtypes_and_text_survive(tmp_path: Path):
    result = make_result(days=0.5)
    result.timeseries["gpus_parked"] = result.timeseries["gpus_parked"].astype(np.int32)
    result.timeseries["gpu_cap_w"] = result.timeseries["gpu_cap_w"].astype(np.float32)
    result.events["detail"][0] = "Grüße <&> \"quoted\""
    result.events["detail"] = result.events["detail"].astype(str)  # numpy str, not object
    back = read_result(write_result(result, tmp_path / "r").root)
    assert back.timeseries["gpus_parked"].dtype == np.int32
    assert back.timeseries["gpu_cap_w"].dtype == np.float32
    assert back.events["detail"][0] == "Grüße <&> \"quoted\""
    assert list(back.timeseries) == list(result.timeseries)  # column order kept


def test_empty_event_log_with_untyped_columns(tmp_path: Path, small_result: SimResult):
    small_result.events = {name: np.array([]) for name in ("time_s", "kind", "job", "detail", "value")}
    back = read_result(write_result(small_result, tmp_path / "r").root)
    assert back.num_events == 0
    assert pq.read_schema(tmp_path / "r" / "events.parquet").field("kind").type == pa.string()


def test_summary_is_strict_json(tmp_path: Path, small_result: SimResult):
    small_result.summary["throughput_lost_to_deficit_frac"] = float("nan")
    small_result.summary["deficit_hours"] = np.float64(12.5)
    small_result.summary["gpus"]["installed_end"] = np.int64(100000)
    small_result.summary["extra"] = {"by_day": np.arange(3)}
    paths = write_result(small_result, tmp_path / "r")

    def reject(token: str):
        raise AssertionError(f"non-standard JSON token {token}")

    data = json.loads(paths.summary.read_text(), parse_constant=reject)
    assert data["throughput_lost_to_deficit_frac"] is None
    assert data["deficit_hours"] == 12.5 and data["gpus"]["installed_end"] == 100000
    assert data["extra"] == {"by_day": [0, 1, 2]}
    assert list(data)[:3] == ["scenario", "seed", "days"]  # the simulation's key order is kept


def test_unstorable_summary_value_names_its_key(tmp_path: Path, small_result: SimResult):
    small_result.summary["fillers"]["source"] = object()
    with pytest.raises(ResultsError, match=r"summary\.fillers\.source"):
        write_result(small_result, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_columns_of_different_length_are_refused(tmp_path: Path, small_result: SimResult):
    small_result.jobs["goodput"] = small_result.jobs["goodput"][:-1]
    with pytest.raises(ResultsError, match="jobs columns differ in length"):
        write_result(small_result, tmp_path / "r")
    assert list(tmp_path.iterdir()) == []


def test_duckdb_tables(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    con = open_store(paths.root)
    try:
        tables = {row[0] for row in con.execute("SHOW TABLES").fetchall()}
        assert tables == {"summary", "timeseries", "events", "jobs"}
        row = con.execute("SELECT scenario, seed, days, num_samples, num_events, num_jobs, num_failures, "
                          "summary_json->>'$.scenario' FROM summary").fetchall()
        assert row == [(small_result.scenario, small_result.seed, small_result.days, small_result.num_samples,
                        small_result.num_events, small_result.jobs["name"].size,
                        small_result.summary["failures"]["count"], small_result.scenario)]
        last = con.execute('SELECT max("tokens:grok-3") FROM timeseries').fetchone()[0]
        assert last == pytest.approx(small_result.timeseries["tokens:grok-3"].max())
        failures = con.execute("SELECT count(*) FROM events WHERE kind = 'failure'").fetchone()[0]
        assert failures == int((small_result.events["kind"] == "failure").sum())
        fillers = con.execute("SELECT count(*) FROM jobs WHERE kind = 'filler'").fetchone()[0]
        assert fillers == int((small_result.jobs["kind"] == "filler").sum())
    finally:
        con.close()
    assert not list(paths.root.glob("*.wal"))


def test_duckdb_summary_tolerates_a_sparse_summary(tmp_path: Path, small_result: SimResult):
    small_result.summary = {}
    paths = write_result(small_result, tmp_path / "r")
    con = open_store(paths.root)
    try:
        assert con.execute("SELECT co2_kg, summary_json FROM summary").fetchone() == (None, "{}\n")
    finally:
        con.close()
    assert read_result(paths.root).summary == {}


def test_export_csv(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    written = export_csv(paths.root)
    assert set(written) == {"timeseries", "events", "jobs"}
    lines = written["events"].read_text().splitlines()
    assert len(lines) == small_result.num_events + 1 and lines[0].startswith('"time_s","kind"')
    assert written["timeseries"].parent == paths.root / "csv"
    # a results folder with its CSV export is still a results folder and may be replaced
    write_result(small_result, paths.root)
    assert not (paths.root / "csv").exists()


# --- errors name the path ---

def test_missing_folder(tmp_path: Path):
    with pytest.raises(ResultsError, match=f"^{tmp_path / 'nope'}: no such results folder"):
        read_result(tmp_path / "nope")


def test_missing_part(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    paths.jobs.unlink()
    with pytest.raises(ResultsError, match=r"jobs\.parquet: missing"):
        read_result(paths.root)


def test_corrupt_parquet(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    paths.events.write_bytes(b"not parquet at all")
    with pytest.raises(ResultsError, match=r"events\.parquet: cannot read the Parquet file") as err:
        read_result(paths.root)
    assert isinstance(err.value, ColossusError) and err.value.path == paths.events


def test_corrupt_summary(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    paths.summary.write_text("{ half")
    with pytest.raises(ResultsError, match=r"summary\.json: cannot read the summary"):
        read_result(paths.root)


def test_foreign_parquet(tmp_path: Path, small_result: SimResult):
    paths = write_result(small_result, tmp_path / "r")
    pq.write_table(pa.table({"time_s": [1.0]}), paths.timeseries)
    with pytest.raises(ResultsError, match="no colossus metadata"):
        read_result(paths.root)


def test_open_store_of_a_non_result(tmp_path: Path):
    with pytest.raises(ResultsError, match=r"results\.duckdb: no such DuckDB file"):
        open_store(tmp_path)
