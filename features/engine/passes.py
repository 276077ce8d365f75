"""Window features by compiled passes (:mod:`features.engine.kernels`), from the prepared tables.

Eleven blocks, twelve statements: the per-contact windows (``acc_ct_agg``), the per-employee windows
(``acc_emp_agg``, and ``team``: the employees each cutoff's account engaged in the last 28 days), the
account's totals by window class (``acc_ix_cls``), the relationships (``acc_rel_agg``), the internal network
(``emp_net``) and responsiveness (``resp_cls``); and five of the baseline: usage (``out_usage``), support
(``out_support``), survey and renewal history (``out_survey_history``, ``out_renewal_history``) and billing
(``out_billing``). The DuckDB engine offers each result to the statements as the table :data:`TABLES` names,
in place of the statement and the statements only it reads (see :func:`features.engine.with_passes`); the
baseline's outputs, whole, go into the features as they are (:data:`WHOLE_OUTPUTS`).
"""

from __future__ import annotations

import traceback
from collections.abc import Collection, Mapping, MutableMapping
from concurrent.futures import Future, ThreadPoolExecutor
from functools import partial
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.cpus import usable_cpus
from features.engine import kernels
from features.engine.sql import MEANINGFUL_MAX_PEOPLE, SEVERE

#: The statements whose results the passes give, and the table that holds each result.
TABLES = {
    "acc_ct_agg": "acc_ct_swept",
    "acc_emp_agg": "acc_emp_swept",
    "team": "acc_emp_team",
    "acc_rel_agg": "acc_rel_swept",
    "acc_ix_cls": "acc_ix_swept",
    "emp_net": "emp_net_swept",
    "resp_cls": "resp_swept",
    "out_usage": "usage_swept",
    "out_support": "support_swept",
    "out_survey_history": "survey_swept",
    "out_renewal_history": "renewal_swept",
    "out_billing": "billing_swept",
}
#: The baseline's blocks: each output's statement, and the prepared table its pass reads.
BASELINE_BLOCKS = {
    "out_usage": "usage",
    "out_support": "tickets",
    "out_survey_history": "surveys",
    "out_renewal_history": "renewals",
    "out_billing": "invoices",
}
#: The outputs whose passes give them whole (every feature column of the statement, a row per cutoff): the
#: features take them as they are, and the engine does not read them (``features.engine.compute_features``).
WHOLE_OUTPUTS = tuple(BASELINE_BLOCKS)
#: The passes run from this many interactions on. Loading numba and the cached passes takes a few seconds,
#: about what the statements they replace take on small data. Measured on 2026-12-07 with all six blocks,
#: two builds each way: 717k interactions 4.40 and 4.85 s with the passes, 4.36 and 4.60 s without (even);
#: 1.19M 4.71 and 5.13 s with, 5.28 and 5.66 s without; 4.26M 11.7 and 13.5 s with, 21.4 and 21.9 s without.
PASSES_FROM_ROWS = 1_000_000
#: Below this many interactions the passes run as plain Python (tests' tiny worlds), which takes less than
#: loading the compiled ones.
COMPILE_FROM_ROWS = 20_000
#: The statements whose passes read our people (the employees' table).
STAFF_BLOCKS = {"acc_emp_agg", "team", "emp_net", "acc_rel_agg", "resp_cls"}
#: The kernels hold interaction positions as int32.
MAX_INTERACTIONS = 2**31 - 1


def choose_kernels(n_interactions: int) -> dict[str, Any] | None:
    """The passes for data of this size, or None to keep the SQL (small data, or no numba to compile them).

    Args:
        n_interactions: rows of the interactions table.

    Returns:
        None below :data:`PASSES_FROM_ROWS`; the plain kernels below :data:`COMPILE_FROM_ROWS`; else the
        compiled ones (None without numba).

    """
    if n_interactions < PASSES_FROM_ROWS:
        return None
    if n_interactions < COMPILE_FROM_ROWS:
        return kernels.plain()
    return kernels.compiled()


def _int_codes(col: pd.Series) -> np.ndarray:
    """Identifier codes (the engine's int32) as an int32 array, -1 where null."""
    arr = pa.array(col)
    if arr.null_count:
        arr = pc.fill_null(arr, -1)
    return np.asarray(arr.to_numpy(), np.int32)


def _us(col: pd.Series) -> np.ndarray:
    """Naive UTC timestamps as int64 microseconds, :data:`kernels.NULL_TS` (numpy's NaT) where null."""
    return np.asarray(col.to_numpy(dtype="datetime64[us]"), "datetime64[us]").view(np.int64)


def _flags(col: pd.Series) -> np.ndarray:
    return np.asarray(col.fillna(False).to_numpy(dtype=bool), np.bool_)


def _participants(col: pd.Series) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A list column's items (codes, -1 where null), offsets into them, and whether each list is null."""
    arr = pa.array(col)
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    offsets = arr.offsets.to_numpy()
    items = arr.values.slice(int(offsets[0]), int(offsets[-1] - offsets[0]))
    if items.null_count:
        items = pc.fill_null(items, -1)
    if offsets[0]:
        offsets = offsets - offsets[0]
    is_null = np.asarray(arr.is_null().to_numpy(zero_copy_only=False), np.bool_)
    codes = np.asarray(items.to_numpy(), np.int32)
    if is_null.any():  # a null list may still span items in Arrow: they are nobody, as DuckDB unnests none
        codes = np.where(np.repeat(is_null, np.diff(offsets)), np.int32(-1), codes)
    return codes, offsets, is_null


def _positions(organizers: pd.Series, participants: pd.Series, people: np.ndarray) -> tuple[Any, Any, Any]:
    """Each interaction's organiser and a list of its participants as positions in ``people`` (-1: not one).

    The organiser of an interaction whose list is null counts as nobody, as in the SQL (whose
    ``NOT ARRAY_CONTAINS`` is null there).

    Args:
        organizers: the interactions' organiser codes.
        participants: a list column of participants' codes (:func:`_participants`).
        people: the person codes (contacts' or employees'), by position.

    Returns:
        ``(organisers, the lists' items, the lists' offsets)``, the first two as int32 positions.

    """
    org = _int_codes(organizers)
    items, offsets, list_null = _participants(participants)
    size = 1 + max(np.max(org, initial=-1), np.max(items, initial=-1), np.max(people, initial=-1))
    position = np.full(size + 1, -1, np.int32)  # by person code + 1: slot 0 is a null code's
    position[people + 1] = np.arange(people.shape[0], dtype=np.int32)
    org_at = position[org + 1]
    org_at[list_null] = -1
    del org  # the big arrays are freed as soon as they are mapped (memory)
    items_at = position[items + 1]
    del items
    return org_at, items_at, offsets


def contact_inputs(prepared: Mapping[str, pd.DataFrame]) -> tuple[tuple, tuple, np.ndarray, int, int]:
    """The arguments of the contacts' explode (:func:`kernels.explode_rows_step`) and sweep, from the tables.

    A contact without an account (or an id) is no contact here, as in the SQL, whose rows of it match no
    cutoff. The organiser of an interaction whose participants' list is null does not count, as in the SQL
    (whose ``NOT ARRAY_CONTAINS`` is null there). Codes stay int32, and the stamps and durations are the
    prepared columns themselves where they can be, to keep the memory of the build's largest tables low.

    Returns:
        ``ix`` and ``ct`` of :func:`kernels.explode_rows_step`, the decision-maker flags by contact position,
        the number of account codes and the number of contacts.

    """
    ix, ct = prepared["interactions"], prepared["contacts"]
    accounts, people = _int_codes(ct["account_id"]), _int_codes(ct["contact_id"])
    kept = np.flatnonzero((accounts >= 0) & (people >= 0))
    n_contacts = kept.shape[0]
    org_c, ext_c, offsets = _positions(ix["organizer_id"], ix["external_participants"], people[kept])
    started = _us(ix["started_at"])
    recorded = _us(ix["recorded_at"]) if "recorded_at" in ix else started
    known = np.maximum(started, recorded) if (recorded != kernels.NULL_TS).any() else started
    minutes = np.asarray(ix["duration_minutes"].to_numpy(dtype=np.float64, na_value=np.nan), np.float64)
    absent = np.full(n_contacts, kernels.NULL_TS)
    ct_recorded = _us(ct["recorded_at"])[kept] if "recorded_at" in ct else absent
    is_exec = _flags(ct["seniority"] == "executive")[kept]
    entity_accounts = _int_codes(prepared["entities"]["account_id"])
    n_accounts = 1 + int(max(np.max(accounts, initial=-1), np.max(entity_accounts, initial=-1)))
    ix_args = (started, known, minutes, org_c, ext_c, offsets)
    is_dm = _flags(ct["is_decision_maker"])[kept]
    return ix_args, (accounts[kept], ct_recorded, is_exec), is_dm, n_accounts, n_contacts


def ordered_cutoffs(entities: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The cutoffs as :func:`kernels.sweep_rows` reads them, by account, then time.

    Args:
        entities: the prepared entities (``cutoff_id``, ``account_id`` as int32 codes, ``as_of``).

    Returns:
        ``(cutoff ids, account codes (-1: null), times in us)``.

    """
    acc, at = _int_codes(entities["account_id"]), _us(entities["as_of"])
    order = np.lexsort((at, acc))
    return np.asarray(entities["cutoff_id"].to_numpy(), np.int64)[order], acc[order], at[order]


def staff_inputs(prepared: Mapping[str, pd.DataFrame], started: np.ndarray) -> tuple[tuple, tuple, Any, Any]:
    """The employees' arguments of :func:`kernels.explode_employee_rows_step`, from the prepared tables.

    An employee without an id is nobody, and the organiser of an interaction whose internal participants'
    list is null does not count, as in the SQL (see :func:`contact_inputs`).

    Args:
        prepared: the prepared tables.
        started: the interactions' stamps (us), for the span of the time zones' offsets.

    Returns:
        ``staff`` and ``em`` of :func:`kernels.explode_employee_rows_step`, the role codes by employee
        position, and each position's employee code.

    """
    ix, em = prepared["interactions"], prepared["employees"]
    people = _int_codes(em["employee_id"])
    kept = np.flatnonzero(people >= 0)
    org_e, staff_e, offsets = _positions(ix["organizer_id"], ix["internal_participants"], people[kept])
    absent = np.full(kept.shape[0], kernels.NULL_TS)
    recorded = _us(em["recorded_at"])[kept] if "recorded_at" in em else absent
    zone_codes, zones = pd.factorize(em["timezone"].astype(str).to_numpy()[kept])
    valid = started[started != kernels.NULL_TS]
    span = (int(valid.min()), int(valid.max())) if valid.shape[0] else (0, 0)
    role_text = em["role"].astype(object).to_numpy()[kept]
    role = np.where(role_text == "manager", kernels.MANAGER, kernels.OTHER_ROLE)
    role = np.where(role_text == "executive", kernels.EXECUTIVE, role).astype(np.int8)
    em_args = (recorded, zone_codes.astype(np.int32), zone_shifts(list(zones), *span))
    return (org_e, staff_e, offsets), em_args, role, people[kept]


def _offsets_us(utc: pd.DatetimeIndex, zone: str) -> np.ndarray:
    """The zone's UTC offset (us) at each of the UTC times."""
    local = utc.tz_convert(zone).tz_localize(None)
    return np.asarray((local - utc.tz_localize(None)).to_numpy().astype("timedelta64[us]").view(np.int64))


def zone_shifts(zones: list[str], lo: int, hi: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Each time zone's changes of UTC offset between two times, as the employees' explode pass reads them.

    The offsets are read hour by hour (Python's time-zone database), and each change to the second.

    Args:
        zones: the zones' names, by code.
        lo: the earliest time (us, naive UTC).
        hi: the latest time.

    Returns:
        ``(first, at, offset)``: zone z's changes are ``at[first[z]:first[z + 1]]``, the first at
        :data:`kernels.NULL_TS` (from the start), and ``offset`` holds the offset (us) from each on.

    """
    start = pd.Timestamp(lo, unit="us", tz="UTC").floor("h") - pd.Timedelta(hours=1)
    end = pd.Timestamp(hi, unit="us", tz="UTC").ceil("h") + pd.Timedelta(hours=1)
    hours = pd.date_range(start, end, freq="h", unit="us")
    first, at, offset = [0], [], []
    for zone in zones:
        by_hour = _offsets_us(hours, zone)
        at.append(kernels.NULL_TS)
        offset.append(int(by_hour[0]))
        for h in np.flatnonzero(np.diff(by_hour)).tolist():
            by_second = _offsets_us(pd.date_range(hours[h], periods=3601, freq="s", unit="us"), zone)
            k = int(np.flatnonzero(by_second != by_hour[h])[0])
            at.append(int(hours[h].value // 1000) + k * 1_000_000)
            offset.append(int(by_second[k]))
        first.append(len(at))
    return np.asarray(first, np.int64), np.asarray(at, np.int64), np.asarray(offset, np.int64)


class Inputs(NamedTuple):
    """What every pass reads: the kernels' arguments for the interactions, contacts and cutoffs."""

    ix: tuple
    ct: tuple
    is_dm: np.ndarray
    n_accounts: int
    n_contacts: int
    cuts: tuple
    visit: np.ndarray
    ids: np.ndarray


def run_passes(
    prepared: MutableMapping[str, pd.DataFrame],
    k: Mapping[str, Any],
    wanted: Collection[str],
    release: bool = False,
) -> dict[str, pd.DataFrame]:
    """The results of the statements ``wanted`` (keys of :data:`TABLES`) for every cutoff, by passes ``k``.

    Args:
        prepared: the prepared tables (``interactions``, ``contacts``, ``employees``, ``entities``, and the
            baseline's tables of :data:`BASELINE_BLOCKS` whose blocks are wanted).
        k: the kernels (:func:`choose_kernels`).
        wanted: the statements to give.
        release: remove ``interactions`` from ``prepared`` once the kernels' inputs are taken from it, so
            that what they do not read (identifiers, kinds, lists, counts: 1,503 MiB on the scale world, by
            pandas' count of those columns) is freed while they run. For a caller that reads it no more.

    Returns:
        Each statement's result: ``cutoff_id`` (every cutoff, in order) and the statement's columns, where
        counts are 0 and other figures null for a cutoff without rows; ``team``: ``cutoff_id, cdn,
        employee_id``.

    Raises:
        ValueError: cutoff ids out of order, or more interactions than :data:`MAX_INTERACTIONS`.

    """
    ids = prepared["entities"]["cutoff_id"].to_numpy()
    if not np.array_equal(ids, np.arange(ids.shape[0])):  # the sweeps write each cutoff's values at its id
        raise ValueError("the passes need cutoff ids 0, 1, ... in order (features.engine.cutoffs)")
    if len(prepared["interactions"]) > MAX_INTERACTIONS:
        raise ValueError(
            f"the passes index interactions as int32: {len(prepared['interactions']):,} interactions is more"
            f" than {MAX_INTERACTIONS:,}; set duckdb_compiled_passes = false (the SQL has no such limit)"
        )
    if not set(wanted) - set(BASELINE_BLOCKS):  # no block reads the interactions (or the contacts)
        return _baseline_blocks(prepared, _cutoff_inputs(prepared["entities"], ids), k, wanted)
    out: dict[str, pd.DataFrame] = {}
    with ThreadPoolExecutor(max_workers=1) as pool:  # beside the main thread, on 2+ usable CPUs
        two = usable_cpus() > 1
        inputs, kinds, staff = _inputs(prepared, k, wanted, pool if two else None, ids)
        as_of = prepared["entities"]["as_of"]
        if release:
            del prepared["interactions"]
            pa.default_memory_pool().release_unused()  # the lists and identifiers are Arrow's
        staff_blocks = (
            None if staff is None else partial(_staff_blocks, inputs, k, kinds, (staff, as_of), wanted)
        )
        beside = pool.submit(staff_blocks) if staff_blocks and two else None  # our people's blocks
        try:
            if "acc_ct_agg" in wanted:
                out.update(_contacts_block(inputs, k))
            if staff_blocks and beside is None:
                out.update(staff_blocks())
            if "acc_ix_cls" in wanted:
                out.update(_accounts_block(inputs, k, kinds, as_of))
            if staff is not None and "resp_cls" in wanted:
                out["resp_cls"] = _responsiveness_block(inputs, k, (staff[0][0], staff[1][0], kinds[0]))
            out.update(_baseline_blocks(prepared, inputs, k, wanted))
        except BaseException as err:
            _note_failure_beside(err, beside)
            raise
        if beside is not None:
            out.update(beside.result())
    return {name: frame for name, frame in out.items() if name in wanted}


def _baseline_blocks(
    prepared: Mapping[str, pd.DataFrame], inputs: Inputs, k: Mapping[str, Any], wanted: Collection[str]
) -> dict[str, pd.DataFrame]:
    """The baseline's blocks wanted (usage, support, surveys, renewals, invoices: 1.4-2.2 s, scale world).

    The main thread runs them after its own blocks: with them our people's blocks, beside, took longer.
    """
    block = {
        "out_usage": _usage_block,
        "out_support": _support_block,
        "out_survey_history": _survey_block,
        "out_renewal_history": _renewal_block,
        "out_billing": _billing_block,
    }
    return {o: block[o](prepared[t], inputs, k) for o, t in BASELINE_BLOCKS.items() if o in wanted}


def _inputs(
    prepared: Mapping[str, pd.DataFrame],
    k: Mapping[str, Any],
    wanted: Collection[str],
    pool: ThreadPoolExecutor | None,
    ids: np.ndarray,
) -> tuple[Inputs, tuple[np.ndarray, np.ndarray], tuple | None]:
    """The passes' inputs (cutoffs ``ids``), the interactions' kind codes and meaningful flags, our people's.

    The day order (:func:`kernels.day_order`, compiled without Python's lock) is made in ``pool``, when
    given, while this thread takes the other inputs from the tables (1.4 s beside 3.7 s on the scale world).
    """
    started = _us(prepared["interactions"]["started_at"])
    ordering = None if pool is None else pool.submit(k["day_order"], started)
    ix_args, ct_args, is_dm, n_accounts, n_contacts = contact_inputs(prepared)
    cuts = ordered_cutoffs(prepared["entities"])
    kind = kind_codes(prepared["interactions"])
    kinds = kind, meaningful_interactions(prepared["interactions"], kind)
    staff = staff_inputs(prepared, started) if STAFF_BLOCKS & set(wanted) else None
    visit = k["day_order"](started) if ordering is None else ordering.result()
    inputs = Inputs(ix_args, ct_args, is_dm, n_accounts, n_contacts, cuts, visit, ids)
    return inputs, kinds, staff


def _cutoff_inputs(entities: pd.DataFrame, ids: np.ndarray) -> Inputs:
    """What the baseline's blocks read when no block reads the interactions: the cutoffs alone."""
    n_accounts = 1 + int(np.max(_int_codes(entities["account_id"]), initial=-1))
    return Inputs((), (), np.zeros(0, np.bool_), n_accounts, 0, ordered_cutoffs(entities), np.zeros(0), ids)


def _note_failure_beside(err: BaseException, beside: Future[dict[str, pd.DataFrame]] | None) -> None:
    """Wait for the blocks run beside (a running kernel cannot be stopped); note on ``err`` how they failed.

    Without this the worker's own error, and its traceback, would be lost behind ``err``.
    """
    failed = None if beside is None else beside.exception()
    if failed is not None:
        trace = "".join(traceback.format_exception(failed)).rstrip()
        err.add_note(f"our people's blocks, run beside, failed too:\n{trace}")


def _staff_blocks(
    inputs: Inputs,
    k: Mapping[str, Any],
    kinds: tuple[np.ndarray, np.ndarray],
    people: tuple[tuple, pd.Series],
    wanted: Collection[str],
) -> dict[str, pd.DataFrame]:
    """The blocks of our people's windows, relationships and network, the relationships first (the most rows).

    ``people`` is :func:`staff_inputs` and the cutoffs' times. Responsiveness, which reads our people too,
    runs beside these (:func:`run_passes`).
    """
    meaningful = kinds[1]
    (staff, em_args, role, codes), as_of = people
    out: dict[str, pd.DataFrame] = {}
    if "acc_rel_agg" in wanted:
        rows, first = k["explode_pair_rows"](
            inputs.ix, staff, inputs.ct, em_args[0], meaningful, inputs.visit, inputs.n_accounts
        )
        values = k["sweep_pair_rows"](rows, first, inputs.cuts, inputs.n_contacts, codes.shape[0])
        del rows
        out["acc_rel_agg"] = _frame(inputs.ids, kernels.RELATION_COLUMNS, list(values))
    if {"acc_emp_agg", "team", "emp_net"} & set(wanted):
        out.update(_employees_block(inputs, k, (staff, em_args, role, codes), as_of))
        if "emp_net" in wanted:
            out["emp_net"] = _network_block(inputs, k, (staff, em_args[0], meaningful), out["team"], codes)
    return out


def _contacts_block(inputs: Inputs, k: Mapping[str, Any]) -> dict[str, pd.DataFrame]:
    rows, first = k["explode_rows"](inputs.ix, inputs.ct, inputs.visit, inputs.n_accounts)
    swept = k["sweep_rows"](rows, first, inputs.cuts, inputs.is_dm, inputs.n_contacts)
    del rows
    (reached, execs, dms, share), before, last = swept
    last_exec = np.asarray(last, np.int64).view("datetime64[us]")  # NULL_TS is numpy's NaT
    values = [*reached.T, *execs.T, *dms.T, *share.T, before, last_exec]  # CONTACT_COLUMNS' order
    return {"acc_ct_agg": _frame(inputs.ids, kernels.CONTACT_COLUMNS, values)}


def _employees_block(
    inputs: Inputs, k: Mapping[str, Any], staff_args: tuple, as_of: pd.Series
) -> dict[str, pd.DataFrame]:
    staff, em_args, role, codes = staff_args
    rows, first = k["explode_employee_rows"](
        inputs.ix, staff, inputs.ct, em_args, inputs.visit, inputs.n_accounts
    )
    swept = k["sweep_employee_rows"](rows, first, inputs.cuts, role, codes.shape[0])
    del rows
    (engaged, mgr, ex, late), trend, (t_cut, t_em) = swept
    values = [*engaged.T, *mgr.T, *ex.T, trend, *late.T]  # EMPLOYEE_COLUMNS' order
    cdn = _us(as_of) // kernels.US_PER_DAY
    return {
        "acc_emp_agg": _frame(inputs.ids, kernels.EMPLOYEE_COLUMNS, values),
        "team": pd.DataFrame({"cutoff_id": t_cut, "cdn": cdn[t_cut], "employee_id": codes[t_em]}),
    }


def _responsiveness_block(inputs: Inputs, k: Mapping[str, Any], args: tuple) -> pd.DataFrame:
    """``resp_cls``: each cutoff's sums of inbound emails and reply steps by window class."""
    org_e, em_recorded, kind = args
    recorded = (inputs.ct[1], em_recorded)
    outbound = k["outbound_emails"](inputs.ix, org_e, kind, inputs.visit, recorded, inputs.n_contacts)
    rows, first = k["reply_rows"](inputs.ix, kind, inputs.ct, outbound, inputs.visit, inputs.n_accounts)
    del outbound
    sums = k["sweep_reply_rows"](rows, first, inputs.cuts)
    del rows
    cid, cls = np.nonzero(sums[:, :, 0])  # the classes a cutoff has inbound emails in (its steps' classes)
    cols: dict[str, Any] = {"cutoff_id": cid.astype(np.int64), "cls": cls.astype(np.int32)}
    cols.update({name: sums[cid, cls, m] for m, name in enumerate(kernels.REPLY_SUMS)})
    return pd.DataFrame(cols)


def _network_block(
    inputs: Inputs, k: Mapping[str, Any], args: tuple, team: pd.DataFrame, codes: np.ndarray
) -> pd.DataFrame:
    """``emp_net``: each team member's network on each cutoff day of the team (``employee_id, cdn, size``)."""
    staff, em_recorded, meaningful = args
    rows, first = k["explode_network_rows"](
        inputs.ix, staff, em_recorded, meaningful, inputs.visit, em_recorded.shape[0]
    )
    position = np.full(int(codes.max(initial=-1)) + 1, -1, np.int64)  # employee code -> position
    position[codes] = np.arange(codes.shape[0])
    who, day = _distinct_pairs(position[team["employee_id"].to_numpy()], team["cdn"].to_numpy())
    sizes = k["network_sizes"](rows, first, who, day)
    return pd.DataFrame({"employee_id": codes[who], "cdn": day, "size": sizes})


def _distinct_pairs(first: np.ndarray, second: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct ``(first, second)`` pairs of non-negative ``first`` values, sorted by first, then second.

    As ``np.unique`` of the stacked pairs along ``axis=1``, through one int64 key per pair (that took 2.0 s
    on the scale world's teams, sorting the pairs as rows).
    """
    if first.shape[0] == 0:
        return first.astype(np.int64), second.astype(np.int64)
    low = int(second.min())
    span = int(second.max()) - low + 1
    keys = np.unique(first.astype(np.int64) * span + (second.astype(np.int64) - low))
    return keys // span, keys % span + low


def _accounts_block(
    inputs: Inputs, k: Mapping[str, Any], kinds: tuple[np.ndarray, np.ndarray], as_of: pd.Series
) -> dict[str, pd.DataFrame]:
    """``acc_ix_cls``: each cutoff's sums by window class, a row per class that has interactions."""
    kind, meaningful = kinds
    rows, first = k["explode_account_rows"](
        inputs.ix, inputs.ct, kind, meaningful, inputs.visit, inputs.n_accounts
    )
    sums, last_meeting, last = k["sweep_account_rows"](rows, first, inputs.cuts)
    del rows
    cid, cls = np.nonzero(sums[:, :, 0])  # by cutoff, then class: the classes a cutoff has rows in
    cols: dict[str, Any] = {"cutoff_id": cid.astype(np.int64), "cls": cls.astype(np.int32)}
    cols.update({name: sums[cid, cls, m] for m, name in enumerate(kernels.ACCOUNT_SUMS)})
    cols["last_meeting_ts"] = last_meeting[cid, cls].view("datetime64[us]")  # NULL_TS is numpy's NaT
    cols["last_ts"] = last[cid, cls].view("datetime64[us]")
    cols["as_of"] = np.asarray(as_of.to_numpy(), "datetime64[us]")[cid]
    return {"acc_ix_cls": pd.DataFrame(cols)}


def usage_inputs(us: pd.DataFrame, n_accounts: int) -> tuple[np.ndarray, ...]:
    """The arguments of :func:`kernels.sweep_usage` but the cutoffs, from the prepared ``usage``.

    A row without an account or a date is read by no cutoff, as in the SQL (whose join matches no null
    account, and whose window needs the row's day).

    Args:
        us: the prepared usage rows.
        n_accounts: the number of account codes the cutoffs hold.

    Returns:
        ``(first, day, known, values, present)``, the rows by account.

    """
    acc, date = _int_codes(us["account_id"]), _us(us["date"])
    known = _known(date, us)
    rows, first = _by_account(acc, (acc >= 0) & (date != kernels.NULL_TS), n_accounts)
    date, known = date[rows], known[rows]
    measures = ("active_users", "licensed_seats", "key_feature_events")
    values = np.stack([_numbers(us[c])[rows] for c in measures], axis=1)
    present = ~np.isnan(values)
    return first, date // kernels.US_PER_DAY, known, np.where(present, values, 0.0), present


def _by_account(acc: np.ndarray, keep: np.ndarray, n_accounts: int) -> tuple[np.ndarray, np.ndarray]:
    """The rows ``keep`` (a mask) by account code, and each account's first row (``n + 1`` offsets)."""
    rows = np.flatnonzero(keep)
    rows = rows[np.argsort(acc[rows], kind="stable")]
    n = max(n_accounts, 1 + int(np.max(acc, initial=-1)))
    return rows, np.concatenate(([0], np.cumsum(np.bincount(acc[rows], minlength=n))))


def ticket_inputs(tk: pd.DataFrame, n_accounts: int) -> tuple[np.ndarray, ...]:
    """The arguments of :func:`kernels.sweep_tickets` but the cutoffs, from the prepared ``tickets``.

    A ticket without an account, or known at no time (neither opened nor recorded), is read by no cutoff, as
    in the SQL.

    Args:
        tk: the prepared tickets.
        n_accounts: the number of account codes the cutoffs hold.

    Returns:
        ``(first, stamps, kinds, reopened)``, the rows by account.

    """
    acc, opened, closed = _int_codes(tk["account_id"]), _us(tk["opened_at"]), _us(tk["closed_at"])
    recorded = _us(tk["recorded_at"]) if "recorded_at" in tk else np.full(len(tk), kernels.NULL_TS)
    open_known = np.maximum(opened, recorded)  # as GREATEST, which passes over a null (NULL_TS: the least)
    rows, first = _by_account(acc, (acc >= 0) & (open_known != kernels.NULL_TS), n_accounts)
    opened, closed, recorded = opened[rows], closed[rows], recorded[rows]
    close_known = np.where(closed == kernels.NULL_TS, kernels.NULL_TS, np.maximum(closed, recorded))
    stamps = np.stack([opened, closed, open_known[rows], close_known], axis=1)
    severity = _numbers(tk["severity"])[rows]  # compared as the SQL compares it: NaN (null) is none of these
    code = np.zeros(rows.shape[0], np.int64)
    for level in range(1, 5):
        code[severity == level] = level
    severe = (severity <= SEVERE).astype(np.int64)
    kinds = np.stack([code, severe, _flags(tk["escalated"])[rows].astype(np.int64)], axis=1)
    reopened = _numbers(tk["reopened_count"])[rows]
    given = ~np.isnan(reopened)
    return first, stamps, kinds, np.stack([np.where(given, reopened, 0.0), given.astype(np.float64)], axis=1)


def _support_block(tk: pd.DataFrame, inputs: Inputs, k: Mapping[str, Any]) -> pd.DataFrame:
    """``out_support``: the support features of every cutoff."""
    values = k["sweep_tickets"](*ticket_inputs(tk, inputs.n_accounts), inputs.cuts)
    return _frame(inputs.ids, kernels.SUPPORT_COLUMNS, list(values.T))


def _known(stamp: np.ndarray, table: pd.DataFrame) -> np.ndarray:
    """``known_ts`` of each row: the later of its stamp and its ``recorded_at``, either alone if one is null.

    As the engine's GREATEST, which passes over a null (:data:`kernels.NULL_TS` is the least int64).
    """
    return np.maximum(stamp, _us(table["recorded_at"])) if "recorded_at" in table else stamp


def survey_inputs(sv: pd.DataFrame, n_accounts: int) -> tuple[np.ndarray, ...]:
    """The arguments of :func:`kernels.sweep_surveys` but the cutoffs, from the prepared ``surveys``.

    A response without an account, or known at no time, is read by no cutoff, as in the SQL.

    Args:
        sv: the prepared survey responses.
        n_accounts: the number of account codes the cutoffs hold.

    Returns:
        ``(first, stamps, scores)``, the rows by account.

    """
    acc, responded = _int_codes(sv["account_id"]), _us(sv["responded_at"])
    known = _known(responded, sv)
    rows, first = _by_account(acc, (acc >= 0) & (known != kernels.NULL_TS), n_accounts)
    scores = np.stack([_numbers(sv["csat"])[rows], _numbers(sv["nps"])[rows]], axis=1)
    return first, np.stack([responded[rows], known[rows]], axis=1), scores


def _survey_block(sv: pd.DataFrame, inputs: Inputs, k: Mapping[str, Any]) -> pd.DataFrame:
    """``out_survey_history``: the survey history of every cutoff."""
    values = k["sweep_surveys"](*survey_inputs(sv, inputs.n_accounts), inputs.cuts)
    return _frame(inputs.ids, kernels.SURVEY_COLUMNS, list(values.T))


def whole_cents(usd: np.ndarray) -> np.ndarray:
    """Dollars as whole cents, as the engine's ``ROUND(usd * 100.0)``: halves away from zero.

    numpy's own round takes halves to even.

    Args:
        usd: amounts in dollars (NaN where null).

    Returns:
        The amounts in whole cents, as doubles (NaN stays NaN).

    """
    x = usd * kernels.CENTS_PER_USD
    whole = np.trunc(x)
    return np.where(np.abs(x - whole) == 0.5, whole + np.sign(x), np.round(x))


def renewal_inputs(rn: pd.DataFrame, n_accounts: int) -> tuple[np.ndarray, ...]:
    """The arguments of :func:`kernels.sweep_renewals` but the cutoffs, from the prepared ``renewals``.

    Args:
        rn: the prepared renewals.
        n_accounts: the number of account codes the cutoffs hold.

    Returns:
        ``(first, stamps, outcome codes, cents)``, the rows by account.

    """
    acc, date = _int_codes(rn["account_id"]), _us(rn["renewal_date"])
    known = _known(date, rn)
    rows, first = _by_account(acc, (acc >= 0) & (known != kernels.NULL_TS), n_accounts)
    date = date[rows]
    day = np.where(date == kernels.NULL_TS, kernels.NULL_TS, date // kernels.US_PER_DAY)
    outcome = pd.Categorical(rn["outcome"].astype(object).to_numpy()[rows], categories=list(kernels.OUTCOMES))
    codes = np.maximum(np.asarray(outcome.codes, np.int8), 0)  # a null or other outcome counts as none
    cents = whole_cents(_numbers(rn["arr_change_usd"])[rows])
    return first, np.stack([day, known[rows]], axis=1), codes, cents


def _renewal_block(rn: pd.DataFrame, inputs: Inputs, k: Mapping[str, Any]) -> pd.DataFrame:
    """``out_renewal_history``: the renewal history of every cutoff."""
    values = k["sweep_renewals"](*renewal_inputs(rn, inputs.n_accounts), inputs.cuts)
    return _frame(inputs.ids, kernels.RENEWAL_COLUMNS, list(values.T))


def invoice_inputs(inv: pd.DataFrame, n_accounts: int) -> tuple[np.ndarray, ...]:
    """The arguments of :func:`kernels.sweep_invoices` but the cutoffs, from the prepared ``invoices``.

    Args:
        inv: the prepared invoices.
        n_accounts: the number of account codes the cutoffs hold.

    Returns:
        ``(first, stamps, days, cents)``, the rows by account.

    """
    acc, issued = _int_codes(inv["account_id"]), _us(inv["issued_at"])
    known = _known(issued, inv)
    rows, first = _by_account(acc, (acc >= 0) & (known != kernels.NULL_TS), n_accounts)
    paid = _us(inv["paid_at"])[rows]
    stamps = [issued[rows], _us(inv["due_at"])[rows], paid]
    days = [np.where(t == kernels.NULL_TS, kernels.NULL_TS, t // kernels.US_PER_DAY) for t in stamps]
    cents = whole_cents(_numbers(inv["amount_usd"])[rows])
    return first, np.stack([known[rows], paid], axis=1), np.stack(days, axis=1), cents


def _billing_block(inv: pd.DataFrame, inputs: Inputs, k: Mapping[str, Any]) -> pd.DataFrame:
    """``out_billing``: the billing features of every cutoff."""
    values = k["sweep_invoices"](*invoice_inputs(inv, inputs.n_accounts), inputs.cuts)
    return _frame(inputs.ids, kernels.BILLING_COLUMNS, list(values.T))


def _numbers(col: pd.Series) -> np.ndarray:
    """A number column as doubles, NaN where null (a numpy column as it is: pandas' NA path is slower)."""
    if isinstance(col.dtype, np.dtype):
        return np.asarray(col.to_numpy(), np.float64)
    return np.asarray(col.to_numpy(dtype=np.float64, na_value=np.nan), np.float64)


def _usage_block(us: pd.DataFrame, inputs: Inputs, k: Mapping[str, Any]) -> pd.DataFrame:
    """``out_usage``: the usage features of every cutoff."""
    values = k["sweep_usage"](*usage_inputs(us, inputs.n_accounts), inputs.cuts)
    return _frame(inputs.ids, kernels.USAGE_COLUMNS, list(values.T))


def kind_codes(ix: pd.DataFrame) -> np.ndarray:
    """Each interaction's kind as its position in :data:`kernels.KINDS`.

    Args:
        ix: the prepared interactions (``kind`` is read; a dictionary column is coded by its dictionary).

    Returns:
        int8 codes, one per interaction: email 0, meeting 1, call 2; any other kind, or none, 3.

    """
    arr = pa.array(ix["kind"])
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks()
    other = len(kernels.KINDS)
    if pa.types.is_dictionary(arr.type):  # the dictionary's kinds, then each row's by its index
        values = arr.dictionary
        of_value = pc.index_in(values, value_set=pa.array(kernels.KINDS, values.type)).fill_null(other)
        table = np.append(np.asarray(of_value.to_numpy(zero_copy_only=False)), other)
        index = np.asarray(arr.indices.fill_null(-1).to_numpy(zero_copy_only=False))
        return np.asarray(table[index], np.int8)
    found = pc.index_in(arr, value_set=pa.array(kernels.KINDS, arr.type)).fill_null(other)
    return np.asarray(found.to_numpy(zero_copy_only=False), np.int8)


def meaningful_interactions(ix: pd.DataFrame, kind: np.ndarray) -> np.ndarray:
    """Whether each interaction is meaningful: an email or meeting of at most 5 people, as in the SQL.

    Args:
        ix: the prepared interactions (``n_people`` is read).
        kind: :func:`kind_codes` of them.

    Returns:
        A bool per interaction.

    """
    small = ix["n_people"].to_numpy(dtype=np.float64, na_value=np.nan) <= MEANINGFUL_MAX_PEOPLE
    return np.asarray((kind <= kernels.MEETING) & small, np.bool_)


def _frame(ids: np.ndarray, names: tuple[str, ...], values: list) -> pd.DataFrame:
    return pd.DataFrame({"cutoff_id": ids.astype(np.int64), **dict(zip(names, values, strict=True))})


def contact_windows(prepared: MutableMapping[str, pd.DataFrame], k: Mapping[str, Any]) -> pd.DataFrame:
    """The statement ``acc_ct_agg``'s columns for every cutoff, by the passes ``k`` (:func:`run_passes`)."""
    return run_passes(prepared, k, {"acc_ct_agg"})["acc_ct_agg"]
