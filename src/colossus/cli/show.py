"""``colossus show``: the cluster a scenario describes, or what the catalog holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from colossus.cli.app import app, console, fail, print_json
from colossus.errors import InfeasibleError, SpecError

if TYPE_CHECKING:  # the models load when a command runs, not when the CLI starts
    from colossus.spec import Scenario
    from colossus.topology import ClusterInventory


@app.command()
def show(
    scenario: Annotated[Path | None, typer.Argument(help="scenario YAML file")] = None,
    show_catalog: Annotated[bool, typer.Option("--catalog", help="list what the catalog holds")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print one JSON document")] = False,
) -> None:
    """Print the cluster a scenario describes: GPUs, servers, racks, fabric, FLOP/s, HBM, power."""
    from colossus.spec import load_scenario  # noqa: PLC0415
    from colossus.topology import inventory_document  # noqa: PLC0415
    if show_catalog:
        doc = catalog_document()
        print_json(doc) if as_json else _print_catalog(doc)
        return
    if scenario is None:
        fail("give a scenario file, or --catalog")
        return
    spec = load_scenario(scenario)
    inv = scenario_inventory(spec, file=str(scenario))
    if as_json:
        print_json({"scenario": spec.name, **inventory_document(inv)})
    else:
        _print_inventory(spec, inv)


def scenario_inventory(spec: Scenario, *, file: str | None = None) -> ClusterInventory:
    """The scenario's inventory; a fabric too small for its GPUs is an input error there."""
    from colossus.topology import cluster_inventory  # noqa: PLC0415
    try:
        return cluster_inventory(spec.cluster)
    except InfeasibleError as exc:
        raise SpecError(str(exc), file=file, path=["cluster", "fabric", "tiers"]) from None


def catalog_document() -> dict[str, Any]:
    """Every catalog entry, validated, by kind; and the fleet profiles with their sources."""
    from colossus import catalog  # noqa: PLC0415
    from colossus import reliability as rel  # noqa: PLC0415
    from colossus.spec import (
        CATALOG_SPECS,  # noqa: PLC0415
        lookup,  # noqa: PLC0415
    )
    doc: dict[str, Any] = {}
    for kind in catalog.KINDS:
        if kind not in CATALOG_SPECS:
            continue
        doc[kind] = {name: lookup(kind, name).model_dump(mode="json") for name in catalog.names(kind)}
    doc["fleets"] = rel.catalog_fleets()
    return doc


# --- rendering -----------------------------------------------------------------

_CATALOG_COLUMNS: dict[str, tuple[str, ...]] = {
    "gpus": ("architecture", "dense_tflop_per_s", "hbm_gib", "hbm_tb_per_s", "nvlink_gb_per_s", "tdp_w"),
    "nics": ("kind", "ports", "port_gbit_per_s", "tdp_w"),
    "switches": ("protocol", "asic", "ports", "port_gbit_per_s", "tdp_w", "latency_ns"),
    "optics": ("form_factor", "gbit_per_s", "power_w", "reach_m"),
    "servers": ("gpus_per_server", "cooling", "num_cpus", "scaleout_nic", "psu_efficiency"),
    "racks": ("servers_per_rack", "cooling", "cdu_w"),
    "generators": ("kind", "rating_mw", "heat_rate_btu_per_kwh", "ramp_mw_per_min", "availability"),
    "batteries": ("energy_mwh", "power_mw", "round_trip_efficiency"),
    "models": ("layers", "hidden", "heads", "kv_heads", "ffn_hidden", "activation", "vocab", "moe"),
    "software": ("framework", "attention", "compiled", "tp_comm_overlap", "dp_comm_overlap", "pp_comm_overlap",
                 "grad_reduce_dtype", "zero_stages", "selective_recompute", "ep_dispatcher", "cp_comm_type"),
}


#: Optional model fields shown where a preset sets them: they change its cost (wide heads, latent attention,
#: leading dense layers before the MoE ones).
_MODEL_SHAPE_EXTRAS = ("head_dim", "mla", "first_dense_layers")
#: Software profile fields shown where a profile departs from their default (one stack or two set them).
_SOFTWARE_EXTRAS = ("pipeline_schedule", "pipeline_schedule_fallbacks", "pipeline_dp_overlap", "pp_transfers_serial",
                    "optimizer_moments_dtype", "fp8_moe_activation_cache")


def _cell(value: Any) -> str:
    if isinstance(value, dict) and "name" in value:
        return str(value["name"])
    if isinstance(value, dict):
        return "{" + " ".join(f"{k}:{_cell(v)}" for k, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:g}"
    return "-" if value is None else str(value)


def _print_catalog(doc: dict[str, Any]) -> None:
    from rich.table import Table  # noqa: PLC0415

    for kind, entries in doc.items():
        table = Table(title=f"{kind} ({len(entries)})", title_justify="left")
        table.add_column("name", style="bold", no_wrap=True)
        table.add_column("key figures")
        for name, entry in entries.items():
            if kind == "fleets":
                table.add_row(name, _fleet_figures(entry))
                continue
            table.add_row(name, "  ".join(catalog_figures(kind, name, entry)))
        console.print(table)


def catalog_figures(kind: str, name: str, entry: dict[str, Any]) -> list[str]:
    """The key figures of one catalog entry, as ``field=value`` texts."""
    from colossus.spec import lookup  # noqa: PLC0415

    figures = [f"{col}={_cell(entry.get(col))}" for col in _CATALOG_COLUMNS[kind]]
    if kind == "models":
        figures += [f"{col}={_cell(entry[col])}" for col in _MODEL_SHAPE_EXTRAS if entry.get(col)]
        figures.append(f"params={lookup('models', name).num_params / 1e9:,.1f}B")
    if kind == "software":
        from colossus.spec.software import SoftwareProfileSpec  # noqa: PLC0415

        fields = SoftwareProfileSpec.model_fields
        defaults = {col: fields[col].get_default(call_default_factory=True) for col in _SOFTWARE_EXTRAS}
        figures += [f"{col}={_cell(entry[col])}" for col in _SOFTWARE_EXTRAS
                    if col in entry and entry[col] != getattr(defaults[col], "value", defaults[col])]
        figures.insert(0, entry["description"])
    return figures


def _fleet_figures(entry: dict[str, Any]) -> str:
    from colossus import units  # noqa: PLC0415
    fits = "; ".join(f"{o['what']} x{o['multiplier']:.2f}" for o in entry["fitted_on"]) or "the log itself"
    return (f"MTTI at 1,024 / 16,384 / 100,000 GPUs = {entry['mtti_s_at_1024_gpus'] / units.HOUR:,.1f} /"
            f" {entry['mtti_s_at_16384_gpus'] / units.HOUR:,.2f} / {entry['mtti_s_at_100000_gpus'] / units.HOUR:,.2f} h"
            f"  x{entry['relative_to_default']:.2f} the default  restart={entry['restart_profile']}"
            f"  fitted on: {fits}  record={entry['record']}  source: {entry['source']}")


def _fmt(value: float, unit: float, digits: int = 1) -> str:
    return f"{value / unit:,.{digits}f}"


def _print_inventory(spec: Scenario, inv: ClusterInventory) -> None:
    from rich.table import Table  # noqa: PLC0415

    from colossus import units  # noqa: PLC0415
    from colossus.topology.fabric import TIER_NAMES  # noqa: PLC0415
    console.print(f"[bold]{spec.name}[/]: {spec.description.strip()}")
    pools = Table(title="GPU pools", title_justify="left")
    pools.add_column("", style="bold")
    columns = [*inv.pools, None] if len(inv.pools) > 1 else list(inv.pools)
    for p in columns:
        pools.add_column(p.name if p else "total", justify="right", overflow="fold")
    rows: list[tuple[str, Any]] = [
        ("GPU", lambda p: p.gpu if p else ""),
        ("GPUs", lambda p: f"{(p or inv).num_gpus:,}"),
        ("servers", lambda p: f"{(p or inv).num_servers:,}"),
        ("racks", lambda p: f"{(p or inv).num_racks:,}"),
        ("NVLink domains", lambda p: f"{(p or inv).num_nvlink_domains:,}"),
        ("scale-out NIC", lambda p: p.scaleout_nic if p else ""),
        ("scale-out NICs", lambda p: f"{p.num_scaleout_nics:,}" if p else ""),
        (
            "scale-out bandwidth (Tbit/s)",
            lambda p: (
                f"{(p.scaleout_bytes_per_s if p else sum(q.scaleout_bytes_per_s for q in inv.pools)) * 8 / 1e12:,.0f}"
            ),
        ),
        ("front-end NICs", lambda p: f"{p.num_frontend_nics:,}" if p else ""),
        ("peak dense BF16 (PFLOP/s)", lambda p: _fmt((p or inv).peak_bf16_flop_per_s, units.PFLOP_PER_S, 0)),
        ("peak dense FP8 (PFLOP/s)", lambda p: _fmt((p or inv).peak_fp8_flop_per_s, units.PFLOP_PER_S, 0)),
        ("HBM (TiB)", lambda p: _fmt((p or inv).hbm_bytes, units.TIB, 0)),
        (
            "nameplate, servers + racks (MW)",
            lambda p: _fmt(p.nameplate_w if p else sum(q.nameplate_w for q in inv.pools), units.MW, 2),
        ),
    ]
    for label, cell in rows:
        pools.add_row(label, *(cell(p) for p in columns))
    console.print(pools)

    fab, fspec = inv.fabric, spec.cluster.fabric
    fabric = Table(
        title=(f"Fabric: {fspec.switch.name} ({fspec.switch.protocol}), {fab.radix} x"
               f" {fspec.link_gbit_per_s:g} Gbit/s ports, {fspec.nic_gbit_per_s:g} Gbit/s per GPU,"
               f" {'rail-optimised' if fspec.rail_optimized else 'not rail-optimised'}"),
        title_justify="left",
    )
    for col in ("tier", "switches", "down ports", "up ports", "links down", "links up"):
        fabric.add_column(col, justify="left" if col == "tier" else "right")
    for t in fab.tiers:
        fabric.add_row(TIER_NAMES[t.level - 1], f"{t.num_switches:,}", str(t.down_ports_per_switch),
                       str(t.up_ports_per_switch), f"{t.links_down:,}", f"{t.links_up:,}")
    fabric.add_row("total", f"{fab.num_switches:,}", "", "", "", "", style="bold")
    console.print(fabric)

    summary = Table(title="Totals", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value", justify="right")
    rows = [
        ("optical links", f"{fab.optical_links:,}"),
        ("optical modules (switch side + NIC side)", f"{fab.switch_side_optics:,} + {fab.nic_side_optics:,}"),
        ("bisection bandwidth (Tbit/s)", f"{fab.bisection_bytes_per_s * 8 / 1e12:,.0f}"),
        ("fabric capacity at this depth (GPUs)", f"{fab.capacity_gpus:,}"),
        ("peak dense BF16 (EFLOP/s)", _fmt(inv.peak_bf16_flop_per_s, 1e18, 1)),
        ("peak dense FP8 (EFLOP/s)", _fmt(inv.peak_fp8_flop_per_s, 1e18, 1)),
        ("total HBM (PiB)", _fmt(inv.hbm_bytes, 2**50, 2)),
        ("GPUs at TDP (MW)", _fmt(inv.gpu_tdp_w, units.MW, 1)),
        ("fabric switches + optics (MW)", _fmt(inv.switch_w + inv.optics_w, units.MW, 2)),
        ("nameplate IT power (MW)", _fmt(inv.nameplate_it_w, units.MW, 1)),
    ]
    for what, value in rows:
        summary.add_row(what, value)
    console.print(summary)
