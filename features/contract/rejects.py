"""Rejected rows: one CSV per table, one line per rejected row, written atomically.

Layout of ``<rejects_dir>/rejects/<table>.csv``: ``table``, ``row`` (1-based data row number of the
source file, header excluded), ``reasons`` (``column: rule`` items joined by ``"; "``), then the row's
original values, one column per source column (as text; list columns joined with ``;``). A source column
whose name clashes with the first three is written as ``original_<name>``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from features.contract.rules import Failure
from features.contract.schemas import LIST_SEPARATOR, LIST_TYPE

LEAD_COLUMNS = ("table", "row", "reasons")
REASON_SEPARATOR = "; "


def rejected_rows(failures: list[Failure]) -> np.ndarray:
    """Every row position failing at least one rule.

    Args:
        failures: the failures of one table.

    Returns:
        Sorted distinct 0-based row positions.

    """
    if not failures:
        return np.empty(0, dtype=np.int64)
    return np.unique(np.concatenate([f.rows for f in failures]).astype(np.int64))


def rejects_table(table: str, raw: pa.Table, failures: list[Failure]) -> pa.Table:
    """Build the rejects of one table (vectorised: no loop over rows).

    Args:
        table: table name.
        raw: the table as read from its file (original values).
        failures: the failures of the table.

    Returns:
        One row per rejected row: table, row number, reasons, original values.

    """
    rows, reasons = _reasons(failures)
    originals = raw.take(pa.array(rows, pa.int64()))
    columns: dict[str, pa.Array | pa.ChunkedArray] = {
        "table": pa.repeat(pa.scalar(table, pa.string()), len(rows)),
        "row": pa.array(rows + 1, pa.int64()),
        "reasons": reasons,
    }
    for name in originals.column_names:
        label = f"original_{name}" if name in LEAD_COLUMNS else name
        columns[label] = _as_text(originals.column(name))
    return pa.table(columns)


def _reasons(failures: list[Failure]) -> tuple[np.ndarray, pa.Array]:
    labels = pa.array([f"{f.column}: {f.rule}" for f in failures], pa.string())
    all_rows = np.concatenate([f.rows for f in failures]).astype(np.int64)
    codes = np.repeat(np.arange(len(failures)), [len(f.rows) for f in failures])
    order = np.argsort(all_rows, kind="stable")
    sorted_rows = all_rows[order]
    rows, starts = np.unique(sorted_rows, return_index=True)
    offsets = pa.array(np.append(starts, len(sorted_rows)).astype(np.int32))
    items = pc.take(labels, pa.array(codes[order]))
    return rows, pc.binary_join(pa.ListArray.from_arrays(offsets, items), REASON_SEPARATOR)


def _as_text(column: pa.ChunkedArray) -> pa.ChunkedArray | pa.Array:
    kind = column.type
    try:
        if pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
            return pc.binary_join(pc.cast(column, LIST_TYPE), LIST_SEPARATOR)
        return pc.cast(column, pa.string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pa.array([None if v is None else json.dumps(v, default=str) for v in column.to_pylist()])


def write_rejects(folder: Path, table: str, rejects: pa.Table) -> Path:
    """Write one table's rejects atomically: a temporary file in the same folder, then a rename.

    Args:
        folder: the rejects folder (created when missing).
        table: table name (the file is ``<table>.csv``).
        rejects: the rows from :func:`rejects_table`.

    Returns:
        The file written.

    """
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{table}.csv"
    temporary = folder / f".{table}.csv.{os.getpid()}.tmp"
    try:
        pacsv.write_csv(rejects, temporary)
        os.replace(temporary, target)
    finally:
        temporary.unlink(missing_ok=True)
    return target


def remove_stale(folder: Path, table: str) -> None:
    """Remove a rejects file left by an earlier load of a table that has no rejects now.

    Args:
        folder: the rejects folder.
        table: table name.

    """
    (folder / f"{table}.csv").unlink(missing_ok=True)
