"""Runs the performance-model tests share."""

from __future__ import annotations

from colossus.spec import RunSpec


def make_run(**layout) -> RunSpec:
    """A GPT-3 175B run on A100s (Megatron 2021 style); layout fields override."""
    base = {"tp": 8, "pp": 8, "micro_batch": 1, "global_batch": 1536, "interleave": 1, "recompute": "full",
            "sequence_parallel": False, "zero": 0}
    base.update(layout)
    gpus = base.pop("gpus", 1024)
    nic = base.pop("nic", 200.0)
    return RunSpec.model_validate({
        "id": "test",
        "model": {"layers": 96, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200,
                  "seq_len": 2048},
        "cluster": {"gpu": "a100-sxm4-80gb", "gpus": gpus, "nic_gbit_per_s": nic},
        "layout": base,
    })
