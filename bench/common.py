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


def own_peak_rss_mb() -> float:
    """Peak resident set size of this process's own memory in MiB (Linux ``VmHWM``).

    Unlike :func:`peak_rss_mb`, it does not inherit the parent's peak: ``getrusage`` carries the peak of the
    forked copy of the parent across ``exec``, so a child started by a process holding 6 GB reports 6 GB.
    Falls back to :func:`peak_rss_mb` where ``/proc`` is absent.
    """
    try:
        status = Path("/proc/self/status").read_text(encoding="utf-8")
    except OSError:
        return peak_rss_mb()
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024.0
    return peak_rss_mb()


@contextmanager
def timed(into: dict[str, Any], key: str) -> Iterator[None]:
    """Store the wall-clock seconds of the block in ``into[key]``."""
    start = time.perf_counter()
    try:
        yield
    finally:
        into[key] = time.perf_counter() - start


class StepClock:
    """Seconds between successive calls, by name: as a build's ``on_step``, each statement's time.

    The first call's seconds run from the clock's creation; a name called twice adds up.
    """

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}
        self._last = time.perf_counter()

    def __call__(self, name: str) -> None:
        now = time.perf_counter()
        self.seconds[name] = self.seconds.get(name, 0.0) + now - self._last
        self._last = now


def write_result(name: str, figures: dict[str, Any]) -> Path:
    """Print the figures and write them to ``bench/results/<name>.json`` (atomically)."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(figures, indent=2, sort_keys=True, default=str), encoding="utf-8")
    tmp.replace(path)
    print(json.dumps({name: figures}, indent=2, sort_keys=True, default=str))
    return path


def alternate(pair: tuple[Any, Any], trial: int) -> tuple[Any, Any]:
    """The pair in its order on even trials, reversed on odd ones, so that neither always runs first."""
    return pair if trial % 2 == 0 else (pair[1], pair[0])
