"""SimResult columns to Arrow tables and back, and the summary to canonical JSON.

A ``SimResult`` is already columnar (``name -> numpy array``), so the
conversion is mostly zero-copy. What needs care: text columns (numpy ``str``
or ``object`` arrays, or an empty float array where a simulation had no
events) become Arrow strings; numeric dtypes are kept as they are (an
``int32`` count stays ``int32``); and the summary becomes strict JSON
(numpy scalars unwrapped, NaN and infinities written as ``null``) so that any
JSON reader, a browser's included, accepts it.
"""

from __future__ import annotations

from collections.abc import Mapping
import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa

from colossus.results.paths import ResultsError

#: Columns that hold text, per table, even when a simulation hands them over as an empty float array.
TEXT_COLUMNS: dict[str, frozenset[str]] = {
    "timeseries": frozenset(),
    "events": frozenset({"kind", "job", "detail"}),
    "jobs": frozenset({"name", "kind"}),
}


def _arrow_column(values: np.ndarray, text: bool) -> pa.Array:
    values = np.asarray(values)
    if values.ndim != 1:
        raise ValueError(f"must be one-dimensional (got shape {values.shape})")
    if text or values.dtype.kind in "OUST":
        if values.size == 0:
            return pa.array([], type=pa.string())
        return pa.array(values.astype(object) if values.dtype.kind in "ST" else values, type=pa.string())
    return pa.array(values)


def to_arrow(columns: Mapping[str, np.ndarray], table: str, metadata: Mapping[str, str], path: Path) -> pa.Table:
    """One table of a result as Arrow, columns in the given order; ``path`` only names errors."""
    arrays: list[pa.Array] = []
    lengths: set[int] = set()
    for name, values in columns.items():
        try:
            arrays.append(_arrow_column(values, name in TEXT_COLUMNS[table]))
        except (ValueError, TypeError, pa.ArrowException) as exc:
            raise ResultsError(path, f"{table} column {name!r}: {exc}") from exc
        lengths.add(len(arrays[-1]))
    if len(lengths) > 1:
        sizes = ", ".join(f"{n}={len(a)}" for n, a in zip(columns, arrays))
        raise ResultsError(path, f"{table} columns differ in length ({sizes})")
    schema = pa.schema([pa.field(name, a.type) for name, a in zip(columns, arrays)], metadata=dict(metadata))
    return pa.Table.from_arrays(arrays, schema=schema)


def from_arrow(table: pa.Table) -> dict[str, np.ndarray]:
    """Columns as numpy arrays (text as ``object`` arrays of ``str``), in the stored order."""
    out: dict[str, np.ndarray] = {}
    for name, column in zip(table.column_names, table.columns):
        if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
            out[name] = np.asarray(column.to_numpy(zero_copy_only=False), dtype=object)
        else:
            out[name] = column.to_numpy()
    return out


def _jsonable(value: Any, where: str) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if isinstance(value, np.ndarray):
        return _jsonable(value.tolist(), where)
    if isinstance(value, np.generic):
        return _jsonable(value.item(), where)
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"{where}: cannot store {type(value).__name__} as JSON")


def summary_json(summary: Mapping[str, Any], path: Path) -> str:
    """The summary as strict JSON text: keys in the order given, NaN/inf as null, a final newline."""
    try:
        clean = _jsonable(summary, "summary")
    except TypeError as exc:
        raise ResultsError(path, str(exc)) from exc
    return json.dumps(clean, indent=2, ensure_ascii=False, allow_nan=False) + "\n"
