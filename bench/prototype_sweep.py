"""Prototype for issue #3's speed target: one block of windows as a per-account sweep instead of SQL.

Not part of ``make bench`` and not part of the product: ``make bench-prototype`` runs it (it installs numba,
which the product does not use). It measures, in one run on the scale world, the per-contact windows block
(``acc_ct_per`` and ``acc_ct_agg``: contacts, executives and decision makers reached over 28/90/180 days, the
top contact's share, the contacts of the 28 days before, the last executive contact) two ways from the same
staged rows (``acc_ct_p``, the day aggregates, and ``acc_ct_r``, the rows known on a cutoff's own day):

* the SQL definitions, as the DuckDB engine runs them today;
* a compiled sweep: the day aggregates sorted by account and day, each cutoff reading its account's rows of
  the last 180 days in place, with per-contact sums in small arrays (no join is materialised).

It checks that both give the same value for every cutoff and column (exit status 1 otherwise), and writes the
figures to ``bench/results/prototype_sweep.json``. It also times reading the interactions file with pyarrow,
the first step of a pipeline that would skip the SQL staging as well.
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
import pyarrow.parquet as pq
from rich.console import Console

from bench.bench_features import SCALE, ensure_world
from bench.common import timed, write_result
from csat.settings import load_settings
from features.build import label_frames
from features.engine import count_people, encode_ids, plan, prepare_tables, statements
from features.engine import duckdb_backend as backend
from features.engine.sql import PREV_TREND_START, TREND_DAYS, WINDOWS, Stmt

BLOCK = ("acc_ct_per", "acc_ct_agg")  # the statements the sweep replaces
NULL_TS = np.iinfo(np.int64).min  # a missing timestamp in the sweep's int64 microseconds
MAX_CONTACTS = 4096  # contacts one account may have in one cutoff's 180 days (the scale world: under 100)
LOOKBACK = max(WINDOWS)
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


def staged_tables(data: Path) -> tuple[dict[str, pd.DataFrame], list[Stmt], int]:
    """Load and prepare the world as the build does; return its tables, the statements, the cutoffs."""
    settings = load_settings(data_dir=data)
    from features.contract import load_contract

    tables = load_contract(
        data, settings, console=Console(stderr=True), rejects_dir=Path(tempfile.mkdtemp())
    ).tables
    frames = label_frames(tables, settings)
    ents = pd.concat([f[["account_id", "as_of"]] for f in frames.values()], ignore_index=True)
    p = plan(tables, settings.exclude_account_columns)
    prepared = prepare_tables(tables, p.present, p.extras)
    tables.clear()
    prepared["entities"] = pd.DataFrame(
        {
            "cutoff_id": range(len(ents)),
            "account_id": ents["account_id"].astype(str),
            "as_of": pd.to_datetime(ents["as_of"]).astype("datetime64[us]"),
        }
    )
    encode_ids(prepared)
    count_people(prepared)
    return prepared, statements(p.extras), len(ents)


def needed(stmts: list[Stmt], target: str) -> list[Stmt]:
    """The statements ``target`` depends on, itself included, in execution order."""
    by_name = {s.name: s for s in stmts}
    seen: set[str] = set()
    todo = [target]
    while todo:
        cur = todo.pop()
        if cur not in seen:
            seen.add(cur)
            todo.extend(by_name[cur].deps)
    return [s for s in stmts if s.name in seen]


def run_sql(con: duckdb.DuckDBPyConnection, stmts: list[Stmt], figures: dict[str, Any]) -> None:
    """Materialise the statements in order; time the replaced block and what precedes it separately."""
    steps: dict[str, float] = {}
    for st in stmts:
        with timed(steps, st.name):
            backend._materialise(con, st)
    figures["sql_steps_s"] = {k: round(v, 3) for k, v in steps.items()}
    figures["sql_block_s"] = sum(steps[n] for n in BLOCK)


def sweep_inputs(con: duckdb.DuckDBPyConnection) -> dict[str, np.ndarray]:
    """The staged rows as arrays: day rows and cutoffs by account and day, same-day rows by cutoff."""
    day = con.sql(
        "SELECT account_id, contact_id, is_exec, is_dm, sdn, kdn, ms, epoch_us(last_exec_ts) AS lx"
        " FROM acc_ct_p ORDER BY account_id, sdn"
    ).to_arrow_table()
    cut = con.sql("SELECT cutoff_id, account_id, cdn FROM cut ORDER BY account_id, cdn").to_arrow_table()
    same = con.sql(
        "SELECT c.cutoff_id, x.contact_id, x.is_exec, x.is_dm, x.sdn, x.ms, epoch_us(x.last_exec_ts) AS lx"
        " FROM cut AS c JOIN acc_ct_r AS x ON x.account_id = c.account_id AND NOT c.midnight"
        " AND x.kdn = c.cdn AND x.known_ts < c.as_of ORDER BY c.cutoff_id"
    ).to_arrow_table()
    arrays = {f"p_{n}": _np(day, n) for n in day.column_names}
    arrays |= {f"c_{n}": _np(cut, n) for n in cut.column_names}
    arrays |= {f"s_{n}": _np(same, n) for n in same.column_names}
    return arrays


def _np(table: pa.Table, name: str) -> np.ndarray:
    col = table.column(name)
    if name == "lx":
        col = col.fill_null(NULL_TS)
    return np.ascontiguousarray(col.to_numpy())


def sweep(a: Any, n_contacts: int, n_cut: int) -> Any:
    """Per-contact window figures of every cutoff, from the day rows and same-day rows (:func:`sweep_inputs`).

    ``a`` holds the arrays: day rows (account, contact, exec, dm, sdn, kdn, ms, last exec), cutoffs (id,
    account, cdn), and same-day rows (first and end index per cutoff, contact, exec, dm, sdn, ms, last exec).
    Each cutoff reads its account's day rows of the last :data:`LOOKBACK` days known before its day, then its
    same-day rows, into per-contact sums held in arrays of :data:`MAX_CONTACTS` slots.
    """
    p_acc, p_ct, p_ex, p_dm, p_sdn, p_kdn, p_ms, p_lx, c_id, c_acc, c_cdn, s_lo, s_hi = a[:13]
    s_ct, s_ex, s_dm, s_sdn, s_ms, s_lx = a[13:]
    reached, execs, dms = np.zeros((n_cut, 3)), np.zeros((n_cut, 3)), np.zeros((n_cut, 3))
    share, before = np.full((n_cut, 3), np.nan), np.zeros(n_cut)
    last = np.full(n_cut, NULL_TS)
    slot = np.full(n_contacts, -1, np.int64)
    touched = np.empty(MAX_CONTACTS, np.int64)
    hours, seen = np.zeros((MAX_CONTACTS, 3)), np.zeros((MAX_CONTACTS, 3), np.bool_)
    prev = np.zeros(MAX_CONTACTS, np.bool_)
    c_ex, c_dm = np.zeros(MAX_CONTACTS, np.bool_), np.zeros(MAX_CONTACTS, np.bool_)
    n_p, lo = p_acc.shape[0], 0
    for i in range(c_id.shape[0]):
        acc, cdn, cid = c_acc[i], c_cdn[i], c_id[i]
        while lo < n_p and (p_acc[lo] < acc or (p_acc[lo] == acc and p_sdn[lo] < cdn - LOOKBACK)):
            lo += 1
        hi = lo
        while hi < n_p and p_acc[hi] == acc and p_sdn[hi] < cdn:
            hi += 1
        k, lx = 0, NULL_TS
        for j in range(lo, hi + s_hi[cid] - s_lo[cid]):
            if j < hi:  # a day row, read when known before the cutoff's day
                if p_kdn[j] >= cdn:
                    continue
                ct, ex, dm, sdn, ms, x = p_ct[j], p_ex[j], p_dm[j], p_sdn[j], p_ms[j], p_lx[j]
            else:  # a row known earlier on the cutoff's own day
                r = s_lo[cid] + j - hi
                ct, ex, dm, sdn, ms, x = s_ct[r], s_ex[r], s_dm[r], s_sdn[r], s_ms[r], s_lx[r]
                if sdn < cdn - LOOKBACK:
                    continue
            s = slot[ct]
            if s < 0:
                s = k
                slot[ct], touched[k] = s, ct
                k += 1
                for q in range(3):
                    hours[s, q], seen[s, q] = 0.0, False
                prev[s], c_ex[s], c_dm[s] = False, False, False
            c_ex[s] |= ex
            c_dm[s] |= dm
            for q in range(3):
                if sdn >= cdn - WINDOWS[q]:
                    hours[s, q] += ms
                    seen[s, q] = True
            if cdn - PREV_TREND_START <= sdn < cdn - TREND_DAYS:
                prev[s] = True
            lx = max(lx, x)
        for q in range(3):
            tot, top, n, n_ex, n_dm = 0.0, 0.0, 0.0, 0.0, 0.0
            for s in range(k):
                tot += hours[s, q]
                if seen[s, q]:
                    n, n_ex, n_dm, top = n + 1.0, n_ex + c_ex[s], n_dm + c_dm[s], max(top, hours[s, q])
            reached[cid, q], execs[cid, q], dms[cid, q] = n, n_ex, n_dm
            if tot != 0.0:
                share[cid, q] = top / tot
        for s in range(k):
            before[cid] += prev[s]
            slot[touched[s]] = -1
        last[cid] = lx
    return (reached, execs, dms, share, before), last


def compiled_sweep() -> Any:
    """:func:`sweep` compiled by numba (the prototype's own dependency; ``make bench-prototype`` installs it).

    Raises:
        SystemExit: numba is not installed.

    """
    try:
        import numba
    except ImportError:
        raise SystemExit(
            "the prototype needs numba: run it with `make bench-prototype`, which installs it"
        ) from None
    return numba.njit(cache=True)(sweep)


def run_sweep(
    kernel: Any, arrays: dict[str, np.ndarray], n_cut: int
) -> tuple[dict[str, np.ndarray], float, float]:
    """Run the compiled sweep twice (the first compiles it); return its columns, both runs' seconds."""
    ids = np.arange(n_cut)
    s_lo = np.searchsorted(arrays["s_cutoff_id"], ids, "left")
    s_hi = np.searchsorted(arrays["s_cutoff_id"], ids, "right")
    p_names = ["account_id", "contact_id", "is_exec", "is_dm", "sdn", "kdn", "ms", "lx"]
    s_names = ["contact_id", "is_exec", "is_dm", "sdn", "ms", "lx"]
    a = (
        *(arrays[f"p_{n}"] for n in p_names),
        arrays["c_cutoff_id"],
        arrays["c_account_id"],
        arrays["c_cdn"],
        s_lo,
        s_hi,
        *(arrays[f"s_{n}"] for n in s_names),
    )
    n_contacts = int(max(arrays["p_contact_id"].max(initial=0), arrays["s_contact_id"].max(initial=0))) + 1
    runs = []
    for _ in range(2):
        start = time.perf_counter()
        (reached, execs, dms, share, before), last = kernel(a, n_contacts, n_cut)
        runs.append(time.perf_counter() - start)
    cols = {"contacts_reached_prev": before, "last_exec_ts": last}
    for q, w in enumerate(WINDOWS):
        cols[f"contacts_reached_{w}d"] = reached[:, q]
        cols[f"executives_reached_{w}d"] = execs[:, q]
        cols[f"decision_makers_reached_{w}d"] = dms[:, q]
        cols[f"top_contact_share_{w}d"] = share[:, q]
    return cols, runs[0], runs[1]


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


INTERACTION_COLUMNS = [
    "started_at",
    "duration_minutes",
    "kind",
    "organizer_id",
    "internal_participants",
    "external_participants",
]


def compare(data: Path, kernel: Any) -> dict[str, Any]:
    """Run the block as SQL and as the sweep ``kernel`` on the world in ``data``; return the figures.

    ``figures["mismatches"]`` counts, per column, the cutoffs where the two differ.
    """
    figures: dict[str, Any] = {"duckdb": duckdb.__version__}
    with timed(figures, "raw_read_interactions_s"):
        pq.read_table(data / "interactions.parquet", columns=INTERACTION_COLUMNS)
    with timed(figures, "load_and_prepare_s"):
        prepared, stmts, n_cut = staged_tables(data)
    figures["cutoffs"] = n_cut
    con = backend.connect()
    con.execute("ATTACH ':memory:' AS compact (COMPRESS)")
    con.execute("SET search_path = 'memory,compact'")
    backend._register(con, prepared)
    run_sql(con, needed(stmts, BLOCK[-1]), figures)
    with timed(figures, "sweep_export_s"):
        arrays = sweep_inputs(con)
    figures["day_rows"] = len(arrays["p_sdn"])
    figures["day_rows_known_later"] = int((arrays["p_kdn"] > arrays["p_sdn"]).sum())
    figures["same_day_rows"] = len(arrays["s_sdn"])
    sql = con.sql(f"SELECT * FROM {BLOCK[-1]}").df()
    con.close()
    swept, figures["sweep_first_run_s"], figures["sweep_s"] = run_sweep(kernel, arrays, n_cut)
    figures["sweep_with_export_s"] = figures["sweep_s"] + figures["sweep_export_s"]
    figures["sql_over_sweep"] = figures["sql_block_s"] / figures["sweep_s"]
    figures["sql_over_sweep_with_export"] = figures["sql_block_s"] / figures["sweep_with_export_s"]
    figures["mismatches"] = mismatches(sql, swept, n_cut)
    return figures


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CSAT_BENCH_DATA", "data/bench_scale")))
    args = ap.parse_args()
    kernel = compiled_sweep()  # before the long simulation and load: a missing numba fails at once
    ensure_world(args.data, SCALE["accounts"], SCALE["months"], 42)
    figures = compare(args.data, kernel)
    figures["numba"] = version("numba")
    write_result("prototype_sweep", figures)
    return 1 if any(figures["mismatches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
