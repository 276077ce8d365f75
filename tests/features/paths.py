"""The DuckDB engine's two paths to the per-contact windows: their SQL, or the compiled passes."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from features.engine import passes

SQL_ONLY = {"compiled_passes": False}


@contextmanager
def passes_forced() -> Iterator[None]:
    """Run the passes whatever the data's size (tiny worlds run them uncompiled)."""
    before = passes.PASSES_FROM_ROWS
    passes.PASSES_FROM_ROWS = 0
    try:
        yield
    finally:
        passes.PASSES_FROM_ROWS = before
