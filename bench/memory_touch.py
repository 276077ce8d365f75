"""What a first write to fresh memory costs on this machine, against writing the same memory again.

The feature build and the prototype's explodes write large new arrays; on a VM the first touch of each page
can cost more than the write itself. Each way of allocating runs in its own process (numpy reads its
huge-page setting at import): numpy with its default huge-page advice, numpy with 4 KiB pages
(``NUMPY_MADVISE_HUGEPAGE=0``), and an allocation inside a numba-compiled function (numba's allocator gives
no advice: its pages are huge only where transparent huge pages are ``always``), when numba is installed.
numpy's writes are ``ndarray.fill``; numba's, first and again, a compiled loop. Figures go to
``bench/results/memory_touch.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import write_result

MODES = {"numpy_hugepage_advice": "1", "numpy_4k_pages": "0", "numba": "0"}
THP = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def touch_times(mode: str, n_bytes: int, trials: int) -> dict[str, Any]:
    """Allocate ``n_bytes`` ``trials`` times; time the first write to it and a second write.

    Args:
        mode: a key of :data:`MODES`; ``numba`` allocates and writes inside a compiled function.
        n_bytes: the size of each allocation.
        trials: how many fresh allocations to time, one after another.

    Returns:
        ``first_s`` and ``again_s``: the seconds of each trial's first and second write; ``pid``, this
        process's id, and ``numpy_madvise_hugepage``, whether numpy advises huge pages (as it read its
        setting at import; ``None`` where numpy does not say).

    """
    n = n_bytes // 8
    alloc, write = _numba_writers() if mode == "numba" else (_numpy_alloc, _numpy_write)
    out: dict[str, Any] = {"first_s": [], "again_s": [], "pid": os.getpid()}
    out["numpy_madvise_hugepage"] = _numpy_hugepage_advice()
    for _ in range(trials):
        start = time.perf_counter()
        a = alloc(n)
        out["first_s"].append(time.perf_counter() - start)
        start = time.perf_counter()
        write(a)
        out["again_s"].append(time.perf_counter() - start)
        del a
    return out


def _numpy_hugepage_advice() -> bool | None:
    """Whether numpy advises huge pages for its large arrays (a private query; ``None`` if it is gone)."""
    query = getattr(getattr(np, "_core", None), "multiarray", None)
    get = getattr(query, "_get_madvise_hugepage", None)
    return None if get is None else bool(get())


def _numpy_alloc(n: int) -> np.ndarray:
    a = np.empty(n, np.int64)
    a.fill(1)
    return a


def _numpy_write(a: np.ndarray) -> None:
    a.fill(2)


def _numba_writers() -> tuple[Any, Any]:
    """Compiled: allocate n int64 and write each; write each again (both compiled and run once, small)."""
    import numba

    @numba.njit
    def alloc(n: int) -> Any:
        a = np.empty(n, np.int64)
        for i in range(n):
            a[i] = 1
        return a

    @numba.njit
    def write(a: Any) -> None:
        for i in range(a.shape[0]):
            a[i] = 2

    write(alloc(8))
    return alloc, write


def measure(n_bytes: int, trials: int) -> dict[str, Any]:
    """Run each mode of :data:`MODES` in a child process; the figures of all, with each mode's ratio."""
    figures: dict[str, Any] = {"bytes": n_bytes, "trials": trials}
    figures["transparent_hugepage"] = THP.read_text().strip() if THP.exists() else "n/a"
    for mode, advice in MODES.items():
        if mode == "numba" and not _has_numba():
            figures[mode] = "numba not installed"
            continue
        env = {**os.environ, "NUMPY_MADVISE_HUGEPAGE": advice}
        args = [sys.executable, "-m", "bench.memory_touch", "--child", mode, "--bytes", str(n_bytes)]
        done = subprocess.run([*args, "--trials", str(trials)], env=env, capture_output=True, text=True)
        if done.returncode != 0:
            raise SystemExit(f"memory_touch: the {mode} child failed:\n{done.stderr}")
        times = json.loads(done.stdout)
        best_again = min(times["again_s"])
        figures[mode] = {
            **times,
            "first_over_again_best": min(times["first_s"]) / best_again,
            "first_over_again_worst": max(times["first_s"]) / best_again,
        }
    return figures


def _has_numba() -> bool:
    try:
        import numba  # noqa: F401
    except ImportError:
        return False
    return True


def main() -> int:
    """Measure every mode and write the figures (or, with ``--child``, time one mode and print JSON)."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bytes", type=int, default=800_000_000, help="size of each allocation")
    ap.add_argument("--trials", type=int, default=3, help="fresh allocations per mode")
    ap.add_argument("--child", choices=sorted(MODES), help="(internal) time one mode, print JSON")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(touch_times(args.child, args.bytes, args.trials)))
        return 0
    write_result("memory_touch", measure(args.bytes, args.trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
