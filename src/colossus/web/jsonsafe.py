"""Documents made safe for strict JSON: numpy scalars and arrays to Python, NaN and infinities to null.

Why: the model documents (power, reliability, a run's summary) are built for
``json.dumps(..., allow_nan=False)`` in the CLI, but a what-if from the
dashboard can reach corners (an infinite interval, a NaN delay) that the
CLI's inputs rarely do. Starlette refuses NaN when it encodes a response,
which would turn a valid answer into a 500; here it becomes ``null``, the
value the documents already use for "none".
"""

from __future__ import annotations

from collections.abc import Mapping
import datetime as dt
from enum import Enum
import math
from typing import Any

import numpy as np


def jsonable(value: Any) -> Any:
    """``value`` with every container rebuilt of JSON types; non-finite floats become None."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, Enum):
        return jsonable(value.value)
    if isinstance(value, (int, np.integer)) and not isinstance(value, np.bool_):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, np.ndarray):
        return [jsonable(v) for v in value.tolist()]
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if hasattr(value, "model_dump"):
        return jsonable(value.model_dump(mode="json"))
    return str(value)
