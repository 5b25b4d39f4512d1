"""The words a user writes to name a choice, as light enums (level 0).

They live below the specs so that the command line can offer them (its
``--help`` and option parsing) without loading the models; ``colossus.spec``
re-exports them where they belong.
"""

from __future__ import annotations

from enum import StrEnum


class Precision(StrEnum):
    """Number formats a GPU's tensor cores run matrix multiplies in."""

    FP64 = "fp64"
    TF32 = "tf32"
    FP16 = "fp16"
    BF16 = "bf16"
    FP8 = "fp8"
    FP4 = "fp4"


__all__ = ["Precision"]
