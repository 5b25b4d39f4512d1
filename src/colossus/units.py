"""Unit constants and conversions.

Inside colossus every quantity is a plain float in SI base units (s, W, J,
bytes, FLOP, bytes/s, FLOP/s). Files and reports use human units; they are
converted here, once, at the edge. Bits and bytes, GiB and GB are always
spelled out: ``GIB = 2**30`` bytes, ``GB = 10**9`` bytes.
"""

from __future__ import annotations

# --- data sizes (bytes) ---
KIB = 2**10
MIB = 2**20
GIB = 2**30
TIB = 2**40
KB = 10**3
MB = 10**6
GB = 10**9
TB = 10**12
BITS_PER_BYTE = 8

# --- rates ---
GBIT_PER_S = 1e9 / BITS_PER_BYTE  # bytes/s in one Gbit/s
GB_PER_S = 1e9  # bytes/s in one GB/s (decimal)
TB_PER_S = 1e12
TFLOP_PER_S = 1e12
PFLOP_PER_S = 1e15

# --- power and energy ---
KW = 1e3
MW = 1e6
GW = 1e9
KWH = 3.6e6  # J
MWH = 3.6e9  # J
# One British thermal unit in joules (International Table Btu), NIST SP 811 (2008), B.8.
BTU = 1055.05585262
MMBTU = 1e6 * BTU

# --- time ---
MINUTE = 60.0
HOUR = 3600.0
DAY = 86400.0
YEAR = 365.25 * DAY

# --- mass and volume ---
TONNE = 1000.0  # kg
M3 = 1.0


def gbit_per_s_to_bytes_per_s(gbit_per_s: float) -> float:
    """Network rates are quoted in Gbit/s; the code uses bytes/s."""
    return gbit_per_s * GBIT_PER_S


def bytes_per_s_to_gbit_per_s(bytes_per_s: float) -> float:
    return bytes_per_s / GBIT_PER_S


# --- JSON documents in SI -------------------------------------------------------------
#
# Tables show human units; every JSON document a command prints is in SI with
# its unit in the key. Models and files keep the units their sources quote
# (``rating_mw``, ``heat_rate_btu_per_kwh``); ``si_document`` converts a
# document once, at the edge, by the unit its keys end with. A key is matched
# by its longest known ending; the value may be a number, or a dict or list of
# numbers (``dense_tflop_per_s: {bf16: 989}``), converted throughout.

#: (ending of a key in file units, ending in SI, factor to SI). Longest endings first.
SI_ENDINGS: tuple[tuple[str, str, float], ...] = tuple(sorted((
    # data and rates of data (GB = 1e9 bytes, GiB = 2**30 bytes)
    ("_kib", "_bytes", KIB), ("_mib", "_bytes", MIB), ("_gib", "_bytes", GIB), ("_tib", "_bytes", TIB),
    ("_gb", "_bytes", GB), ("_tb", "_bytes", TB), ("_pb", "_bytes", 1e15),
    ("_w_per_pb", "_w_per_byte", 1e-15),
    ("_gb_per_s", "_bytes_per_s", GB_PER_S), ("_tb_per_s", "_bytes_per_s", TB_PER_S),
    ("_gbit_per_s", "_bit_per_s", 1e9),
    ("_tflop_per_s", "_flop_per_s", TFLOP_PER_S), ("_tflops_per_gpu", "_flop_per_s_per_gpu", TFLOP_PER_S),
    # power, energy, fuel, emissions, water
    ("_kw", "_w", KW), ("_mw", "_w", MW), ("_gw", "_w", GW),
    ("_kwh", "_j", KWH), ("_mwh", "_j", MWH), ("_mmbtu", "_j", MMBTU),
    ("_mw_per_min", "_w_per_s", MW / MINUTE),
    ("_btu_per_kwh", "_j_per_j", BTU / KWH),
    ("_g_per_kwh", "_kg_per_j", 1e-3 / KWH), ("_kg_per_mwh", "_kg_per_j", 1 / MWH),
    ("_kg_per_mmbtu", "_kg_per_j", 1 / MMBTU), ("_m3_per_mmbtu", "_m3_per_j", 1 / MMBTU),
    ("_l_per_kwh", "_m3_per_j", 1e-3 / KWH), ("_l", "_m3", 1e-3), ("_t", "_kg", TONNE),
    # prices per energy or power
    ("_per_kwh", "_per_j", 1 / KWH), ("_per_mwh", "_per_j", 1 / MWH), ("_per_mmbtu", "_per_j", 1 / MMBTU),
    ("_per_kw_month", "_per_w_month", 1 / KW),
    # time (GPU-hours stay: the unit GPU time is sold and accounted in)
    ("_min", "_s", MINUTE), ("_h", "_s", HOUR), ("_hours", "_s", HOUR), ("_days", "_s", DAY),
    ("_years", "_s", YEAR), ("_per_day", "_per_s", 1 / DAY), ("_per_hour", "_per_s", 1 / HOUR),
), key=lambda rule: -len(rule[0])))

#: Keys whose file unit is the whole key (``days: 20``).
SI_KEYS: dict[str, tuple[str, float]] = {
    "days": ("period_s", DAY), "hours": ("period_s", HOUR),
    "tflops_per_gpu": ("model_flop_per_s_per_gpu", TFLOP_PER_S),
}

#: Keys that end like a unit but are not one, or are counted in a unit of their own.
SI_KEEP: tuple[str, ...] = ("gpu_hours", "unit_hours", "usd_per_gpu_hour", "usd_per_busy_gpu_hour",
                            "usd_power_per_gpu_hour", "gpu_usd_per_hour")


def si_key(key: str) -> tuple[str, float]:
    """``rating_mw`` -> (``rating_w``, 1e6); a key already in SI comes back with factor 1."""
    if key in SI_KEYS:
        return SI_KEYS[key]
    if key in SI_KEEP:
        return key, 1.0
    for ending, si, factor in SI_ENDINGS:
        if key.endswith(ending) and (len(key) > len(ending) or not ending.startswith("_")):
            return key[: -len(ending)] + si, factor
    return key, 1.0


def _scaled(value: object, factor: float) -> object:
    if isinstance(value, bool) or factor == 1.0:
        return value
    if isinstance(value, (int, float)):
        return value * factor
    if isinstance(value, dict):
        return {k: _scaled(v, factor) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_scaled(v, factor) for v in value]
    return value


def si_document(document: object) -> object:
    """``document`` with every key in a human unit renamed and its value converted to SI.

    ``{"rating_mw": 2.5}`` -> ``{"rating_w": 2500000.0}``. Keys already in SI,
    and values that are not numbers (names, flags), pass unchanged. Two keys
    that would map to one (``x_mw`` beside ``x_w``) keep both as given.
    """
    if isinstance(document, dict):
        out: dict[object, object] = {}
        for key, value in document.items():
            new_key, factor = si_key(key) if isinstance(key, str) else (key, 1.0)
            if new_key != key and (new_key in document or new_key in out):
                new_key, factor = key, 1.0
            out[new_key] = _scaled(si_document(value), factor)
        return out
    if isinstance(document, (list, tuple)):
        return [si_document(v) for v in document]
    return document
