"""Value comparison helpers shared by the feature tests."""

from __future__ import annotations

import math
from typing import Any


def is_missing(v: Any) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def same(a: Any, b: Any) -> bool:
    """Equal values, NaN/None equal to each other, floats to 1e-9."""
    if is_missing(a) or is_missing(b):
        return is_missing(a) and is_missing(b)
    if not isinstance(a, int | float) or not isinstance(b, int | float):
        return a == b
    return math.isclose(float(a), float(b), rel_tol=1e-9, abs_tol=1e-9)
