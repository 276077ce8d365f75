"""Rows written at their account's next place: five column arrays against one row-major matrix.

The prototype's explodes (``bench/prototype_kernels.py``) visit the interactions by day and write each row at
its account's next place, into one array per column: each row is five writes to five far-apart places. This
benchmark writes the same rows, in the same scattered order (each row's account drawn at random, as a day's
interactions fall over the accounts), once into five arrays (three int64, a float64 and a bool, as
``explode_rows``) and once into one float64 matrix of five columns (exact for these values: integers below
2**53), compiled by numba, alternating in one run. It checks that both hold the same rows and writes its
figures to ``bench/results/scatter_writes.json``.
"""

from __future__ import annotations

import argparse
import sys
import time
from typing import Any

import numpy as np

from bench.common import alternate, write_result


def write_columns(acc: Any, first: Any, vals: Any) -> Any:
    """Row i at its account's next place, as five arrays (``explode_rows``' layout)."""
    at = first[:-1].copy()
    n = first[-1]
    o_val, o_i, o_next = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    o_half, o_even = np.empty(n), np.empty(n, np.bool_)
    for i in range(acc.shape[0]):
        r = at[acc[i]]
        o_val[r], o_i[r], o_next[r] = vals[i], i, i + 1
        o_half[r], o_even[r] = 0.5 * i, i % 2 == 0
        at[acc[i]] += 1
    return o_val, o_i, o_next, o_half, o_even


def write_matrix(acc: Any, first: Any, vals: Any) -> Any:
    """Row i at its account's next place, as one row-major matrix of the same five values."""
    at = first[:-1].copy()
    out = np.empty((first[-1], 5))
    for i in range(acc.shape[0]):
        r = at[acc[i]]
        out[r, 0], out[r, 1], out[r, 2] = vals[i], i, i + 1
        out[r, 3], out[r, 4] = 0.5 * i, i % 2 == 0
        at[acc[i]] += 1
    return out


def scattered_rows(n_rows: int, n_accounts: int, seed: int = 0) -> tuple[np.ndarray, ...]:
    """Each row's account (at random), each account's first place, and a value per row."""
    rng = np.random.default_rng(seed)
    acc = rng.integers(0, n_accounts, n_rows)
    first = np.zeros(n_accounts + 1, np.int64)
    first[1:] = np.cumsum(np.bincount(acc, minlength=n_accounts))
    return acc, first, rng.integers(0, 1000, n_rows)


def measure(n_rows: int, n_accounts: int, trials: int, compiled: bool = True) -> dict[str, Any]:
    """Time both layouts ``trials`` times, alternating; check they hold the same rows.

    Args:
        n_rows: rows to write.
        n_accounts: accounts the rows fall over.
        trials: timed runs of each layout.
        compiled: compile the writers with numba (``False``: plain Python, for tests on a few rows).

    Returns:
        The seconds of each run per layout, and the best columns' time over the best matrix's.

    Raises:
        SystemExit: the two layouts hold different rows.

    """
    columns, matrix = _writers(compiled)
    rows = scattered_rows(n_rows, n_accounts)
    figures: dict[str, Any] = {"rows": n_rows, "accounts": n_accounts, "columns_s": [], "matrix_s": []}
    for trial in range(trials):
        for name, write in alternate((("columns_s", columns), ("matrix_s", matrix)), trial):
            start = time.perf_counter()
            out = write(*rows)
            figures[name].append(time.perf_counter() - start)
            del out
    if not np.array_equal(np.column_stack(columns(*rows)).astype(np.float64, copy=False), matrix(*rows)):
        raise SystemExit("scatter_writes: the two layouts hold different rows")
    figures["columns_over_matrix"] = min(figures["columns_s"]) / min(figures["matrix_s"])
    return figures


def _writers(compiled: bool) -> tuple[Any, Any]:
    """The two writers, compiled by numba (and run once on a few rows) or plain."""
    if not compiled:
        return write_columns, write_matrix
    import numba

    columns, matrix = numba.njit(write_columns), numba.njit(write_matrix)
    for write in (columns, matrix):
        write(*scattered_rows(10, 3))
    return columns, matrix


def main() -> int:
    """Measure both layouts on the given number of rows and write the figures."""
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--rows", type=int, default=48_000_000, help="rows (the scale world's contact rows: 47.9M)"
    )
    ap.add_argument("--accounts", type=int, default=20_000, help="accounts (the scale world's)")
    ap.add_argument("--trials", type=int, default=3, help="timed runs of each layout")
    args = ap.parse_args()
    write_result("scatter_writes", measure(args.rows, args.accounts, args.trials))
    return 0


if __name__ == "__main__":
    sys.exit(main())
