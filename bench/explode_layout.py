"""The prototype's contacts explode on the scale world: its five column arrays against one row-major matrix.

``bench/scatter_writes.py`` finds rows written at random accounts' next places 2.2x faster into one matrix
than into five arrays. This benchmark asks the same of the real explode, whose rows come in the file's order
within a day: :func:`kernels.explode_rows` (five arrays) against :func:`explode_rows_matrix`, the same passes
writing one float64 matrix (exact here: codes and microsecond stamps are integers below 2**53, a missing
stamp is -2**63), both compiled by numba, alternating in one run on the same arrays. It checks that both hold
the same rows and writes its figures to ``bench/results/explode_layout.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import prototype_kernels as kernels
from bench.bench_features import SCALE, ensure_world
from bench.common import alternate, write_result
from bench.prototype_sweep import read_contacts, read_employees, read_interactions

MS_PER_MINUTE = kernels.MS_PER_MINUTE


def explode_rows_matrix(ix: Any, ct: Any, visit: Any, n_accounts: int) -> Any:
    """:func:`kernels.explode_rows`, writing its five columns as one row-major float64 matrix."""
    started, known, minutes, org, ext, offsets = ix
    acc_of, recorded, is_exec = ct
    first = np.zeros(n_accounts + 1, np.int64)
    out = np.empty((0, 5))
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            lo, hi = offsets[i], offsets[i + 1]
            with_org = org[i] >= 0
            for j in range(lo, hi):
                if ext[j] == org[i]:
                    with_org = False
            ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
            for j in range(lo, hi + 1):
                c = ext[j] if j < hi else (org[i] if with_org else -1)
                if c < 0:
                    continue
                a = acc_of[c]
                if step == 0:
                    first[a + 1] += 1
                    continue
                r = at[a]
                out[r, 0], out[r, 1], out[r, 2] = c, started[i], max(known[i], recorded[c])
                out[r, 3], out[r, 4] = ms, is_exec[c]
                at[a] += 1
        if step == 0:
            first = np.cumsum(first)
            out = np.empty((first[-1], 5))
    return out, first


def contact_inputs(data: Path, k: dict[str, Any]) -> tuple[Any, ...]:
    """The explode's arguments from the world's files, as the prototype reads them.

    Args:
        data: the world's folder (the contract's parquet files).
        k: the kernels (:func:`kernels.compiled` or :func:`kernels.plain`).

    Returns:
        ``(ix, ct, visit, n_accounts)``: the arguments of :func:`kernels.explode_rows`.

    """
    ids, accounts, ct, _ = read_contacts(data)
    employee_ids = read_employees(data)[0]
    for index_type in (np.int8, np.int16, np.int32):  # compiled for the files' index types
        k["lookup_codes"](np.array([0, -1], index_type), np.arange(2, dtype=np.int64))
    ix = read_interactions(data, ids, employee_ids, {}, k)[0]
    return ix, ct, k["day_order"](ix[0]), len(accounts)


def same_rows(columns: tuple[np.ndarray, ...], matrix: np.ndarray) -> bool:
    """Whether the matrix holds exactly the five columns: integers as integers, the flag as a flag."""
    ints = all(np.array_equal(matrix[:, j].astype(np.int64), columns[j]) for j in range(3))
    return ints and np.array_equal(matrix[:, 3], columns[3]) and np.array_equal(matrix[:, 4] != 0, columns[4])


def measure(data: Path, trials: int) -> dict[str, Any]:
    """Time both explodes ``trials`` times on the world in ``data``, each first in turn; check they agree.

    Args:
        data: the world's folder.
        trials: timed runs of each explode.

    Returns:
        The seconds of each run per layout, the rows, and the best columns' time over the best matrix's.

    Raises:
        SystemExit: the two explodes hold different rows.

    """
    import numba

    k = kernels.compiled()
    ix, ct, visit, n_accounts = contact_inputs(data, k)
    writers = (("columns_s", k["explode_rows"]), ("matrix_s", numba.njit(explode_rows_matrix)))
    for _, explode in writers:  # compiled before the timing
        explode(ix, ct, visit[:10], n_accounts)
    figures: dict[str, Any] = {"interactions": len(visit), "columns_s": [], "matrix_s": []}
    for trial in range(trials):
        for name, explode in alternate(writers, trial):
            start = time.perf_counter()
            out = explode(ix, ct, visit, n_accounts)
            figures[name].append(time.perf_counter() - start)
            del out
    (columns, first), (matrix, first_m) = (explode(ix, ct, visit, n_accounts) for _, explode in writers)
    figures["rows"] = len(matrix)
    if not (np.array_equal(first, first_m) and same_rows(columns, matrix)):
        raise SystemExit("explode_layout: the two explodes hold different rows")
    figures["columns_over_matrix"] = min(figures["columns_s"]) / min(figures["matrix_s"])
    return figures


def main() -> int:
    """Measure both explodes on the scale world (simulated first if missing) and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CSAT_BENCH_DATA", "data/bench_scale")))
    ap.add_argument("--trials", type=int, default=3, help="timed runs of each explode")
    args = ap.parse_args()
    ensure_world(args.data, SCALE["accounts"], SCALE["months"], 42)
    write_result("explode_layout", measure(args.data, args.trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
