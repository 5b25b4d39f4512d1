"""The shipped catalog: every entry validates, carries a source, and every figure is commented.

Also checks the figures that other models lean on against their published values:
model sizes, the DGX system maxima, and the SN5600 radix.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
import re

import pytest

from colossus import catalog
from colossus.errors import CatalogError
from colossus.spec import CATALOG_SPECS, lookup

DATA = Path(str(resources.files("colossus.catalog").joinpath("data")))
ALL_ENTRIES = [(kind, name) for kind in catalog.KINDS for name in catalog.names(kind)]
DEFAULT_SOURCE = CATALOG_SPECS["gpus"].model_fields["source"].default

# Kinds this catalog must ship entries for (beyond the GPUs).
REQUIRED = {
    "nics": ["connectx7-400g", "bluefield3-b3140h", "bluefield3-b3220", "connectx6-200g"],
    "switches": ["sn5600", "qm9700", "qm8700"],
    "optics": ["osfp-800g-2xsr4", "osfp-400g-sr4", "qsfp56-200g-sr4"],
    "servers": ["hgx-8gpu-liquid", "hgx-8gpu-air", "dgx-a100-air"],
    "racks": ["liquid-64gpu", "air-32gpu"],
    "generators": ["gas-recip-2500kw", "gas-turbine-titan130"],
    "batteries": ["megapack2-xl-2h", "li-ion-4h-generic"],
    "models": [
        "gpt3-175b",
        "megatron-530b",
        "megatron-1t",
        "llama2-70b",
        "llama3-8b",
        "llama3-70b",
        "llama3-405b",
        "grok-1-314b",
        "deepseek-v3-671b",
    ],
}


# --- every entry ------------------------------------------------------------


@pytest.mark.parametrize(("kind", "name"), ALL_ENTRIES, ids=[f"{k}:{n}" for k, n in ALL_ENTRIES])
def test_entry_validates(kind: str, name: str) -> None:
    spec = lookup(kind, name)
    assert isinstance(spec, CATALOG_SPECS[kind])
    assert spec.name == name


@pytest.mark.parametrize(("kind", "name"), ALL_ENTRIES, ids=[f"{k}:{n}" for k, n in ALL_ENTRIES])
def test_entry_has_a_source(kind: str, name: str) -> None:
    source = catalog.raw_entry(kind, name).get("source", "")
    assert isinstance(source, str) and source.strip(), f"{kind}:{name} has no source"
    assert source != DEFAULT_SOURCE


@pytest.mark.parametrize("kind", sorted(REQUIRED))
def test_required_entries_exist(kind: str) -> None:
    missing = [n for n in REQUIRED[kind] if not catalog.has_entry(kind, n)]
    assert not missing, f"{kind} lacks {missing}"


# --- every figure has a comment ---------------------------------------------


def _split_comment(line: str) -> tuple[str, str | None]:
    """(code, comment) of one TOML line; a '#' inside a string is not a comment."""
    quote: str | None = None
    i = 0
    while i < len(line):
        ch = line[i]
        if quote:
            if ch == "\\" and quote == '"':
                i += 2
                continue
            if ch == quote:
                quote = None
        elif ch in "\"'":
            quote = ch
        elif ch == "#":
            return line[:i], line[i + 1 :].strip()
        i += 1
    return line, None


_STRING = re.compile(r'"(?:\\.|[^"\\])*"|\'[^\']*\'')
_KEY_VALUE = re.compile(r"^\s*[A-Za-z0-9_.\"-]+\s*=\s*(?P<value>.*)$")
_NUMBER = re.compile(r"(?<![A-Za-z_])[-+]?(?:\d|\.\d)")


def _uncommented_figures(text: str) -> list[str]:
    """Lines giving a number without a comment saying where it comes from.

    A scalar needs a trailing comment; an inline table (``{fp64 = 19.5, ...}``) may
    instead have its comment on the line directly above it.
    """
    bad = []
    previous_is_comment = False
    for number, line in enumerate(text.splitlines(), start=1):
        code, comment = _split_comment(line)
        match = _KEY_VALUE.match(code)
        if match:
            value = _STRING.sub("", match.group("value"))
            if _NUMBER.search(value) and not comment:
                inline_table = value.strip().startswith("{")
                if not (inline_table and previous_is_comment):
                    bad.append(f"line {number}: {line.strip()}")
        previous_is_comment = code.strip() == "" and comment is not None
    return bad


TOML_FILES = sorted(DATA.glob("*.toml"))


@pytest.mark.parametrize("path", TOML_FILES, ids=[p.name for p in TOML_FILES])
def test_every_figure_has_a_comment(path: Path) -> None:
    bad = _uncommented_figures(path.read_text("utf-8"))
    assert not bad, f"{path.name}: figures without a source or assumption comment:\n" + "\n".join(bad)


def test_comment_checker_catches_a_bare_figure() -> None:
    text = '[x]\nsource = "a # b"\ntdp_w = 25.0\nports = 1   # datasheet\n'
    assert _uncommented_figures(text) == ["line 3: tdp_w = 25.0"]


# --- unknown names ---------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "typo", "meant"),
    [
        ("servers", "hgx-8gpu-liqud", "hgx-8gpu-liquid"),
        ("switches", "sn5660", "sn5600"),
        ("models", "llama3-450b", "llama3-405b"),
        ("nics", "bluefield3-b3140", "bluefield3-b3140h"),
    ],
)
def test_unknown_name_suggests_the_closest(kind: str, typo: str, meant: str) -> None:
    with pytest.raises(CatalogError) as info:
        lookup(kind, typo)
    assert f"did you mean '{meant}'" in str(info.value)


def test_names_are_case_insensitive() -> None:
    assert lookup("switches", "SN5600").name == "sn5600"


# --- model presets match their nominal size --------------------------------


@pytest.mark.parametrize(
    ("name", "nominal", "rel_tol"),
    [
        ("gpt3-175b", 175e9, 0.02),
        ("megatron-530b", 530e9, 0.02),
        ("megatron-1t", 1008e9, 0.02),  # Narayanan et al. Table 1: 1008B
        ("llama2-70b", 70e9, 0.03),
        ("llama3-8b", 8.0e9, 0.02),
        ("llama3-70b", 70.6e9, 0.02),
        ("llama3-405b", 405e9, 0.02),
        ("nemotron4-340b", 340e9, 0.02),
        ("grok-1-314b", 314e9, 0.03),
        ("deepseek-v3-671b", 671e9, 0.03),
    ],
)
def test_model_size_matches_nominal(name: str, nominal: float, rel_tol: float) -> None:
    assert lookup("models", name).num_params == pytest.approx(nominal, rel=rel_tol)


def test_deepseek_v3_active_params() -> None:
    model = lookup("models", "deepseek-v3-671b")
    assert model.num_active_params == pytest.approx(37e9, rel=0.10)
    assert model.num_moe_layers == 58  # 61 layers, the first 3 dense


def test_grok_1_active_params() -> None:
    # xAI: "25% of the weights active on a given token" -> ~79-86B of 314B
    model = lookup("models", "grok-1-314b")
    assert 0.22 < model.num_active_params / model.num_params < 0.30


def test_tied_embeddings() -> None:
    tied = {n for n in catalog.names("models") if lookup("models", n).tied_embeddings}
    assert tied == {"gpt3-175b", "megatron-530b", "megatron-1t", "grok-1-314b"}


# --- servers against NVIDIA's published system maxima ----------------------


def test_hgx_air_server_meets_dgx_h100_max() -> None:
    h100 = lookup("gpus", "h100-sxm5-80gb")
    nameplate = lookup("servers", "hgx-8gpu-air").nameplate_w(h100)
    assert nameplate == pytest.approx(10_200, rel=0.05)  # DGX H100 datasheet: ~10.2 kW max


def test_hgx_liquid_server_near_dgx_h100_max_and_below_air() -> None:
    h100 = lookup("gpus", "h100-sxm5-80gb")
    liquid = lookup("servers", "hgx-8gpu-liquid").nameplate_w(h100)
    air = lookup("servers", "hgx-8gpu-air").nameplate_w(h100)
    assert liquid == pytest.approx(10_200, rel=0.10)
    assert liquid < air  # cold plates replace most of the fan power


def test_dgx_a100_server_meets_published_max() -> None:
    a100 = lookup("gpus", "a100-sxm4-80gb")
    nameplate = lookup("servers", "dgx-a100-air").nameplate_w(a100)
    assert nameplate == pytest.approx(6_500, rel=0.05)  # DGX A100 datasheet: 6.5 kW max


def test_hgx_servers_reference_catalog_nics() -> None:
    liquid = lookup("servers", "hgx-8gpu-liquid")
    assert liquid.scaleout_nic.name == "bluefield3-b3140h"
    assert liquid.scaleout_nics_per_server == liquid.gpus_per_server
    # ServeTheHome: 400GbE per GPU plus one more per server = 3.6 Tb/s
    total = liquid.scaleout_nics_per_server * liquid.scaleout_nic.gbit_per_s
    total += liquid.frontend_nics_per_server * liquid.frontend_nic.gbit_per_s
    assert total == pytest.approx(3600)


def test_liquid_rack_holds_64_gpus() -> None:
    rack = lookup("racks", "liquid-64gpu")
    server = lookup("servers", "hgx-8gpu-liquid")
    assert rack.servers_per_rack * server.gpus_per_server == 64
    assert rack.servers_per_rack * server.height_u < rack.height_u


# --- network and power figures ---------------------------------------------


def test_sn5600_radix() -> None:
    sn5600 = lookup("switches", "sn5600")
    assert sn5600.radix_at(400) == 128
    assert sn5600.capacity_gbit_per_s == pytest.approx(51_200)


def test_switch_typical_below_max() -> None:
    for name in catalog.names("switches"):
        switch = lookup("switches", name)
        assert switch.typical_w < switch.tdp_w, name


def test_generators_use_epa_co2_factor() -> None:
    for name in catalog.names("generators"):
        assert lookup("generators", name).co2_kg_per_mmbtu == pytest.approx(53.06)


def test_megapack_is_two_hour() -> None:
    pack = lookup("batteries", "megapack2-xl-2h")
    assert pack.energy_mwh / pack.power_mw == pytest.approx(2.0, rel=0.02)
