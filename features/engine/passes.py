"""The per-contact windows by compiled passes (:mod:`features.engine.kernels`), from the prepared tables.

The DuckDB engine offers the passes' result to the statements as the table :data:`SWEPT`, in place of
the statement ``acc_ct_agg`` and the statements only it reads (see :func:`features.engine.with_passes`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.engine import kernels

REPLACED = "acc_ct_agg"  # the statement whose result the passes give
SWEPT = "acc_ct_swept"  # the table that holds it
#: The passes run from this many interactions on. Loading numba and the cached passes took 1.7-3.0 s, more
#: than the statements they replace take on small data: on 717k interactions the build took 1.8 s longer,
#: on 41.5M 30 s less. 3M is where a straight line through those two would break even (not measured there).
PASSES_FROM_ROWS = 3_000_000
#: Below this many interactions the passes run as plain Python (tests' tiny worlds), which takes less than
#: loading the compiled ones.
COMPILE_FROM_ROWS = 20_000


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


def contact_inputs(prepared: Mapping[str, pd.DataFrame]) -> tuple[tuple, tuple, np.ndarray, int, int]:
    """The arguments of :func:`kernels.explode_rows` and :func:`kernels.sweep_rows` from the prepared tables.

    A contact without an account (or an id) is no contact here, as in the SQL, whose rows of it match no
    cutoff. The organiser of an interaction whose participants' list is null does not count, as in the SQL
    (whose ``NOT ARRAY_CONTAINS`` is null there). Codes stay int32, and the stamps and durations are the
    prepared columns themselves where they can be, to keep the memory of the build's largest tables low.

    Returns:
        ``ix`` and ``ct`` of :func:`kernels.explode_rows`, the decision-maker flags by contact position, the
        number of account codes and the number of contacts.

    """
    ix, ct = prepared["interactions"], prepared["contacts"]
    org = _int_codes(ix["organizer_id"])
    items, offsets, list_null = _participants(ix["external_participants"])
    accounts, people = _int_codes(ct["account_id"]), _int_codes(ct["contact_id"])
    kept = np.flatnonzero((accounts >= 0) & (people >= 0))
    n_contacts = kept.shape[0]
    size = 1 + max(np.max(org, initial=-1), np.max(items, initial=-1), np.max(people, initial=-1))
    contact_of = np.full(size + 1, -1, np.int32)  # by person code + 1: slot 0 is a null code's
    contact_of[people[kept] + 1] = np.arange(n_contacts, dtype=np.int32)
    org_c = contact_of[org + 1]
    org_c[list_null] = -1
    del org
    ext_c = contact_of[items + 1]
    del items
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
    """The cutoffs as :func:`kernels.sweep_rows` reads them: id, account code (-1: null), time, by account."""
    acc, at = _int_codes(entities["account_id"]), _us(entities["as_of"])
    order = np.lexsort((at, acc))
    return np.asarray(entities["cutoff_id"].to_numpy(), np.int64)[order], acc[order], at[order]


def contact_windows(prepared: Mapping[str, pd.DataFrame], k: Mapping[str, Any]) -> pd.DataFrame:
    """The statement ``acc_ct_agg``'s columns for every cutoff, by the passes ``k``.

    Args:
        prepared: the prepared tables (``interactions``, ``contacts``, ``entities``) before the run.
        k: the kernels (:func:`choose_kernels`).

    Returns:
        ``cutoff_id`` (every cutoff, in order) and :data:`kernels.CONTACT_COLUMNS`: counts are 0 and the top
        contact's share and the last executive contact null where a cutoff has no contact rows.

    """
    ids = prepared["entities"]["cutoff_id"].to_numpy()
    if not np.array_equal(ids, np.arange(ids.shape[0])):  # the sweep writes each cutoff's values at its id
        raise ValueError("the passes need cutoff ids 0, 1, ... in order (features.engine.cutoffs)")
    ix_args, ct_args, is_dm, n_accounts, n_contacts = contact_inputs(prepared)
    cuts = ordered_cutoffs(prepared["entities"])
    visit = k["day_order"](ix_args[0])
    rows, first = k["explode_rows"](ix_args, ct_args, visit, n_accounts)
    del ix_args, visit
    (reached, execs, dms, share), before, last = k["sweep_rows"](rows, first, cuts, is_dm, n_contacts)
    last_exec = np.asarray(last, np.int64).view("datetime64[us]")  # NULL_TS is numpy's NaT
    values = [*reached.T, *execs.T, *dms.T, *share.T, before, last_exec]  # CONTACT_COLUMNS' order
    cols = {"cutoff_id": ids.astype(np.int64), **dict(zip(kernels.CONTACT_COLUMNS, values, strict=True))}
    return pd.DataFrame(cols)
