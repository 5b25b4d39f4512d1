"""Helpers of the sweep tests: a small, fast scenario and row comparison."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import yaml

from colossus.spec import read_yaml
from colossus.sweep import VOLATILE_COLUMNS

ROOT = Path(__file__).resolve().parents[2]
MEMPHIS = ROOT / "scenarios" / "colossus-memphis.yaml"
BIG = ROOT / "scenarios" / "colossus-200k.yaml"


def small_document() -> dict[str, Any]:
    """The default scenario on 1,024 GPUs with a Llama 3 70B job on 64: an estimate takes ~0.1 s.

    On 8 GPUs the job does not fit (no layout of 70B fits 8 x 80 GB): the infeasible case.
    """
    doc = copy.deepcopy(read_yaml(MEMPHIS))
    doc["name"] = "sweep-small"
    doc["cluster"]["pools"][0]["num_gpus"] = 1024
    job = doc["jobs"][0]
    job.update(name="train70b", model="llama3-70b", num_gpus=64, global_batch_tokens=4.0e6, train_tokens=1.0e11)
    return doc


def write_scenario(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text(yaml.safe_dump(doc, sort_keys=False), encoding="utf-8")
    return path


def comparable(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows without the volatile columns (wall time), sorted by key."""
    out = [{k: v for k, v in r.items() if k not in VOLATILE_COLUMNS} for r in rows]
    return sorted(out, key=lambda r: (r["content_hash"], r["seed"], r["kind"], r["days"]))
