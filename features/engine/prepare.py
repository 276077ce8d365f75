"""Shape the contract's pandas tables for an engine: the columns every definition expects, nothing else."""

from __future__ import annotations

import re
from collections.abc import Collection, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import available_timezones

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.catalog import (
    ACCOUNT_CONTRACT_COLUMNS,
    Feature,
    account_extra_features,
    extra_feature_name,
    groups,
)
from features.cpus import usable_cpus

#: Columns each raw table must offer to the definitions (``recorded_at`` is added, empty, when absent).
COLUMNS: dict[str, tuple[str, ...]] = {
    "contacts": ("contact_id", "account_id", "seniority", "is_decision_maker"),
    "employees": ("employee_id", "role", "timezone"),
    "interactions": (
        "interaction_id",
        "kind",
        "started_at",
        "duration_minutes",
        "organizer_id",
        "internal_participants",
        "external_participants",
    ),
    "tickets": (
        "ticket_id",
        "account_id",
        "opened_at",
        "closed_at",
        "severity",
        "escalated",
        "reopened_count",
    ),
    "usage": ("account_id", "date", "active_users", "licensed_seats", "key_feature_events"),
    "invoices": ("invoice_id", "account_id", "issued_at", "due_at", "paid_at", "amount_usd"),
    "surveys": ("response_id", "account_id", "responded_at", "csat", "nps"),
    "renewals": ("account_id", "renewal_date", "outcome", "arr_change_usd"),
}
LIST_TYPE = pd.ArrowDtype(pa.list_(pa.string()))
#: Identifier columns the definitions only compare for equality, by key space: they are replaced by integer
#: codes before an engine sees them (same string, same code; null stays null), which makes staging, joins
#: and groupings cheaper. Lists hold identifiers of the key space too. ``interaction_id``, unique by the
#: contract, becomes the row's position.
ID_KEYS: dict[str, dict[str, tuple[str, ...]]] = {
    "account": {
        name: ("account_id",)
        for name in (
            "entities",
            "accounts",
            "contacts",
            "tickets",
            "usage",
            "invoices",
            "surveys",
            "renewals",
        )
    },
    "person": {
        "contacts": ("contact_id",),
        "employees": ("employee_id",),
        "interactions": ("organizer_id", "internal_participants", "external_participants"),
    },
}
#: Text columns of few distinct values in big tables: the engine gets them dictionary-encoded (a small code
#: per row instead of the text), which changes no value.
DICTIONARY_COLUMNS: dict[str, tuple[str, ...]] = {"interactions": ("kind",)}
#: A column with at least this many identifiers is hashed in pieces, one per usable CPU (:func:`_encode_key`).
ENCODE_PIECE_MIN = 1 << 20
#: Interactions are counted in slices of this many rows (bounds the temporary arrays of :func:`count_people`).
PEOPLE_SLICE_ROWS = 1 << 20
#: Each list's first this many items are compared position by position; a row with a longer list is counted
#: by sorting its items (on the scale world 88.5% of interactions have at most 3 people in all).
PEOPLE_SLOTS = 3
TIMESTAMP_COLUMNS = {
    "interactions": ("started_at",),
    "tickets": ("opened_at", "closed_at"),
    "usage": ("date",),
    "invoices": ("issued_at", "due_at", "paid_at"),
    "surveys": ("responded_at",),
    "renewals": ("renewal_date",),
    "accounts": ("customer_since",),
}


@dataclass
class Plan:
    """What can be computed from the tables at hand."""

    present: set[str]
    features: list[Feature]
    groups_missing: dict[str, list[str]] = field(default_factory=dict)
    extras: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def extra_kinds(accounts: pd.DataFrame, exclude: Collection[str] = ()) -> dict[str, str]:
    """Extra accounts columns (CRM custom fields) and how to offer them: ``number``, ``bool`` or ``text``."""
    out: dict[str, str] = {}
    for col in accounts.columns:
        if col in ACCOUNT_CONTRACT_COLUMNS or col in exclude:
            continue
        dtype = accounts[col].dtype
        if pd.api.types.is_bool_dtype(dtype):
            out[col] = "bool"
        elif pd.api.types.is_numeric_dtype(dtype):
            out[col] = "number"
        else:
            out[col] = "text"
    return out


#: A text custom column with at least this share of its values numbers is probably a number column with typos.
MOSTLY_NUMBERS = 0.9
#: A text custom column with more distinct values than this share of its values (and than
#: :data:`IDENTIFYING_MIN_VALUES`) names single accounts or people (a name, an email, a number, free text):
#: as a category it identifies rather than generalises, so it is left out.
IDENTIFYING_SHARE = 0.5
IDENTIFYING_MIN_VALUES = 20
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
#: Words of a column name that say it holds a way to reach a person, or (with ``name``) a person's name.
CONTACT_WORDS = frozenset({"email", "mail", "phone", "mobile"})
PERSON_WORDS = frozenset(
    {"csm", "owner", "manager", "rep", "contact", "person", "employee", "user", "champion", "sponsor",
     "first", "last", "full", "ae", "am", "cs"}
)  # fmt: skip
#: A text column named by a person's role alone (``sponsor``, ``exec_sponsor``, ``account_owner``): its values
#: are people. Its name is made of these words, one of them a role (not ``first``, ``last``, ``full``).
ROLE_WORDS = (PERSON_WORDS - {"first", "last", "full"}) | {"exec", "executive", "buyer", "signer", "admin"}
ROLE_MODIFIERS = frozenset(
    {"account", "primary", "main", "key", "customer", "technical", "business", "our", "success", "sales",
     "renewal", "assigned"}
)  # fmt: skip
#: Values of a yes/no column (``champion`` = Yes/No says whether there is one, not who).
FLAG_VALUES = frozenset({"yes", "no", "y", "n", "true", "false", "t", "f", "0", "1"})


def name_words(col: str) -> set[str]:
    """The words of a column name: ``Renewal_Owner__c`` and ``ExecSponsor`` as ``owner``, ``exec``, ...

    Args:
        col: a column's name (snake_case, camelCase, words with spaces; a Salesforce ``__c`` suffix).

    Returns:
        Its words in lower case.

    """
    spaced = re.sub(r"([a-z0-9])([A-Z])|([A-Z])([A-Z][a-z])", r"\1\3 \2\4", col)
    words = [w for w in re.split(r"[^a-z0-9]+", spaced.lower()) if w]
    if len(words) > 1 and col.endswith("__c"):
        words.pop()
    return set(words)


def people_ids(tables: Mapping[str, pd.DataFrame]) -> set[str]:
    """Every employee and contact id in the tables: values no feature may carry."""
    ids: set[str] = set()
    for table, col in (("employees", "employee_id"), ("contacts", "contact_id")):
        df = tables.get(table)
        if df is not None and col in df.columns:
            ids.update(df[col].dropna().astype(str))
    return ids


def screen_extras(
    accounts: pd.DataFrame, kinds: dict[str, str], people: set[str]
) -> tuple[dict[str, str], list[str]]:
    """Drop custom columns that would identify someone (:func:`identifying`); note text ones mostly numbers.

    Args:
        accounts: the accounts table.
        kinds: the custom columns and their kinds (:func:`extra_kinds`).
        people: employee and contact ids (:func:`people_ids`).

    Returns:
        The columns kept with their kinds, and one note per column dropped or typed as text despite numbers.

    """
    kept: dict[str, str] = {}
    notes: list[str] = []
    for col, kind in kinds.items():
        values = accounts[col].dropna().astype(str) if kind == "text" else pd.Series(dtype=str)
        why = identifying(col, values, people)
        if why:
            notes.append(f"custom column accounts.{col} left out: {why}")
            continue
        kept[col] = kind
        numbers = pd.to_numeric(values, errors="coerce").notna()
        if len(values) and MOSTLY_NUMBERS <= numbers.mean() < 1:
            notes.append(
                f"custom column accounts.{col} offered as text (a category): {int((~numbers).sum()):,} of"
                f" {len(values):,} values are not numbers, e.g. {values[~numbers].iloc[0][:40]!r}"
            )
    return kept, notes


def identifying(col: str, values: pd.Series, people: set[str]) -> str:
    """Why a custom column would identify a person or a single account as a feature, or ``""``.

    Args:
        col: the column's name.
        values: its non-missing values as text (empty for a number or flag column).
        people: employee and contact ids (:func:`people_ids`).

    Returns:
        The reason, for the build's note, or an empty string when the column may be a feature.

    """
    words = name_words(col)
    # the column's distinct values looked up in the set: pandas' isin over a set of every contact id (200k
    # on the scale world) took 0.66 s a column
    if people and not people.isdisjoint(values.unique()):
        return "it holds employee or contact ids (a feature never identifies a person)"
    if words & CONTACT_WORDS or ("name" in words and words & PERSON_WORDS):
        return (
            "its name says it holds a person's name, email or phone (a feature never identifies a person);"
            " rename the column if it does not"
        )
    if (
        len(values)
        and words & ROLE_WORDS
        and words <= ROLE_WORDS | ROLE_MODIFIERS
        and not values.str.strip().str.lower().isin(FLAG_VALUES).all()
    ):
        return (
            "its name is a person's role, so its values name people (a feature never identifies a person);"
            " rename the column if it holds something else (a team, a segment)"
        )
    if values.str.fullmatch(EMAIL).any():
        return "it holds email addresses (a feature never identifies a person)"
    distinct = values.nunique()
    if distinct > max(IDENTIFYING_MIN_VALUES, IDENTIFYING_SHARE * len(values)):
        return (
            f"{distinct:,} distinct values in {len(values):,} rows: it names single accounts or people (a"
            " name, an email, a number, free text), which a model cannot learn from and a feature must not"
            " carry"
        )
    return ""


def plan(tables: Mapping[str, pd.DataFrame], exclude_account_columns: Collection[str] = ()) -> Plan:
    """Decide which feature groups the tables allow and declare the account extras.

    An optional table with no rows counts as missing: the groups that read it are left out (the build says
    so) instead of offering features that are constant by construction. With no interactions the collaboration
    set is empty.
    """
    present = {n for n, df in tables.items() if df is not None and (n == "accounts" or len(df) > 0)}
    feats: list[Feature] = []
    missing: dict[str, list[str]] = {}
    for g in groups():
        lacking = [t for t in g.requires if t not in present]
        if lacking:
            missing[g.name] = lacking
        else:
            feats.extend(g.features)
    extras: dict[str, str] = {}
    notes: list[str] = []
    if "accounts" in present:
        kinds = extra_kinds(tables["accounts"], exclude_account_columns)
        kinds, notes = screen_extras(tables["accounts"], kinds, people_ids(tables))
        declared = {f.name: f for f in account_extra_features(kinds)}
        for col, kind in kinds.items():
            name = extra_feature_name(col)
            if name in declared:
                extras[col] = kind
                feats.append(declared.pop(name))
    feats.sort(key=lambda f: f.feature_set != "baseline")  # stable: baseline (with extras) first
    return Plan(present, feats, missing, extras, notes)


def _naive_utc(s: pd.Series) -> pd.Series:
    if s.dtype == np.dtype("datetime64[us]"):
        return s  # as the loader gives it
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        s = s.dt.tz_convert("UTC").dt.tz_localize(None)
    elif not pd.api.types.is_datetime64_any_dtype(s.dtype):
        s = pd.to_datetime(s, utc=True).dt.tz_localize(None)
    return s.astype("datetime64[us]")


def _no_times(index: pd.Index) -> pd.Series:
    """A column of missing times (``recorded_at`` of a table without it), made as such: no conversion."""
    return pd.Series(np.full(len(index), np.datetime64("NaT", "us")), index=index, copy=False)


def _dictionary(col: pd.Series) -> pd.Series:
    """The column as an Arrow dictionary array (text codes), for engines to scan without the repeated text."""
    arr = pa.Table.from_pandas(col.to_frame(), preserve_index=False).column(0)
    if not pa.types.is_dictionary(arr.type):
        arr = arr.cast(pa.large_string()).dictionary_encode()
    return pd.Series(pd.arrays.ArrowExtensionArray(arr), index=col.index)


def prepare_tables(
    tables: Mapping[str, pd.DataFrame], present: set[str], extras: Collection[str]
) -> dict[str, pd.DataFrame]:
    """Select the columns the definitions read, with ``recorded_at`` always present and valid timezones."""
    out: dict[str, pd.DataFrame] = {}
    for name in present:
        df = tables[name]
        cols = list(COLUMNS.get(name, ()))
        if name == "accounts":
            cols = [c for c in df.columns if c in ACCOUNT_CONTRACT_COLUMNS and c != "recorded_at"] + list(
                extras
            )
        sel = df[[c for c in cols if c in df.columns]] if cols else df
        for c in cols:
            if c not in sel.columns:
                sel[c] = pd.NA
        sel["recorded_at"] = (
            _naive_utc(df["recorded_at"]) if "recorded_at" in df.columns else _no_times(sel.index)
        )
        for c in TIMESTAMP_COLUMNS.get(name, ()):
            if c in sel.columns:
                sel[c] = _naive_utc(sel[c])
        if name == "interactions":
            for c in ("internal_participants", "external_participants"):
                if sel[c].dtype != LIST_TYPE:
                    sel[c] = pd.Series(
                        [list(v) if v is not None and not (isinstance(v, float)) else [] for v in sel[c]],
                        index=sel.index,
                        dtype=LIST_TYPE,
                    )
        for c in DICTIONARY_COLUMNS.get(name, ()):
            sel[c] = _dictionary(sel[c])
        if name == "employees":
            zones = available_timezones() | {"UTC"}
            tz = sel["timezone"].astype(object).where(sel["timezone"].notna(), "UTC")
            sel["timezone"] = tz.where(tz.isin(zones), "UTC").astype(str)
        out[name] = sel
    return out


def _is_list(col: pa.ChunkedArray) -> bool:
    return pa.types.is_list(col.type) or pa.types.is_large_list(col.type)


def _list_items(chunk: pa.Array) -> tuple[np.ndarray, pa.Array]:
    """A list chunk's offsets, rebased to start at 0, and the items they index (only the chunk's own).

    A sliced chunk's ``values`` is its parent's whole child array; taking it as is would repeat every item
    once per chunk.
    """
    offsets = chunk.offsets.to_numpy(zero_copy_only=False)  # never empty: n + 1 entries
    start, end = int(offsets[0]), int(offsets[-1])
    return offsets - start, chunk.values.slice(start, end - start)


def _items(col: pa.ChunkedArray) -> pa.ChunkedArray:
    """The identifiers of a column: its values, or a list column's items."""
    if _is_list(col):
        return pa.chunked_array([_list_items(chunk)[1] for chunk in col.chunks], col.type.value_type)
    return col


def _dictionary_encoded(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """The identifiers as positions in their distinct non-null values (in order of first appearance).

    One hash pass over the values (a column, or a piece of one). Text is encoded as it is; identifiers of any
    other type (integers, an all-null column) are encoded as text, so that ``101`` and ``"101"`` are the same
    identifier. Every chunk of the result shares one dictionary.
    """
    if not (pa.types.is_string(values.type) or pa.types.is_large_string(values.type)):
        values = values.cast(pa.large_string())
    return pc.dictionary_encode(values)


def _distinct(encoded: pa.ChunkedArray) -> pa.Array:
    """The dictionary of :func:`_dictionary_encoded`'s result, as ``large_string``."""
    if encoded.num_chunks == 0:
        return pa.array([], pa.large_string())
    return encoded.chunk(0).dictionary.cast(pa.large_string())


def _codes_in(encoded: pa.ChunkedArray, dictionary: pa.Array) -> pa.ChunkedArray:
    """Positions in ``dictionary`` (which holds every value) of the identifiers ``encoded``, chunk by chunk.

    Only the distinct values of ``encoded`` (a column, or a piece of one) are looked up; the rows then take
    their value's position (null stays null). On the scale world, hashing the identifiers once and looking
    up only their distinct values this way took the encoding from 9.6 s, looking up every row in the key's
    dictionary, to 6.1 s, with the same codes.
    """
    position = pc.index_in(_distinct(encoded), value_set=dictionary)
    return pa.chunked_array([pc.take(position, chunk.indices) for chunk in encoded.chunks], pa.int32())


def _pieces(values: pa.ChunkedArray, n: int) -> list[pa.ChunkedArray]:
    """``values`` cut into ``n`` consecutive slices of nearly equal length (one when short): no copy."""
    if n < 2 or len(values) < ENCODE_PIECE_MIN:
        return [values]
    bounds = np.linspace(0, len(values), n + 1).astype(np.int64)
    return [values.slice(lo, hi - lo) for lo, hi in zip(bounds[:-1], bounds[1:], strict=True)]


def _with_codes(col: pa.ChunkedArray, codes: pa.ChunkedArray) -> pd.Series:
    """The column with each identifier (or each item of a list) replaced by its code, in order.

    ``codes`` holds one code per identifier of :func:`_items`, in chunks of any size: a list chunk's codes
    are copied into one array only when they span two chunks.
    """
    if not _is_list(col):
        return pd.Series(pd.arrays.ArrowExtensionArray(codes))
    chunks, start = [], 0
    for chunk in col.chunks:
        offsets, items = _list_items(chunk)
        mine = codes.slice(start, len(items))
        chunks.append(
            pa.ListArray.from_arrays(
                pa.array(offsets, pa.int32()),
                mine.chunk(0) if mine.num_chunks == 1 else mine.combine_chunks(),
                mask=chunk.is_null() if chunk.null_count else None,
            )
        )
        start += len(items)
    return pd.Series(pd.arrays.ArrowExtensionArray(pa.chunked_array(chunks, pa.list_(pa.int32()))))


def _encode_key(
    arrays: dict[tuple[str, str], pa.ChunkedArray], pool: ThreadPoolExecutor
) -> Iterator[tuple[tuple[str, str], pd.Series]]:
    """The columns of one key space, one after the other, with their identifiers replaced by their codes.

    Each column's identifiers (:func:`_items`) are cut into a piece per usable CPU, and every piece is hashed
    at once (:func:`_dictionary_encoded`; Arrow frees the GIL). The key's dictionary is the pieces' distinct
    values in column then piece order: each value's first appearance, as one pass over the columns in order
    finds it. A column's pieces are then looked up at once, and the column is given (and taken out of
    ``arrays``) before the next is looked up, so that the caller can free its text first. On the scale world
    (146M people's identifiers) :func:`encode_ids` was faster this way than with a column per thread and the
    lookups one column after the other in each of six runs of both in one process, by 0.1-3.1 s (4.3-6.7 s
    against 5.4-9.8 s: the machine's speed drifted), with the same codes.
    """
    n = usable_cpus()
    hashing = {
        key: [pool.submit(_dictionary_encoded, p) for p in _pieces(_items(col), n)]
        for key, col in arrays.items()
    }
    encoded = {key: [f.result() for f in futures] for key, futures in hashing.items()}
    del hashing
    dictionary = pc.unique(pa.concat_arrays([_distinct(e) for pieces in encoded.values() for e in pieces]))
    for key in list(arrays):
        codes = list(pool.map(lambda e: _codes_in(e, dictionary), encoded.pop(key)))
        series = _with_codes(
            arrays.pop(key), pa.chunked_array([c for piece in codes for c in piece.chunks], pa.int32())
        )
        yield key, series


def encode_ids(tables: dict[str, pd.DataFrame]) -> None:
    """Replace the identifier columns of :data:`ID_KEYS` by integer codes, in place, one dictionary per key.

    Every definition uses identifiers only for equality (joins, groupings, counts of non-null values), so the
    features do not change; engines join and group integers much faster than strings. A key's dictionary is
    its columns' distinct values in order of first appearance (columns in :data:`ID_KEYS` order).
    """
    if "interactions" in tables:
        ix = tables["interactions"]
        ix["interaction_id"] = pd.Series(range(len(ix)), index=ix.index, dtype="int64")
    with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
        for columns in ID_KEYS.values():
            present = [
                (t, c) for t, cols in columns.items() if t in tables for c in cols if c in tables[t].columns
            ]
            arrays = {
                (t, c): pa.Table.from_pandas(tables[t][[c]], preserve_index=False).column(0)
                for t, c in present
            }
            if not arrays:
                continue
            for (t, c), codes in _encode_key(arrays, pool):
                tables[t][c] = codes.set_axis(tables[t].index)
                pa.default_memory_pool().release_unused()  # the text just replaced goes back to the system


def _int64(codes: pa.Array) -> np.ndarray:
    """Encoded identifiers as an int64 numpy array, nulls as -1."""
    return np.asarray(codes.cast(pa.int64()).fill_null(-1).to_numpy(zero_copy_only=False), dtype=np.int64)


def _codes(col: pa.ChunkedArray, lo: int, hi: int) -> np.ndarray:
    """Integer codes of rows ``lo..hi-1`` of an encoded identifier column (nulls as -1), as int64."""
    return _int64(col.slice(lo, hi - lo).combine_chunks())


def _slots(offsets: np.ndarray, lens: np.ndarray, items: np.ndarray, k: int) -> list[np.ndarray]:
    """The first ``k`` items of every list as ``k`` arrays of one value per row, -1 past a list's end."""
    src = items if len(items) else np.full(1, -1, dtype=np.int64)
    last = len(src) - 1
    return [np.where(lens > j, src[np.minimum(offsets[:-1] + j, last)], -1) for j in range(k)]


def _row_keys(offsets: np.ndarray, items: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """``row << 32 | code`` for every item of the lists of ``rows`` (positions in the slice, ascending)."""
    lens = offsets[rows + 1] - offsets[rows]
    first = np.repeat(offsets[rows] - (np.cumsum(lens) - lens), lens)
    at = first + np.arange(lens.sum(), dtype=np.int64)
    return (np.repeat(rows, lens) << 32) | (items[at] & 0xFFFFFFFF)


def _distinct_per_row(keys: list[np.ndarray], n: int) -> np.ndarray:
    """Distinct codes of each row ``0..n-1`` from ``row << 32 | code`` keys (code -1: a null, not counted)."""
    key = np.concatenate(keys)
    key.sort()
    first = np.empty(len(key), dtype=bool)
    first[0] = True
    np.not_equal(key[1:], key[:-1], out=first[1:])
    first &= (key & 0xFFFFFFFF) != 0xFFFFFFFF
    return np.bincount(key[first] >> 32, minlength=n)


def _distinct_by_slots(slots: list[np.ndarray]) -> np.ndarray:
    """Distinct non-null (not -1) values of each row across ``slots`` (one array per position)."""
    out = np.zeros(len(slots[0]), dtype=np.int64)
    for j, value in enumerate(slots):
        first = value != -1
        for earlier in slots[:j]:
            first &= earlier != value
        out += first
    return out


def _count_slice(cols: list[pa.ChunkedArray], lo: int, hi: int, k: Mapping[str, Any] | None) -> np.ndarray:
    """Distinct people of rows ``lo..hi-1``: organizer (column 0) and the items of two list columns.

    With the passes' kernels ``k``, by their :func:`kernels.count_people_rows`. Else rows whose lists fit in
    :data:`PEOPLE_SLOTS` positions are counted by comparing positions, the others by sorting
    ``row << 32 | code`` keys.
    """
    org = _codes(cols[0], lo, hi)
    lists = []
    for col in cols[1:]:
        offsets, items = _list_items(col.slice(lo, hi - lo).combine_chunks())
        lists.append((offsets.astype(np.int64), _int64(items)))
    if k is not None:
        return np.asarray(k["count_people_rows"](org, *lists[0][::-1], *lists[1][::-1]))
    slots = [org]
    long = np.zeros(hi - lo, dtype=bool)
    for offsets, items in lists:
        lens = np.diff(offsets)
        slots += _slots(offsets, lens, items, PEOPLE_SLOTS)
        long |= lens > PEOPLE_SLOTS
    out = _distinct_by_slots(slots)
    rows = np.flatnonzero(long)
    if len(rows):
        keys = [(rows << 32) | (org[rows] & 0xFFFFFFFF)]
        keys += [_row_keys(offsets, items, rows) for offsets, items in lists]
        out[rows] = _distinct_per_row(keys, hi - lo)[rows]
    return out


def count_people(tables: dict[str, pd.DataFrame]) -> None:
    """Add ``n_people`` to the encoded ``interactions``: distinct organizer and participants of each row.

    The same count as the distinct union of ``organizer_id``, ``internal_participants`` and
    ``external_participants`` (nulls not counted), made here on the integer codes, in slices of
    :data:`PEOPLE_SLICE_ROWS` rows (small temporary arrays): list functions per row cost an engine far more.
    On the scale world (41.5M interactions) comparing positions took 4.2 s where sorting every row's keys
    took 12.0 s, with the same counts. Data big enough for the passes
    (:func:`features.engine.passes.choose_kernels`) is counted by their kernel, row by row, whatever the
    engine: the same counts (a test compares them).
    """
    if "interactions" not in tables:
        return
    from features.engine.passes import choose_kernels

    ix = tables["interactions"]
    cols = ("organizer_id", "internal_participants", "external_participants")
    arrow = pa.Table.from_pandas(ix[list(cols)], preserve_index=False)
    counts = np.zeros(len(ix), dtype=np.int32)
    k = choose_kernels(len(ix))

    def count(lo: int) -> None:
        hi = min(lo + PEOPLE_SLICE_ROWS, len(ix))
        counts[lo:hi] = _count_slice(arrow.columns, lo, hi, k)

    # the slices at once, in threads: Arrow, numpy and the compiled kernel free Python's lock
    with ThreadPoolExecutor(max_workers=usable_cpus()) as pool:
        list(pool.map(count, range(0, len(ix), PEOPLE_SLICE_ROWS)))
    ix["n_people"] = counts
