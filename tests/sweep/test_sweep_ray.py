"""The Ray backend on a local Ray instance with 2 CPUs gives the local backend's rows.

One test, so that one pytest worker starts Ray once (the ``ray_local``
session fixture); the backend finds Ray running and leaves it running.
"""

from __future__ import annotations

import json

import duckdb
import pytest
from sweep_helpers import comparable

from colossus.cli import main


def _rows(path) -> list[dict]:
    with duckdb.connect(str(path), read_only=True) as con:
        cur = con.execute("SELECT * FROM runs")
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row)) for row in cur.fetchall()]


@pytest.mark.slow
def test_ray_backend_gives_the_local_rows(ray_local, capsys, small_scenario, tmp_path):
    args = ["sweep", str(small_scenario), "--vary", "jobs.train70b.gpus=8,64,128",
            "--vary", "supply.generators.count=0,14", "--kind", "estimate", "--json"]
    assert main([*args, "--backend", "local", "--workers", "2", "--out", str(tmp_path / "local")]) == 0
    local = json.loads(capsys.readouterr().out)
    assert main([*args, "--backend", "ray", "--out", str(tmp_path / "ray")]) == 0
    ray_doc = json.loads(capsys.readouterr().out)
    assert ray_doc["backend"] == "ray" and ray_doc["ran"] == 6 and ray_doc["errors"] == 2
    assert ray_local.is_initialized()  # the backend used the running instance and left it running
    local_rows, ray_rows = _rows(tmp_path / "local" / "sweep.duckdb"), _rows(tmp_path / "ray" / "sweep.duckdb")
    assert len(ray_rows) == 6
    assert comparable(ray_rows) == comparable(local_rows)
    assert ray_doc["points"] == local["points"]
