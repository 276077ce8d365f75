"""Prototype for issue #3's speed target: six blocks of features from the files as compiled passes, not SQL.

Not part of ``make bench`` and not part of the product: ``make bench-prototype`` runs it (with numba, which
the locked packages hold for shap). On the scale world it computes six blocks of features for every CSAT and
churn cutoff two ways:

* the per-contact windows (contacts, executives and decision makers reached over 28/90/180 days, the top
  contact's share, the contacts of the 28 days before, the last executive contact: :data:`COLUMNS`);
* the per-employee windows (our employees engaged, whether a manager or an executive took part, the share
  of their time after hours, the change of the engaged over the 28 days before: :data:`EMPLOYEE_COLUMNS`);
* the account's totals (hours by kind, interactions, the meaningful share, their trends, the days since the
  last meeting and interaction: :data:`ACCOUNT_COLUMNS`);
* relationships (pairs of a contact and an employee with 2+ meaningful interactions in 28 days, and the
  contacts and employees in them: :data:`RELATION_COLUMNS`);
* the internal network (the average and total of the team members' relationships with colleagues, for a
  team of at least five: :data:`NETWORK_COLUMNS`);
* responsiveness (inbound emails, the average reply delay, the shares replied within 24 hours and left
  unanswered: :data:`REPLY_COLUMNS`).

The two ways are:

* the engine's SQL statements (``ix_contact``, ``acc_ct_p``, ``acc_ct_per`` ..., ``ix_employee``,
  ``ix_account``, ``acc_emp_r``, ``acc_emp_per`` ..., ``acc_ix_p``, ``acc_ix_cls`` ..., ``acc_pair_p``,
  ``acc_rel`` ..., ``emp_pair_p``, ``emp_net`` ..., ``reply_cand``, ``resp_p`` ...), after the engine's
  own load and preparation, as ``csat features build`` runs them;
* from the parquet files: pyarrow reads the columns, identifiers become contact and employee codes, and the
  kernels of :mod:`bench.prototype_kernels` explode, order and sweep the rows (no validation of the contract:
  the product's loader does that, and its time is reported apart, so the files must be valid: rows the
  loader would reject are counted here). The interactions are read once; each block's explode visits them
  by day and writes its rows in account (or employee) order.

It checks that both give the same value for every cutoff and column (exit status 1 otherwise), measures the
floor of the feature bench in the same run, and writes the figures to ``bench/results/prototype_sweep.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from collections.abc import Callable
from importlib.metadata import version
from pathlib import Path
from typing import Any
from zoneinfo import available_timezones

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from rich.console import Console

from bench import prototype_kernels as kernels
from bench.bench_features import SCALE, ensure_world, floor_scan
from bench.common import StepClock, timed, write_result
from csat.settings import Settings, load_settings
from features.build import label_frames
from features.contract import load_contract
from features.engine import cutoffs, prepare_inputs, statements, with_dependencies
from features.engine import duckdb_backend as backend
from features.engine.sql import (
    CLASS_EDGES,
    MIN_GROUP,
    MS_PER_HOUR,
    PREV_TREND_START,
    S_PER_HOUR,
    TREND_DAYS,
    WINDOWS,
    Stmt,
)

# per block, its statements that compute the windows; the statements before them stage the rows
BLOCKS = {
    "contacts": ("acc_ct_per", "acc_ct_agg"),
    "employees": ("acc_emp_per", "acc_emp_agg"),
    "accounts": ("acc_ix_cls", "acc_ix_agg"),
    "relationships": ("acc_rel", "acc_rel_agg"),
    "network": ("team", "team_days", "emp_net", "team_net", "out_internal_network"),
    "responsiveness": ("resp_cls", "resp_agg"),
}
NULL_TS = kernels.NULL_TS
US_PER_S = 1_000_000
ZONE_STEP_US = 15 * 60 * US_PER_S  # time zones change their offset on a quarter hour (UTC)
ROLE_CODES = {"manager": 1, "executive": 2}  # :func:`kernels.sweep_employee_rows`' role codes
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
EMPLOYEE_COLUMNS = [
    *(
        f"{m}_{w}d"
        for w in WINDOWS
        for m in ("employees_engaged", "manager_engaged", "executive_engaged", "after_hours_share")
    ),
    "employees_engaged_trend_28d",
]
HOURS = {"email": "email_ms", "meeting": "meeting_ms", "call": "call_ms", "customer": "ms"}
ACCOUNT_COLUMNS = [
    *(f"{h}_hours_{w}d" for h in HOURS for w in WINDOWS),
    *(f"customer_interactions_{w}d" for w in WINDOWS),
    *(f"meaningful_share_{w}d" for w in WINDOWS),
    *(f"{h}_hours_trend_28d" for h in HOURS),
    "customer_interactions_trend_28d",
    "days_since_last_meeting",
    "days_since_last_interaction",
]
RELATION_COLUMNS = [
    "customer_relationships_28d",
    "contacts_in_relationship_28d",
    "employees_in_relationship_28d",
]
NETWORK_COLUMNS = ["team_network_avg_28d", "team_network_total_28d"]
REPLY_COLUMNS = [
    "inbound_emails_28d",
    "inbound_emails_90d",
    *(f"reply_hours_avg_{w}d" for w in WINDOWS),
    "replied_24h_share_90d",
    "unanswered_share_90d",
]
ALL_COLUMNS = [
    *COLUMNS,
    *EMPLOYEE_COLUMNS,
    *ACCOUNT_COLUMNS,
    *RELATION_COLUMNS,
    *NETWORK_COLUMNS,
    *REPLY_COLUMNS,
]
# columns whose absent value is NULL, not 0
NULLABLE = (
    *("top_contact", "after_hours", "last_exec", "meaningful_share", "days_since", "team_network"),
    *("reply_hours", "replied_24h", "unanswered"),
)


def loaded_cutoffs(
    data: Path, figures: dict[str, Any], settings: Settings | None = None
) -> tuple[dict[str, pd.DataFrame], pd.DataFrame]:
    """Load the world with the product's loader (rejects to a temporary folder), measure the floor on it.

    Returns:
        The loaded tables, and the build's entities (``account_id``, ``as_of``) of its CSAT and churn frames.

    """
    settings = settings if settings is not None else load_settings(data_dir=data)
    with timed(figures, "engine_load_s"), tempfile.TemporaryDirectory() as rejects:
        loaded = load_contract(data, settings, console=Console(stderr=True), rejects_dir=Path(rejects))
    figures["floor_scan_s"] = min(floor_scan(loaded.tables))
    with timed(figures, "engine_labels_s"):
        frames = label_frames(loaded.tables, settings)
        ents = pd.concat([f[["account_id", "as_of"]] for f in frames.values()], ignore_index=True)
    return dict(loaded.tables), ents


def staged_tables(
    data: Path, figures: dict[str, Any]
) -> tuple[dict[str, pd.DataFrame], list[Stmt], pd.DataFrame]:
    """Load and prepare the world as the build does, and measure the floor on the loaded tables.

    Returns:
        The prepared tables, the statements, and the cutoffs (``cutoff_id``, ``account_id``, ``as_of``).

    """
    settings = load_settings(data_dir=data)
    tables, ents = loaded_cutoffs(data, figures, settings)
    with timed(figures, "engine_prepare_s"):
        prepared, p = prepare_inputs(tables, ents, settings.exclude_account_columns)
    return prepared, statements(p.extras), cutoffs(ents)


def run_sql(prepared: dict[str, pd.DataFrame], stmts: list[Stmt], figures: dict[str, Any]) -> pd.DataFrame:
    """Run every block's statements on the DuckDB backend as the engine does; time each; return the result.

    ``engine_register_s`` is the time until the first statement (the cutoffs, some milliseconds) is done.
    """
    clock = StepClock()
    ends = [block[-1] for block in BLOCKS.values()]
    joins = " ".join(f"LEFT JOIN {e} USING (cutoff_id)" for e in ends)
    result = backend.run(
        prepared,
        with_dependencies(stmts, ends),
        f"SELECT * FROM (SELECT cutoff_id FROM cut) {joins}",
        on_step=clock,
    )
    steps = dict(clock.seconds)
    figures["engine_register_s"] = steps.pop(next(iter(steps)))
    figures["sql_steps_s"] = {k: round(v, 3) for k, v in steps.items()}
    figures["sql_windows_s"] = sum(steps[n] for block in BLOCKS.values() for n in block)
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


def read_employees(data: Path) -> tuple[pa.Array, tuple[np.ndarray, np.ndarray], np.ndarray, list[str]]:
    """Employee ids, per employee code (recorded time, time-zone code), role codes, and the zones' names.

    A time zone that is absent or unknown is UTC, as the engine's preparation makes it. The offsets come
    from Python's time-zone database, the SQL's from DuckDB's (ICU): they agree unless the two databases'
    versions differ on a zone's rules.
    """
    table = pq.read_table(data / "employees.parquet")
    n = table.num_rows
    recorded = (
        _us(table.column("recorded_at")) if "recorded_at" in table.column_names else np.full(n, NULL_TS)
    )
    known_zones = available_timezones() | {"UTC"}
    given = table.column("timezone").to_pylist() if "timezone" in table.column_names else [None] * n
    names = [z if z in known_zones else "UTC" for z in given]
    zones = sorted(set(names))
    zone = np.array([zones.index(z) for z in names], np.int64)
    roles = np.array([ROLE_CODES.get(r, 0) for r in table.column("role").to_pylist()], np.int64)
    return table.column("employee_id").combine_chunks(), (recorded, zone), roles, zones


def zone_offsets(zones: list[str], started: np.ndarray) -> tuple[int, int, np.ndarray]:
    """Each zone's UTC offset (us) every :data:`ZONE_STEP_US` over the stamps' span (``kernels.zones``)."""
    first = int(started.min()) // ZONE_STEP_US * ZONE_STEP_US if started.shape[0] else 0
    steps = (int(started.max()) - first) // ZONE_STEP_US + 1 if started.shape[0] else 1
    utc = pd.date_range(pd.Timestamp(first, unit="us", tz="UTC"), periods=steps, freq="15min")
    naive = utc.tz_localize(None)
    offsets = np.empty((len(zones), steps), np.int64)
    for z, name in enumerate(zones):
        offsets[z] = (utc.tz_convert(name).tz_localize(None) - naive).to_numpy().astype("timedelta64[us]")
    return first, ZONE_STEP_US, offsets


def read_interactions(
    data: Path, contact_ids: pa.Array, employee_ids: pa.Array, figures: dict[str, Any], k: dict[str, Any]
) -> tuple[tuple[np.ndarray, ...], tuple[np.ndarray, ...], np.ndarray, np.ndarray]:
    """The interactions' columns as arrays, once with contact codes and once with employee codes.

    ``k["lookup_codes"]`` turns the files' dictionary indices into codes.

    Returns:
        The arguments ``ix`` of :func:`kernels.explode_rows` and of :func:`kernels.explode_employee_rows`,
        the kind codes (:data:`kernels.KINDS`' positions, 3 for any other) and whether an organiser is given.

    """
    path = data / "interactions.parquet"
    lists = ["external_participants", "internal_participants"]
    cols = ["kind", "started_at", "duration_minutes", "organizer_id", *lists]
    late = "recorded_at" in pq.read_schema(path).names
    with timed(figures, "read"):
        table = pq.read_table(
            path,
            columns=cols + (["recorded_at"] if late else []),
            read_dictionary=["kind", "organizer_id", *(f"{c}.list.element" for c in lists)],
        )
    with timed(figures, "codes"):
        started = _us(table.column("started_at"))
        known = np.maximum(started, _us(table.column("recorded_at"))) if late else started
        minutes = np.asarray(table.column("duration_minutes").to_numpy(), np.float64)
        org = table.column("organizer_id")
        lookup = k["lookup_codes"]
        by_contact = _codes(org, table.column("external_participants"), contact_ids, lookup)
        by_employee = _codes(org, table.column("internal_participants"), employee_ids, lookup)
        kinds = pa.array(kernels.KINDS)
        kind = pc.index_in(table.column("kind").cast(pa.string()), value_set=kinds).fill_null(len(kinds))
        org_known = np.asarray(pc.is_valid(org).to_numpy(zero_copy_only=False), np.bool_)
    ix_ct, ix_em = (started, known, minutes, *by_contact), (started, known, minutes, *by_employee)
    return ix_ct, ix_em, np.asarray(kind.to_numpy(), np.int64), org_known


def _identity(d: pa.Array) -> tuple[int, int, int]:
    """Which dictionary ``d`` is: row groups decoded together share one (same buffer, offset and length)."""
    return d.buffers()[1].address, d.offset, len(d)


def _codes(
    org_col: pa.ChunkedArray, list_col: pa.ChunkedArray, ids: pa.Array, lookup: Any
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Codes (positions in ``ids``) of the organisers and of a list's participants (with list offsets).

    An identifier not in ``ids`` (an employee among contacts, say) is -1.

    The row groups share a few dictionaries: each distinct one is looked up once, all in one call.
    """
    org_chunks, list_chunks = org_col.chunks, []
    for chunk in list_col.chunks:
        offs = chunk.offsets.to_numpy().astype(np.int64)
        list_chunks.append((offs - offs[0], chunk.values.slice(offs[0], offs[-1] - offs[0])))
    dicts: dict[tuple[int, int, int], pa.Array] = {}
    for d in [c.dictionary for c in org_chunks] + [v.dictionary for _, v in list_chunks]:
        dicts.setdefault(_identity(d), d)
    looked = pc.index_in(pa.concat_arrays(list(dicts.values())), value_set=ids)
    looked_np = looked.fill_null(-1).to_numpy().astype(np.int64)
    maps, at = {}, 0
    for key, d in dicts.items():
        maps[key], at = looked_np[at : at + len(d)], at + len(d)

    def codes(arr: pa.DictionaryArray) -> np.ndarray:
        idx = arr.indices.fill_null(-1) if arr.indices.null_count else arr.indices
        return lookup(idx.to_numpy(), maps[_identity(arr.dictionary)])

    org = np.concatenate([codes(c) for c in org_chunks])
    items = np.concatenate([codes(v) for _, v in list_chunks])
    lens = np.array([len(v) for _, v in list_chunks], np.int64)
    offsets = np.concatenate(
        [np.zeros(1, np.int64)]
        + [o[1:] + base for (o, _), base in zip(list_chunks, np.cumsum(lens) - lens, strict=True)]
    )
    return org, items, offsets


def run_files(
    data: Path, cutoffs: pd.DataFrame, k: dict[str, Any], figures: dict[str, Any]
) -> dict[str, np.ndarray]:
    """Every block from the parquet files with kernels ``k``; time each pass; return the columns by cutoff.

    ``figures["files_steps_s"]`` holds each pass's seconds, ``figures["files_s"]`` their sum.
    """
    steps: dict[str, float] = {}
    with timed(steps, "people"):
        ids, accounts, ct, is_dm = read_contacts(data)
        em_ids, em, roles, zones = read_employees(data)
    for index_type in (np.int8, np.int16, np.int32):  # compiled for the files' index types before the timing
        k["lookup_codes"](np.array([0, -1], index_type), np.arange(2, dtype=np.int64))
    ix_ct, ix_em, kind, org_known = read_interactions(data, ids, em_ids, steps, k)
    with timed(steps, "zones"):
        shift = zone_offsets(zones, ix_ct[0])
    cuts = _ordered_cutoffs(cutoffs, accounts)
    contacts, employees = (ix_ct, ct, is_dm, len(ids)), (ix_em, em, shift, roles, len(em_ids))
    warm_up(k, contacts, employees, (kind, org_known), len(accounts), cuts)
    with timed(steps, "interaction_accounts"):
        by_account = k["interaction_accounts"](ix_ct, ct)
    with timed(steps, "day_order"):
        visit = k["day_order"](ix_ct[0])
    with timed(steps, "people_counts"):
        n_people = k["count_people"](org_known, ix_ct[3:], ix_em[3:])
        meaningful = kernels.meaningful_interactions(kind, n_people)
    order = (visit, len(accounts))
    cols = _contact_block(k, contacts, order, cuts, steps, figures)
    employee_cols, team = _employee_block(k, by_account, employees, order, cuts, steps, figures)
    cols.update(employee_cols)
    cols.update(_account_block(k, by_account, (ix_ct, kind, meaningful), order, cuts, steps))
    ix_pairs = (ix_ct[0], ix_ct[1], *ix_ct[3:], *ix_em[3:])
    with timed(steps, "relationships_explode"):
        rows, first = k["explode_pair_rows"](ix_pairs, (ct[0], ct[1], em[0]), meaningful, *order)
    with timed(steps, "relationships_sweep"):
        relations = k["sweep_pair_rows"](rows, first, cuts, len(ids), len(em_ids))
    figures["files_pair_rows"] = len(rows[0])
    cols.update(dict(zip(RELATION_COLUMNS, relations, strict=True)))
    network = ((ix_em[0], ix_em[1], *ix_em[3:]), em[0], meaningful, visit)
    cols.update(_network_block(k, network, team, len(em_ids), len(cutoffs), steps))
    ix_reply = (ix_ct[0], ix_ct[1], *ix_ct[3:])
    with timed(steps, "responsiveness_explode"):
        outbound = k["outbound_emails"](ix_reply, ix_em[3], kind, visit, (ct[1], em[0]), len(ids))
        rows, first = k["reply_rows"](ix_reply, kind, (ct[0], ct[1]), outbound, *order)
    with timed(steps, "responsiveness_sweep"):
        cols.update(reply_columns(k["sweep_reply_rows"](rows, first, cuts)))
    figures["files_steps_s"] = {n: round(v, 3) for n, v in steps.items()}
    figures["files_s"] = sum(steps.values())
    return cols


def _contact_block(
    k: dict[str, Any],
    people: tuple,
    order: tuple,
    cuts: tuple,
    steps: dict,
    figures: dict[str, Any],
) -> dict[str, np.ndarray]:
    """The per-contact windows (:data:`COLUMNS`) from the interactions with contact codes."""
    ix, ct, is_dm, n = people
    with timed(steps, "contacts_explode"):
        ordered, first = k["explode_rows"](ix, ct, *order)
    with timed(steps, "contacts_sweep"):
        (reached, execs, dms, share), before, last = k["sweep_rows"](ordered, first, cuts, is_dm, n)
    figures["files_rows"] = len(ordered[0])
    cols = {"contacts_reached_prev": before, "last_exec_ts": last}
    for q, w in enumerate(WINDOWS):
        cols[f"contacts_reached_{w}d"] = reached[:, q]
        cols[f"executives_reached_{w}d"] = execs[:, q]
        cols[f"decision_makers_reached_{w}d"] = dms[:, q]
        cols[f"top_contact_share_{w}d"] = share[:, q]
    return cols


def _employee_block(
    k: dict[str, Any],
    accounts: tuple,
    people: tuple,
    order: tuple,
    cuts: tuple,
    steps: dict,
    figures: dict[str, Any],
) -> tuple[dict[str, np.ndarray], tuple]:
    """The per-employee windows (:data:`EMPLOYEE_COLUMNS`) over the interactions' ``accounts``.

    Returns:
        The columns, and each cutoff's team (:func:`kernels.team_rows`).

    """
    ix, em, shift, roles, n = people
    with timed(steps, "employees_explode"):
        ordered, first = k["explode_employee_rows"](ix, accounts, em, shift, *order)
    with timed(steps, "employees_sweep"):
        (engaged, manager, executive, share), trend = k["sweep_employee_rows"](ordered, first, cuts, roles, n)
    figures["files_employee_rows"] = len(ordered[0])
    with timed(steps, "network_team"):
        team = k["team_rows"](ordered, first, cuts, n)
    cols = {"employees_engaged_trend_28d": trend}
    for q, w in enumerate(WINDOWS):
        cols[f"employees_engaged_{w}d"] = engaged[:, q]
        cols[f"manager_engaged_{w}d"] = manager[:, q]
        cols[f"executive_engaged_{w}d"] = executive[:, q]
        cols[f"after_hours_share_{w}d"] = share[:, q]
    return cols, team


def _network_block(
    k: dict[str, Any], network: tuple, team: tuple, n_employees: int, n_cut: int, steps: dict
) -> dict[str, np.ndarray]:
    """The team's internal network (:data:`NETWORK_COLUMNS`): each member's colleague relationships."""
    ix, recorded, meaningful, visit = network
    with timed(steps, "network_explode"):
        rows, first = k["explode_network_rows"](ix, recorded, meaningful, visit, n_employees)
    with timed(steps, "network_sizes"):
        cut, who, day = team
        span = int(day.max()) + 1 if day.shape[0] else 1
        asked, member = np.unique(who * span + day, return_inverse=True)
        sizes = k["network_sizes"](rows, first, asked // span, asked % span, n_employees)
        total = np.bincount(cut, weights=sizes[member].astype(np.float64), minlength=n_cut)
        size = np.bincount(cut, minlength=n_cut)
    big = size >= MIN_GROUP
    with np.errstate(divide="ignore", invalid="ignore"):
        return {
            "team_network_avg_28d": np.where(big, total / size, np.nan),
            "team_network_total_28d": np.where(big, total, np.nan),
        }


def _account_block(
    k: dict[str, Any],
    accounts: tuple,
    people: tuple,
    order: tuple,
    cuts: tuple,
    steps: dict,
) -> dict[str, np.ndarray]:
    """The account's totals (:data:`ACCOUNT_COLUMNS`) over the interactions' ``accounts``."""
    ix, kind, meaningful = people
    with timed(steps, "accounts_explode"):
        ordered, first = k["account_rows"](ix, kind, meaningful, accounts, *order)
    with timed(steps, "accounts_sweep"):
        sums, last_meeting, last = k["sweep_account_rows"](ordered, first, cuts)
    return account_columns(sums, last_meeting, last, cuts)


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    """``num / den``, NaN where ``den`` is 0 (the SQL's ``ratio``: NULL for a 0 denominator)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / den, np.nan)


def _class_windows(sums: np.ndarray, measures: tuple[str, ...]) -> Callable[[str, int], np.ndarray]:
    """From ``sums[cutoff, class, measure]``, a function of (measure, w): its sum over the last w days."""
    upto = np.cumsum(sums, axis=1)  # [:, c]: every class up to c, i.e. the last CLASS_EDGES[c] days
    at = {m: i for i, m in enumerate(measures)}
    return lambda m, w: upto[:, CLASS_EDGES.index(w), at[m]]


def account_columns(sums: np.ndarray, last_meeting: np.ndarray, last: np.ndarray, cuts: tuple) -> dict:
    """:data:`ACCOUNT_COLUMNS` from the class sums of :func:`kernels.sweep_account_rows`, as the SQL does."""
    window = _class_windows(sums, kernels.MEASURES)
    prev = CLASS_EDGES.index(PREV_TREND_START)

    def trend(m: str) -> np.ndarray:
        return window(m, TREND_DAYS) - sums[:, prev, kernels.MEASURES.index(m)]

    cols: dict[str, np.ndarray] = {}
    for h, m in HOURS.items():
        cols.update({f"{h}_hours_{w}d": window(m, w) / MS_PER_HOUR for w in WINDOWS})
        cols[f"{h}_hours_trend_28d"] = trend(m) / MS_PER_HOUR
    for w in WINDOWS:
        cols[f"customer_interactions_{w}d"] = window("n", w)
        cols[f"meaningful_share_{w}d"] = _ratio(window("meaningful_ms", w), window("ms", w))
    cols["customer_interactions_trend_28d"] = trend("n")
    at = np.empty_like(cuts[2])
    at[cuts[0]] = cuts[2]  # the cutoffs' times by id
    for name, stamp in (("days_since_last_meeting", last_meeting), ("days_since_last_interaction", last)):
        secs = (at // US_PER_S - stamp // US_PER_S).astype(np.float64)  # whole seconds, as DATE_DIFF
        cols[name] = np.where(stamp == NULL_TS, np.nan, secs / 86400.0)
    return cols


def reply_columns(sums: np.ndarray) -> dict[str, np.ndarray]:
    """:data:`REPLY_COLUMNS` from the class sums of :func:`kernels.sweep_reply_rows`, as the SQL does."""
    window = _class_windows(sums, kernels.REPLY_MEASURES)
    cols = {f"inbound_emails_{w}d": window("n_in", w) for w in (28, 90)}
    for w in WINDOWS:
        cols[f"reply_hours_avg_{w}d"] = _ratio(window("d_delay", w), window("d_replied", w)) / S_PER_HOUR
    cols["replied_24h_share_90d"] = _ratio(window("d_fast", 90), window("n_in", 90))
    cols["unanswered_share_90d"] = 1.0 - _ratio(window("d_replied", 90), window("n_in", 90))
    return cols


def _ordered_cutoffs(cutoffs: pd.DataFrame, accounts: pa.Array) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cutoffs as the sweep reads them (id, account code or -1, time in us), by account and time."""
    acc = pc.index_in(pa.array(cutoffs["account_id"]), value_set=accounts).fill_null(-1).to_numpy()
    acc = acc.astype(np.int64)
    at = cutoffs["as_of"].to_numpy().astype("datetime64[us]").astype(np.int64)
    order = np.lexsort((at, acc))
    return cutoffs["cutoff_id"].to_numpy()[order].astype(np.int64), acc[order], at[order]


def warm_up(
    k: dict[str, Any], contacts: tuple, employees: tuple, interactions: tuple, n_accounts: int, cuts: tuple
) -> None:
    """Run the kernels on the first 100 interactions and 10 cutoffs before the timing.

    numba compiles them (or loads them from its cache) for these argument types, at a fraction of the work.

    Args:
        k: the kernels.
        contacts: the contact block's ``(ix, ct, is_dm, n_contacts)``.
        employees: the employee block's ``(ix, em, zones, roles, n_employees)``.
        interactions: the kind codes and whether an organiser is given.
        n_accounts: number of account codes.
        cuts: the ordered cutoffs.

    """
    few = min(10, len(cuts[0]))
    some = (np.arange(few), cuts[1][:few], cuts[2][:few])
    (ix, ct, is_dm, n), (ix_em, em, zones, roles, n_em) = contacts, employees

    def head(arrays: tuple) -> tuple:  # the participants' codes stay whole: the offsets point into them
        return (*(a[:100] for a in arrays[:4]), arrays[4], arrays[5][:101])

    accounts = k["interaction_accounts"](head(ix), ct)
    order = (k["day_order"](ix[0][:100]), n_accounts)
    k["sweep_rows"](*k["explode_rows"](head(ix), ct, *order), some, is_dm, n)
    rows, first = k["explode_employee_rows"](head(ix_em), accounts, em, zones, *order)
    k["sweep_employee_rows"](rows, first, some, roles, n_em)
    _, who, day = k["team_rows"](rows, first, some, n_em)
    kind, org_known = interactions
    people = k["count_people"](org_known[:100], head(ix)[3:], head(ix_em)[3:])
    meaningful = kernels.meaningful_interactions(kind[:100], people)
    rows, first = k["account_rows"](head(ix), kind[:100], meaningful, accounts, *order)
    k["sweep_account_rows"](rows, first, some)
    ix_pairs = (*head(ix)[:2], *head(ix)[3:], *head(ix_em)[3:])
    rows, first = k["explode_pair_rows"](ix_pairs, (ct[0], ct[1], em[0]), meaningful, *order)
    k["sweep_pair_rows"](rows, first, some, n, n_em)
    ix_net = (*head(ix_em)[:2], *head(ix_em)[3:])
    rows, first = k["explode_network_rows"](ix_net, em[0], meaningful, order[0], n_em)
    asked = np.lexsort((day, who))  # the order network_sizes reads its questions in
    k["network_sizes"](rows, first, who[asked], day[asked], n_em)
    ix_reply = (*head(ix)[:2], *head(ix)[3:])
    outbound = k["outbound_emails"](ix_reply, head(ix_em)[3], kind[:100], order[0], (ct[1], em[0]), n)
    rows, first = k["reply_rows"](ix_reply, kind[:100], (ct[0], ct[1]), outbound, *order)
    k["sweep_reply_rows"](rows, first, some)


def mismatches(sql: pd.DataFrame, swept: dict[str, np.ndarray], n_cut: int) -> dict[str, int]:
    """Per column, the cutoffs where sweep and SQL differ (a cutoff without SQL rows is 0 or NULL)."""
    ref = sql.set_index("cutoff_id").reindex(np.arange(n_cut))
    last = ref["last_exec_ts"].astype("datetime64[us]")
    ref["last_exec_ts"] = np.where(last.isna(), NULL_TS, last.to_numpy().astype("int64"))
    out = {}
    for name in ALL_COLUMNS:
        want = ref[name].to_numpy(dtype="int64" if name == "last_exec_ts" else "float64")
        if not name.startswith(NULLABLE):
            want = np.nan_to_num(want)  # counts: the output fills a cutoff without rows with 0
        got = swept[name]
        same = (got == want) | (np.isnan(got) & np.isnan(want)) if got.dtype.kind == "f" else got == want
        out[name] = int((~same).sum())
    return out


def files_only(data: Path, k: dict[str, Any]) -> dict[str, Any]:
    """Time the blocks from the files alone (no SQL, no comparison): for trying a kernel's speed quickly."""
    figures: dict[str, Any] = {}
    tables, ents = loaded_cutoffs(data, figures)
    del tables
    run_files(data, cutoffs(ents), k, figures)
    figures["files_over_floor"] = figures["files_s"] / figures["floor_scan_s"]
    return figures


def compare(data: Path, k: dict[str, Any]) -> dict[str, Any]:
    """Run every block as SQL and from the files with kernels ``k`` on the world in ``data``; give figures.

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
    ap.add_argument("--files-only", action="store_true", help="time the files' path alone; no comparison")
    args = ap.parse_args()
    k = kernels.compiled()  # before the long simulation and load: a missing numba fails at once
    ensure_world(args.data, SCALE["accounts"], SCALE["months"], 42)
    if args.files_only:
        print(json.dumps(files_only(args.data, k), indent=2))
        return 0
    figures = compare(args.data, k)
    figures["numba"] = version("numba")
    write_result("prototype_sweep", figures)
    return 1 if any(figures["mismatches"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
