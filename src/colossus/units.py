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
