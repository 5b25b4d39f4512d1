"""What a published validation run ran that its row cannot state, so the model cannot express it.

``shared/validation`` is read-only and its format has no field for some of what
these runs did (a recipe's token dispatcher, DeepSeek-V3's node-limited routing,
a multi-token-prediction layer, dropless routing). Rather than work around a row in code, the
model predicts it from what the row states and ``colossus validate`` shows
these notes beside the case: what is missing, its source, and, where the model
can express it when stated, what it then predicts. Nothing here changes a
prediction.
"""

from __future__ import annotations

from collections.abc import Mapping

CASE_NOTES: Mapping[str, str] = {
    "mbridge2509-dsv3-671b-h100-1024gpu-fp8": (
        "not stated in the row: the token dispatcher. The Megatron-Bridge DeepSeek-V3 H100 preset "
        "(scripts/performance, 2025-26) runs the flex dispatcher (DeepEP, later HybridEP), and the row's "
        "'dropless' footnote says routing was force-balanced, which that preset sets exactly when DeepEP is on; "
        "the NeMo 25.x profile assumes alltoall, as its Qwen3-235B H100 preset names. With "
        "software.ep_dispatcher: deepep the model predicts -1.5% instead. Not expressible at all: "
        "DeepSeek-V3's node-limited routing (a token reaches at most 4 nodes; DeepSeek-V3 report "
        "Sec. 2.1.2), the MTP layer (in the published FLOP count) and the preset's pipeline layout "
        "'Et|(tt|)*30mL'."
    ),
    "nemo2407-llama3-8b-8gpu": (
        "not stated in the row: the attention kernel (its software block says why). Transformer Engine 1.8 "
        "documents cuDNN's fused attention as its first choice on Hopper, and the nemo-24 profile takes that; "
        "the NeMo Framework Launcher that ran the 24.x recipes exports NVTE_FUSED_ATTN=0 ('Disable cudnn FA "
        "until we've tested it more', launcher_scripts/conf/config.yaml), so FlashAttention-2 ran. With "
        "software.attention: flash2 stated the model predicts -0.2% here, and for the table's 70B rows -2.5% "
        "(Llama 3) and +1.2% (Llama 2) instead of +4.2% and +5.1%. Made the profile's default, with a refit, "
        "the shared Hopper GEMM ceilings move (BF16 0.581 -> 0.593) and with them other families' recorded "
        "errors, which the ratchet refuses (docs/architecture.md: 'NeMo 24's attention kernel')."
    ),
    "megatron2024-h100-16b-192gpu": (
        "not stated in the row: the micro-batch (nor the precision, recompute or sequence parallelism). The "
        "model takes the format's default of one sequence, so each of the 48 data-parallel ranks runs 4 "
        "micro-batches, and Megatron-core overlaps the fp32 gradient reduce-scatter (0.18 s over 24 servers) "
        "with the last one's backward only (0.12 s) and the parameter all-gather (0.09 s) with the first "
        "forward (0.06 s): 0.10 s of the step shows. The measured 489 TFLOP/s (~0.85 s a step) leave room for "
        "little more than the compute (0.76 s modelled) and the per-step overhead (0.08 s), not for that "
        "exchange. With layout.micro_batch 2 or 4 stated (a longer last backward) the model predicts -4.1% or "
        "-3.8% here, and +5.2% or +13.0% for the table's 70B row (-3.8% at one): no one micro-batch fits the "
        "table."
    ),
    "megascale-t2-megatronlm-12288gpu": (
        "not stated in the row (the format has no field for it): the fabric. MegaScale's cluster is RoCE Ethernet on "
        "Broadcom Tomahawk 4 switches in a three-layer Clos, whose ECMP hashing conflicts the paper works to reduce "
        "(Jiang et al. 2024, Sec. 3.5: 400G ToR uplinks over pairs of 200G downlinks, multi-rail NICs); the model "
        "takes a row's fabric to route adaptively. With the default fabric's switches routing by static ECMP "
        "(ecmp_spine_eff 0.60, NVIDIA's figure for plain Ethernet at scale) it predicts -4.3% here and -2.7%, +0.7%, "
        "-5.7% at 3,072, 6,144 and 8,192 GPUs, the smaller runs unchanged (their data-parallel rings stay under "
        "the leaf); the paper's mitigation puts the real efficiency between adaptive routing and plain ECMP."
    ),
    "megascale-t2-megatronlm-1024gpu": (
        "not stated in the row (the format has no field for it): what the baseline's step spends outside its "
        "micro-batches. The table's four rows at global batch 768 (256-1,024 GPUs, 192-48 micro-batches a "
        "pipeline) lie on one line, step = 0.195 s per micro-batch + 2.61 s; the model's predictions of them on "
        "0.206 s + 1.08 s (bubble, data-parallel exchange, per-step overhead): its per-micro-batch time is 6% "
        "high and its per-step part 1.5 s low, so its error falls from +1.9% at 192 micro-batches to -7.6% at 48. "
        "MegaScale names one such cost its baseline paid and it removed: data preprocessing and loading, which "
        "'incur non-negligible GPU idle time at the beginning of each training step' (Jiang et al. 2024, "
        "Sec. 3.4); no row gives its size, and Selene's Megatron rows (megatron2021) show no such gap."
    ),
    "megatron2021-t2-zero3-530b-1120gpu": (
        "not stated in the row: DeepSpeed's ZeRO-3 settings (prefetch bucket, live and reused parameters), which "
        "set how often a step gathers the parameters. The table's 530B rows take 255.5, 179.9 and 183.7 s a step "
        "(their TFLOP/s over the model's FLOPs) at micro-batch 4, 2 and 1 on 640, 1,120 and 2,240 GPUs: the same "
        "step at 1,120 and 2,240 GPUs though each GPU's compute halves (85.1 -> 42.9 s modelled), a step held by "
        "its ZeRO-3 traffic, whose size per GPU does not depend on the data parallelism. The model, with the "
        "documented defaults (a recomputed 5-billion-parameter layer gathered again for its backward: four passes "
        "over the parameters a step), predicts 234.0, 211.7 and 200.5 s; its 175B rows agree with those four "
        "passes (66.7 s measured at both 768 and 1,536 GPUs, 70.4 and 66.5 s modelled), the 530B ones would need "
        "fewer, and kept for the backward (three passes) all three rows turn 9-21% too fast: no one setting fits "
        "the table."
    ),
    "mzoo-qwen3-235b-h100-256gpu-tp2-ep8-fsdp": (
        "Megatron FSDP with MBS 4, GA 4 and expert data parallelism 32 across 32 servers. The row states "
        "neither the gradient-reduction dtype (the model takes the Megatron-FSDP user guide's recommended "
        "--grad-reduce-in-bf16; with software.grad_reduce_dtype: fp32 stated it predicts +26.3%). Megatron "
        "FSDP reduce-scatters every micro-batch in this mode (its no_sync: 'for grads shard mode there will "
        "actually always be gradient sync happening'), and the model does; the step is still 14% too slow."
    ),
    "mzoo-qwen3-235b-h100-256gpu-a2a-pp32": (
        "PP 32 x VPP 3 with 512 micro-batches of one sequence: 3,072 pipeline steps per GPU per optimizer "
        "step. The loss stage (--account-for-loss-in-pipeline-split) runs the 151,936-token output layer in "
        "place of a layer and paces the pipeline (modelled); about 15% of the step remains unexplained by any "
        "mechanism with a source (per-step host and scheduling costs of a deep interleaved pipeline are not "
        "modelled). Not stated in the row: whether routing was force-balanced. The model zoo's Qwen3-235B config "
        "routes by aux_loss and its readme adds --moe-router-force-load-balancing only as an option ('to test "
        "forced load balancing'; its long-context rows measured dropless routing at 0.80-0.92 of forced "
        "balance), so this 4K table may be dropless. Stated (software.expert_routing: dropless) the model "
        "predicts this row +0.3% and the TP 4 x EP 8 row +0.9%, but the table's EP 32 row +140.4% and its "
        "FSDP row +47.9% (against -0.5% and +14.2% balanced): the table is not dropless throughout, and the "
        "row does not say which it ran."
    ),
    "mzoo-qwen3-235b-h100-256gpu-tp4-ep8-norecompute": (
        "the source calls TP 4 + EP 8 inside a server the slowest layout of its table; the model has it "
        "among its two slowest of the table (16 local experts of 512 rows each: per-expert GEMM waves are "
        "modelled), but 18% too fast: no mechanism with a source found for the rest. Tried and rejected: a "
        "host floor on the expert block after the dropless dispatch's host synchronisation (fitted, it needs "
        "~130 us of host time per expert per pass, not credible, and out of sample it predicts this row -42%) "
        "and the expert weight-gradient GEMM's fp32 main-gradient accumulation (memory-bound at 512 rows, but 0.13 ms "
        "per layer and micro-batch of the ~1.7 ms missing). The row does not state forced-balance routing: "
        "with software.expert_routing: dropless the model predicts +0.9% (see the A2A row's note)."
    ),
}


def case_note(run_id: str) -> str:
    """The note for a published run, or ''."""
    return CASE_NOTES.get(run_id, "")


__all__ = ["CASE_NOTES", "case_note"]
