"""Prototype for issue #3's speed target: one block of features from the files as compiled passes, not SQL.

Not part of ``make bench`` and not part of the product: ``make bench-prototype`` runs it (it installs numba,
which the product does not use). On the scale world it computes the per-contact windows (contacts, executives
and decision makers reached over 28/90/180 days, the top contact's share, the contacts of the 28 days before,
the last executive contact: :data:`COLUMNS`) for every CSAT and churn cutoff two ways:

* the engine's SQL statements (``ix_contact``, ``acc_ct_p``, ``acc_ct_per``, ``acc_ct_agg`` ...), after the
  engine's own load and preparation, as ``csat features build`` runs them;
* from the parquet files: pyarrow reads the columns, identifiers become contact codes, and the kernels of
  :mod:`bench.prototype_kernels` explode, order and sweep the rows (no validation of the contract: the
  product's loader does that, and its time is reported apart).

It checks that both give the same value for every cutoff and column (exit status 1 otherwise), measures the
floor of the feature bench in the same run, and writes the figures to ``bench/results/prototype_sweep.json``.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from importlib.metadata import version
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console

from bench import prototype_kernels as kernels
from bench.bench_features import SCALE, ensure_world, floor_scan
from bench.common import timed, write_result
from csat.settings import load_settings
from features.build import label_frames
from features.engine import cutoffs, prepare_inputs, statements, with_dependencies
from features.engine import duckdb_backend as backend
from features.engine.sql import WINDOWS, Stmt

BLOCK = ("acc_ct_per", "acc_ct_agg")  # the windows; the statements before them stage the rows
NULL_TS = kernels.NULL_TS
COLUMNS = [
    *(
        f"{m}_{w}d"
        for w in WINDOWS
        for m in ("contacts_reached", "executives_reached", "decision_makers_reached")
    ),
    *(f"top_contact_share_{w}d" for w in WINDOWS),
    "contacts_reached_prev",
    "last_exec_ts",
]


def staged_tables(
    data: Path, figures: dict[str, Any]
) -> tuple[dict[str, pd.DataFrame], list[Stmt], pd.DataFrame]:
    """Load and prepare the world as the build does, and measure the floor on the loaded tables.

    Returns:
        The prepared tables, the statements, and the cutoffs (``cutoff_id``, ``account_id``, ``as_of``).

    """
    settings = load_settings(data_dir=data)
    from features.contract import load_contract

    with timed(figures, "engine_load_s"):
        tables = load_contract(
            data, settings, console=Console(stderr=True), rejects_dir=Path(tempfile.mkdtemp())
        )
    figures["floor_scan_s"] = min(floor_scan(tables.tables))
    with timed(figures, "engine_prepare_s"):
        frames = label_frames(tables.tables, settings)
        ents = pd.concat([f[["account_id", "as_of"]] for f in frames.values()], ignore_index=True)
        prepared, p = prepare_inputs(dict(tables.tables), ents, settings.exclude_account_columns)
    return prepared, statements(p.extras), cutoffs(ents)


def run_sql(prepared: dict[str, pd.DataFrame], stmts: list[Stmt], figures: dict[str, Any]) -> pd.DataFrame:
    """Run the block's statements on the DuckDB backend as the engine does; time each; return the result.

    ``engine_register_s`` is the time until the first statement (the cutoffs, some milliseconds) is done.
    """
    marks = [("", time.perf_counter())]
    result = backend.run(
        prepared,
        with_dependencies(stmts, [BLOCK[-1]]),
        f"SELECT * FROM {BLOCK[-1]}",
        on_step=lambda name: marks.append((name, time.perf_counter())),
    )
    steps = {name: at - before for (_, before), (name, at) in zip(marks, marks[1:], strict=False)}
    figures["engine_register_s"] = steps.pop(marks[1][0])
    figures["sql_steps_s"] = {k: round(v, 3) for k, v in steps.items()}
    figures["sql_windows_s"] = sum(steps[n] for n in BLOCK)
    figures["sql_s"] = sum(steps.values())
    return result


def _us(col: pa.ChunkedArray) -> np.ndarray:
    """Timestamps as int64 microseconds (UTC), :data:`NULL_TS` where absent."""
    tz = getattr(col.type, "tz", None)
    return col.cast(pa.timestamp("us", tz)).cast(pa.int64()).fill_null(NULL_TS).to_numpy()


def read_contacts(data: Path) -> tuple[pa.Array, pa.Array, tuple[np.ndarray, ...], np.ndarray]:
    """Contact ids, account ids, per contact code (account code, recorded time, executive), decision maker."""
    table = pq.read_table(data / "contacts.parquet")
    ids = table.column("contact_id").combine_chunks()
    accounts = pc.unique(table.column("account_id")).sort()
    acc_of = pc.index_in(table.column("account_id"), value_set=accounts).to_numpy().astype(np.int64)
    n = table.num_rows
    recorded = (
        _us(table.column("recorded_at")) if "recorded_at" in table.column_names else np.full(n, NULL_TS)
    )
    is_exec = pc.fill_null(pc.equal(table.column("seniority"), "executive"), False).to_numpy()
    is_dm = pc.fill_null(table.column("is_decision_maker"), False).to_numpy()
    return ids, accounts, (acc_of, recorded, np.asarray(is_exec, np.bool_)), np.asarray(is_dm, np.bool_)


def read_interactions(data: Path, contact_ids: pa.Array, figures: dict[str, Any]) -> tuple[np.ndarray, ...]:
    """The interactions' columns as arrays, identifiers as contact codes (:func:`kernels.explode_rows`)."""
    path = data / "interactions.parquet"
    cols = ["started_at", "duration_minutes", "organizer_id", "external_participants"]
    late = "recorded_at" in pq.read_schema(path).names
    with timed(figures, "files_read_s"):
        table = pq.read_table(
            path,
            columns=cols + (["recorded_at"] if late else []),
            read_dictionary=["organizer_id", "external_participants.list.element"],
        )
    with timed(figures, "files_codes_s"):
        started = _us(table.column("started_at"))
        known = np.maximum(started, _us(table.column("recorded_at"))) if late else started
        org, ext, offsets = _codes(
            table.column("organizer_id"), table.column("external_participants"), contact_ids
        )
        minutes = table.column("duration_minutes").to_numpy()
    return started, known, np.asarray(minutes, np.float64), org, ext, offsets


def _identity(d: pa.Array) -> tuple[int, int, int]:
    """Which dictionary ``d`` is: row groups decoded together share one (same buffer, offset and length)."""
    return d.buffers()[1].address, d.offset, len(d)


def _codes(
    org_col: pa.ChunkedArray, ext_col: pa.ChunkedArray, contact_ids: pa.Array
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Contact codes of the organisers and of the participants (with list offsets); -1 for a non-contact.

    The row groups share a few dictionaries: each distinct one is looked up once, all in one call.
    """
    org_chunks, ext_chunks = org_col.chunks, []
    for chunk in ext_col.chunks:
        offs = chunk.offsets.to_numpy().astype(np.int64)
        ext_chunks.append((offs - offs[0], chunk.values.slice(offs[0], offs[-1] - offs[0])))
    dicts: dict[tuple[int, int, int], pa.Array] = {}
    for d in [c.dictionary for c in org_chunks] + [v.dictionary for _, v in ext_chunks]:
        dicts.setdefault(_identity(d), d)
    looked = pc.index_in(pa.concat_arrays(list(dicts.values())), value_set=contact_ids)
    looked_np = looked.fill_null(-1).to_numpy().astype(np.int64)
    maps, at = {}, 0
    for key, d in dicts.items():
        maps[key], at = looked_np[at : at + len(d)], at + len(d)

    def codes(arr: pa.DictionaryArray) -> np.ndarray:
        m = maps[_identity(arr.dictionary)]
        idx = arr.indices.fill_null(-1).to_numpy().astype(np.int64)
        return np.where(idx >= 0, m[np.maximum(idx, 0)], -1)

    org = np.concatenate([codes(c) for c in org_chunks])
    ext = np.concatenate([codes(v) for _, v in ext_chunks])
    lens = np.array([len(v) for _, v in ext_chunks], np.int64)
    offsets = np.concatenate(
        [np.zeros(1, np.int64)]
        + [o[1:] + base for (o, _), base in zip(ext_chunks, np.cumsum(lens) - lens, strict=True)]
    )
    return org, ext, offsets


def run_files(
    data: Path, cutoffs: pd.DataFrame, k: dict[str, Any], figures: dict[str, Any]
) -> dict[str, np.ndarray]:
    """The block from the parquet files with kernels ``k``; time each pass; return the columns by cutoff."""
    with timed(figures, "files_contacts_s"):
        ids, accounts, ct, is_dm = read_contacts(data)
    ix = read_interactions(data, ids, figures)
    cuts = _ordered_cutoffs(cutoffs, accounts)
    warm_up(k, ix, ct, len(accounts), cuts, is_dm, len(ids))
    with timed(figures, "files_explode_s"):
        rows = k["explode_rows"](ix, ct)
    with timed(figures, "files_order_s"):
        ordered, first = k["order_rows"](rows, len(accounts))
    del rows
    with timed(figures, "files_sweep_s"):
        (reached, execs, dms, share), before, last = k["sweep_rows"](ordered, first, cuts, is_dm, len(ids))
    figures["files_rows"] = len(ordered[0])
    figures["files_s"] = sum(
        figures[f"files_{n}_s"] for n in ("contacts", "read", "codes", "explode", "order", "sweep")
    )
    cols = {"contacts_reached_prev": before, "last_exec_ts": last}
    for q, w in enumerate(WINDOWS):
        cols[f"contacts_reached_{w}d"] = reached[:, q]
        cols[f"executives_reached_{w}d"] = execs[:, q]
        cols[f"decision_makers_reached_{w}d"] = dms[:, q]
        cols[f"top_contact_share_{w}d"] = share[:, q]
    return cols


def _ordered_cutoffs(cutoffs: pd.DataFrame, accounts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cutoffs as the sweep reads them (id, account code or -1, time in us), by account and time."""
    acc = pc.index_in(pa.array(cutoffs["account_id"]), value_set=accounts).fill_null(-1).to_numpy()
    acc = acc.astype(np.int64)
    at = cutoffs["as_of"].to_numpy().astype("datetime64[us]").astype(np.int64)
    order = np.lexsort((at, acc))
    return cutoffs["cutoff_id"].to_numpy()[order].astype(np.int64), acc[order], at[order]


def warm_up(
    k: dict[str, Any], ix: tuple, ct: tuple, n_accounts: int, cuts: tuple, is_dm: Any, n: int
) -> None:
    """Run the kernels on the first 100 interactions and 10 cutoffs before the timing.

    numba compiles them (or loads them from its cache) for these argument types, at a fraction of the work.
    """
    head = (*(a[:100] for a in ix[:4]), ix[4], ix[5][:101])  # the participants' codes stay whole: offsets
    ordered, first = k["order_rows"](k["explode_rows"](head, ct), n_accounts)
    few = min(10, len(cuts[0]))
    k["sweep_rows"](ordered, first, (np.arange(few), cuts[1][:few], cuts[2][:few]), is_dm, n)


def mismatches(sql: pd.DataFrame, swept: dict[str, np.ndarray], n_cut: int) -> dict[str, int]:
    """Per column, the cutoffs where sweep and SQL differ (a cutoff without SQL rows is 0 or NULL)."""
    ref = sql.set_index("cutoff_id").reindex(np.arange(n_cut))
    last = ref["last_exec_ts"].astype("datetime64[us]")
    ref["last_exec_ts"] = np.where(last.isna(), NULL_TS, last.to_numpy().astype("int64"))
    out = {}
    for name in COLUMNS:
        want = ref[name].to_numpy(dtype="int64" if name == "last_exec_ts" else "float64")
        if not name.startswith(("top_contact", "last_exec")):
            want = np.nan_to_num(want)  # counts: the output fills a cutoff without rows with 0
        got = swept[name]
        same = (got == want) | (np.isnan(got) & np.isnan(want)) if got.dtype.kind == "f" else got == want
        out[name] = int((~same).sum())
    return out


def compare(data: Path, k: dict[str, Any]) -> dict[str, Any]:
    """Run the block as SQL and from the files with kernels ``k`` on the world in ``data``; give figures.

    ``figures["mismatches"]`` counts, per column, the cutoffs where the two differ.
    """
    figures: dict[str, Any] = {"duckdb": duckdb.__version__}
    prepared, stmts, cutoffs = staged_tables(data, figures)
    figures["cutoffs"] = len(cutoffs)
    sql = run_sql(prepared, stmts, figures)
    del prepared
    swept = run_files(data, cutoffs, k, figures)
    figures["sql_over_files"] = figures["sql_s"] / figures["files_s"]
    figures["files_over_floor"] = figures["files_s"] / figures["floor_scan_s"]
    figures["mismatches"] = mismatches(sql, swept, len(cutoffs))
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CSAT_BENCH_DATA", "data/bench_scale")))
    args = ap.parse_args()
    k = kernels.compiled()  # before the long simulation and load: a missing numba fails at once
    ensure_world(args.data, SCALE["accounts"], SCALE["months"], 42)
    figures = compare(args.data, k)
    figures["numba"] = version("numba")
    write_result("prototype_sweep", figures)
    return 1 if any(figures["mismatches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
