"""The software stack as an input: profile selection, stated fields, and what each stack can run."""

from __future__ import annotations

import pytest

from colossus import catalog
from colossus.errors import SpecError
from colossus.perf.software import profile, resolve
from colossus.spec import AttentionKernel, SoftwareSpec

DEFAULT = "megatron-core-2025"


def pick(arch: str = "hopper", **fields) -> str:
    return resolve(SoftwareSpec(**fields), arch, default_profile=DEFAULT).profile


@pytest.mark.parametrize(
    ("framework", "version", "expected"),
    [
        ("megatron-lm", "2021 (SC'21 paper, arXiv:2104.04473)", "megatron-lm-2021"),
        ("megatron-lm", "2022 (arXiv:2205.05198, MLSys'23)", "megatron-lm-2022"),
        ("megatron-lm", "GitHub commit 285068c8 (2023-01-11)", "megatron-lm-2022"),
        ("megatron-lm", "Megatron-Core r0.8.0 (legend of images/weak_scaling.png)", "megatron-core-2024"),
        (
            "megatron-lm",
            "Megatron-LM main commit 1e057005 (2025-05-24); all-to-all token dispatcher",
            "megatron-core-2025",
        ),
        ("megatron-lm", "Megatron-LM (commit not stated); DeepEP dispatcher", "megatron-core-2025-deepep"),
        ("megatron-lm", None, "megatron-core-2025"),
        ("nemo", "24.07 container (NeMo 2.0.0rc1, Megatron-core 0.8)", "nemo-24"),
        ("nemo", "NeMo 26.04.01 container (Megatron-Bridge perf recipes)", "nemo-megatron-bridge-2025"),
        ("torchtitan", "9dec370, Dec 2024", "torchtitan"),
        ("other", "llm-foundry/Composer with PyTorch FSDP (MPT model)", "llm-foundry"),
        ("other", "something in-house", "generic-pytorch"),
        ("deepspeed", None, "deepspeed-zero3-2021"),
    ],
)
def test_framework_and_version_pick_the_profile(framework, version, expected):
    assert pick(framework=framework, version=version) == expected


def test_no_software_block_is_the_documented_default():
    assert pick() == DEFAULT


def test_a_named_profile_wins_and_stated_fields_override_it():
    sw = resolve(
        SoftwareSpec(profile="torchtitan", compiled=True, attention="flash3"), "hopper", default_profile=DEFAULT
    )
    assert sw.profile == "torchtitan" and sw.compiled and sw.attention is AttentionKernel.FLASH3
    assert set(sw.stated) == {"compiled", "attention"}
    assert resolve(SoftwareSpec(profile="torchtitan"), "hopper", default_profile=DEFAULT).compiled is False


def test_the_gpu_generation_picks_the_profiles_attention_kernel():
    spec = SoftwareSpec(framework="megatron-lm", version="Megatron-Core r0.8.0")
    assert resolve(spec, "hopper", default_profile=DEFAULT).attention is AttentionKernel.CUDNN
    assert resolve(spec, "ampere", default_profile=DEFAULT).attention is AttentionKernel.FLASH2


def test_a_framework_without_a_profile_falls_back_with_a_note():
    sw = resolve(SoftwareSpec(framework="maxtext"), "hopper", default_profile=DEFAULT)
    assert sw.profile == "generic-pytorch" and "maxtext" in sw.note


def test_contradictions_are_errors():
    with pytest.raises(SpecError, match="not deepspeed"):
        resolve(SoftwareSpec(profile="torchtitan", framework="deepspeed"), "hopper", default_profile=DEFAULT)
    with pytest.raises(SpecError, match="Hopper"):
        resolve(SoftwareSpec(attention="flash3"), "ampere", default_profile=DEFAULT)


def test_every_profile_names_a_kernel_for_every_generation_and_a_zero_default_it_supports():
    for name in catalog.names("software"):
        prof = profile(name)
        assert set(prof.attention) >= {"ampere", "hopper", "blackwell"}, name
        assert prof.zero_stages and all(0 <= z <= 3 for z in prof.zero_stages), name
        assert prof.sequence_parallel_supported or not prof.sequence_parallel, name


def test_each_framework_has_exactly_one_default_profile_where_it_has_several():
    frameworks: dict[str, int] = {}
    for name in catalog.names("software"):
        prof = profile(name)
        frameworks[prof.framework.value] = frameworks.get(prof.framework.value, 0) + prof.framework_default
    assert all(count == 1 for count in frameworks.values()), frameworks
