"""``colossus collective | fit``: what a collective costs on the fabric (F2), which models fit where (F3)."""

from __future__ import annotations

from pathlib import Path
import re
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus.cli.app import app, console, print_json, within
from colossus.errors import SpecError, did_you_mean

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus.perf.collective import CollectiveCost
    from colossus.perf.fit import Fit

#: Byte sizes: decimal SI (1GB = 1e9 bytes, as NCCL's tests print them) or binary spelled IEC (1GiB = 2^30).
BYTE_UNITS = {"": 1, "B": 1, "KB": 1e3, "MB": 1e6, "GB": 1e9, "TB": 1e12,
              "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40}
#: A size beyond this is no buffer a GPU holds (64 GiB is below the largest HBM; 1 TB rounds up).
MAX_BYTES = 1e12


def parse_bytes(text: str, *, option: str) -> float:
    """``1GB`` -> 1e9, ``256MiB`` -> 2^28, ``4e9`` -> 4e9 bytes."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)\s*([KMGT]I?B|B)?\s*", text.upper())
    if not match:
        raise SpecError(f"{option}: '{text}' is not a size in bytes (e.g. 1GB = 1e9, 256MiB = 2^28)")
    value = float(match.group(1)) * BYTE_UNITS[match.group(2) or ""]
    if not 1 <= value <= MAX_BYTES:
        raise SpecError(f"{option}: must be 1 B to 1 TB (got {text})")
    return value


@app.command("collective")
def collective_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its fabric and pools)")],
    pool: Annotated[str | None, typer.Option("--pool", help="pool of the group (default: the first)")] = None,
    gpus: Annotated[int | None, typer.Option("--gpus", help="GPUs in the group (default: the whole pool;"
                                                          " one per server: at most its servers)",
                                             callback=within("GpuCount"))] = None,
    placement: Annotated[str, typer.Option("--placement", help="consecutive (whole servers, NVLink inside each)"
                                                               " or per-server (one GPU per server)")] = "consecutive",
    op: Annotated[list[str] | None, typer.Option("--op", help="all-reduce, all-gather, reduce-scatter, all-to-all"
                                                              " (repeatable; default: all four)")] = None,
    size: Annotated[list[str] | None, typer.Option("--size", help="buffer per GPU, e.g. 1GB (1e9) or 256MiB"
                                                                  " (repeatable; default: 1MB to 4GB)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Time and bus bandwidth of collectives over the scenario's fabric, by size (mission F2)."""
    from colossus.cli.show import scenario_inventory  # noqa: PLC0415
    from colossus.perf.collective import DEFAULT_SIZES_BYTES, OPS, collective_costs  # noqa: PLC0415
    from colossus.spec import load_scenario  # noqa: PLC0415

    spec = load_scenario(scenario)
    scenario_inventory(spec, file=str(scenario))  # a fabric too small is an input error, located
    names = [p.name for p in spec.cluster.pools]
    if pool is not None and pool not in names:
        raise SpecError(f"--pool: no pool '{pool}' in the scenario (its pools: {', '.join(names)})"
                        f"{did_you_mean(pool, names)}", file=str(scenario))
    chosen = spec.cluster.pool(pool) if pool is not None else spec.cluster.pools[0]
    sizes = tuple(parse_bytes(s, option="--size") for s in size) if size else DEFAULT_SIZES_BYTES
    costs = collective_costs(spec.cluster, pool=chosen, group_gpus=gpus, placement=placement,
                             sizes_bytes=sizes, ops=tuple(op) if op else OPS)
    if as_json:
        first = costs[0]
        print_json({"scenario": spec.name, "pool": chosen.name, "gpu": chosen.gpu.name, "group_gpus": first.group_gpus,
                    "placement": placement, "stride": first.stride, "servers": first.servers,
                    "fabric_level": first.fabric_level, "collectives": [c.as_dict() for c in costs]})
        return
    _print_collectives(spec.name, chosen.name, costs)


def _size_text(num_bytes: float) -> str:
    for scale, unit in ((1e12, "TB"), (1e9, "GB"), (1e6, "MB"), (1e3, "kB")):
        if num_bytes >= scale:
            return f"{num_bytes / scale:g} {unit}"
    return f"{num_bytes:g} B"


LEVELS = ("NVLink (one server)", "leaf", "spine", "core")


def _print_collectives(scenario: str, pool: str, costs: list[CollectiveCost]) -> None:
    from rich.table import Table  # noqa: PLC0415

    first = costs[0]
    where = LEVELS[min(first.fabric_level, len(LEVELS) - 1)]
    console.print(f"[bold]{scenario}[/]: {first.group_gpus:,} GPUs of pool {pool}, {first.placement} placement"
                  f" (rank stride {first.stride}), {first.servers:,} server(s), highest tier crossed: {where}")
    table = Table("size per GPU", "collective", "time", "algorithm GB/s", "bus GB/s")
    for c in costs:
        table.add_row(_size_text(c.size_bytes), c.op, f"{c.time_s * 1e3:,.3f} ms", f"{c.alg_bytes_per_s / 1e9:,.1f}",
                      f"{c.bus_bytes_per_s / 1e9:,.1f}")
    console.print(table)
    console.print("bus bandwidth as nccl-tests report it: algorithm bandwidth x 2(n-1)/n (all-reduce),"
                  " x (n-1)/n (the others)")


@app.command("fit")
def fit_cmd(
    scenario: Annotated[Path, typer.Argument(help="scenario YAML file (its pools)")],
    model: Annotated[list[str] | None, typer.Option("--model", help="a preset name or a model YAML file"
                                                                    " (repeatable; default: every preset)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Which models fit on which pool, on how few GPUs, with which layout (mission F3)."""
    from colossus import catalog  # noqa: PLC0415
    from colossus.perf.fit import fit_table  # noqa: PLC0415
    from colossus.spec import load_model, load_scenario  # noqa: PLC0415

    spec = load_scenario(scenario)
    models = [load_model(m) for m in (model or catalog.names("models"))]
    with console.status("planning each model on each pool ..."):
        fits = fit_table(models, spec.cluster)
    if as_json:
        print_json({"scenario": spec.name, "fits": [f.as_dict() for f in fits]})
        return
    _print_fits(spec.name, fits)


def _print_fits(scenario: str, fits: list[Fit]) -> None:
    from rich.table import Table  # noqa: PLC0415

    table = Table("model", "params", "pool", "GPU", "fewest GPUs", "layout", "memory / GPU", "tokens/s/GPU")
    for f in fits:
        est = f.estimate
        table.add_row(
            f.model, f"{f.num_params / 1e9:,.0f} B", f.pool, f.gpu,
            f"{f.min_gpus:,}" if f.fits else "[bold red]does not fit[/]",
            "-" if est is None else est.layout_label,
            "-" if est is None else f"{est.memory_per_gpu_bytes / 2**30:.0f} of {est.hbm_bytes / 2**30:.0f} GiB",
            "-" if est is None else f"{est.tokens_per_s_per_gpu:,.0f}",
        )
    console.print(f"[bold]{scenario}[/]: the fewest whole servers of each pool a model fits on (weights, gradients,"
                  " optimizer state and activations in HBM)")
    console.print(table)


__all__: list[Any] = ["collective_cmd", "fit_cmd"]
