"""Shared helpers of the reliability tests."""

from __future__ import annotations

import pytest

from colossus import reliability as rel
from colossus.spec import lookup


def llama_job(num_gpus: int = 16384, days: float = 54.0, **changes) -> rel.JobInput:
    model, gpu = lookup("models", "llama3-405b"), lookup("gpus", "h100-sxm5-80gb")
    rate = rel.tokens_per_s_from_mfu(model, gpu, num_gpus=num_gpus, mfu=0.4)
    base = dict(model=model, num_gpus=num_gpus, gpus_per_server=8, fabric=rel.default_fabric(),
                tokens_per_s=rate, train_tokens=rate * days * 86400.0)
    return rel.JobInput(**{**base, **changes})


@pytest.fixture
def llama() -> rel.Analysis:
    return rel.analyse(llama_job())


@pytest.fixture
def make_job():
    """The factory of a Llama 3 405B job (``llama_job``), for tests that vary it."""
    return llama_job
