"""The online store's embedded database: one SQLite file, rebuilt beside the live one, swapped in atomically.

Readers open the file read-only; a reader that opened the previous file keeps reading it until it closes
(the swap is an ``os.replace`` of the path, never an in-place rewrite).
"""

from __future__ import annotations

import json
import os
import sqlite3
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

TABLE = "features"
META = "manifest"


def stage_online_db(path: Path, frame: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """Write ``frame`` and its manifest to a new, complete file beside ``path`` and return its name.

    Nothing is left behind if the write fails or is stopped; the caller swaps the file in (``os.replace``) or
    removes it.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        con = sqlite3.connect(tmp)
        try:
            out = frame.copy()
            out["as_of"] = pd.to_datetime(out["as_of"]).dt.strftime("%Y-%m-%dT%H:%M:%S")
            out.to_sql(TABLE, con, index=False, chunksize=5000)
            con.execute(f"CREATE UNIQUE INDEX {TABLE}_account ON {TABLE}(account_id)")
            con.execute(f"CREATE TABLE {META} (key TEXT PRIMARY KEY, value TEXT)")
            con.executemany(
                f"INSERT INTO {META} VALUES (?, ?)",
                [(k, json.dumps(v, default=str)) for k, v in manifest.items()],
            )
            con.commit()
        finally:
            con.close()
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp


READ_ERRORS: tuple[type[Exception], ...] = (
    sqlite3.DatabaseError,
    json.JSONDecodeError,
    pd.errors.DatabaseError,
)
"""What :func:`read_online_db` raises on a damaged file (not SQLite, a table missing, bad JSON)."""


def _connect_ro(path: Path) -> sqlite3.Connection:
    if not path.is_file():
        raise FileNotFoundError(f"no online store at {path}; run `csat features build` first")
    return sqlite3.connect(f"file:{path}?mode=ro", uri=True)


def read_online_db(
    path: Path, account_ids: Sequence[str] | None = None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Rows of the online store (all, or the given accounts) and its manifest, opened read-only."""
    con = _connect_ro(path)
    try:
        meta = {k: json.loads(v) for k, v in con.execute(f"SELECT key, value FROM {META}")}
        if account_ids is None:
            df = pd.read_sql_query(f"SELECT * FROM {TABLE}", con)
        else:
            ids = [str(a) for a in account_ids]
            parts = []
            for i in range(0, len(ids), 500):
                chunk = ids[i : i + 500]
                marks = ",".join("?" * len(chunk))
                parts.append(
                    pd.read_sql_query(
                        f"SELECT * FROM {TABLE} WHERE account_id IN ({marks})", con, params=chunk
                    )
                )
            df = (
                pd.concat(parts, ignore_index=True)
                if parts
                else pd.read_sql_query(f"SELECT * FROM {TABLE} LIMIT 0", con)
            )
    finally:
        con.close()
    return df, meta
