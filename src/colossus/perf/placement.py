"""A layout's step time on the placement a job actually got, not the compact one.

The network model (``perf.network``) assumes the job's GPUs fill fabric blocks
in order: a leaf's servers, then a pod's leaves. A scheduler that places a
job on leftovers spreads it over more pods, so communicator groups that would
stay inside a pod climb to the core tier. This is modelled by shrinking the
span of every level below the top to the GPUs the job actually has in one
block (``gpus_per_pod`` for the pod level; the leaf level keeps its span,
since placement takes whole racks): a group larger than that span crosses the
next tier up, with that tier's bandwidth (after oversubscription) and latency.
On a non-blocking fabric only latency changes, so the cost is small; on an
oversubscribed one it can be large, which is the point of topology-aware
placement.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from colossus.perf.assumptions import PerfAssumptions, default_assumptions
from colossus.perf.context import RunInputs, build_context
from colossus.perf.estimate import Estimate, effective_gpu
from colossus.perf.layout import from_spec
from colossus.perf.step import step_parts
from colossus.spec import FabricSpec, GpuSpec, ModelSpec


def spread_step_time_s(est: Estimate, model: ModelSpec, gpu: GpuSpec, *, fabric: FabricSpec, gpus_per_server: int,
                       gpus_per_pod: int, power_limit_w: float | None = None,
                       assumptions: PerfAssumptions | None = None) -> float:
    """Step time of ``est``'s layout when the job has only ``gpus_per_pod`` GPUs in each pod it uses."""
    assumptions = assumptions or default_assumptions()
    inputs = RunInputs(model, effective_gpu(gpu), est.software, fabric, est.num_gpus, gpus_per_server, power_limit_w)
    ctx = build_context([inputs], assumptions)
    spans = ctx.level_span_gpus.copy()
    if spans.shape[1] > 2:  # leaf, pod, ..., top: only a level between leaf and top can shrink
        floor = max(int(spans[0, 0]), gpus_per_server)
        spans[:, 1:-1] = np.minimum(spans[:, 1:-1], max(floor, gpus_per_pod))
    if np.array_equal(spans, ctx.level_span_gpus):
        return est.step_time_s
    spread = replace(ctx, level_span_gpus=spans)
    return float(step_parts(spread, from_spec(est.layout, est.selective_recompute)).step_time_s[0])
