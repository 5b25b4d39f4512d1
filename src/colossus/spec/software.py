"""The training software stack a run or job uses, as far as it is stated.

Field names follow ``shared/validation/README.md`` (the ``software:`` block).
Every field is optional: a field left out falls back on the named framework's
profile (``catalog/data/software.toml``: what that framework did by default at
that version), then on the performance model's documented defaults. The
software stack is an input of its own, apart from the GPU: the same H100 runs
an unfused 2021 attention kernel or FlashAttention-3, eager or compiled
element-wise code, with or without communication overlap, depending on it.
"""

from __future__ import annotations

from enum import StrEnum

from pydantic import Field

from colossus.spec.base import CatalogItem, Spec
from colossus.spec.bounds import real
from colossus.spec.layout import Recompute


class Framework(StrEnum):
    MEGATRON_LM = "megatron-lm"
    NEMO = "nemo"
    TORCHTITAN = "torchtitan"
    MEGASCALE = "megascale"
    DEEPSPEED = "deepspeed"
    MAXTEXT = "maxtext"
    OTHER = "other"


class AttentionKernel(StrEnum):
    UNFUSED = "unfused"  # batched GEMMs + softmax through HBM (Megatron-LM 2021)
    FLASH2 = "flash2"  # FlashAttention-2 (Dao 2023)
    FLASH3 = "flash3"  # FlashAttention-3 (Shah et al. 2024), Hopper only
    CUDNN = "cudnn"  # cuDNN fused attention (Transformer Engine)
    SDPA = "sdpa"  # PyTorch scaled_dot_product_attention (dispatches to a flash kernel)


class EpDispatcher(StrEnum):
    ALLTOALL = "alltoall"  # one NCCL all-to-all message per (token, remote expert)
    DEEPEP = "deepep"  # a token crosses the network once per destination server, then NVLink (DeepEP)


class ExpertRouting(StrEnum):
    """How an MoE run's tokens reach their experts."""

    BALANCED = "balanced"  # force-balanced: every expert gets the same share (Megatron-core
    #   --moe-router-force-load-balancing, what the published MoE benchmarks ran)
    DROPLESS = "dropless"  # every token goes where the router sends it (no forced balance, no capacity drop):
    #   expert loads vary and the busiest expert-parallel rank paces the layer (what training runs)


class MomentDtype(StrEnum):
    """Data type of Adam's first and second moments (Megatron-core --exp-avg-dtype / --exp-avg-sq-dtype)."""

    FP32 = "fp32"
    BF16 = "bf16"  # DeepSeek-V3 report Sec. 3.3.4; Megatron-core --use-precision-aware-optimizer
    FP16 = "fp16"
    FP8 = "fp8"


class CpCommType(StrEnum):
    """How context parallelism exchanges keys and values (Transformer Engine / Megatron-core --cp-comm-type)."""

    P2P = "p2p"  # ring attention: K/V blocks passed around the ring, each hop under a block's compute
    ALL_GATHER = "all_gather"  # K/V all-gathered before attention, gradients reduce-scattered (Llama 3)
    A2A = "a2a"  # all-to-all of Q, K, V to split heads instead of tokens (DeepSpeed-Ulysses)


class PipelineSchedule(StrEnum):
    """How a pipeline runs its micro-batches, which sets its bubble and what each stage holds."""

    ONE_F_ONE_B = "1f1b"  # PipeDream-Flush 1F1B, interleaved with virtual stages (Narayanan et al. 2021)
    ZERO_BUBBLE = "zero_bubble"  # ZB-H1: weight gradients deferred into the bubble (Qi et al. 2024)
    DUALPIPE = "dualpipe"  # micro-batches fed from both ends, two parameter copies (DeepSeek-V3 report Sec. 3.2.1)


class CompiledBy(StrEnum):
    """What makes a stack's element-wise code 'compiled', which decides what its backward pass keeps."""

    KERNELS = "kernels"  # hand-fused kernels (Apex, Transformer Engine, TorchScript): each keeps its inputs
    TORCH_COMPILE = "torch_compile"  # torch.compile: AOTAutograd's min-cut partitioner recomputes cheap ops
    XLA = "xla"  # JAX/XLA whole-program compilation


class GradReduceDtype(StrEnum):
    FP32 = "fp32"
    BF16 = "bf16"
    FP16 = "fp16"


class SelectiveRecompute(StrEnum):
    """What a stack's ``recompute: selective`` repeats in the backward pass."""

    ATTENTION_CORE = "attention_core"  # softmax(QK^T)V only (Korthikanti et al. 2022, Megatron-LM)
    OP_LEVEL = "op_level"  # every second matmul and the element-wise work, not attention (torchtitan SAC "op")
    NORM_ACT = "norm_act"  # norms and the FFN activation (Megatron-core 2025 --recompute-modules layernorm moe_act)
    NORM_MOE = "norm_moe"  # norms and the whole MoE block (--recompute-modules layernorm moe)
    MLA_UP = "mla_up"  # multi-head latent attention's up-projections and RoPE (--recompute-modules mla_up_proj)
    NORM_MLA_UP = "norm_mla_up"  # the norms and MLA's up-projections (DeepSeek-V3 report Sec. 3.2.3, HAI-LLM)
    NORM = "norm"  # the norms alone (Megatron-core --recompute-modules layernorm; any stack's op-level checkpointing)


class SoftwareSpec(Spec):
    """What the training stack does; ``None`` = the framework profile's default."""

    framework: Framework | None = Field(None, description="training framework; null = the model's default stack")
    version: str | None = Field(None, description="release, commit or paper year (free text)")
    profile: str | None = Field(
        None, description="a software profile by catalog name (e.g. torchtitan-compile); fields given here override it"
    )
    attention: AttentionKernel | None = Field(None, description="attention kernel")
    compiled: bool | None = Field(None, description="torch.compile or fused element-wise kernels")
    tp_comm_overlap: bool | None = Field(None, description="TP/SP collectives overlapped with GEMMs")
    dp_comm_overlap: bool | None = Field(None, description="DP gradient reduce / parameter gather overlapped")
    pp_comm_overlap: bool | None = Field(None, description="pipeline sends/receives overlapped with compute")
    parallel_block: bool | None = Field(None, description="attention and MLP computed in parallel (PaLM style)")
    async_tp: bool | None = Field(None, description="asynchronous (decomposed) tensor parallelism")
    grad_reduce_dtype: GradReduceDtype | None = Field(None, description="data type of the gradient reduction")
    fp8_param_gather: bool | None = Field(
        None, description="an FP8 run all-gathers its parameters in FP8 (Megatron --fp8-param-gather; beyond the"
        " validation format)"
    )
    ep_dispatcher: EpDispatcher | None = Field(None, description="MoE token dispatcher (beyond the validation format)")
    ep_comm_overlap: bool | None = Field(
        None, description="MoE token dispatch and combine overlapped with another micro-batch's compute"
        " (Megatron-core --overlap-moe-expert-parallel-comm, DualPipe; beyond the validation format)"
    )
    expert_routing: ExpertRouting | None = Field(
        None, description="MoE routing: balanced (forced, as benchmarks run) or dropless (the router's own"
        " choices, as training runs; the busiest expert-parallel rank paces the layer); beyond the validation format"
    )
    expert_capacity_factor: real(gt=0, le=64) | None = Field(  # type: ignore[valid-type]
        None, description="MoE token drop: an expert takes at most this many times its mean share of the tokens"
        " and the rest are dropped before the dispatch (Megatron-core --moe-expert-capacity-factor); null: no cap"
        " (beyond the validation format)"
    )
    expert_pad_to_capacity: bool | None = Field(
        None, description="with a capacity factor, every expert runs exactly its capacity, padded"
        " (--moe-pad-expert-input-to-capacity; beyond the validation format)"
    )
    pipeline_schedule: PipelineSchedule | None = Field(
        None, description="pipeline schedule: 1f1b (interleaved with virtual stages), zero_bubble or dualpipe"
        " (beyond the validation format)"
    )
    cp_comm_type: CpCommType | None = Field(
        None, description="context-parallel exchange: p2p (ring attention), all_gather or a2a (Ulysses)"
        " (beyond the validation format)"
    )
    optimizer_moments_dtype: MomentDtype | None = Field(
        None, description="data type of Adam's moments (fp32, or bf16/fp16/fp8 with a precision-aware optimizer;"
        " beyond the validation format)"
    )
    selective_recompute: SelectiveRecompute | None = Field(
        None,
        description="what recompute: selective repeats (beyond the validation format;"
        " Megatron-core --recompute-modules)",
    )

    @property
    def stated(self) -> dict[str, object]:  # noqa: D102
        """The fields this block sets (framework and version included)."""
        return {k: getattr(self, k) for k in self.model_fields_set if getattr(self, k) is not None}


class SoftwareProfileSpec(CatalogItem):
    """What a framework did by default at a version: the software half of a training run.

    ``catalog/data/software.toml`` holds one per framework release the validation
    data names. A run's ``software:`` block picks one (``profile``, else by
    ``framework`` and the first of ``versions`` that matches its ``version``) and
    overrides single fields; what neither states comes from here.
    """

    framework: Framework
    versions: list[str] = Field(
        default_factory=list, description="regular expressions matched (case-insensitively) against a run's version"
    )
    framework_default: bool = Field(False, description="the framework's profile when no version pattern matches")
    description: str
    attention: dict[str, AttentionKernel] = Field(description="attention kernel by GPU architecture")
    compiled: bool
    compiled_by: CompiledBy = Field(
        description="what 'compiled' means on this stack: hand-fused kernels, torch.compile (whose min-cut"
        " partitioner keeps fewer activations for the backward) or XLA; a stack that is not compiled keeps what"
        " eager autograd keeps"
    )
    tp_comm_overlap: bool
    dp_comm_overlap: bool
    pp_comm_overlap: bool
    parallel_block: bool
    async_tp: bool
    grad_reduce_dtype: GradReduceDtype
    zero3_grad_reduce_dtype: GradReduceDtype | None = Field(
        None, description="gradient-reduction dtype when the stack runs ZeRO-3/FSDP (null: grad_reduce_dtype)"
    )
    fp16_grad_reduce_dtype: GradReduceDtype | None = Field(
        None, description="gradient-reduction dtype when the run trains in fp16 (null: grad_reduce_dtype); Megatron"
        " forces fp32 accumulation and reduction for bf16 only, so an fp16 run reduces in fp16 unless"
        " --accumulate-allreduce-grads-in-fp32 is given"
    )
    fp8_grad_reduce_dtype: GradReduceDtype | None = Field(
        None, description="gradient-reduction dtype, at any ZeRO stage, when the run trains in FP8 (null: the"
        " stack's 16-bit dtypes); NeMo 2.0's performance scripts reduce FP8 runs in bf16 and bf16 runs in fp32"
    )
    fp8_param_gather: bool = Field(
        description="an FP8 run keeps its weights in FP8 and all-gathers them so (Megatron --fp8-param-gather,"
        " the NeMo and Megatron-Bridge FP8 recipes, torchao's float8 FSDP all-gather): the distributed"
        " optimizer's or FSDP's parameter all-gather moves one byte a parameter, not two"
    )
    grad_buffer_in_reduce_dtype: bool = Field(
        description="the stack accumulates a step's gradients in a buffer of the reduction dtype (Megatron's DDP:"
        " fp32 with grad_reduce_in_fp32, else the parameters' bf16), not in fp32 main gradients of its own;"
        " decides the gradient memory of ZeRO 0-1"
    )
    sequence_parallel: bool = Field(description="sequence parallelism when tp > 1 and the run does not say")
    sequence_parallel_supported: bool = Field(description="the stack can run sequence parallelism at all")
    zero: int = Field(ge=0, le=3, description="ZeRO stage when the run does not say")
    zero_stages: list[int] = Field(description="ZeRO stages the stack can run (0 = replicated optimizer state)")
    pipeline_dp_overlap: bool = Field(
        True,
        description="with pipeline parallelism too, the data-parallel gradient reduction (and a ZeRO-1 parameter"
        " gather) overlaps the last micro-batch's backward as dp_comm_overlap says; false where the pipeline"
        " engine issues it after its last backward (DeepSpeed's PipelineEngine: ReduceGrads, then OptimizerStep)",
    )
    pipeline_zero_max: int | None = Field(
        None, ge=0, le=3,
        description="the highest ZeRO stage the stack runs beside pipeline parallelism (absent: any of"
        " zero_stages); DeepSpeed's pipeline engine refuses ZeRO-2 and ZeRO-3",
    )
    zero3_live_layers: float = Field(
        gt=0, description="transformer layers' worth of parameters ZeRO-3/FSDP holds gathered at once (unit + prefetch)"
    )
    zero3_max_reuse_params: float | None = Field(
        default=None, gt=0,
        description="parameters a ZeRO-3 stack keeps gathered between a layer's recomputed forward and its"
        " backward (DeepSpeed stage3_max_reuse_distance); a layer larger than this is gathered a third time;"
        " absent: kept (PyTorch FSDP and Megatron FSDP unshard the unit once for both)",
    )
    zero3_pp_gather_once: bool = Field(
        False,
        description="with pipeline parallelism, ZeRO-3/FSDP keeps a stage's parameters gathered across the"
        " step's micro-batches and reduce-scatters its gradients once, after the last (PyTorch pipelining over"
        " FSDP2); absent: every micro-batch gathers and reduces again, as without a pipeline",
    )
    tensor_parallel: bool = Field(description="tensor (Megatron-style intra-layer) parallelism supported")
    pipeline_parallel: bool = Field(description="pipeline parallelism supported")
    interleave: bool = Field(
        description="interleaved pipeline schedule supported (the fastest whole-layer value is the default)"
    )
    fp8: bool = Field(
        True,
        description="trains with FP8 GEMMs (Transformer Engine, torchao float8 or the like); stacks from before"
        " Transformer Engine (2022-23) train in 16 bit only",
    )
    interleave_in_pp_groups: bool = Field(
        False,
        description="the interleaved schedule needs the step's micro-batches in whole groups of pp (Megatron-LM"
        " and Megatron-core up to 0.9 raise 'number of microbatches is not divisible by pipeline-model-parallel-size"
        " when using interleaved schedule')",
    )
    context_parallel: bool = Field(description="context (ring-attention) parallelism supported")
    expert_parallel: bool = Field(description="expert parallelism supported")
    recompute_modes: list[Recompute] = Field(
        default_factory=lambda: list(Recompute),
        description="activation recompute the stack can run: none, selective (Korthikanti et al. 2022) and full"
        " (whole layers); an older stack checkpoints whole layers only, and a run that leaves recompute open, or"
        " the planner, is offered only these",
    )
    selective_recompute: SelectiveRecompute
    selective_recompute_options: list[SelectiveRecompute] = Field(
        default_factory=list,
        description="further selective-recompute policies the stack offers, each saving more memory than the"
        " default; a run that says 'selective' without naming its modules gets the fastest that fits",
    )
    ep_dispatcher: EpDispatcher
    pipeline_schedule: PipelineSchedule = Field(
        PipelineSchedule.ONE_F_ONE_B,
        description="the stack's pipeline schedule: 1f1b (with interleave where supported), zero_bubble (ZB-H1)"
        " or dualpipe; a run's version text naming DualPipe or a zero-bubble schedule sets it",
    )
    pipeline_schedule_fallbacks: list[PipelineSchedule] = Field(
        default_factory=list,
        description="further schedules the stack runs, preferred in this order, where a run's stated layout"
        " cannot run the default (DualPipe needs an even number of stages and micro-batches, and it and"
        " zero-bubble run one model chunk a stage) and the run names no schedule",
    )
    optimizer_moments_dtype: MomentDtype = Field(
        MomentDtype.FP32,
        description="data type of Adam's first and second moments (the fp32 master weights stay fp32)",
    )
    fp8_moe_activation_cache: bool = Field(
        False,
        description="an FP8 run caches the inputs of its experts' gated activation (SwiGLU) in FP8 and recomputes"
        " the activation's output in the backward instead of keeping it (DeepSeek-V3 report Sec. 3.3.3)",
    )
    cp_comm_type: CpCommType = Field(
        CpCommType.P2P,
        description="how the stack's context parallelism exchanges keys and values: p2p (ring attention),"
        " all_gather (gathered before attention, exposed) or a2a (DeepSpeed-Ulysses head split)",
    )
    ep_comm_overlap: bool = Field(description="expert all-to-all overlapped with another micro-batch's compute")
    expert_routing: ExpertRouting = Field(
        ExpertRouting.BALANCED,
        description="MoE routing the stack is taken to run unless a run or job states it: balanced, as the"
        " published MoE benchmarks force it (NeMo performance summary footnote; the MoE model zoo's recorded"
        " values); a training run's own routing is stated (software.expert_routing: dropless)",
    )
    fsdp_node_aggregation: bool = Field(
        description="ZeRO-3/FSDP gathers over whole-node NCCL rings (node NICs share the traffic)"
    )
    pp_scatter_gather: bool = Field(description="each TP rank sends 1/tp of a pipeline activation")
    pp_transfers_serial: bool = Field(
        False,
        description="the pipeline engine issues each send and each receive as its own blocking step, four a"
        " micro-batch on a stage's path (DeepSpeed's PipelineEngine: RecvActivation, SendGrad, SendActivation,"
        " RecvGrad, 'The communication is blocking'); others pair a stage's send with its receive: two",
    )
    embedding_loss_stages: bool = Field(
        description="the pipeline split may count the embedding and the loss as layers (Megatron-core account-for-*)"
    )
    uneven_virtual_stages: bool = Field(
        description="virtual pipeline stages may hold different numbers of layers (a split need not be even);"
        " the slowest one then sets the pipeline's pace"
    )
