"""The DuckDB engine's two paths to the collaboration blocks: their SQL, or the compiled passes."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

from features.engine import passes

SQL_ONLY = {"compiled_passes": False}


@contextmanager
def passes_forced(compiled: bool = False) -> Iterator[None]:
    """Run the passes whatever the data's size: compiled by numba if ``compiled``, else uncompiled."""
    before = passes.PASSES_FROM_ROWS, passes.COMPILE_FROM_ROWS
    passes.PASSES_FROM_ROWS = 0
    passes.COMPILE_FROM_ROWS = 0 if compiled else sys.maxsize
    try:
        yield
    finally:
        passes.PASSES_FROM_ROWS, passes.COMPILE_FROM_ROWS = before
