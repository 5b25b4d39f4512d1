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
        ("nemo", "NeMo 25.04 container (scripts/performance)", "nemo-2-2025"),
        ("nemo", "25.07", "nemo-2-2025"),
        ("nemo", "NeMo 25.09 container (Megatron-Bridge perf recipes)", "nemo-megatron-bridge-2025"),
        ("nemo", "25.11", "nemo-megatron-bridge-2025"),
        ("torchtitan", "9dec370, Dec 2024", "torchtitan"),
        ("other", "llm-foundry/Composer with PyTorch FSDP (MPT model)", "llm-foundry"),
        ("other", "something in-house", "generic-pytorch"),
        ("deepspeed", None, "deepspeed-2023"),
        ("deepspeed", "DeepSpeed ZeRO-3 in the Megatron-LM codebase (2021, arXiv:2104.04473)", "deepspeed-zero3-2021"),
        ("deepspeed", "0.14.2", "deepspeed-2023"),
        ("deepspeed", "0.7.3", "deepspeed-zero3-2021"),  # DeepSpeed releases 0.3-0.7 are 2020-22
        ("deepspeed", "Megatron-DeepSpeed with DeepSpeed 0.6.5", "deepspeed-zero3-2021"),
        ("deepspeed", "Megatron-DeepSpeed with DeepSpeed 0.9.2", "deepspeed-2023"),
        ("maxtext", None, "maxtext"),
        # a bare Megatron-core release number (Megatron-LM tags its releases by it) places its era
        ("megatron-lm", "0.8", "megatron-core-2024"),
        ("megatron-lm", "v0.8.0", "megatron-core-2024"),
        ("megatron-lm", "v0.12.0", "megatron-core-2025"),
        ("megatron-lm", "0.13", "megatron-core-2025"),
        ("megatron-lm", "1.0.8", DEFAULT),  # (no era: the default, with a note)
        ("nemo", "24.07 container (NeMo 2.0.0rc1, Megatron-core 0.8)", "nemo-24"),  # NeMo 2.0 ran in 24.07 too
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


def test_every_framework_the_format_names_has_a_default_profile():
    from colossus.perf.software import profile_names
    from colossus.spec import Framework

    for fw in Framework:
        assert sum(profile(n).framework_default for n in profile_names(fw)) == 1, fw
    sw = resolve(SoftwareSpec(framework="maxtext"), "hopper", default_profile=DEFAULT)
    assert sw.profile == "maxtext" and sw.compiled and sw.zero == 3 and not sw.note


def test_a_framework_without_a_profile_falls_back_with_a_note(monkeypatch):
    from colossus.perf import software
    from colossus.spec import Framework

    names = software.profile_names()
    monkeypatch.setattr(software, "profile_names", lambda fw=None: tuple(
        n for n in names if fw is None or (fw is not Framework.MAXTEXT and profile(n).framework is fw)))
    resolve.cache_clear()
    try:
        sw = resolve(SoftwareSpec(framework="maxtext"), "hopper", default_profile=DEFAULT)
    finally:
        resolve.cache_clear()
    assert sw.profile == "generic-pytorch" and "maxtext" in sw.note and sw.profile_assumed


def test_contradictions_are_errors():
    with pytest.raises(SpecError, match="not deepspeed"):
        resolve(SoftwareSpec(profile="torchtitan", framework="deepspeed"), "hopper", default_profile=DEFAULT)
    with pytest.raises(SpecError, match="Hopper"):
        resolve(SoftwareSpec(attention="flash3"), "ampere", default_profile=DEFAULT)


def test_every_profile_names_a_kernel_for_every_generation_and_a_zero_default_it_supports():
    for name in catalog.names("software"):
        for architecture in ("ampere", "hopper", "blackwell"):  # (a profile's own defaults never an error)
            resolve(SoftwareSpec(profile=name), architecture, default_profile=DEFAULT)
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


# --- a stated layout is evidence of what an assumed stack can run ---------------------------------------


def _run(software: dict, **layout):
    from colossus.spec import RunSpec

    base = {"tp": 8, "pp": 8, "dp": 4, "micro_batch": 1, "global_batch": 512, "recompute": "full"}
    base.update(layout)
    return RunSpec.model_validate({
        "id": "stated",
        "model": {"layers": 96, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200, "seq_len": 4096},
        "cluster": {"gpu": "h100-sxm5-80gb", "gpus": 8 * 8 * 4 * base.get("cp", 1)},
        "software": software,
        "layout": base,
    })


def test_which_profiles_are_chosen_and_which_assumed():
    def assumed(**fields) -> bool:
        return resolve(SoftwareSpec(**fields), "hopper", default_profile=DEFAULT).profile_assumed

    assert not assumed(framework="megatron-lm", version="2021")  # the version matched a pattern
    assert not assumed(profile="torchtitan")  # named
    assert assumed(framework="torchtitan", version="2026 release")  # the framework's default
    assert assumed(framework="maxtext")  # no profile for the framework: the generic stack
    assert assumed()  # no software block at all


@pytest.mark.parametrize(
    ("layout", "said"),
    [
        ({"interleave": 3}, "interleaved pipeline schedule"),
        ({"cp": 2, "dp": 4}, "context parallelism"),
    ],
)
def test_a_layout_a_team_ran_on_a_guessed_stack_is_estimated_with_a_note(layout, said):
    from colossus.perf import estimate

    # DeepSpeed's profiles have neither; a run of an unnamed DeepSpeed fork that states them ran them
    est = estimate(_run({"framework": "deepspeed", "version": "in-house fork"}, **layout))
    assert est.step_time_s > 0 and any(said in n and "assumed profile 'deepspeed-2023'" in n for n in est.notes)


def test_a_chosen_profile_is_widened_too_with_the_contradiction_noted():
    from colossus.perf import estimate
    from colossus.perf.search import plan
    from colossus.spec import SoftwareSpec, lookup

    # Megatron-LM 2021 had no context parallelism: a run saying both is estimated, and the note says so
    est = estimate(_run({"framework": "megatron-lm", "version": "2021"}, cp=2))
    assert any("'megatron-lm-2021' (its stack at that version) does not offer" in n for n in est.notes)
    # the planner, with nothing stated, keeps to what the profile offers
    result = plan(lookup("models", "gpt3-175b"), lookup("gpus", "a100-sxm4-80gb"), num_gpus=512,
                  global_batch_tokens=2**21, software=SoftwareSpec(framework="megatron-lm", version="2021"))
    assert all(r.layout.cp == 1 and r.layout.interleave >= 1 for r in result.best)


def test_widening_needs_the_layout_to_state_it():
    from colossus.perf import estimate

    # left out, the interleave is the stack's default (1 for this profile), and nothing is noted
    est = estimate(_run({"framework": "deepspeed", "version": "in-house fork"}))
    assert est.layout.interleave == 1 and not any("does not offer" in n for n in est.notes)


def test_a_stated_field_wins_over_what_the_version_text_names():
    named = resolve(SoftwareSpec(framework="megatron-lm", version="2025; DeepEP; DualPipe"), "hopper",
                    default_profile=DEFAULT)
    assert named.ep_dispatcher.value == "deepep" and named.pipeline_schedule.value == "dualpipe"
    stated = resolve(SoftwareSpec(framework="megatron-lm", version="2025; DeepEP; DualPipe", ep_dispatcher="alltoall",
                                  pipeline_schedule="1f1b"), "hopper", default_profile=DEFAULT)
    assert stated.ep_dispatcher.value == "alltoall" and stated.pipeline_schedule.value == "1f1b"
    assert "dualpipe" not in stated.note and "deepep" not in stated.note


@pytest.mark.parametrize(
    ("version", "dispatcher", "overlap"),
    [
        ("NeMo 26.02 container; HybridEP dispatcher", "deepep", False),  # Megatron-core flex backend hybridep
        ("Megatron-core 0.15, flex token dispatcher, moe_a2a_overlap=True", "deepep", True),
        ("Megatron-LM 2025; DeepEP dispatcher; A2A_OVERLAP=0", "deepep", False),
        ("Megatron-LM 2025; all-to-all token dispatcher; a2a overlap: 1", "alltoall", True),
        ("NeMo 26.04 container; moe_a2a_overlap=false", "alltoall", False),
    ],
)
def test_a_version_text_names_the_dispatcher_and_its_overlap(version, dispatcher, overlap):
    """HybridEP (Megatron-core's flex dispatcher backend in the Megatron-Bridge presets) sends a token over the
    network once per destination server, as DeepEP does; an a2a-overlap switch may be written 0/1 or
    True/False. Where the text says nothing, the profile's choice stands."""
    framework = "nemo" if version.startswith("NeMo") else "megatron-lm"
    sw = resolve(SoftwareSpec(framework=framework, version=version), "hopper", default_profile=DEFAULT)
    assert (sw.ep_dispatcher.value, sw.ep_comm_overlap) == (dispatcher, overlap)


# --- activation recompute: only what the stack can run -------------------------------------------------


def test_a_stack_from_before_selective_recompute_is_never_given_it():
    """Megatron-LM 2021 checkpoints whole layers (selective recompute is Korthikanti et al. 2022): a run that
    leaves recompute open is given none or full, never selective, and the planner proposes none of it; the
    2022 stack and later offer all three."""
    from colossus.perf import estimate
    from colossus.perf.search import plan
    from colossus.spec import Recompute, lookup

    old = {"framework": "megatron-lm", "version": "2021"}
    assert profile("megatron-lm-2021").recompute_modes == [Recompute.NONE, Recompute.FULL]
    assert set(profile("megatron-lm-2022").recompute_modes) == set(Recompute)
    est = estimate(_open_recompute(old))
    assert est.layout.recompute in (Recompute.NONE, Recompute.FULL) and "recompute" in est.assumed
    newer = estimate(_open_recompute({"framework": "megatron-lm", "version": "2022"}))
    assert newer.layout.recompute is Recompute.SELECTIVE  # (the fastest that fits, where the stack has it)
    result = plan(lookup("models", "gpt3-175b"), lookup("gpus", "a100-sxm4-80gb"), num_gpus=512,
                  global_batch_tokens=2**21, software=SoftwareSpec(**old), top=50)
    assert result.best and all(r.layout.recompute is not Recompute.SELECTIVE for r in result.best)


def test_a_run_that_states_selective_recompute_on_an_older_stack_ran_it():
    from colossus.perf import estimate
    from colossus.spec import Recompute

    est = estimate(_run({"framework": "megatron-lm", "version": "2021"}, recompute="selective"))
    assert est.layout.recompute is Recompute.SELECTIVE
    assert any("selective activation recompute" in n and "does not offer" in n for n in est.notes)


def _open_recompute(software: dict):
    """A 175B run on 768 A100s, without sequence parallelism, that leaves recompute open (no recompute does not
    fit there, selective does)."""
    from colossus.spec import RunSpec

    return RunSpec.model_validate({
        "id": "open-recompute",
        "model": {"layers": 96, "hidden": 12288, "heads": 96, "activation": "gelu", "vocab": 51200, "seq_len": 2048},
        "cluster": {"gpu": "a100-sxm4-80gb", "gpus": 768},
        "software": software,
        "layout": {"tp": 8, "pp": 12, "dp": 8, "micro_batch": 1, "global_batch": 1536, "zero": 0,
                   "sequence_parallel": False},
    })


def test_deepspeed_runs_zero_2_and_3_only_without_a_pipeline():
    """DeepSpeed's pipeline engine refuses ZeRO-2/3: the planner proposes neither beside pp > 1 (it still may
    without a pipeline), a run leaving zero open with a pipeline gets 0 or 1, and one that states ZeRO-2 beside
    its pipeline ran it (widened, with a note)."""
    from colossus.perf import estimate
    from colossus.perf.search import plan
    from colossus.spec import lookup

    ds = {"framework": "deepspeed", "version": "0.14.2"}
    assert profile("deepspeed-2023").pipeline_zero_max == 1 and profile("megatron-core-2025").pipeline_zero_max is None
    result = plan(lookup("models", "gpt3-175b"), lookup("gpus", "a100-sxm4-80gb"), num_gpus=1024,
                  global_batch_tokens=2**22, software=SoftwareSpec(**ds), top=100)
    assert result.best and all(r.layout.zero <= 1 for r in result.best if r.layout.pp > 1)
    assert estimate(_run(ds)).layout.zero <= 1  # pp 8, zero left open
    stated = estimate(_run(ds, zero=2))
    assert stated.layout.zero == 2 and any("ZeRO stage 2 beside pipeline parallelism" in n for n in stated.notes)


def test_megatron_interleaves_only_whole_groups_of_pp_micro_batches():
    """Megatron-LM and Megatron-core up to 0.9 refuse an interleaved schedule whose micro-batches are no whole
    groups of pp: the planner proposes none, an open interleave stays 1 there, and a run that states one ran it
    (widened, with a note); Megatron-core 2025 takes any count of at least pp."""
    from colossus.perf import estimate
    from colossus.perf.search import plan
    from colossus.spec import lookup

    core08 = {"framework": "megatron-lm", "version": "Megatron-Core r0.8.0"}
    assert profile("megatron-core-2024").interleave_in_pp_groups
    assert not profile("megatron-core-2025").interleave_in_pp_groups
    result = plan(lookup("models", "gpt3-175b"), lookup("gpus", "h100-sxm5-80gb"), num_gpus=768,
                  global_batch_tokens=1536 * 4096, software=SoftwareSpec(**core08), top=200)
    interleaved = [r.layout for r in result.best if r.layout.interleave > 1]
    assert interleaved and all(lay.num_micro_batches % lay.pp == 0 for lay in interleaved)
    # pp 8, dp 4, batch 36: 9 micro-batches, one more than a group of 8
    assert estimate(_run(core08, global_batch=36)).layout.interleave == 1
    assert estimate(_run({"framework": "megatron-lm", "version": "2025"}, global_batch=36)).layout.interleave > 1
    stated = estimate(_run(core08, global_batch=36, interleave=3))
    assert stated.layout.interleave == 3 and any("no whole groups of pp" in n for n in stated.notes)


def test_a_stack_from_before_transformer_engine_plans_no_fp8():
    """Megatron-LM 2021 trains in 16 bit: planning it in FP8 is an input error naming the stack (the CLI's exit
    2), a later stack plans it, and a run that states FP8 on the old stack ran it (widened, with a note)."""
    from colossus.perf import estimate
    from colossus.perf.search import plan
    from colossus.spec import Precision, lookup

    old = SoftwareSpec(framework="megatron-lm", version="2021")
    args = (lookup("models", "gpt3-175b"), lookup("gpus", "h100-sxm5-80gb"))
    with pytest.raises(SpecError, match="megatron-lm-2021.*no FP8"):
        plan(*args, num_gpus=512, global_batch_tokens=2**22, precision=Precision.FP8, software=old)
    assert plan(*args, num_gpus=512, global_batch_tokens=2**22, precision=Precision.FP8, top=1).best
    stated = estimate(_run({"framework": "megatron-lm", "version": "2021"}, precision="fp8"))
    assert stated.layout.precision is Precision.FP8 and any("FP8 training" in n for n in stated.notes)


def test_a_version_no_profile_places_is_said_not_hidden():
    """A release between the catalog's eras (Megatron-core r0.3, late 2023) takes the framework's default
    profile, and the software note says so and names the profiles by era; a version a profile matches, or a
    framework whose profiles do not go by version, says nothing."""
    unplaced = resolve(SoftwareSpec(framework="megatron-lm", version="core_r0.3.0"), "hopper",
                       default_profile="megatron-core-2025")
    assert unplaced.profile == "megatron-core-2025"
    assert "'core_r0.3.0' matches none of megatron-lm's profiles" in unplaced.note
    assert "megatron-lm-2022" in unplaced.note and "assumed 'megatron-core-2025'" in unplaced.note
    placed = resolve(SoftwareSpec(framework="megatron-lm", version="2024"), "hopper",
                     default_profile="megatron-core-2025")
    assert placed.profile == "megatron-core-2024" and "matches none" not in placed.note
    unversioned = resolve(SoftwareSpec(framework="torchtitan", version="9dec370"), "hopper",
                          default_profile="megatron-core-2025")
    assert "matches none" not in unversioned.note


def test_megatron_core_0_4_is_the_2024_stack():
    """Megatron-core 0.4 (January 2024) brought MoE, context parallelism and the overlapping DDP (its
    changelog): it takes the 0.4-0.9 profile, not the 2025 one."""
    for version in ("core_r0.4.0", "Megatron-LM v0.4.0"):
        sw = resolve(SoftwareSpec(framework="megatron-lm", version=version), "hopper",
                     default_profile="megatron-core-2025")
        assert sw.profile == "megatron-core-2024" and "matches none" not in sw.note
