"""A row's numbers do not depend on the rows evaluated beside it.

The model leaves out what no row of an evaluation needs (a part that is exactly
0, a branch of a mask that no row takes, a policy no row runs), and keeps what
depends on the run alone with its context. So one run alone (every such
shortcut taken) must give the same bits as the same run among runs that differ
(the general masks), and one candidate layout alone the same bits as among a
plan's thousands.
"""

from __future__ import annotations

import numpy as np
import pytest

from colossus.perf.assumptions import default_assumptions
from colossus.perf.context import RunInputs
from colossus.perf.estimate import (
    MEMORY_NAMES,
    PART_NAMES,
    PreparedRuns,
    estimate,
    estimate_many,
    evaluate_layouts,
    software_for,
)
from colossus.perf.network import default_fabric
from colossus.perf.search import candidates
from colossus.spec import Precision, RunSpec, SoftwareSpec, lookup


def _run(run_id: str, model: str, gpu: str, gpus: int, layout: dict, software: dict | None = None) -> RunSpec:
    raw = {"id": run_id, "model": model, "cluster": {"gpu": gpu, "gpus": gpus}, "layout": layout}
    if software is not None:
        raw["software"] = software
    return RunSpec.model_validate(raw)


#: Runs that differ in everything the model can leave out: MoE and MLA, FP8, context and pipeline
#: parallelism, ZeRO-3, the unfused kernel, embedding/loss pipeline slots, options left open, DualPipe and
#: DeepSeek's FP8-cached expert activations.
RUNS = (
    _run("unfused-full-recompute", "gpt3-175b", "a100-sxm4-80gb", 1024,
         {"tp": 8, "pp": 8, "dp": 16, "global_batch": 1536, "recompute": "full", "zero": 0},
         {"profile": "megatron-lm-2021"}),
    _run("fp8-cp-options-open", "llama3-70b", "h100-sxm5-80gb", 512,
         {"tp": 8, "pp": 4, "cp": 2, "dp": 8, "global_batch": 512, "precision": "fp8"}),
    _run("moe-mla-slots", "deepseek-v3-671b", "h800-sxm5-80gb", 2048,
         {"tp": 2, "pp": 16, "dp": 64, "ep": 64, "global_batch": 4096, "recompute": "selective"},
         {"profile": "megatron-core-2025-deepep"}),
    _run("fsdp", "llama3-8b", "h100-sxm5-80gb", 64,
         {"tp": 1, "pp": 1, "dp": 64, "global_batch": 256, "zero": 3, "recompute": "full"},
         {"profile": "torchtitan"}),
    _run("dense-zero1", "llama3-405b", "h100-sxm5-80gb", 16384,
         {"tp": 8, "pp": 16, "dp": 128, "global_batch": 2048, "interleave": 8, "zero": 1}),
    _run("dualpipe-fp8-cached-activations", "deepseek-v3-671b", "h800-sxm5-80gb", 2048,
         {"tp": 1, "pp": 16, "dp": 128, "ep": 64, "global_batch": 15360, "recompute": "selective", "zero": 1,
          "precision": "fp8"}, {"profile": "hai-llm"}),
)


def _rows(batch, index) -> dict[str, np.ndarray]:
    parts = {n: np.broadcast_to(getattr(batch.parts, n), batch.lay.tp.shape)[index] for n in PART_NAMES}
    memory = {n: np.broadcast_to(getattr(batch.memory, n), batch.lay.tp.shape)[index] for n in MEMORY_NAMES}
    return {**parts, **memory}


def test_a_run_alone_gives_the_bits_it_gives_among_others():
    together = estimate_many(list(RUNS))
    assert [e.as_dict() for e in together] == [estimate(r).as_dict() for r in RUNS]


def test_every_candidate_row_of_a_run_is_the_same_alone_and_among_others():
    a = default_assumptions()
    many = PreparedRuns.prepare(list(RUNS), a)
    batch = many.evaluate_batch(a)[0]
    for j, run in enumerate(RUNS):
        one = PreparedRuns.prepare([run], a)
        alone = _rows(one.evaluate_batch(a)[0], slice(None))
        among = _rows(batch, batch.owner == j)
        for name, values in alone.items():
            np.testing.assert_array_equal(values, among[name], err_msg=f"{run.id}: {name}")


@pytest.mark.parametrize(("model", "profile"), [("llama3-70b", None), ("deepseek-v3-671b", "megatron-core-2025")])
def test_a_plan_row_alone_is_the_same_as_among_the_plans_candidates(model, profile):
    a = default_assumptions()
    spec, gpu = lookup("models", model), lookup("gpus", "h100-sxm5-80gb")
    sw = software_for(SoftwareSpec(profile=profile) if profile else None, gpu, a)
    inputs = RunInputs(spec, gpu, sw, default_fabric(gpu, None, a), 512, 8)
    lay = candidates(spec, sw, num_gpus=512, gpus_per_server=8, global_batch=1024, precision=Precision.BF16)
    whole = evaluate_layouts(inputs, lay, a)
    sample = np.random.default_rng(11).choice(lay.size, size=40, replace=False)
    among = _rows(whole, sample)
    for k, i in enumerate(sample):
        alone = _rows(evaluate_layouts(inputs, lay.take(np.array([i])), a), 0)
        for name, value in alone.items():
            assert value == among[name][k], f"row {i}: {name}"
