"""The DuckDB backend: run the engine-neutral statements on an in-process DuckDB connection."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Mapping

import duckdb
import pandas as pd
import pyarrow as pa

from features.engine.sql import Stmt, last_uses


def default_memory_limit() -> str:
    """Give DuckDB a third of the machine's memory (the input frames live beside it); it spills the rest."""
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return "4GB"
    return f"{max(1, int(total / 3 / 2**30))}GB"


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with the session settings the definitions assume (UTC)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads or os.cpu_count() or 2}")
    con.execute("SET preserve_insertion_order = false")
    limit = memory_limit or os.environ.get("CSAT_DUCKDB_MEMORY_LIMIT") or default_memory_limit()
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/csat-duckdb-spill'")
    return con


def run(
    tables: Mapping[str, pd.DataFrame],
    stmts: list[Stmt],
    final_sql: str,
    on_step: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Register the tables, materialise the statements in order, and return the final query's result.

    Intermediate tables are dropped as soon as no later statement needs them, to keep memory low.
    """
    con = connect()
    try:
        for name, df in tables.items():
            con.register(f"{name}_df", pa.Table.from_pandas(df, preserve_index=False))
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_df")
        by_name = {s.name: s for s in stmts}
        reads, last_use = last_uses(stmts)
        for i, st in enumerate(stmts):
            kind = "VIEW" if st.view else "TABLE"
            con.execute(f"CREATE OR REPLACE TEMP {kind} {st.name} AS {st.sql}")
            for d in reads[st.name]:
                dep = by_name.get(d)
                if last_use.get(d) == i and d != "cut" and not d.startswith("out_") and dep and not dep.view:
                    con.execute(f"DROP TABLE IF EXISTS {d}")
            if on_step is not None:
                on_step(st.name)
        return con.sql(final_sql).to_arrow_table().to_pandas()
    finally:
        con.close()
