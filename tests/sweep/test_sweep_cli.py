"""``colossus sweep`` in-process on the local backend: rows, infeasible as data, resume, plot, errors."""

from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from colossus.cli import main

VARY_GPUS = "jobs.train70b.gpus=8,64,128"  # 8 GPUs: the 70B job fits no layout


def sweep_json(capsys, *args: str) -> dict:
    code = main(["sweep", *args, "--json"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    return json.loads(captured.out)


def stored(path: Path) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute("SELECT * FROM runs ORDER BY content_hash, seed")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


def test_estimate_sweep_end_to_end(capsys, small_scenario, tmp_path):
    out = tmp_path / "out"
    doc = sweep_json(capsys, str(small_scenario), "--vary", VARY_GPUS, "--vary", "supply.generators.count=0,14",
                     "--kind", "estimate", "--seeds", "2", "--workers", "2", "--out", str(out))
    # an estimate is deterministic: one run per point, whatever --seeds says
    assert doc["runs"] == 6 and doc["ran"] == 6 and doc["skipped"] == 0 and doc["seeds"] == 1
    assert doc["main_output"] == "train70b.tokens_per_s"
    assert doc["varied"] == {"jobs[train70b].num_gpus": [8, 64, 128], "power.supply.generators[0].count": [0, 14]}
    rows = stored(out / "sweep.duckdb")
    assert len(rows) == 6 and Path(doc["store"]) == out / "sweep.duckdb"
    assert {r["kind"] for r in rows} == {"estimate"} and {r["days"] for r in rows} == {0.0}
    assert {r["scenario"] for r in rows} == {"sweep-small"}
    by_gpus = {}
    for row in rows:
        by_gpus.setdefault(row["jobs[train70b].num_gpus"], []).append(row)
    # infeasible is data: stored with its reason, no outputs
    assert all(r["error"] and "no layout fits" in r["error"] and r["train70b.tokens_per_s"] is None for r in by_gpus[8])
    for gpus in (64, 128):
        assert all(
            r["error"] is None and r["train70b.tokens_per_s"] > 0 and r["train70b.layout"] for r in by_gpus[gpus]
        )
    # twice the GPUs, about twice the rate; the seed does not change an estimate
    rate = {g: by_gpus[g][0]["train70b.tokens_per_s"] for g in (64, 128)}
    assert 1.6 < rate[128] / rate[64] < 2.2
    assert len({r["train70b.tokens_per_s"] for r in by_gpus[64]}) == 1
    assert doc["errors"] == 2
    points = {(p["inputs"]["jobs[train70b].num_gpus"], p["inputs"]["power.supply.generators[0].count"]): p
              for p in doc["points"]}
    assert points[(8, 0)]["n"] == 0 and points[(8, 0)]["errors"] == 1
    assert points[(64, 0)]["n"] == 1 and points[(64, 0)]["std"] == 0.0
    assert rate[64] == points[(64, 14)]["mean"]  # the generators do not change an estimate
    # the plot: next to the store, self-contained (plotly.js inline, no CDN)
    html = Path(doc["plot"])
    assert html.parent == out and html.suffix == ".html"
    text = html.read_text(encoding="utf-8")
    assert "cdn.plot.ly" not in text and "plotly.js v" in text.lower() or "Plotly.newPlot" in text
    assert len(text) > 1_000_000  # plotly.js itself is inline
    assert not list(out.glob(".*.tmp"))


@pytest.mark.slow
def test_resume_runs_only_what_is_missing(capsys, small_scenario, tmp_path):
    out = tmp_path / "out"
    first = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64,128",
                       "--workers", "2", "--out", str(out))
    assert first["ran"] == 2
    again = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64,128,256,512", "--seeds", "3",
                       "--workers", "2", "--out", str(out))
    assert again["runs"] == 4 and again["skipped"] == 2 and again["ran"] == 2  # estimates: one run per point
    assert len(stored(out / "sweep.duckdb")) == 4
    done = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64,128,256,512",
                      "--workers", "2", "--out", str(out))
    assert done["ran"] == 0 and done["skipped"] == 4 and done["runs_per_s"] is None
    assert sum(p["n"] for p in done["points"]) == 4


def test_resume_by_content_fills_new_input_columns(capsys, small_scenario, tmp_path):
    """Runs stored by a sweep over one field are reused by a sweep over another, and get its column."""
    out = tmp_path / "out"
    sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64,128", "--workers", "1", "--out", str(out))
    doc = sweep_json(capsys, str(small_scenario), "--vary", "supply.generators.count=14,20", "--kind", "estimate",
                     "--workers", "1", "--out", str(out))
    assert doc["skipped"] == 1 and doc["ran"] == 1  # count=14 is the file's own value: same scenario as gpus=64
    rows = {r["content_hash"]: r for r in stored(out / "sweep.duckdb")}
    assert len(rows) == 3
    reused = [r for r in rows.values() if r["jobs[train70b].num_gpus"] == 64]
    assert reused[0]["power.supply.generators[0].count"] == 14


def test_human_output(capsys, small_scenario, tmp_path):
    code = main(["sweep", str(small_scenario), "--vary", VARY_GPUS, "--workers", "2", "--out", str(tmp_path / "o")])
    out = capsys.readouterr().out
    assert code == 0
    for fragment in ("sweep-small", "3 points x 1 seed(s) = 3 runs", "1 infeasible", "train70b",
                     "store:", "sweep.duckdb", "plot:"):
        assert fragment in out


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["--vary", "jobs.train70b.gpus=64,4096"], "--vary jobs.train70b.gpus=64,4096: jobs[train70b].num_gpus = 4096"),
        (["--vary", "supply.generator.count=1"], "did you mean 'power.supply.generators[0].count'"),
        (["--vary", "jobs.train70b.gpus"], "expected PATH=VALUES"),
        (["--vary", "jobs.train70b.gpus=64", "--address", "auto"], "--address"),
        (["--vary", "jobs.train70b.gpus=64", "--kind", "estimate", "--days", "2"], "--days"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_runs_nothing(capsys, small_scenario, tmp_path, args, fragment):
    out = tmp_path / "out"
    assert main(["sweep", str(small_scenario), *args, "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and fragment in err
    assert not out.exists()


def test_missing_vary_is_a_usage_error(capsys, small_scenario):
    assert main(["sweep", str(small_scenario)]) == 2


def test_a_sweep_over_the_supply_simulates(small_scenario):
    """The README's headline sweep: generators change nothing in an estimate, so leaving --kind out simulates."""
    from colossus.sweep import plan_sweep

    assert plan_sweep(small_scenario, ["supply.generators.count=0,14"], seeds=2, kind="auto").kind == "simulate"
    assert plan_sweep(small_scenario, ["jobs.train70b.gpus=64,128"], seeds=2, kind="auto").kind == "estimate"
    assert plan_sweep(small_scenario, ["jobs.train70b.gpus=64"], seeds=1, kind="auto", days=1).kind == "simulate"


def test_each_sweep_has_its_own_store(capsys, small_scenario, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    one = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64", "--workers", "1")
    two = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=128", "--seeds", "3", "--workers", "1")
    assert one["kind"] == two["kind"] == "estimate" and two["runs"] == 1  # an estimate: one run per point
    stores = sorted(p.parent.name for p in (tmp_path / "runs").glob("*/sweep.duckdb"))
    assert len(stores) == 2 and all(s.startswith("sweep-sweep-small-") for s in stores)
    again = sweep_json(capsys, str(small_scenario), "--vary", "jobs.train70b.gpus=64", "--workers", "1")
    assert again["store"] == one["store"] and again["skipped"] == 1  # the same sweep resumes in its own store
