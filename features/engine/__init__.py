"""Point-in-time feature engine: every SQL statement and engine call of the feature store lives here."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, MutableMapping
from functools import lru_cache
from typing import Any

import pandas as pd
import pyarrow as pa
import sqlglot

from features.engine.prepare import Plan, count_people, encode_ids, plan, prepare_tables
from features.engine.sql import OUTPUTS, Stmt, raw_tables, statements

ENGINES = ("duckdb", "spark")


@lru_cache(maxsize=64)
def _selected(sql: str) -> tuple[str, ...]:
    tree = sqlglot.parse_one(sql, read="duckdb")
    assert isinstance(tree, sqlglot.exp.Query)
    return tuple(tree.named_selects)


def output_columns(stmts: list[Stmt]) -> dict[str, tuple[str, ...]]:
    """Feature columns each output statement yields (its select list minus ``cutoff_id``)."""
    by_name = {s.name: s for s in stmts}
    return {o: tuple(c for c in _selected(by_name[o].sql) if c != "cutoff_id") for o in OUTPUTS}


def definitions_text(extras: Mapping[str, str] | None = None) -> str:
    """All SQL of the definitions, for the feature-set version hash."""
    return "\n;\n".join(f"{s.name}: {s.sql}" for s in statements(dict(extras or {})))


def select_statements(p: Plan, stmts: list[Stmt]) -> tuple[list[Stmt], list[str], dict[str, str]]:
    """Pick the statements needed for the plan's features, the outputs to join, and feature -> output."""
    wanted = {f.name for f in p.features}
    cols = output_columns(stmts)
    present = p.present | {"entities"}
    outputs: list[str] = []
    where: dict[str, str] = {}
    for out, names in cols.items():
        use = [n for n in names if n in wanted]
        if use and raw_tables(stmts, out) <= present:
            outputs.append(out)
            for n in use:
                where.setdefault(n, out)
    return with_dependencies(stmts, outputs), outputs, where


def with_dependencies(stmts: list[Stmt], targets: Collection[str]) -> list[Stmt]:
    """The statements named in ``targets`` and every statement they depend on, in execution order."""
    by_name = {s.name: s for s in stmts}
    needed: set[str] = set()
    todo = list(targets)
    while todo:
        cur = todo.pop()
        if cur not in needed:
            needed.add(cur)
            todo.extend(by_name[cur].deps)
    return [s for s in stmts if s.name in needed]


def final_query(p: Plan, outputs: list[str], where: dict[str, str]) -> str:
    """Join the outputs onto the cutoffs, one column per available feature in plan order."""
    alias = {o: f"o{i}" for i, o in enumerate(outputs)}
    cols = ["c.cutoff_id"] + [f"{alias[where[f.name]]}.{f.name}" for f in p.features if f.name in where]
    joins = " ".join(f"LEFT JOIN {o} AS {a} ON {a}.cutoff_id = c.cutoff_id" for o, a in alias.items())
    return f"SELECT {', '.join(cols)} FROM cut AS c {joins} ORDER BY c.cutoff_id"


def with_passes(chosen: list[Stmt], outputs: list[str], prepared: dict[str, pd.DataFrame]) -> list[Stmt]:
    """Give the blocks of :data:`passes.TABLES` by compiled passes, not their statements.

    The six collaboration blocks read the interactions; the five of the baseline (usage, support, surveys,
    renewals, invoices) read their own tables. The passes run on data with interactions only (their size
    decides, as below).

    Each result of the passes (:func:`passes.run_passes`) joins the prepared tables under its name in
    :data:`passes.TABLES`, and the statement it stands for reads it; the statements only those read are left
    out. Data smaller than :data:`passes.PASSES_FROM_ROWS`, or without numba to compile the passes, keeps the
    SQL. When no statement left reads the interactions, the passes drop them from ``prepared`` as they start.

    Returns:
        The statements to run, in order.

    """
    from features.engine import passes

    wanted = {s.name for s in chosen} & set(passes.TABLES)
    if not wanted or "interactions" not in prepared:
        return chosen
    k = passes.choose_kernels(len(prepared["interactions"]))
    if k is None:
        return chosen
    swept = {
        name: Stmt(name, f"SELECT * FROM {passes.TABLES[name]}", (passes.TABLES[name],)) for name in wanted
    }
    final = with_dependencies([swept.get(s.name, s) for s in chosen], outputs)
    unread = all("interactions" not in s.tables for s in final)  # then the passes free it as they start
    for name, frame in passes.run_passes(prepared, k, wanted, release=unread).items():
        prepared[passes.TABLES[name]] = frame
    return final


def _outputs_taken_whole(
    chosen: list[Stmt], outputs: list[str], prepared: dict[str, pd.DataFrame]
) -> tuple[list[Stmt], dict[str, pd.DataFrame]]:
    """The outputs the passes gave whole, taken out of the engine's run; the statements left to run.

    Such an output's statement only reads the passes' result, every cutoff's row in order of cutoff id
    (:func:`passes.run_passes`): its columns go into the features as they are, not into DuckDB and out again
    through the final join (on the scale world the five of the baseline: 1.9 s less).
    """
    from features.engine import passes

    taken = {
        o: prepared[passes.TABLES[o]]
        for o in outputs
        if o in passes.WHOLE_OUTPUTS and passes.TABLES[o] in prepared
    }
    return with_dependencies(chosen, [o for o in outputs if o not in taken]), taken


def _backend(engine: str) -> Any:
    if engine == "spark":
        from features.engine import spark_backend

        return spark_backend
    from features.engine import duckdb_backend

    return duckdb_backend


def cutoffs(entities: pd.DataFrame) -> pd.DataFrame:
    """The engine's ``entities`` table: ``cutoff_id`` (row position), ``account_id``, ``as_of`` (UTC)."""
    as_of = pd.to_datetime(entities["as_of"])
    if isinstance(as_of.dtype, pd.DatetimeTZDtype):
        as_of = as_of.dt.tz_convert("UTC").dt.tz_localize(None)
    return pd.DataFrame(
        {
            "cutoff_id": range(len(entities)),
            "account_id": entities["account_id"].astype(str).to_numpy(),
            "as_of": as_of.astype("datetime64[us]").to_numpy(),
        }
    )


def prepare_inputs(
    tables: MutableMapping[str, pd.DataFrame],
    entities: pd.DataFrame,
    exclude_account_columns: Collection[str] = (),
    release_tables: bool = False,
) -> tuple[dict[str, pd.DataFrame], Plan]:
    """The tables a backend runs the statements on, and the plan of the features they give.

    Args:
        tables: contract tables (only those present), as the contract loader returns them.
        entities: frame with ``account_id`` and ``as_of``, one cutoff per row.
        exclude_account_columns: extra accounts columns not to offer as features.
        release_tables: empty ``tables`` once prepared (see :func:`compute_features`).

    Returns:
        The prepared tables (identifiers encoded, ``entities`` from :func:`cutoffs`) and the plan.

    """
    p = plan(tables, exclude_account_columns)
    prepared = prepare_tables(tables, p.present, p.extras)
    if release_tables:
        tables.clear()
    prepared["entities"] = cutoffs(entities)
    encode_ids(prepared)
    count_people(prepared)
    pa.default_memory_pool().release_unused()  # what the raw identifiers held goes back to the system
    return prepared, p


def compute_features(
    tables: MutableMapping[str, pd.DataFrame],
    entities: pd.DataFrame,
    engine: str = "duckdb",
    *,
    exclude_account_columns: Collection[str] = (),
    on_step: Callable[[str], None] | None = None,
    engine_options: Mapping[str, Any] | None = None,
    release_tables: bool = False,
) -> pd.DataFrame:
    """Compute every available feature for each (account_id, as_of) row, point in time.

    Args:
        tables: contract tables (only those present), as the contract loader returns them.
        entities: frame with ``account_id`` and ``as_of`` (other columns are kept).
        engine: ``duckdb`` (the embedded default) or ``spark`` (Apache Spark; the ``spark`` extra).
        exclude_account_columns: extra accounts columns not to offer as features.
        on_step: called with each statement's name as it finishes (progress).
        engine_options: backend keyword arguments (DuckDB: ``memory_limit``; Spark: ``master``, ``conf``,
            ``staging_dir``), and for DuckDB ``compiled_passes`` (default True: :func:`with_passes`).
        release_tables: empty ``tables`` (a mutable mapping the caller owns) once the engine's own copy of
            the columns it reads is made, so that the raw frames can be freed during the engine run.

    Returns:
        The entity rows, in order, followed by one column per available feature: numbers as float64,
        categories as strings.

    Raises:
        ValueError: an unknown engine or entities without the required columns.
        SparkUnavailableError: the spark engine was asked for without PySpark or Java.

    """
    if engine not in ENGINES:
        raise ValueError(f"unknown engine {engine!r}; available: {', '.join(ENGINES)}")
    if engine == "spark":
        from features.engine.spark_backend import require_pyspark

        require_pyspark()  # fail before any preparation work
    missing = {"account_id", "as_of"} - set(entities.columns)
    if missing:
        raise ValueError(f"entities lack column(s): {', '.join(sorted(missing))}")
    ents = entities.reset_index(drop=True)
    prepared, p = prepare_inputs(tables, ents, exclude_account_columns, release_tables)
    stmts = statements(p.extras)
    chosen, outputs, where = select_statements(p, stmts)
    options = dict(engine_options or {})
    taken: dict[str, pd.DataFrame] = {}
    if options.pop("compiled_passes", True) and engine == "duckdb":
        chosen = with_passes(chosen, outputs, prepared)
        chosen, taken = _outputs_taken_whole(chosen, outputs, prepared)
    read = {t for s in chosen for t in s.tables}
    for name in [t for t in prepared if t not in read]:  # e.g. the passes' inputs: not copied into the engine
        del prepared[name]
    joined = [o for o in outputs if o not in taken]
    sql = final_query(p, joined, {f: o for f, o in where.items() if o not in taken})
    result = _backend(engine).run(prepared, chosen, sql, on_step, **options)
    result = result.drop(columns="cutoff_id")
    cols: dict[str, pd.Series] = {}
    for f in p.features:
        if f.name in result.columns or where.get(f.name) in taken:
            col = result[f.name] if f.name in result.columns else taken[where[f.name]][f.name]
            cols[f.name] = (
                col.astype(object).where(col.notna(), None)
                if f.dtype == "category"
                else col.astype("float64")
            )
    # copy=False: each column stays its own array, not copied into one block (the scale world's 146 columns of
    # 689k cutoffs: this step took 2.8 s, then 0.9 s); the frame is for reading: a column added to it in place
    # would get pandas' "highly fragmented" warning
    return pd.concat([ents, pd.DataFrame(cols, index=ents.index, copy=False)], axis=1)
