"""``estimate(run)``: step time and its breakdown, rates, memory and time to train of one run.

A run file may leave layout fields out; the model then uses documented
defaults, the software stack's first (``perf.software``):

* ``zero`` and ``sequence_parallel``: the stack's defaults (sequence
  parallelism only when tp > 1);
* ``interleave`` (with pp > 1): the fastest value the stack supports with
  whole layers per virtual stage;
* ``recompute``: the least recomputation that fits in memory (none, then
  selective, then full), as a practitioner would choose.

``Estimate.assumed`` lists which defaults were applied and
``Estimate.software`` which stack was assumed. ``estimate_many`` predicts many
runs in one vectorised pass (what ``validate`` and the calibration use).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
import itertools
from typing import Any

import numpy as np

from colossus import units
from colossus.errors import ColossusError, InfeasibleError, SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.compute import LOAD_CV, busiest_rank_load
from colossus.perf.context import SELECTIVE_CODES, Context, RunInputs, StaticRows, build_context, static_rows
from colossus.perf.flops import TokenFlops, token_flops
from colossus.perf.layout import (
    RC_SELECTIVE,
    RECOMPUTE_CODES,
    STACK_DEFAULT,
    Layouts,
    buildable_split,
    check,
    from_spec,
    stage_layer_slots,
    training_precision_problem,
)
from colossus.perf.memory import stage_of
from colossus.perf.network import default_fabric
from colossus.perf.software import Software, resolve, widened_by_layout
from colossus.perf.step import StepParts, step_memory, step_parts
from colossus.spec import (
    Convention,
    ExpertRouting,
    FabricSpec,
    GpuSpec,
    LayoutSpec,
    ModelSpec,
    Precision,
    Recompute,
    RunSpec,
    SelectiveRecompute,
    SoftwareSpec,
)

#: Layout fields a run may leave to the model's documented defaults.
DEFAULTED = ("recompute", "sequence_parallel", "zero", "interleave")

PART_NAMES = (
    "compute_s", "recompute_s", "tp_exposed_s", "cp_exposed_s", "ep_exposed_s",
    "pp_exposed_s", "bubble_s", "dp_exposed_s", "optimizer_s", "other_s",
)
MEMORY_NAMES = (
    "weights_bytes", "gradients_bytes", "optimizer_bytes", "activations_bytes",
    "comm_buffers_bytes", "reserved_bytes",
)


@dataclass(frozen=True)
class Estimate:
    """The predicted performance of one run (SI units; see ``as_dict`` for the JSON form)."""

    run_id: str
    layout: LayoutSpec
    assumed: dict[str, Any]
    software: Software
    num_gpus: int
    step_time_s: float
    parts_s: dict[str, float]
    tokens_per_step: float
    model_flop_per_token: float
    hardware_flop_per_token: float
    model_causal_flop_per_token: float
    peak_flop_per_s: float  # dense BF16 peak: the denominator of MFU and HFU
    memory_bytes: dict[str, float]
    hbm_bytes: float
    bound: str  # the largest part of the step
    notes: list[str] = field(default_factory=list)
    #: what ``recompute: selective`` repeated in this layout (None when it does not recompute selectively)
    selective_recompute: SelectiveRecompute | None = None
    #: whether the model has mixture-of-experts layers (its prediction range is of runs of its kind)
    moe: bool = False

    @property
    def layout_label(self) -> str:
        """``LayoutSpec.label`` with the selective-recompute policy where it is not the stack's own (what it
        takes to state the layout again: ``rc=selective(norm)``)."""
        label = self.layout.label
        policy = self.selective_recompute
        if policy is None or policy is self.software.selective_recompute:
            return label
        return label.replace("rc=selective", f"rc=selective({policy.value})", 1)

    @property
    def tokens_per_s_per_gpu(self) -> float:
        return self.tokens_per_step / self.step_time_s / self.num_gpus

    @property
    def tflops_per_gpu(self) -> float:
        """Model TFLOP/s per GPU."""
        return self.tokens_per_s_per_gpu * self.model_flop_per_token / units.TFLOP_PER_S

    @property
    def hardware_tflops_per_gpu(self) -> float:
        return self.tokens_per_s_per_gpu * self.hardware_flop_per_token / units.TFLOP_PER_S

    @property
    def mfu(self) -> float:
        return self.tflops_per_gpu * units.TFLOP_PER_S / self.peak_flop_per_s

    @property
    def hfu(self) -> float:
        return self.hardware_tflops_per_gpu * units.TFLOP_PER_S / self.peak_flop_per_s

    @property
    def memory_per_gpu_bytes(self) -> float:
        return sum(self.memory_bytes.values())

    @property
    def fits(self) -> bool:
        return self.memory_per_gpu_bytes <= self.hbm_bytes

    def time_to_train_s(self, tokens: float) -> float:
        """Wall time to train on ``tokens`` tokens at this step rate (no failures or restarts)."""
        return tokens / (self.tokens_per_step / self.step_time_s)

    def metric(self, name: str, convention: Convention | None = None) -> float:
        """A predicted metric by the name ``MeasuredSpec`` uses, in the same FLOP convention."""
        flop_per_token = {
            Convention.HARDWARE: self.hardware_flop_per_token,
            Convention.MODEL_CAUSAL: self.model_causal_flop_per_token,
        }.get(convention, self.model_flop_per_token)  # type: ignore[arg-type]
        tflops = self.tokens_per_s_per_gpu * flop_per_token / units.TFLOP_PER_S
        values = {
            "tflops_per_gpu": tflops,
            "mfu": tflops * units.TFLOP_PER_S / self.peak_flop_per_s,
            "step_time_s": self.step_time_s,
            "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu,
        }
        return values[name]

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.run_id,
            "layout": self.layout.model_dump(mode="json"),
            "assumed": self.assumed,
            "software": self.software.as_dict(),
            "num_gpus": self.num_gpus,
            "step_time_s": self.step_time_s,
            "breakdown_s": self.parts_s,
            "bound": self.bound,
            "mfu": self.mfu,
            "hfu": self.hfu,
            "tflops_per_gpu": self.tflops_per_gpu,
            "hardware_tflops_per_gpu": self.hardware_tflops_per_gpu,
            "tokens_per_s_per_gpu": self.tokens_per_s_per_gpu,
            "tokens_per_step": self.tokens_per_step,
            "model_flop_per_token": self.model_flop_per_token,
            "hardware_flop_per_token": self.hardware_flop_per_token,
            "memory_per_gpu_bytes": self.memory_per_gpu_bytes,
            "memory_breakdown_bytes": self.memory_bytes,
            "hbm_bytes": self.hbm_bytes,
            "fits": self.fits,
            "selective_recompute": getattr(self.selective_recompute, "value", None),
            "notes": self.notes,
        }


# --- inputs ------------------------------------------------------------------------


def effective_gpu(gpu: GpuSpec, hbm_gb: float | None = None, hbm_gb_per_s: float | None = None) -> GpuSpec:
    """The GPU with a stated HBM variant (capacity in GB = 1e9 bytes, bandwidth in GB/s)."""
    update: dict[str, float] = {}
    if hbm_gb is not None:
        update["hbm_gib"] = hbm_gb * 1e9 / units.GIB
    if hbm_gb_per_s is not None:
        update["hbm_tb_per_s"] = hbm_gb_per_s / 1000.0
    return gpu.model_copy(update=update) if update else gpu


def software_for(spec: SoftwareSpec | None, gpu: GpuSpec, assumptions: PerfAssumptions) -> Software:
    default = str(assumptions.get("compute.software.default_profile"))
    return resolve(spec, gpu.architecture, default_profile=default)


_FABRICS: dict[tuple, FabricSpec] = {}


def _default_fabric(gpu: GpuSpec, nic: float | None, assumptions: PerfAssumptions) -> FabricSpec:
    key = (gpu.architecture, nic, id(assumptions))
    if key not in _FABRICS:
        if len(_FABRICS) > 256:
            _FABRICS.clear()
        _FABRICS[key] = default_fabric(gpu, nic, assumptions)
    return _FABRICS[key]


def run_inputs(run: RunSpec, assumptions: PerfAssumptions, fabric: FabricSpec | None = None) -> RunInputs:
    """The layout-independent inputs of a measured or planned run."""
    c = run.cluster
    gpu = effective_gpu(c.gpu, c.hbm_gb, c.hbm_gb_per_s)
    if problem := training_precision_problem(run.layout.precision):
        raise SpecError(problem, path=["layout", "precision"])
    if not gpu.supports(run.layout.precision):
        raise SpecError(f"{gpu.name} has no {run.layout.precision.value} tensor cores", path=["layout", "precision"])
    fabric = fabric or _default_fabric(gpu, c.nic_gbit_per_s, assumptions)
    sw = widened_by_layout(software_for(run.software, gpu, assumptions), run.layout, run.model.layers)
    check_selective_policy(run.model, sw)
    return RunInputs(run.model, gpu, sw, fabric, c.gpus, c.gpus_per_node, c.power_limit_w)


#: What each policy that needs a block of the model recomputes, and the block (the model field) it needs.
_POLICY_NEEDS = {
    SelectiveRecompute.NORM_ACT: ("the norms and the MoE activation (Megatron-core's moe_act)", "moe"),
    SelectiveRecompute.NORM_MOE: ("the norms and the whole MoE block", "moe"),
    SelectiveRecompute.MLA_UP: ("multi-head latent attention's up-projections", "mla"),
    SelectiveRecompute.NORM_MLA_UP: ("the norms and multi-head latent attention's up-projections", "mla"),
}


def check_selective_policy(model: ModelSpec, sw: Software) -> None:
    """A stated selective-recompute policy must have its modules in the model: a policy for MoE or MLA
    layers on a model without them recomputes nothing the model names (it was priced as if it did)."""
    policy = sw.selective_recompute
    if "selective_recompute" not in sw.stated or policy not in _absent_policies(model):
        return
    what, block = _POLICY_NEEDS[policy]
    applies = [p.value for p in SelectiveRecompute if p not in _absent_policies(model)]
    raise SpecError(f"'{policy.value}' recomputes {what}, and the model has no {block}: block; the policies that"
                    f" apply to it: {', '.join(applies)}", path=["software", "selective_recompute"])


# --- defaults: the candidates a run leaves open -----------------------------------


def _interleaves(run: RunSpec, sw: Software) -> list[int]:
    """Interleave values to try when a run leaves it out: whole layers per virtual stage (the same number on
    each, unless the stack lets virtual stages differ)."""
    lay = run.layout
    if lay.pp == 1 or not sw.interleave:
        return [1]
    probe = from_spec(lay)
    vs = np.arange(1, run.model.layers // lay.pp + 2)
    probes = replace(probe.take(np.zeros(vs.size, dtype=np.int64)), v=vs)
    split = buildable_split(np.array([run.model.layers]), probes, np.array([sw.embedding_loss_stages]),
                            np.array([sw.uneven_virtual_stages]))
    m = lay.num_micro_batches
    grouped = m >= lay.pp and (not sw.interleave_in_pp_groups or m % lay.pp == 0)
    ok = split & ((vs == 1) | grouped) & (vs * lay.pp <= run.model.layers + 2)
    # more virtual stages with the same fullest one (an uneven split) add sends and memory, not speed
    fullest = np.ceil(stage_layer_slots(np.array([run.model.layers]), probes, np.array([sw.embedding_loss_stages]))
                      / (lay.pp * vs))
    kept: dict[float, int] = {}
    for v, size in zip(vs[ok], fullest[ok], strict=True):
        kept.setdefault(float(size), int(v))
    return sorted(kept.values()) or [1]


def _options(given: set[str], name: str, stated, offered: list) -> list:
    return [stated] if name in given else offered


def candidates(run: RunSpec, sw: Software) -> tuple[Layouts, np.ndarray, dict[str, Any]]:
    """The run's layout with every option it leaves open, as rows; and which rows keep the stack's defaults.

    An option the run leaves open goes to the fastest value that fits in memory,
    among what the stack offers (its ZeRO stages; sequence parallelism with
    tp > 1, always on with TE's TP overlap, which needs it): a published run was
    tuned, and a planner would tune it. Rows that keep the stack's own defaults
    (its ZeRO stage and sequence-parallel setting) win near-ties.

    ``recompute: selective`` without ``software.selective_recompute`` leaves the
    modules open too: the stack's default policy, or one of the further policies
    its profile offers (each saving more memory: Megatron-core's
    ``--recompute-modules``), the fastest that fits, as a team tunes them; a run
    that leaves the recompute out may also recompute the norms alone
    (``selective_options``).
    """
    spec = run.layout
    given = set(spec.model_fields_set)
    zero_default = sw.zero if sw.zero in sw.zero_stages else sw.zero_stages[0]
    zeros = _options(given, "zero", spec.zero, [zero_default] + [z for z in sw.zero_stages if z != zero_default])
    if "sequence_parallel" in given:
        sps = [spec.sequence_parallel]
    elif spec.tp == 1 or not sw.sequence_parallel_supported:
        sps = [False]
    elif sw.tp_comm_overlap:
        sps = [True]  # Transformer Engine's TP overlap requires sequence parallelism
    else:
        sps = [sw.sequence_parallel, not sw.sequence_parallel]
    rcs = _options(given, "recompute", RECOMPUTE_CODES.index(spec.recompute),
                   [RECOMPUTE_CODES.index(m) for m in sw.recompute_modes])
    vs = _options(given, "interleave", spec.interleave, _interleaves(run, sw))
    sels = [STACK_DEFAULT] + [SELECTIVE_CODES.index(o)
                              for o in selective_options(run.model, sw, recompute_open="recompute" not in given)]
    grid = np.array([(z, sp, rc, v, sel) for z, sp, rc, v in itertools.product(zeros, sps, rcs, vs)
                     for sel in (sels if rc == RC_SELECTIVE else [STACK_DEFAULT])], dtype=np.int64)
    lay = from_spec(spec).take(np.zeros(len(grid), dtype=np.int64))
    lay = replace(lay, zero=grid[:, 0], sp=grid[:, 1].astype(bool), rc=grid[:, 2], v=grid[:, 3], sel=grid[:, 4])
    preferred = (grid[:, 0] == zeros[0]) & (grid[:, 1] == int(sps[0])) & (grid[:, 4] == STACK_DEFAULT)
    assumed: dict[str, Any] = {}
    for name in ("zero", "sequence_parallel", "recompute", "interleave"):
        if name not in given:
            assumed[name] = None  # filled with the value picked
    if "micro_batch" not in given:  # (not searched: the format's default, one sequence, said so)
        assumed["micro_batch"] = None
    if "etp" not in given and spec.ep > 1 and spec.tp > 1:
        # (not searched: experts whole on a rank, ETP 1, as the Megatron MoE model zoo's recipes state it beside
        # TP 2-4; Megatron-core splits them like the attention where its flag is left unset: said so)
        assumed["etp"] = None
    if len(sels) > 1 and RC_SELECTIVE in rcs:
        assumed["selective_recompute"] = None
    return lay, preferred, assumed


def selective_options(model: ModelSpec, sw: Software, recompute_open: bool = True) -> list[SelectiveRecompute]:
    """Selective-recompute policies beyond the stack's default that a run (or a plan) leaves open: none where the
    policy is stated, and none whose modules the model lacks.

    The norms alone (``norm``) are open only where the recompute itself is (a run that leaves it out, a plan)
    and on dense models: a run that says ``selective`` ran its stack's selective modules (Megatron's core
    attention unless memory asked for more), and on a mixture of experts the recipes recompute the norms with
    the MoE activation or block (the model zoo's Qwen3 recipes pass ``--recompute-modules layernorm
    moe_act``), which ``norm_act`` and ``norm_moe`` are."""
    if "selective_recompute" in sw.stated:
        return []
    norm_open = recompute_open and model.moe is None
    return [o for o in sw.selective_options if o is not sw.selective_recompute and o not in _absent_policies(model)
            and (norm_open or o is not SelectiveRecompute.NORM)]


def _absent_policies(model: ModelSpec) -> tuple[SelectiveRecompute, ...]:
    """Policies whose modules a model lacks (``_POLICY_NEEDS``): the MoE ones without experts, the MLA ones
    without MLA."""
    return tuple(p for p, (_, block) in _POLICY_NEEDS.items() if getattr(model, block) is None)


# --- the vectorised core -----------------------------------------------------------


@dataclass(frozen=True)
class _Batch:
    """Candidate rows of several runs, evaluated together."""

    ctx: Context
    lay: Layouts
    owner: np.ndarray  # run index of each row
    parts: StepParts
    memory: Any
    preferred: np.ndarray | None = None  # rows that keep the stack's defaults


def _evaluate(inputs: Sequence[RunInputs], lay: Layouts, owner: np.ndarray, preferred: np.ndarray,
              assumptions: PerfAssumptions, static: StaticRows | None = None, ctx: Context | None = None) -> _Batch:
    ctx = ctx if ctx is not None else build_context(inputs, assumptions, static)
    if len(inputs) > 1:
        ctx = ctx.take(owner)  # one run's row is left as it is: it broadcasts over that run's layouts
    stage = stage_of(ctx, lay)
    return _Batch(ctx, lay, owner, step_parts(ctx, lay, stage), step_memory(ctx, lay, stage), preferred)


#: Options a run leaves open go to the fastest that fits; the stack's defaults win within this margin.
TIE_FRAC = 0.002
#: An open option that misses the memory by at most this share of the HBM is named in a note when it would
#: be faster by at least ``NEAR_MISS_GAIN_FRAC``: the memory model's reserve (framework buffers and allocator
#: fragmentation, assumptions of about 4% of an 80 GB GPU: catalog perf_memory.toml) is what decides it.
NEAR_MISS_FRAC = 0.05
NEAR_MISS_GAIN_FRAC = 0.03


#: How a note that the memory reserve decides a layout begins its reason (``validate`` carries such a note).
RESERVE_DECIDES = "a margin the memory model's assumed reserve decides"


def _over_reserve_text(batch: _Batch, row: int) -> str:
    """``needs X of Y GiB (Z% over): a margin the memory model's assumed reserve decides (...)`` for ``row``."""
    k = batch.ctx.k
    framework_bytes = float(np.ravel(k["mem_framework_bytes"])[0])
    fragmentation_frac = float(np.ravel(k["mem_fragmentation_frac"])[0])
    need_bytes = float(batch.memory.total_bytes[row])
    hbm_bytes = float(np.broadcast_to(batch.ctx.hbm_bytes, batch.owner.shape)[row])
    return (f"needs {need_bytes / units.GIB:.1f} of {hbm_bytes / units.GIB:.1f} GiB"
            f" ({need_bytes / hbm_bytes - 1.0:.1%} over): {RESERVE_DECIDES} ({framework_bytes / 1e9:.1f} GB for the"
            f" framework, {fragmentation_frac:.0%} allocator fragmentation; catalog perf_memory.toml)")


def _thin_margin_note(batch: _Batch, row: int) -> str | None:
    """A note when the layout taken misses the memory by a margin the assumed reserve decides (a layout a team
    ran that the model finds 2% over says so, rather than only that it does not fit), else None."""
    need_per_hbm = float(batch.memory.total_bytes[row] / np.broadcast_to(batch.ctx.hbm_bytes, batch.owner.shape)[row])
    return _over_reserve_text(batch, row) if 0.0 < need_per_hbm - 1.0 <= NEAR_MISS_FRAC else None


def pick_rows(batch: _Batch, valid: np.ndarray, num_owners: int) -> tuple[np.ndarray, np.ndarray]:
    """Per run, the row to report: the fastest valid row that fits (the stack's defaults winning near-ties),
    else the valid row needing the least memory; -1 if none is valid.

    Returns (row per run, True where no valid row fits in memory). One lexsort for every run at once.
    """
    total = batch.memory.total_bytes
    fits = total <= batch.ctx.hbm_bytes
    tier = ~fits  # rows that fit first
    # the stack's own defaults win ties (within TIE_FRAC): a tuned run keeps a default that costs nothing
    time = batch.parts.step_time_s
    if batch.preferred is not None:
        time = time * np.where(batch.preferred, 1.0, 1.0 + TIE_FRAC)
    key = np.where(fits, time, total)
    if num_owners == 1:  # one run (estimate): its best row, without grouping by owner
        best = int(np.lexsort((key, tier, ~valid))[0])
        none_fit = bool(valid[best] and not fits[best])
        return np.array([best if valid[best] else -1]), np.array([none_fit])
    order = np.lexsort((key, tier, ~valid, batch.owner))
    first = np.full(num_owners, -1, dtype=np.int64)
    owners = batch.owner[order]
    starts = np.flatnonzero(np.r_[True, owners[1:] != owners[:-1]])
    first[owners[starts]] = order[starts]
    chosen = np.where(first >= 0, first, 0)
    first = np.where(valid[chosen] & (first >= 0), first, -1)
    return first, (first >= 0) & ~fits[chosen]


@dataclass(frozen=True)
class PreparedRuns:
    """Runs turned into inputs and candidate layouts once, to be evaluated under many assumptions.

    What a run *is* (its stack, fabric, candidates) comes from the assumptions
    given to ``prepare``; ``evaluate`` may then use others for the model's
    constants (what the calibration varies).
    """

    runs: tuple[RunSpec, ...]
    errors: dict[int, ColossusError]
    inputs: tuple[RunInputs, ...]
    lays: tuple[Layouts, ...]
    preferred: np.ndarray  # rows that keep the stack's defaults (all runs' rows, concatenated)
    meta: tuple[tuple[int, dict[str, Any]], ...]
    static: StaticRows | None
    lay: Layouts | None  # every run's candidate rows, concatenated
    owner: np.ndarray  # prepared run of each row
    reasons: np.ndarray  # why each row is invalid ('' if valid): it does not depend on the assumptions
    ctx: Context | None = None  # the context under the assumptions ``prepare`` was given
    assumptions: PerfAssumptions | None = None
    valid: np.ndarray | None = None  # reasons == '' (rows valid whatever the assumptions)
    #: what an evaluation under ``assumptions`` produced (the batch, each picked row's layout spec, each run's
    #: FLOP counts): every input is frozen, so the same prepared runs under the same assumptions give the
    #: same numbers, and an estimate asked again only builds its ``Estimate`` (other assumptions, as a
    #: calibration passes, are evaluated afresh and not kept)
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    @staticmethod
    def prepare(
        runs: Sequence[RunSpec], assumptions: PerfAssumptions, fabric: FabricSpec | None = None
    ) -> PreparedRuns:
        errors: dict[int, ColossusError] = {}
        inputs, lays, prefs, meta = [], [], [], []
        for i, run in enumerate(runs):
            try:
                inp = run_inputs(run, assumptions, fabric)
                lay, preferred, assumed = candidates(run, inp.software)
            except ColossusError as exc:
                errors[i] = exc
                continue
            inputs.append(inp)
            lays.append(lay)
            prefs.append(preferred)
            meta.append((i, assumed))
        if not inputs:
            empty = np.zeros(0, dtype=np.int64)
            return PreparedRuns(tuple(runs), errors, (), (), empty.astype(bool), (), None, None, empty,
                                empty.astype(object))
        static = static_rows(inputs)
        lay = Layouts.concat(lays)
        owner = np.concatenate([np.full(x.size, i) for i, x in enumerate(lays)])
        ctx = build_context(inputs, assumptions, static)
        rows = ctx.take(owner) if len(inputs) > 1 else ctx  # one run's row broadcasts over its layouts
        reasons = check(lay, rows, num_gpus=rows.num_gpus)
        return PreparedRuns(tuple(runs), errors, tuple(inputs), tuple(lays), np.concatenate(prefs), tuple(meta),
                            static, lay, owner, reasons, ctx, assumptions, reasons == "")

    def evaluate(self, assumptions: PerfAssumptions) -> list[Estimate | ColossusError]:
        results: list[Estimate | ColossusError | None] = [None] * len(self.runs)
        for i, exc in self.errors.items():
            results[i] = exc
        if self.inputs:
            batch, reasons, picks, none_fit = self.evaluate_batch(assumptions)
            for j, (i, assumed) in enumerate(self.meta):
                pick = int(picks[j])
                if pick < 0:
                    first = int(np.flatnonzero(batch.owner == j)[0])
                    results[i] = InfeasibleError(f"{self.runs[i].id}: invalid layout: {reasons[first]}")
                    continue
                inp = self.inputs[j]
                spec, flops = self._spec_flops(batch, pick, j, assumptions)
                resolved = _resolve_assumed(assumed, spec, int(batch.lay.sel[pick]), inp.software)
                est = make_estimate(self.runs[i].id, inp, batch, pick, resolved, spec, flops)
                several = self.lays[j].size > 1
                notes = ["no option left to the model's defaults fits in memory"] if none_fit[j] and several else []
                if none_fit[j]:
                    thin = _thin_margin_note(batch, pick)
                    notes += [thin] if thin else []
                if several and not none_fit[j]:
                    near = self._near_miss(batch, pick, j, resolved, assumptions)
                    notes += [near] if near else []
                notes += [inp.software.note] if inp.software.note else []
                notes += [_above_tdp_note(inp)] if (inp.power_limit_w or 0.0) > inp.gpu.tdp_w else []
                est.notes.extend(notes + _routing_note(inp, spec, assumptions))
                results[i] = est
        return [r for r in results if r is not None]

    def _near_miss(self, batch: _Batch, pick: int, j: int, assumed: dict[str, Any],
                   assumptions: PerfAssumptions) -> str | None:
        """A note when an option the run left open would be clearly faster but misses the memory by a margin
        the memory model's assumed reserve decides (``NEAR_MISS_FRAC``), else None."""
        key = ("near", pick, j)
        own = assumptions is self.assumptions
        if own and key in self.memo:
            return self.memo[key]
        over = batch.memory.total_bytes / batch.ctx.hbm_bytes - 1.0
        pick_time = float(batch.parts.step_time_s[pick])
        near = (over > 0.0) & (over <= NEAR_MISS_FRAC) & (
            batch.parts.step_time_s < pick_time * (1.0 - NEAR_MISS_GAIN_FRAC))
        note = None
        if near.any():  # (rarely: the rest only then)
            near &= self.valid if self.valid is not None else self.reasons == ""
            if len(self.inputs) > 1:
                near &= batch.owner == j
        if near.any():
            rows = np.flatnonzero(near)
            row = int(rows[np.argmin(batch.parts.step_time_s[rows])])
            mine, theirs = batch.lay.spec(pick, validated=True), batch.lay.spec(row, validated=True)
            options = [f"{k} {getattr(getattr(theirs, k), 'value', getattr(theirs, k))}" for k in assumed
                       if k != "selective_recompute" and getattr(theirs, k) != getattr(mine, k)]
            if ("selective_recompute" in assumed and theirs.recompute is Recompute.SELECTIVE
                    and batch.lay.sel[row] != batch.lay.sel[pick]):
                policy = _selective_in(int(batch.lay.sel[row]), theirs, self.inputs[j].software)
                options.append(f"selective recompute of {getattr(policy, 'value', policy)}")
            note = (f"{', '.join(options) or 'another option left open'} would be"
                    f" {1.0 - float(batch.parts.step_time_s[row]) / pick_time:.0%} faster but"
                    f" {_over_reserve_text(batch, row)}")
        if own:
            self.memo[key] = note
        return note

    def _spec_flops(self, batch: _Batch, pick: int, j: int,
                    assumptions: PerfAssumptions) -> tuple[LayoutSpec, TokenFlops]:
        """The picked row's layout spec and run ``j``'s FLOP counts (kept under the prepared assumptions)."""
        key = ("spec", pick, j)
        hit = self.memo.get(key) if assumptions is self.assumptions else None
        if hit is None:
            # (a picked row is the run's validated layout with options its stack offers)
            hit = (batch.lay.spec(pick, validated=True), token_flops(self.inputs[j].model))
            if assumptions is self.assumptions:
                self.memo[key] = hit
        return hit

    def evaluate_batch(self, assumptions: PerfAssumptions) -> tuple[_Batch, np.ndarray, np.ndarray, np.ndarray]:
        """(every candidate row evaluated, invalidity reasons, the row picked per prepared run, none fit)."""
        assert self.lay is not None
        own = assumptions is self.assumptions
        if own and "batch" in self.memo:
            return self.memo["batch"]
        cached = self.ctx if own else None
        batch = _evaluate(self.inputs, self.lay, self.owner, self.preferred, assumptions, self.static, cached)
        valid = self.valid if self.valid is not None else self.reasons == ""
        picks, none_fit = pick_rows(batch, valid, len(self.inputs))
        result = batch, self.reasons, picks, none_fit
        if own:
            self.memo["batch"] = result
        return result


def _above_tdp_note(inp: RunInputs) -> str:
    """What a power limit above the GPU's TDP is taken as (a GPU is not set above its TDP; a variant with a
    higher TDP is a GPU of its own: a catalog override of ``tdp_w``)."""
    return (f"power limit {inp.power_limit_w:g} W is above {inp.gpu.name}'s TDP ({inp.gpu.tdp_w:g} W): taken at"
            f" the TDP (a variant with a higher TDP is a GPU override: {{name: {inp.gpu.name}, tdp_w: ...}})")


def _routing_note(inp: RunInputs, spec: LayoutSpec, assumptions: PerfAssumptions) -> list[str]:
    """How an expert-parallel MoE estimate routed its tokens: the benchmarks' forced balance unless stated."""
    moe, sw = inp.model.moe, inp.software
    if moe is None:
        return []
    if sw.expert_capacity_factor is not None:
        cap = sw.expert_capacity_factor
        if sw.expert_pad_to_capacity:
            return [f"token drop at capacity factor {cap:g}, padded: every expert runs {cap:g} x its mean share"]
        return [f"token drop at capacity factor {cap:g}: an expert's tokens beyond {cap:g} x its mean share are"
                " dropped before the dispatch, so the busiest expert-parallel rank takes at most that"]
    if spec.ep == 1:
        return []
    if sw.expert_routing is ExpertRouting.DROPLESS:
        cv, shipped = assumptions.f(LOAD_CV), default_assumptions().f(LOAD_CV)
        load = float(busiest_rank_load(cv, moe.experts, spec.ep))
        fitted = "fitted" if cv == shipped else f"the shipped {shipped:g} is fitted"
        return [f"dropless routing: the busiest of {spec.ep} expert-parallel ranks takes x{load:.2f} the mean"
                f" load ({LOAD_CV} = {cv:g}; {fitted} on a benchmark's fresh router, and a trained router is"
                " likely more even)"]
    if "expert_routing" in sw.stated:
        return []
    if sw.routing_by_profile:
        return [f"expert routing taken as {sw.expert_routing.value}, as the {sw.profile} profile says its stack"
                " routes (catalog software.toml); software expert_routing states another"]
    return ["expert routing taken as force-balanced, as published MoE benchmarks run it; training routes"
            " dropless (software expert_routing=dropless), which waits for the busiest expert-parallel rank"]


def estimate_many(
    runs: Sequence[RunSpec], *, assumptions: PerfAssumptions | None = None, fabric: FabricSpec | None = None
) -> list[Estimate | ColossusError]:
    """Predict many runs in one pass; a run that cannot be predicted gets its error instead."""
    a = assumptions or default_assumptions()
    return PreparedRuns.prepare(runs, a, fabric).evaluate(a)


def _resolve_assumed(assumed: dict[str, Any], spec: LayoutSpec, sel: int, sw: Software) -> dict[str, Any]:
    """The value each defaulted option took in the picked row (``spec``, selective policy code ``sel``)."""
    out: dict[str, Any] = {}
    for key in assumed:
        if key == "selective_recompute":  # (only where the row recomputes selectively)
            policy = _selective_in(sel, spec, sw)
            if policy is not None:
                out[key] = policy.value
            continue
        value = getattr(spec, key)
        out[key] = getattr(value, "value", value)
    return out


#: ``estimate``'s prepared runs by identity of (run, assumptions, fabric), holding the objects themselves so
#: that an id is not reused while cached. All three are immutable, so a run estimated again (a sweep, the
#: dashboard, a calibration's callers) skips resolving its stack, its candidate layouts and its context.
_PREPARED: dict[tuple[int, int, int], tuple[RunSpec, PerfAssumptions, FabricSpec | None, PreparedRuns]] = {}
_PREPARED_MAX = 256


def prepared(run: RunSpec, assumptions: PerfAssumptions, fabric: FabricSpec | None = None) -> PreparedRuns:
    """``PreparedRuns.prepare([run], ...)``, remembered for the same (frozen) objects."""
    key = (id(run), id(assumptions), id(fabric))
    hit = _PREPARED.get(key)
    if hit is not None and hit[0] is run and hit[1] is assumptions and hit[2] is fabric:
        return hit[3]
    prep = PreparedRuns.prepare([run], assumptions, fabric)
    if len(_PREPARED) >= _PREPARED_MAX:
        _PREPARED.pop(next(iter(_PREPARED)), None)
    _PREPARED[key] = (run, assumptions, fabric, prep)
    return prep


def estimate(run: RunSpec, *, assumptions: PerfAssumptions | None = None, fabric: FabricSpec | None = None) -> Estimate:
    """Predict one run. ``InfeasibleError`` if its layout is invalid for the model, cluster and stack.

    A layout that does not fit in memory is still estimated: ``Estimate.fits`` says so.
    """
    a = assumptions or default_assumptions()
    result = prepared(run, a, fabric).evaluate(a)[0]
    if isinstance(result, ColossusError):
        raise result
    return result


def make_estimate(run_id: str, inputs: RunInputs, batch: _Batch, row: int, assumed: dict[str, Any],
                  spec: LayoutSpec | None = None, flops: TokenFlops | None = None) -> Estimate:
    """One row of an evaluated batch as an ``Estimate`` (``spec``, ``flops``: that row's layout and the
    run's FLOP counts, if known already)."""
    flops = token_flops(inputs.model) if flops is None else flops
    parts_s = {name: float(getattr(batch.parts, name)[row]) for name in PART_NAMES}
    memory_bytes = {name: float(getattr(batch.memory, name)[row]) for name in MEMORY_NAMES}
    spec = batch.lay.spec(row) if spec is None else spec
    policy = _selective_in(int(batch.lay.sel[row]), spec, inputs.software)
    return Estimate(
        run_id=run_id,
        layout=spec,
        assumed=assumed,
        software=inputs.software,
        num_gpus=inputs.num_gpus,
        step_time_s=float(batch.parts.step_time_s[row]),
        parts_s=parts_s,
        tokens_per_step=float(spec.global_batch * inputs.model.seq_len),
        model_flop_per_token=flops.model_flop,
        hardware_flop_per_token=flops.hardware_flop(spec.recompute, policy),
        model_causal_flop_per_token=flops.model_causal_flop,
        peak_flop_per_s=inputs.gpu.peak_flop_per_s(Precision.BF16),
        memory_bytes=memory_bytes,
        hbm_bytes=inputs.gpu.hbm_bytes,
        bound=max(parts_s, key=parts_s.__getitem__).removesuffix("_s"),
        selective_recompute=policy,
        moe=inputs.model.moe is not None,
    )


def _selective_in(sel: int, spec: LayoutSpec, sw: Software) -> SelectiveRecompute | None:
    """The selective-recompute policy a row ran: its own, else its stack's; None if it does not recompute so."""
    return policy_of(sel, sw) if spec.recompute is Recompute.SELECTIVE else None


def policy_of(sel: int, sw: Software) -> SelectiveRecompute:
    """The selective-recompute policy of a row's code ``sel``: its own, or its stack's (``STACK_DEFAULT``)."""
    return SELECTIVE_CODES[sel] if sel != STACK_DEFAULT else sw.selective_recompute


def run_context(run: RunSpec, assumptions: PerfAssumptions | None = None, fabric: FabricSpec | None = None) -> Context:
    """The one-row context of a run (what every candidate layout of it shares)."""
    a = assumptions or default_assumptions()
    return build_context([run_inputs(run, a, fabric)], a)


def evaluate_layouts(inputs: RunInputs, lay: Layouts, assumptions: PerfAssumptions) -> _Batch:
    """Every layout of ``lay`` for one run's inputs (the planner's pass)."""
    ctx = build_context([inputs], assumptions)
    stage = stage_of(ctx, lay)
    return _Batch(ctx, lay, np.zeros(lay.size, dtype=np.int64), step_parts(ctx, lay, stage),
                  step_memory(ctx, lay, stage))


__all__ = [
    "DEFAULTED",
    "Estimate",
    "MEMORY_NAMES",
    "PART_NAMES",
    "candidates",
    "effective_gpu",
    "estimate",
    "estimate_many",
    "PreparedRuns",
    "evaluate_layouts",
    "make_estimate",
    "run_context",
    "run_inputs",
    "software_for",
]
