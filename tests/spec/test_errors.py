"""Every way a scenario can be wrong ends in exit code 2 and one clear line (no traceback)."""

from __future__ import annotations

from collections.abc import Callable
import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from colossus.cli import main
from colossus.errors import SpecError
from colossus.spec import load_scenario

DEFAULT = Path(__file__).resolve().parents[2] / "scenarios" / "colossus-memphis.yaml"


def base() -> dict[str, Any]:
    return yaml.safe_load(DEFAULT.read_text())


def write(tmp_path: Path, data: Any) -> Path:
    path = tmp_path / "bad.yaml"
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


def mutate(fn: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    data = copy.deepcopy(base())
    fn(data)
    return data


def pool0(d: dict[str, Any]) -> dict[str, Any]:
    return d["cluster"]["pools"][0]


CASES = {
    "wrong field": (
        mutate(lambda d: pool0(d).update(num_gpu=pool0(d).pop("num_gpus"))),
        ["cluster.pools[0]", "unknown field 'num_gpu'", "did you mean 'num_gpus'"],
    ),
    "wrong unit in a field name": (
        mutate(
            lambda d: (
                d["power"]["supply"]["grid"].update(interim_kw=8000) or d["power"]["supply"]["grid"].pop("interim_mw")
            )
        ),
        ["power.supply.grid", "unknown field 'interim_kw'", "did you mean 'interim_mw'"],
    ),
    "unit written into a value": (
        mutate(lambda d: d["cluster"]["fabric"].update(nic_gbit_per_s="400 Gbit/s")),
        ["cluster.fabric.nic_gbit_per_s", "must be a number", "'400 Gbit/s'"],
    ),
    "unknown catalog name": (
        mutate(lambda d: pool0(d).update(gpu="h100-sxm-80gb")),
        ["cluster.pools[0].gpu", "unknown GPU 'h100-sxm-80gb'", "did you mean 'h100-sxm5-80gb'"],
    ),
    "unknown name with an override": (
        mutate(lambda d: pool0(d).update(gpu={"name": "h100-sxm5-80g", "tdp_w": 600})),
        ["cluster.pools[0].gpu", "unknown GPU 'h100-sxm5-80g'", "did you mean 'h100-sxm5-80gb'"],
    ),
    "negative count": (
        mutate(lambda d: d["power"]["supply"]["generators"][0].update(count=-3)),
        ["power.supply.generators[0].count", "must be >= 0", "-3"],
    ),
    "negative GPU count": (
        mutate(lambda d: pool0(d).update(num_gpus=-8)),
        ["cluster.pools[0].num_gpus", "must be > 0", "-8"],
    ),
    "pool that does not fill whole servers": (
        mutate(lambda d: pool0(d).update(num_gpus=100_003)),
        ["cluster.pools[0]", "does not fill whole servers of 8 GPUs"],
    ),
    "missing field": (
        mutate(lambda d: d.pop("seed")),
        ["seed", "missing required field"],
    ),
    "override with a bad value": (
        mutate(lambda d: pool0(d).update(gpu={"name": "h100-sxm5-80gb", "tdp_w": 0})),
        ["cluster.pools[0].gpu.tdp_w", "must be > 0"],
    ),
    "job larger than its pool": (
        mutate(lambda d: d["jobs"][0].update(num_gpus=200_000)),
        ["jobs", "needs 200000 GPUs"],
    ),
    "job of part of a server": (  # (it asked for 0 servers of 8 GPUs and waited for ever, silently)
        mutate(lambda d: d["jobs"][0].update(num_gpus=7)),
        ["jobs", "asks for 7 GPUs, not a whole number of the cluster's 8-GPU servers"],
    ),
    "fabric too small": (
        mutate(lambda d: d["cluster"]["fabric"].update(tiers=2, oversubscription=[1.0])),
        ["cluster.fabric.tiers", "2-tier fabric", "connects at most"],
    ),
    "broken YAML": (
        "name: x\ncluster: [unclosed\n",
        ["broken YAML", "line 3"],
    ),
    "duplicate key": (
        "name: a\nname: b\n",
        ["broken YAML", "duplicate key 'name'"],
    ),
    "not a mapping": (
        "- just\n- a list\n",
        ["expected a mapping of fields"],
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_scenario_exits_2_with_one_line(case, tmp_path, capsys):
    data, expected = CASES[case]
    path = write(tmp_path, data)
    code = main(["show", str(path)])
    out, err = capsys.readouterr()
    assert code == 2
    assert out == ""
    line = err.strip()
    assert "\n" not in line, line
    assert "Traceback" not in line
    assert str(path) in line
    for fragment in expected:
        assert fragment in line, f"{fragment!r} not in {line!r}"


def test_missing_file(tmp_path, capsys):
    code = main(["show", str(tmp_path / "nope.yaml")])
    assert code == 2
    assert "no such file" in capsys.readouterr().err


def test_library_raises_spec_error_with_path(tmp_path):
    path = write(tmp_path, CASES["unknown catalog name"][0])
    with pytest.raises(SpecError) as info:
        load_scenario(path)
    assert info.value.path == ("cluster", "pools", 0, "gpu")
    assert info.value.file == str(path)


def test_show_without_arguments_is_a_usage_error(capsys):
    assert main(["show"]) == 2
    assert "scenario" in capsys.readouterr().err
