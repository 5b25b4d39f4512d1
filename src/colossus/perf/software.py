"""The software stack of a run, resolved: a catalog profile, then the fields the run states.

A run's ``software:`` block (``spec.SoftwareSpec``) may name a profile, a
framework and version, and single behaviours (attention kernel, compiled,
overlaps, ...). ``resolve`` turns it into a ``Software`` with every behaviour
concrete, in three steps:

1. the profile: ``profile:`` by name; else the first profile of the named
   framework (file order of ``catalog/data/software.toml``, newest first)
   whose ``versions`` pattern matches the run's ``version``; else that
   framework's ``framework_default``; with no framework at all, the model's
   documented default stack (``perf_compute.toml [software] default_profile``);
2. the GPU generation picks the profile's attention kernel;
3. every field the run states overrides the profile.

``Software.stated`` and ``Software.profile`` say which was which, so an
estimate can report what it assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from functools import cache, lru_cache
import re
from typing import TypeVar

from colossus import catalog
from colossus.errors import SpecError
from colossus.perf.layout import SCHEDULE_CODES, schedule_rules
from colossus.spec import (
    AttentionKernel,
    CompiledBy,
    CpCommType,
    EpDispatcher,
    ExpertRouting,
    Framework,
    GradReduceDtype,
    LayoutSpec,
    MomentDtype,
    PipelineSchedule,
    Precision,
    Recompute,
    SelectiveRecompute,
    SoftwareProfileSpec,
    SoftwareSpec,
    lookup,
)

#: Fields a run's ``software:`` block may override, one to one with the profile's.
OVERRIDABLE = (
    "attention", "compiled", "tp_comm_overlap", "dp_comm_overlap", "pp_comm_overlap",
    "parallel_block", "async_tp", "grad_reduce_dtype", "fp8_param_gather", "ep_dispatcher", "ep_comm_overlap",
    "expert_routing",
    "expert_capacity_factor", "expert_pad_to_capacity", "selective_recompute", "pipeline_schedule",
    "cp_comm_type", "optimizer_moments_dtype",
)


@dataclass(frozen=True)
class Software:
    """Every behaviour of the training stack that the performance model reads."""

    profile: str
    framework: Framework
    attention: AttentionKernel
    compiled: bool
    compiled_by: CompiledBy
    tp_comm_overlap: bool
    dp_comm_overlap: bool
    pp_comm_overlap: bool
    parallel_block: bool
    async_tp: bool
    grad_reduce_dtype: GradReduceDtype
    zero3_grad_reduce_dtype: GradReduceDtype  # with ZeRO-3/FSDP (a run's stated grad_reduce_dtype sets both)
    fp16_grad_reduce_dtype: GradReduceDtype  # when the run trains in fp16 (a run's stated grad_reduce_dtype sets it)
    fp8_grad_reduce_dtype: GradReduceDtype  # when the run trains in FP8, ZeRO 0-2 (a stated grad_reduce_dtype sets it)
    fp8_zero3_grad_reduce_dtype: GradReduceDtype  # when the run trains in FP8 with ZeRO-3/FSDP
    fp8_param_gather: bool  # an FP8 run all-gathers its parameters in FP8 (one byte a parameter)
    grad_buffer_in_reduce_dtype: bool  # gradients accumulate in the reduction dtype (Megatron's DDP buffer)
    sequence_parallel: bool
    sequence_parallel_supported: bool
    zero: int
    zero_stages: tuple[int, ...]
    zero3_live_layers: float
    zero3_max_reuse_params: float | None
    zero3_pp_gather_once: bool
    tensor_parallel: bool
    pipeline_parallel: bool
    interleave: bool
    context_parallel: bool
    expert_parallel: bool
    selective_recompute: SelectiveRecompute
    ep_dispatcher: EpDispatcher
    ep_comm_overlap: bool
    expert_routing: ExpertRouting
    fsdp_node_aggregation: bool
    pp_scatter_gather: bool
    embedding_loss_stages: bool
    uneven_virtual_stages: bool
    pipeline_schedule: PipelineSchedule = PipelineSchedule.ONE_F_ONE_B
    cp_comm_type: CpCommType = CpCommType.P2P
    optimizer_moments_dtype: MomentDtype = MomentDtype.FP32
    fp8_moe_activation_cache: bool = False  # FP8 runs keep the experts' SwiGLU inputs in FP8, recompute its output
    routing_by_profile: bool = False  # the profile states its stack's own routing (else the benchmarks' balance)
    pipeline_dp_overlap: bool = True  # with pp > 1 too, the DP reduction overlaps as dp_comm_overlap says
    pp_transfers_serial: bool = False  # each pipeline send and receive a blocking step of its own (DeepSpeed)
    # the schedule is the profile's default (the run neither states one nor names one in its version text),
    # and the schedules the stack also runs, preferred in order, when a stated layout cannot run it
    schedule_by_profile: bool = False
    schedule_fallbacks: tuple[PipelineSchedule, ...] = ()
    expert_capacity_factor: float | None = None  # token drop beyond this many times an expert's mean share
    expert_pad_to_capacity: bool = False  # every expert runs exactly its capacity
    selective_options: tuple[SelectiveRecompute, ...] = ()  # further policies, when the run names none
    recompute_modes: tuple[Recompute, ...] = tuple(Recompute)  # activation recompute the stack can run
    pipeline_zero_max: int = 3  # the highest ZeRO stage the stack runs beside pipeline parallelism
    interleave_in_pp_groups: bool = False  # interleaving needs the micro-batches in whole groups of pp
    fp8: bool = True  # trains with FP8 GEMMs
    stated: tuple[str, ...] = ()  # fields the run stated (the rest came from the profile)
    note: str = ""
    # True when nothing the run said picked the profile (no framework, no version pattern matched, or no
    # profile for the framework): its capabilities are then a guess, which a stated layout may widen
    profile_assumed: bool = False

    @property
    def flash(self) -> bool:
        """A fused (flash-style) attention kernel: scores never reach HBM."""
        return self.attention is not AttentionKernel.UNFUSED

    @property
    def moment_bytes(self) -> float:
        """Bytes of one Adam moment."""
        return _MOMENT_BYTES[self.optimizer_moments_dtype]

    @property
    def grad_reduce_bytes(self) -> float:
        return dtype_bytes(self.grad_reduce_dtype)

    @property
    def zero3_grad_reduce_bytes(self) -> float:
        return dtype_bytes(self.zero3_grad_reduce_dtype)

    def as_dict(self) -> dict[str, object]:
        out: dict[str, object] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else getattr(value, "value", value)
        return out


#: Bytes of one element of each Adam-moment dtype.
_MOMENT_BYTES = {MomentDtype.FP32: 4.0, MomentDtype.BF16: 2.0, MomentDtype.FP16: 2.0, MomentDtype.FP8: 1.0}


def dtype_bytes(dtype: GradReduceDtype) -> float:
    """Bytes a gradient element of ``dtype`` takes in a reduction (the context's ``sw_*_grad_bytes``)."""
    return 4.0 if dtype is GradReduceDtype.FP32 else 2.0  # bf16 / fp16


@cache
def profile(name: str) -> SoftwareProfileSpec:
    """A catalog profile by name (validated once)."""
    return lookup("software", name)


@cache
def profile_names(framework: Framework | None = None) -> tuple[str, ...]:
    """Profiles in precedence order (file order), optionally of one framework."""
    names = catalog.names_in_file_order("software")
    if framework is None:
        return names
    return tuple(n for n in names if profile(n).framework is framework)


def pick_profile(spec: SoftwareSpec, *, default_profile: str) -> tuple[SoftwareProfileSpec, str, bool]:
    """The profile a software block selects, a note when it had to fall back, and whether it was assumed.

    A profile is *chosen* when the block names it or the run's version matches one of its patterns;
    otherwise (no framework, a framework's default, or the generic stack for a framework without a
    profile) it is *assumed*.
    """
    if spec.profile is not None:
        try:
            prof = (
                profile(spec.profile) if catalog.has_entry("software", spec.profile)
                else lookup("software", spec.profile)
            )
        except SpecError as exc:  # (an unknown name: say which field named it)
            raise exc.located(prefix=("software", "profile")) from None
        if spec.framework is not None and spec.framework is not prof.framework:
            raise SpecError(
                f"profile '{prof.name}' is {prof.framework.value}, not {spec.framework.value}",
                path=["software", "framework"],
            )
        return prof, "", False
    if spec.framework is None:
        return profile(default_profile), "", True
    candidates = [profile(n) for n in profile_names(spec.framework)]
    version = spec.version or ""
    for prof in candidates:
        if version and any(re.search(p, version, flags=re.IGNORECASE) for p in prof.versions):
            return prof, "", False
    for prof in candidates:
        if prof.framework_default:
            if not version or not any(p.versions for p in candidates):
                return prof, "", True
            # a version the catalog does not place (a release between two profiles' eras, a typo): said, not hidden
            eras = ", ".join(p.name for p in candidates if p.versions)
            return prof, (f"software.version '{version}' matches none of {spec.framework.value}'s profiles "
                          f"({eras}); assumed '{prof.name}', its default"), True
    other = next(profile(n) for n in profile_names(Framework.OTHER) if profile(n).framework_default)
    return other, f"no software profile for {spec.framework.value}; assumed '{other.name}'", True


@lru_cache(maxsize=256)
def resolve(spec: SoftwareSpec | None, architecture: str, *, default_profile: str) -> Software:
    """The concrete stack of a run on GPUs of ``architecture``."""
    # (cached: the specs are frozen and hashable, the catalog is read once; a SpecError is not cached)
    spec = spec or SoftwareSpec()
    prof, note, assumed = pick_profile(spec, default_profile=default_profile)
    if architecture not in prof.attention:
        raise SpecError(
            f"software profile '{prof.name}' names no attention kernel for {architecture} GPUs",
            path=["software", "attention"],
        )
    values = {f.name: getattr(prof, f.name) for f in fields(Software) if hasattr(prof, f.name)}
    values["attention"] = prof.attention[architecture]
    values["zero_stages"] = tuple(prof.zero_stages)
    values["selective_options"] = tuple(prof.selective_recompute_options)
    values["recompute_modes"] = tuple(prof.recompute_modes)
    values["pipeline_zero_max"] = 3 if prof.pipeline_zero_max is None else prof.pipeline_zero_max
    values["zero3_grad_reduce_dtype"] = prof.zero3_grad_reduce_dtype or prof.grad_reduce_dtype
    values["fp16_grad_reduce_dtype"] = prof.fp16_grad_reduce_dtype or prof.grad_reduce_dtype
    values["fp8_grad_reduce_dtype"] = prof.fp8_grad_reduce_dtype or prof.grad_reduce_dtype
    values["fp8_zero3_grad_reduce_dtype"] = prof.fp8_grad_reduce_dtype or values["zero3_grad_reduce_dtype"]
    values["routing_by_profile"] = "expert_routing" in prof.model_fields_set
    stated = tuple(k for k in OVERRIDABLE if getattr(spec, k) is not None)
    for key in stated:
        values[key] = getattr(spec, key)
    if "grad_reduce_dtype" in stated:
        for key in ("zero3_grad_reduce_dtype", "fp16_grad_reduce_dtype", "fp8_grad_reduce_dtype",
                    "fp8_zero3_grad_reduce_dtype"):
            values[key] = spec.grad_reduce_dtype
    named = _named_in_version(spec.version)
    for key, value, said in named:
        if key not in stated and value is not values[key]:  # (a field the run states wins over its version text)
            values[key] = value
            note = "; ".join(n for n in (note, said) if n)
    values["schedule_by_profile"] = ("pipeline_schedule" not in stated
                                     and all(key != "pipeline_schedule" for key, _, _ in named))
    values["schedule_fallbacks"] = tuple(prof.pipeline_schedule_fallbacks)
    if values["pipeline_schedule"] is not PipelineSchedule.ONE_F_ONE_B:
        values["interleave"] = False  # DualPipe and ZB-H1 run one model chunk per stage (and direction)
    if values["attention"] is AttentionKernel.FLASH3 and architecture != "hopper":
        raise SpecError(
            f"FlashAttention-3 runs on Hopper GPUs only, not {architecture}", path=["software", "attention"]
        )
    return Software(profile=prof.name, framework=prof.framework, stated=stated, note=note, profile_assumed=assumed,
                    **{k: v for k, v in values.items() if k not in ("profile", "framework", "stated", "note")})


_K = TypeVar("_K", EpDispatcher, PipelineSchedule)

#: A version text naming DeepSpeed-Ulysses (Jacobs et al. 2023) says its context parallelism is all-to-all.
_ULYSSES = re.compile(r"ulysses", re.IGNORECASE)

#: How a run's version text names the MoE token dispatcher it ran (Megatron-core --moe-token-dispatcher-type
#: alltoall, or flex with the DeepEP backend): "...; DeepEP dispatcher", "all-to-all token dispatcher".
_DISPATCHER_WORDS = (
    # DeepEP, and the hierarchical dispatchers of its kind behind Megatron-core's flex dispatcher: HybridEP
    # (--moe-flex-dispatcher-backend hybridep, the Megatron-Bridge presets' choice from late 2025) also sends a
    # token over the network once per destination server and fans it out over NVLink
    (re.compile(r"deep[ _-]?ep|hybrid[ _-]?ep|\bflex (token )?dispatcher", re.IGNORECASE), EpDispatcher.DEEPEP),
    (re.compile(r"\ball[ _-]?to[ _-]?all\b|\balltoall\b|\ba2a\b", re.IGNORECASE), EpDispatcher.ALLTOALL),
)


def _one_named(words: tuple[tuple[re.Pattern[str], _K], ...], version: str | None) -> _K | None:
    """The kind a version text names by ``words`` (pattern, kind), if it names exactly one."""
    found = {kind for pattern, kind in words if version and pattern.search(version)}
    return found.pop() if len(found) == 1 else None


#: How a version text says the expert all-to-all overlaps another micro-batch's compute: a switch set
#: explicitly (the MoE model zoo's A2A_OVERLAP=0/1), or a schedule built on it (DeepSeek-V3's DualPipe
#: overlaps a forward and a backward chunk's communication and compute, report Sec. 3.2.1; Megatron-core's
#: --overlap-moe-expert-parallel-comm, the model zoo's "1F1B overlap").
_EP_OVERLAP_SWITCH = re.compile(r"a2a[ _-]?overlap\s*[=:]\s*(1|0|true|false)\b", re.IGNORECASE)
_EP_OVERLAP_WORDS = re.compile(r"dual[ _-]?pipe|1f1b[ _-]overlap|overlap[ _-]moe[ _-]expert[ _-]parallel[ _-]comm",
                               re.IGNORECASE)


#: How a version text names a pipeline schedule other than 1F1B: DeepSeek-V3's DualPipe (report Sec. 3.2.1,
#: deepseek-ai/DualPipe), or a zero-bubble schedule (Qi et al. 2024, "Zero Bubble Pipeline Parallelism": ZB-H1,
#: which the DeepSeek-V3 report's Table 2 calls ZB1P).
_SCHEDULE_WORDS = (
    (re.compile(r"dual[ _-]?pipe", re.IGNORECASE), PipelineSchedule.DUALPIPE),
    (re.compile(r"zero[ _-]?bubble|\bzb[ _-]?h1\b|\bzb1p\b", re.IGNORECASE), PipelineSchedule.ZERO_BUBBLE),
)


def _named_in_version(version: str | None) -> list[tuple[str, object, str]]:
    """(profile field, value, note) for what a run's version text says beyond picking the profile."""
    out: list[tuple[str, object, str]] = []
    schedule = _one_named(_SCHEDULE_WORDS, version)
    if schedule is not None:
        out.append(("pipeline_schedule", schedule, f"the version names the {schedule.value} pipeline schedule"))
    if version and _ULYSSES.search(version):
        out.append(("cp_comm_type", CpCommType.A2A, "the version names Ulysses (all-to-all) context parallelism"))
    dispatcher = _one_named(_DISPATCHER_WORDS, version)
    if dispatcher is not None:
        out.append(("ep_dispatcher", dispatcher, f"the version names the {dispatcher.value} token dispatcher"))
    overlap = _ep_overlap_named(version)
    if overlap is not None:
        said = "overlaps" if overlap else "does not overlap"
        out.append(("ep_comm_overlap", overlap, f"the version says the stack {said} the expert all-to-all"))
    return out


def _ep_overlap_named(version: str | None) -> bool | None:
    """Whether a version text says the expert all-to-all is overlapped (None: it does not say)."""
    if not version:
        return None
    switch = _EP_OVERLAP_SWITCH.search(version)
    if switch:
        return switch.group(1).lower() in ("1", "true")
    return True if _EP_OVERLAP_WORDS.search(version) else None


def _why_not(schedule: PipelineSchedule, layout: LayoutSpec) -> str:
    """Why a stated layout cannot run ``schedule`` ('' when it can): ``perf.layout``'s schedule rules, on the
    one layout the run states."""
    if layout.pp == 1:
        return ""
    m = layout.num_micro_batches
    for broken, rule in schedule_rules(SCHEDULE_CODES.index(schedule), layout.pp, layout.interleave, m):
        if broken:
            return f"{rule}; it states pp {layout.pp}, interleave {layout.interleave}, {m} micro-batches"
    return ""


def _schedule_for_layout(sw: Software, layout: LayoutSpec) -> PipelineSchedule:
    """The schedule a run ran: its profile's default, unless the run named none and its stated layout cannot
    run that one, when the first of the stack's other schedules that it can run (1F1B runs every layout)."""
    if not sw.schedule_by_profile or not _why_not(sw.pipeline_schedule, layout):
        return sw.pipeline_schedule
    for schedule in sw.schedule_fallbacks:
        if not _why_not(schedule, layout):
            return schedule
    return sw.pipeline_schedule  # (no schedule of the stack runs it: the layout rules say why)


def widened_by_layout(sw: Software, layout: LayoutSpec, layers: int | None = None) -> Software:
    """The stack a run's stated layout shows it had, beyond what its profile offers.

    A profile says what a framework could run at a release, as far as its sources go; a run that
    states an interleaved schedule (or one whose virtual stages cannot all hold the same number of
    the model's ``layers``, or can only with the embedding and the loss as stages of their own),
    context or expert parallelism, sequence parallelism or a ZeRO
    stage beyond that ran it (a published run), or asks what it would take (a user's job): the
    layout is the evidence, and the estimate models the stack running it, with a note, instead of
    rejecting it. Where the profile was only assumed (a framework's default, the generic stack) the
    note says so; where the run's version matched the profile, the note flags the contradiction for
    the reader to judge. The planner, which has no stated layout, searches only what the profile
    offers.
    """
    given = layout.model_fields_set
    widen: dict[str, object] = {}
    schedule = _schedule_for_layout(sw, layout)
    if schedule is not sw.pipeline_schedule:
        sw = replace(sw, pipeline_schedule=schedule, note="; ".join(n for n in (sw.note, (
            f"the run's layout cannot run the {sw.pipeline_schedule.value} pipeline schedule of profile"
            f" '{sw.profile}' ({_why_not(sw.pipeline_schedule, layout)}): its stack's {schedule.value} schedule"
            " taken")) if n),
            interleave=sw.interleave or (schedule is PipelineSchedule.ONE_F_ONE_B and profile(sw.profile).interleave))
    if "tp" in given and layout.tp > 1 and not sw.tensor_parallel:
        widen["tensor_parallel"] = True
    if "pp" in given and layout.pp > 1 and not sw.pipeline_parallel:
        widen["pipeline_parallel"] = True
    one_chunk = sw.pipeline_schedule is not PipelineSchedule.ONE_F_ONE_B  # (an interleave > 1 is then refused)
    if "interleave" in given and layout.interleave > 1 and not sw.interleave and not one_chunk:
        widen["interleave"] = True
    if "interleave" in given and layout.interleave > 1 and layers is not None:
        chunks = layout.pp * layout.interleave
        if layers % chunks and (layers + 2) % chunks == 0 and not sw.embedding_loss_stages:
            widen["embedding_loss_stages"] = True  # 94 layers over pp 32 x v 3: the embedding and loss are stages
        elif layers % chunks and not (sw.embedding_loss_stages and (layers + 2) % chunks == 0):
            if not sw.uneven_virtual_stages:
                widen["uneven_virtual_stages"] = True
    if "cp" in given and layout.cp > 1 and not sw.context_parallel:
        widen["context_parallel"] = True
    if "ep" in given and layout.ep > 1 and not sw.expert_parallel:
        widen["expert_parallel"] = True
    if "sequence_parallel" in given and layout.sequence_parallel and not sw.sequence_parallel_supported:
        widen["sequence_parallel_supported"] = True
    if "zero" in given and layout.zero not in sw.zero_stages:
        widen["zero_stages"] = tuple(sorted({*sw.zero_stages, layout.zero}))
    if "precision" in given and layout.precision is Precision.FP8 and not sw.fp8:
        widen["fp8"] = True
    if ("interleave" in given and layout.interleave > 1 and sw.interleave_in_pp_groups
            and layout.num_micro_batches % layout.pp):
        widen["interleave_in_pp_groups"] = False
    if "zero" in given and layout.pp > 1 and layout.zero > sw.pipeline_zero_max:
        widen["pipeline_zero_max"] = layout.zero
    if "recompute" in given and layout.recompute not in sw.recompute_modes:
        widen["recompute_modes"] = tuple(m for m in Recompute if m in sw.recompute_modes or m is layout.recompute)
    if not widen:
        return sw
    names = {"tensor_parallel": "tensor parallelism", "pipeline_parallel": "pipeline parallelism",
             "interleave": "an interleaved pipeline schedule", "context_parallel": "context parallelism",
             "expert_parallel": "expert parallelism", "sequence_parallel_supported": "sequence parallelism",
             "zero_stages": f"ZeRO stage {layout.zero}",
             "recompute_modes": f"{layout.recompute.value} activation recompute",
             "pipeline_zero_max": f"ZeRO stage {layout.zero} beside pipeline parallelism",
             "interleave_in_pp_groups": "an interleaved schedule over micro-batches that are no whole groups of pp",
             "fp8": "FP8 training",
             "uneven_virtual_stages": "virtual pipeline stages of unequal layer counts",
             "embedding_loss_stages": "the embedding and the loss as pipeline stages"}
    said = ", ".join(names[k] for k in widen)
    if sw.profile_assumed:
        note = (f"the run's layout states {said}, which the assumed profile '{sw.profile}' does not offer: "
                "taken as what its stack ran")
    else:
        note = (f"the run's layout states {said}, which profile '{sw.profile}' (its stack at that version) "
                "does not offer: estimated as if the stack ran it")
    return replace(sw, note="; ".join(n for n in (sw.note, note) if n), **widen)  # type: ignore[arg-type]
