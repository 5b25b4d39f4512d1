"""The public API in the spirit of httpx: everything public is exported, everything exported is documented.

* every name ``colossus.__all__`` lists resolves, has a docstring (classes and
  functions) and is named in ``docs/python-api.md``;
* every public name ``colossus.api`` defines is in its ``__all__`` and in
  ``colossus.__all__``;
* results are frozen, their numeric fields end in a unit (or are counts or
  fractions), and ``to_json`` is SI.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from pathlib import Path
import re

import pytest

import colossus
import colossus.api

DOC = (Path(__file__).resolve().parents[1] / "docs" / "python-api.md").read_text(encoding="utf-8")
#: Endings a numeric field may have: a unit, a count, a fraction, or a plain number the name says.
UNIT = re.compile(r"(_s|_w|_j|_bytes|_per_s|_per_s_per_gpu|_per_gpu|_frac|_kg|_kg_per_day|_usd|_per_day|"
                  r"_per_gpu_hour|_tokens|^num_.*|_gpus|^mfu|^seed|^day|^restarts|^interruptions|^preemptions|"
                  r"^failures|^usd_.*|^p_by_deadline|_recommended|^tokens_trained|^ran|^skipped|^errors)$")


def test_everything_exported_exists_and_is_documented():
    for name in colossus.__all__:
        value = getattr(colossus, name)
        if name.startswith("__"):
            continue
        assert re.search(rf"\bc\.{re.escape(name)}\b|`{re.escape(name)}`", DOC), f"{name} is not in docs/python-api.md"
        if inspect.isclass(value) or inspect.isfunction(value):
            assert inspect.getdoc(value), f"{name} has no docstring"


def test_everything_public_in_the_api_is_exported():
    defined = {name for name, value in vars(colossus.api).items()
               if not name.startswith("_") and getattr(value, "__module__", None) == "colossus.api"}
    assert defined - {"SWEEP_STORE"} <= set(colossus.api.__all__)
    assert set(colossus.api.__all__) <= set(colossus.__all__)
    assert dir(colossus) == sorted(dir(colossus))  # lazy names are listed too


def test_an_unknown_name_is_an_attribute_error():
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        colossus.nope  # noqa: B018


RESULTS = [colossus.api.EstimateResult, colossus.api.PlanResult, colossus.api.PowerResult,
           colossus.api.ReliabilityResult, colossus.api.RunSummary, colossus.api.JobSummary,
           colossus.api.Simulation, colossus.api.SweepResult]


@pytest.mark.parametrize("cls", RESULTS, ids=lambda c: c.__name__)
def test_results_are_frozen_with_units_in_their_names(cls):
    assert dataclasses.is_dataclass(cls) and cls.__dataclass_params__.frozen
    hints = {f.name: str(f.type) for f in dataclasses.fields(cls)}
    for name, kind in hints.items():
        if kind.replace(" | None", "") in ("float", "int") and not name.startswith("_"):
            assert UNIT.search(name), f"{cls.__name__}.{name}: a number without its unit in the name"


def test_estimate_result_to_json_is_si():
    result = colossus.estimate(Path(__file__).resolve().parents[1] / "scenarios" / "colossus-memphis.yaml")
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.mfu = 1.0  # type: ignore[misc]
    doc = json.loads(result.to_json())
    assert doc["model_flop_per_s_per_gpu"] > 1e13 and "estimate" not in doc
    assert not any(k.endswith(("_mw", "_gib", "_days", "_hours")) for k in doc)
    assert doc["time_to_train_s"] == pytest.approx(doc["train_tokens"] / doc["tokens_per_s"])
    assert doc["low_tokens_per_s"] < doc["tokens_per_s"] < doc["high_tokens_per_s"]
    assert doc["short_time_to_train_s"] * doc["high_tokens_per_s"] == pytest.approx(doc["train_tokens"])
    assert doc["long_time_to_train_s"] * doc["low_tokens_per_s"] == pytest.approx(doc["train_tokens"])


def test_plan_takes_a_profile_name_or_a_software_block():
    by_name = colossus.plan("llama3-8b", gpus=8, top=1, software="megatron-core-2025")
    block = colossus.plan("llama3-8b", gpus=8, top=1,
                          software={"profile": "megatron-core-2025", "optimizer_moments_dtype": "bf16"})
    assert by_name.layouts and block.layouts
    assert block.layouts[0].memory_per_gpu_bytes <= by_name.layouts[0].memory_per_gpu_bytes
    with pytest.raises(colossus.SpecError, match="software: pipeline_schedule"):
        colossus.plan("llama3-8b", gpus=8, software={"pipeline_schedule": "gpipe"})
    with pytest.raises(colossus.SpecError, match="no-such-stack"):
        colossus.plan("llama3-8b", gpus=8, software={"profile": "no-such-stack"})


def test_estimate_and_plan_take_named_assumptions():
    run = colossus.plan("llama3-8b", gpus=8, top=1)
    slower = colossus.plan("llama3-8b", gpus=8, top=1, assumptions={"compute.gemm.hopper.bf16.eff_max": 0.4})
    assert slower.layouts[0].step_time_s > run.layouts[0].step_time_s
    with pytest.raises(colossus.SpecError, match="unknown performance assumption"):
        colossus.plan("llama3-8b", gpus=8, assumptions={"compute.nope": 1.0})


def test_a_jobs_estimate_says_where_the_job_is_wrong(tmp_path):
    """What a scenario job's estimate cannot take is raised at the job, in its file: its stated layout, its
    software profile."""
    import yaml

    doc = yaml.safe_load((Path(__file__).resolve().parents[1] / "scenarios" / "colossus-memphis.yaml").read_text())
    doc["jobs"][0]["layout"] = {"tp": 8, "pp": 1, "dp": 2500, "interleave": 2, "global_batch": 5000}
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(colossus.InfeasibleError, match=r"bad\.yaml: jobs\[0\]\.layout: job 'grok2' states a"):
        colossus.estimate(path)
    doc["jobs"][0]["layout"] = None
    doc["jobs"][0]["software"] = {"profile": "nope"}
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(colossus.SpecError, match=r"bad\.yaml: jobs\[0\]\.software\.profile: unknown software profile"):
        colossus.estimate(path)
