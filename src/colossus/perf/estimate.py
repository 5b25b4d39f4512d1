"""``estimate(run)``: step time and its breakdown, rates, memory and time to train of one run.

A run file may leave layout fields out; the model then uses documented
defaults: ``recompute`` = the least recomputation that fits in memory (none,
then selective, then full), as a practitioner would choose;
``sequence_parallel`` and ``zero`` = the defaults of the software stack
assumed for the GPU generation (``perf_software.toml``). ``Estimate.assumed``
lists which defaults were applied.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from colossus import units
from colossus.errors import InfeasibleError, SpecError
from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.flops import token_flops
from colossus.perf.layout import RECOMPUTE_CODES, Layouts, check, from_spec
from colossus.perf.network import build_network, default_fabric
from colossus.perf.step import Context, StepParts, build_context, step_memory, step_parts
from colossus.spec import Convention, FabricSpec, GpuSpec, LayoutSpec, ModelSpec, Precision, RunSpec

#: Layout fields a run may leave to the model's documented defaults.
DEFAULTED = ("recompute", "sequence_parallel", "zero")


@dataclass(frozen=True)
class Estimate:
    """The predicted performance of one run (SI units; see ``as_dict`` for the JSON form)."""

    run_id: str
    layout: LayoutSpec
    assumed: dict[str, Any]
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
            "notes": self.notes,
        }


PART_NAMES = (
    "compute_s", "recompute_s", "tp_exposed_s", "cp_exposed_s", "ep_exposed_s",
    "pp_exposed_s", "bubble_s", "dp_exposed_s", "optimizer_s", "other_s",
)
MEMORY_NAMES = (
    "weights_bytes", "gradients_bytes", "optimizer_bytes", "activations_bytes",
    "comm_buffers_bytes", "reserved_bytes",
)


_CONTEXTS: dict[tuple, Context] = {}
_MAX_CONTEXTS = 256


def context_for(
    model: ModelSpec,
    gpu: GpuSpec,
    *,
    num_gpus: int,
    gpus_per_server: int,
    fabric: FabricSpec,
    precision: Precision,
    assumptions: PerfAssumptions,
) -> Context:
    """The layout-independent part of a run (cached: plan and validate reuse it)."""
    key = (model.model_dump_json(), gpu.model_dump_json(), num_gpus, gpus_per_server,
           fabric.model_dump_json(), precision, id(assumptions))
    ctx = _CONTEXTS.get(key)
    if ctx is not None and ctx.assumptions is assumptions:
        return ctx
    if not gpu.supports(precision):
        raise SpecError(f"{gpu.name} has no {precision.value} tensor cores", path=["layout", "precision"])
    network = build_network(gpu, fabric, num_gpus=num_gpus, gpus_per_server=gpus_per_server, assumptions=assumptions)
    ctx = build_context(model, gpu, network, precision, assumptions, num_gpus=num_gpus)
    if len(_CONTEXTS) >= _MAX_CONTEXTS:
        _CONTEXTS.clear()
    _CONTEXTS[key] = ctx
    return ctx


def run_context(run: RunSpec, assumptions: PerfAssumptions, fabric: FabricSpec | None = None) -> Context:
    cluster = run.cluster
    fabric = fabric or _default_fabric(cluster.gpu.architecture, cluster.gpu, cluster.nic_gbit_per_s, assumptions)
    return context_for(
        run.model, cluster.gpu, num_gpus=cluster.gpus, gpus_per_server=cluster.gpus_per_node,
        fabric=fabric, precision=run.layout.precision, assumptions=assumptions,
    )


_FABRICS: dict[tuple, FabricSpec] = {}


def _default_fabric(arch: str, gpu: GpuSpec, nic: float | None, assumptions: PerfAssumptions) -> FabricSpec:
    key = (arch, nic, id(assumptions))
    if key not in _FABRICS:
        _FABRICS[key] = default_fabric(gpu, nic, assumptions)
    return _FABRICS[key]


def _candidates(run: RunSpec, ctx: Context) -> tuple[Layouts, dict[str, Any]]:
    """The run's layout with defaults applied; every recompute / sequence-parallel option it leaves out."""
    given = run.layout.model_fields_set
    lay = from_spec(run.layout)
    assumed: dict[str, Any] = {}
    if "zero" not in given:
        lay = replace(lay, zero=np.array([int(ctx.profile["zero_default"])]))
        assumed["zero"] = int(ctx.profile["zero_default"])
    rc = np.arange(len(RECOMPUTE_CODES)) if "recompute" not in given else lay.rc
    sp = np.array([False, True]) if "sequence_parallel" not in given and run.layout.tp > 1 else lay.sp
    rc_grid, sp_grid = (a.ravel() for a in np.meshgrid(rc, sp, indexing="ij"))
    lay = replace(lay.take(np.zeros(rc_grid.size, dtype=np.int64)), rc=rc_grid, sp=sp_grid)
    if "recompute" not in given:
        assumed["recompute"] = "fastest that fits"
    if "sequence_parallel" not in given:
        assumed["sequence_parallel"] = "fastest that fits"
    return lay, assumed


def _pick(ctx: Context, lay: Layouts) -> tuple[int, list[str]]:
    """Index of the fastest candidate that fits in memory, else of the smallest one (with a note)."""
    memory = step_memory(ctx, lay).total_bytes
    times = step_parts(ctx, lay).step_time_s
    fitting = memory <= ctx.gpu.hbm_bytes
    if fitting.any():
        return int(np.argmin(np.where(fitting, times, np.inf))), []
    return int(np.argmin(memory)), ["no option left to the model's defaults fits in memory"]


def estimate(
    run: RunSpec, *, assumptions: PerfAssumptions | None = None, fabric: FabricSpec | None = None
) -> Estimate:
    """Predict one run. ``InfeasibleError`` if its layout is invalid for the model and cluster.

    A layout that does not fit in memory is still estimated: ``Estimate.fits`` says so.
    """
    assumptions = assumptions or default_assumptions()
    if run.model.mla is not None:
        raise InfeasibleError(f"{run.id}: multi-head latent attention (mla) is not modelled yet")
    ctx = run_context(run, assumptions, fabric)
    lay, assumed = _candidates(run, ctx)
    reason = check(lay, run.model, num_gpus=run.cluster.gpus)[0]
    if reason:
        raise InfeasibleError(f"{run.id}: invalid layout: {reason}")
    pick, notes = (0, []) if lay.size == 1 else _pick(ctx, lay)
    one = lay.take(np.array([pick]))
    for key in ("recompute", "sequence_parallel"):
        if key in assumed:
            assumed[key] = getattr(one.spec(0), key)
            assumed[key] = assumed[key].value if hasattr(assumed[key], "value") else assumed[key]
    est = _make_estimate(run.id, ctx, one, step_parts(ctx, one), step_memory(ctx, one), assumed)
    est.notes.extend(notes)
    return est


def _make_estimate(run_id: str, ctx: Context, lay: Layouts, parts: StepParts, memory, assumed) -> Estimate:
    flops = token_flops(ctx.model)
    parts_s = {name: float(getattr(parts, name)[0]) for name in PART_NAMES}
    memory_bytes = {name: float(getattr(memory, name)[0]) for name in MEMORY_NAMES}
    spec = lay.spec(0)
    return Estimate(
        run_id=run_id,
        layout=spec,
        assumed=assumed,
        num_gpus=ctx.num_gpus,
        step_time_s=float(parts.step_time_s[0]),
        parts_s=parts_s,
        tokens_per_step=float(lay.global_batch * ctx.model.seq_len),
        model_flop_per_token=flops.model_flop,
        hardware_flop_per_token=flops.hardware_flop(spec.recompute),
        model_causal_flop_per_token=flops.model_causal_flop,
        peak_flop_per_s=ctx.gpu.peak_flop_per_s(Precision.BF16),
        memory_bytes=memory_bytes,
        hbm_bytes=ctx.gpu.hbm_bytes,
        bound=max(parts_s, key=parts_s.__getitem__).removesuffix("_s"),
    )
