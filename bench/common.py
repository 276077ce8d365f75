"""Shared helpers for the benchmarks: peak memory, timing, and the JSON result files."""

from __future__ import annotations

import json
import os
import resource
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

RESULTS_DIR = Path(os.environ.get("CSAT_BENCH_RESULTS", "bench/results"))


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children) in MiB."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return resource.getrusage(who).ru_maxrss / 1024.0


@contextmanager
def timed(into: dict[str, float], key: str) -> Iterator[None]:
    """Store the wall-clock seconds of the block in ``into[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Print the figures and write them to ``bench/results/<name>.json`` (atomically)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(path)
    print(json.dumps({name: figures}, indent=2, sort_keys=True, default=str))
    return path
