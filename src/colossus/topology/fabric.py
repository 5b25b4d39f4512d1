"""Switch and link counts of a (rail-optimised) folded-Clos fabric, and its bisection.

The fabric is a folded Clos of identical switches of radix ``k`` at the link
speed (ports split by breakout: a 64 x 800G switch is 128 x 400G). A tier
below the top splits its ports into ``d`` down and ``k - d`` up with
``d / (k - d)`` the tier's oversubscription; the top tier points all ``k``
ports down. A tier-t *block* (one leaf, one pod, ...) then reaches
``d_1 * ... * d_t`` endpoints, and ``T`` tiers reach at most
``d_1 * ... * d_{T-1} * k`` (the classic ``k * (k/2)^(T-1)`` when non-blocking;
Al-Fares et al., "A Scalable, Commodity Data Center Network Architecture",
SIGCOMM 2008, for the 3-tier case).

Rail-optimised (NVIDIA DGX SuperPOD reference architecture): the i-th GPU of
every server plugs into a leaf of rail i, so GPUs of equal local rank in up
to ``d_1`` servers are one switch apart; other pairs go through NVLink to the
right rail first (PXN), which is why a leaf spans whole servers there.

Counting rule: each tier's switches are the fewest whose down ports take all
uplinks of the tier below; every switch below the top uses all its uplinks.
"""

from __future__ import annotations

from dataclasses import dataclass
import math

from colossus.errors import InfeasibleError
from colossus.spec.fabric import MAX_TIERS, FabricSpec


@dataclass(frozen=True, slots=True)
class Tier:
    """One switch tier of the Clos (level 1 = leaf)."""

    level: int
    num_switches: int
    down_ports_per_switch: int
    up_ports_per_switch: int
    links_down: int  # links into this tier from below (NIC links at the leaf)
    links_up: int  # links from this tier to the next; 0 at the top


@dataclass(frozen=True, slots=True)
class FabricInventory:
    num_gpus: int
    radix: int
    links_per_gpu: int
    tiers: tuple[Tier, ...]
    nic_links: int
    switch_links: int
    optical_links: int
    switch_side_optics: int  # optical modules in switch cages (a twin-port module carries two links)
    nic_side_optics: int  # optical modules in NIC cages (0 when NIC links are copper)
    bisection_bytes_per_s: float
    capacity_gpus: int  # most GPUs these tiers could connect

    @property
    def num_switches(self) -> int:
        return sum(t.num_switches for t in self.tiers)

    @property
    def num_tiers(self) -> int:
        return len(self.tiers)


@dataclass(frozen=True, slots=True)
class CommLevel:
    """A scale-out level a collective may cross: traffic that climbs at most to ``name``'s tier."""

    name: str
    span_gpus: int  # largest group of GPUs (whole servers) that talk while crossing at most this tier
    bytes_per_s_per_gpu: float  # per-direction bandwidth a GPU gets at this level, after oversubscription
    switch_hops: int  # switches a message traverses: up t, down t - 1
    latency_s: float  # switch and cable latency of one message at this level (no NIC/software part)


TIER_NAMES = ("leaf", "spine", "core", "super-core")


def _down_ports(fabric: FabricSpec, level: int, num_tiers: int, radix: int) -> int:
    """Down ports of a tier-``level`` switch: all at the top, ``k*o/(1+o)`` below it."""
    if level == num_tiers:
        return radix
    ratio = fabric.oversubscription_at(level)
    return max(1, math.floor(radix * ratio / (1.0 + ratio)))


def max_endpoints(fabric: FabricSpec, num_tiers: int) -> int:
    """Most NIC links ``num_tiers`` tiers of this fabric's switches can connect."""
    radix = fabric.switch.radix_at(fabric.link_gbit_per_s)
    return math.prod(_down_ports(fabric, t, num_tiers, radix) for t in range(1, num_tiers + 1))


def links_per_gpu(fabric: FabricSpec) -> int:
    """Fabric links each GPU's NIC bandwidth needs (a 800G NIC on 400G links uses two)."""
    return max(1, round(fabric.nic_gbit_per_s / fabric.link_gbit_per_s))


def resolve_tiers(fabric: FabricSpec, num_gpus: int) -> int:
    """The fabric's tier count: as given, or for 'auto' the fewest that connect every GPU."""
    endpoints = num_gpus * links_per_gpu(fabric)
    if fabric.tiers != "auto":
        num_tiers = int(fabric.tiers)
        capacity = max_endpoints(fabric, num_tiers)
        if endpoints > capacity:
            raise InfeasibleError(
                f"a {num_tiers}-tier fabric of {fabric.switch.name} connects at most"
                f" {capacity // links_per_gpu(fabric)} GPUs; {num_gpus} need more tiers or less oversubscription"
            )
        return num_tiers
    for num_tiers in range(1, MAX_TIERS + 1):
        if endpoints <= max_endpoints(fabric, num_tiers):
            return num_tiers
    raise InfeasibleError(
        f"even {MAX_TIERS} tiers of {fabric.switch.name} cannot connect {num_gpus} GPUs"
    )


def fabric_inventory(fabric: FabricSpec, *, num_gpus: int, gpus_per_server: int) -> FabricInventory:
    """Switches, links, optics and bisection bandwidth for ``num_gpus`` GPUs on ``fabric``."""
    if num_gpus <= 0 or num_gpus % gpus_per_server:
        raise ValueError(f"num_gpus ({num_gpus}) must be a positive multiple of {gpus_per_server}")
    radix = fabric.switch.radix_at(fabric.link_gbit_per_s)
    lpg = links_per_gpu(fabric)
    num_tiers = resolve_tiers(fabric, num_gpus)
    endpoints = num_gpus * lpg

    tiers: list[Tier] = []
    links_below = endpoints
    for level in range(1, num_tiers + 1):
        down = _down_ports(fabric, level, num_tiers, radix)
        up = 0 if level == num_tiers else radix - down
        if level == 1 and fabric.rail_optimized and num_tiers > 1:
            # one set of leaves per rail; each rail carries one link set per server
            per_rail = (num_gpus // gpus_per_server) * lpg
            count = gpus_per_server * math.ceil(per_rail / down)
        else:
            count = math.ceil(links_below / down)
        links_up = count * up
        tiers.append(Tier(level, count, down, up, links_below, links_up))
        links_below = links_up

    switch_links = sum(t.links_up for t in tiers)
    optical_links = switch_links + (endpoints if fabric.nic_link_optical else 0)
    links_per_module = max(1, round(fabric.optic.gbit_per_s / fabric.link_gbit_per_s))
    switch_ends = 2 * switch_links + (endpoints if fabric.nic_link_optical else 0)
    nic_side = num_gpus if fabric.nic_link_optical else 0

    link_bytes_per_s = fabric.link_bytes_per_s
    # Bisection: half the narrowest cut between the GPUs and the top of the tree.
    narrowest = min([endpoints, *(t.links_up for t in tiers[:-1])])
    bisection = 0.5 * narrowest * link_bytes_per_s
    return FabricInventory(
        num_gpus=num_gpus,
        radix=radix,
        links_per_gpu=lpg,
        tiers=tuple(tiers),
        nic_links=endpoints,
        switch_links=switch_links,
        optical_links=optical_links,
        switch_side_optics=math.ceil(switch_ends / links_per_module),
        nic_side_optics=nic_side,
        bisection_bytes_per_s=bisection,
        capacity_gpus=max_endpoints(fabric, num_tiers) // lpg,
    )


def comm_levels(fabric: FabricSpec, *, num_gpus: int, gpus_per_server: int) -> tuple[CommLevel, ...]:
    """The scale-out levels, leaf first, with the span, bandwidth and latency of each.

    NVLink inside the server is not a level here: the performance model
    treats it from the GPU and server specs.
    """
    radix = fabric.switch.radix_at(fabric.link_gbit_per_s)
    lpg = links_per_gpu(fabric)
    num_tiers = resolve_tiers(fabric, num_gpus)
    levels: list[CommLevel] = []
    reach_links = 1  # NIC links below one block of the current tier
    squeeze = 1.0  # product of oversubscription below the current tier
    for level in range(1, num_tiers + 1):
        reach_links *= _down_ports(fabric, level, num_tiers, radix)
        if level == 1 and fabric.rail_optimized:
            span = (reach_links // lpg) * gpus_per_server  # one leaf per rail: whole servers
        else:
            span = (reach_links // lpg) // gpus_per_server * gpus_per_server
        span = num_gpus if level == num_tiers else min(max(span, gpus_per_server), num_gpus)
        hops = 2 * level - 1
        latency_s = hops * fabric.switch.latency_s + 2 * level * fabric.cable_latency_ns_per_hop * 1e-9
        name = TIER_NAMES[level - 1]
        levels.append(CommLevel(name, span, fabric.nic_bytes_per_s / squeeze, hops, latency_s))
        squeeze *= fabric.oversubscription_at(level)
    return tuple(levels)
