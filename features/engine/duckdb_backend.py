"""The DuckDB backend: run the engine-neutral statements on an in-process DuckDB connection."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, MutableMapping

import duckdb
import pandas as pd
import pyarrow as pa

from features.cpus import usable_cpus
from features.engine.sql import Stmt, last_uses

OWN_COPY_ROWS = 1_000_000  # tables from this size on move into DuckDB, compressed
MOVE_SLICE_ROWS = 4_000_000  # they move this many rows at a time (one slice is held uncompressed)
DEFAULT_LIMIT_GB = 4  # DuckDB's default memory limit is a third of the machine's memory, at most this


def default_memory_limit() -> str:
    """Give DuckDB a third of the machine's memory, at most :data:`DEFAULT_LIMIT_GB`; beyond it, it spills.

    Loaded and result frames live beside DuckDB's memory. With the cap, the scale world's build peaks under
    6 GB; on that world a limit of 8 GB measured no faster once the machine's speed is accounted for.
    """
    try:
        total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):
        return f"{DEFAULT_LIMIT_GB}GB"
    return f"{max(1, min(DEFAULT_LIMIT_GB, int(total / 3 / 2**30)))}GB"


def connect(threads: int | None = None, memory_limit: str | None = None) -> duckdb.DuckDBPyConnection:
    """Open an in-memory DuckDB connection with the session settings the definitions assume (UTC)."""
    con = duckdb.connect(":memory:")
    con.execute("SET TimeZone = 'UTC'")
    con.execute(f"SET threads = {threads or usable_cpus()}")
    con.execute("SET preserve_insertion_order = false")
    limit = memory_limit or default_memory_limit()
    con.execute(f"SET memory_limit = '{limit}'")
    con.execute(f"SET temp_directory = '{tempfile.gettempdir()}/csat-duckdb-spill'")
    return con


def _create_compact(con: duckdb.DuckDBPyConnection, name: str, parts: Iterable[str]) -> None:
    """Materialise the union of the ``parts`` queries as table ``name`` of the compressed database.

    DuckDB compresses a table when the database is checkpointed; until then it holds it uncompressed. A part
    at a time, only one part is ever held uncompressed.
    """
    for i, sql in enumerate(parts):
        verb = f"CREATE OR REPLACE TABLE compact.{name} AS" if i == 0 else f"INSERT INTO compact.{name}"
        con.execute(f"{verb} {sql}")
        con.execute("CHECKPOINT compact")  # compresses what was just written


def _materialise(con: duckdb.DuckDBPyConnection, st: Stmt) -> None:
    """Create the statement's view or table (compressed when ``compact``)."""
    if st.view:
        con.execute(f"CREATE OR REPLACE TEMP VIEW {st.name} AS {st.sql}")
    elif st.compact:
        _create_compact(con, st.name, [st.sql])
    else:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {st.name} AS {st.sql}")


def _arrow_slices(con: duckdb.DuckDBPyConnection, name: str, arrow: pa.Table) -> Iterator[str]:
    """Offer ``arrow`` as ``<name>_df`` :data:`MOVE_SLICE_ROWS` rows at a time, yielding a query of each."""
    for lo in range(0, arrow.num_rows, MOVE_SLICE_ROWS):
        con.register(f"{name}_df", arrow.slice(lo, MOVE_SLICE_ROWS))
        yield f"SELECT * FROM {name}_df"


def _register(con: duckdb.DuckDBPyConnection, tables: MutableMapping[str, pd.DataFrame]) -> set[str]:
    """Offer each prepared table to the statements under its name; big ones move into DuckDB, compressed.

    A table of at least :data:`OWN_COPY_ROWS` rows is copied into a compressed DuckDB table and removed from
    ``tables``: its pandas memory is freed, and what DuckDB holds counts against its memory limit (it spills).

    Returns:
        The names of the tables moved into DuckDB.

    """
    moved: set[str] = set()
    for name in list(tables):
        arrow = pa.Table.from_pandas(tables[name], preserve_index=False)
        if arrow.num_rows >= OWN_COPY_ROWS:
            _create_compact(con, name, _arrow_slices(con, name, arrow))
            con.unregister(f"{name}_df")
            del tables[name], arrow
            moved.add(name)
        else:
            con.register(f"{name}_df", arrow)
            con.execute(f"CREATE OR REPLACE TEMP VIEW {name} AS SELECT * FROM {name}_df")
    pa.default_memory_pool().release_unused()
    return moved


def _drop(
    con: duckdb.DuckDBPyConnection, names: list[str], by_name: dict[str, Stmt], moved: set[str]
) -> None:
    """Drop the tables no later statement reads: statements' tables and raw tables moved into DuckDB."""
    for d in names:
        if d in moved:
            con.execute(f"DROP TABLE IF EXISTS compact.{d}")
        elif d in by_name and not by_name[d].view:
            con.execute(f"DROP TABLE IF EXISTS {d}")


def run(
    tables: MutableMapping[str, pd.DataFrame],
    stmts: list[Stmt],
    final_sql: str,
    on_step: Callable[[str], None] | None = None,
    memory_limit: str | None = None,
) -> pd.DataFrame:
    """Register the tables, materialise the statements in order, and return the final query's result.

    The big tables are moved into DuckDB: they leave ``tables`` (see :func:`_register`).

    Intermediate tables are dropped as soon as no later statement needs them, to keep memory low. The
    statements marked ``compact`` (the big row-level tables that several later statements read) are stored
    compressed: about half the memory for a few percent more time.
    """
    con = connect(memory_limit=memory_limit)
    con.execute("ATTACH ':memory:' AS compact (COMPRESS)")
    con.execute("SET search_path = 'memory,compact'")
    try:
        moved = _register(con, tables)
        by_name = {s.name: s for s in stmts}
        reads, last_use = last_uses(stmts)
        for i, st in enumerate(stmts):
            _materialise(con, st)
            done = [
                d for d in reads[st.name] if last_use.get(d) == i and d != "cut" and not d.startswith("out_")
            ]
            _drop(con, done, by_name, moved)
            if on_step is not None:
                on_step(st.name)
        result = con.sql(final_sql).to_arrow_table()
    finally:
        con.close()  # frees the engine's tables before the result is converted
    return result.to_pandas(self_destruct=True, split_blocks=True)
