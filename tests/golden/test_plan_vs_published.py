"""The planner never answers slower than the layout a team ran.

For each of the 73 published runs of shared/validation, ``plan`` on the same model, GPUs, batch, precision,
network, power limit and stated software must find a layout at least as fast, in the model's own terms, as the
estimate of the layout the team published (which fits in memory, as every published layout must). A published
layout the search does not offer, or prices differently from ``estimate``, fails here: it found that a replica's
whole share of the batch in one micro-batch (MPT-7B's six sequences) was never tried, and that the llm-foundry
profile left out the FSDP sharding (SHARD_GRAD_OP, ZeRO-2) its own benchmark table runs. Not a check of
accuracy: nothing is compared with a measurement.
"""

from __future__ import annotations

import os

import pytest

from colossus.perf import estimate, plan
from colossus.spec import load_runs, lookup
from tests.golden.perf_ratchet import RUNS


@pytest.fixture(scope="module")
def runs():
    if not RUNS.is_file():
        message = "shared/validation/training_runs.yaml is not beside the repository"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return load_runs(RUNS)


def test_the_plan_is_never_slower_than_the_published_layout(runs):
    slower = []
    for run in runs:
        published = estimate(run)
        assert published.fits, run.id
        gpu = lookup("gpus", run.cluster.gpu) if isinstance(run.cluster.gpu, str) else run.cluster.gpu
        best = plan(run.model, gpu, num_gpus=run.cluster.gpus,
                    global_batch_tokens=run.layout.global_batch * run.model.seq_len,
                    gpus_per_server=run.cluster.gpus_per_node or 8, precision=run.layout.precision,
                    nic_gbit_per_s=run.cluster.nic_gbit_per_s, software=run.software,
                    power_limit_w=run.cluster.power_limit_w, top=1).best[0]
        if best.tokens_per_s_per_gpu < published.tokens_per_s_per_gpu * (1 - 1e-9):
            slower.append(f"{run.id}: published {published.layout.label} "
                          f"{published.tokens_per_s_per_gpu:.1f} tokens/s, plan {best.layout.label} "
                          f"{best.tokens_per_s_per_gpu:.1f}")
    assert not slower, slower
