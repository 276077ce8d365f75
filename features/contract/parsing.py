"""Vectorised conversion of raw Arrow columns (CSV text or typed Parquet) to the contract's pandas dtypes.

Each parser returns the values in a *validation* dtype that can hold missing values (``Int64``, ``boolean``,
``float64``, naive UTC ``datetime64[us]``, ``str``, Arrow ``list<string>``) and a mask of the rows whose value
is present but is not of the column's type (those rows are rejected by the validator; their value is NA).
No Python loop runs over rows.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from features.contract.schemas import LIST_SEPARATOR, LIST_TYPE, ColumnSpec, Kind

INT_RE = r"^-?\d{1,18}$"
PLAIN_INT_RE = r"^-?(0|[1-9]\d{0,17})$"
FLOAT_RE = r"^-?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
DATE_RE = r"^\d{4}-\d{2}-\d{2}$"
LIST_ITEM_RE = r"""^[^\s"'\[\]]([^"'\[\]]*[^\s"'\[\]])?$"""
#: Bytes that make a list item suspect: at either end (whitespace as RE2's ``\s``, quotes, brackets), or
#: anywhere (quotes, brackets, and a line break, left to the regex's own reading). An item free of them is
#: well formed; a suspect one is judged by :data:`LIST_ITEM_RE`.
_EDGE_BYTES = np.zeros(256, dtype=bool)
_EDGE_BYTES[list(b"\t\n\f\r \"'[]")] = True
_INNER = b"\n\"'[]"
_INNER_BYTES = np.zeros(256, dtype=bool)
_INNER_BYTES[list(_INNER)] = True
STR_DTYPE = pd.StringDtype(na_value=np.nan)  # pandas' default "str" dtype (Arrow-backed)
TRUE_WORDS = ("true", "1", "yes")
FALSE_WORDS = ("false", "0", "no")

TYPE_RULES: dict[Kind, str] = {
    Kind.STR: "type: str",
    Kind.INT: "type: int",
    Kind.FLOAT: "type: float",
    Kind.BOOL: "type: bool",
    Kind.DATE: "type: date",
    Kind.TIMESTAMP: "type: timestamp",
    Kind.LIST: "list_format",
}
"""Rule name reported for a value that is not of its column's type."""

TYPE_HINTS: dict[Kind, str] = {
    Kind.STR: "text",
    Kind.INT: "a whole number",
    Kind.FLOAT: "a finite number",
    Kind.BOOL: "true/false, 1/0 or yes/no (any case)",
    Kind.DATE: "YYYY-MM-DD",
    Kind.TIMESTAMP: "ISO 8601; naive means UTC",
    Kind.LIST: "IDs separated by ';' (empty field = empty list); no empty, padded, quoted or bracketed ID",
}
"""What a value of each type must look like (shown with type problems)."""


@dataclass
class Parsed:
    """A parsed column.

    Attributes:
        values: the values in the validation dtype; NA where missing or not of the type.
        bad: rows whose value is present but not of the type.

    """

    values: pd.Series
    bad: np.ndarray


def parse_column(arr: pa.ChunkedArray, col: ColumnSpec) -> Parsed:
    """Convert one raw column to its contract type.

    Args:
        arr: the raw column (text from CSV, or any Arrow type from Parquet).
        col: the column spec.

    Returns:
        The parsed values and the mask of type errors.

    """
    parser: Callable[[pa.ChunkedArray], Parsed] = _PARSERS[col.kind]
    return parser(arr)


def parse_extra(arr: pa.ChunkedArray) -> pd.Series:
    """Convert a column that is not in the contract (e.g. a custom accounts attribute).

    Text that is entirely integers (without leading zeros, so codes such as ``"00123"`` stay text) becomes
    ``int64`` (``Int64`` with missing values), text that is entirely numbers becomes ``float64``, other text
    stays ``str``. Typed Parquet columns keep their kind (numbers, bools, naive UTC timestamps); anything else
    becomes ``str``.

    Args:
        arr: the raw column.

    Returns:
        The column as a pandas Series.

    """
    kind = arr.type
    if _is_text(kind):
        return _infer_text(arr)
    if pa.types.is_integer(kind):
        return _int_series(_cast_int64(arr), nullable=arr.null_count > 0)
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return pd.Series(_float_numpy(arr))
    if pa.types.is_boolean(kind):
        return _bool_series(arr, nullable=arr.null_count > 0)
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return _timestamp_series(_to_naive_utc(arr))
    return _str_series(_as_text(arr))


# ---------------------------------------------------------------------------------------------- helpers


def _is_text(kind: pa.DataType) -> bool:
    return pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_string_view(kind)


def _np_bool(mask: pa.ChunkedArray | pa.Array) -> np.ndarray:
    """Arrow boolean -> numpy bool, null as False."""
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)


def _present(arr: pa.ChunkedArray) -> np.ndarray:
    return _np_bool(pc.is_valid(arr))


def _none_bad(arr: pa.ChunkedArray) -> np.ndarray:
    return np.zeros(len(arr), dtype=bool)


def _as_text(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return arr if _is_text(arr.type) else pc.cast(arr, pa.string())


def _trim(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.utf8_trim_whitespace(_as_text(arr))


def _matches(text: pa.ChunkedArray | pa.Array, pattern: str) -> np.ndarray:
    return _np_bool(pc.match_substring_regex(text, pattern))


def _masked(text: pa.ChunkedArray, keep: np.ndarray) -> pa.ChunkedArray:
    """Text with the values outside ``keep`` set to null."""
    return pc.if_else(pa.array(keep), text, pa.scalar(None, text.type))


def _str_series(arr: pa.ChunkedArray) -> pd.Series:
    """Arrow text -> pandas ``str`` without a detour through Python objects (zero-copy for large_string)."""
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        arr = pc.cast(arr, pa.large_string())
    return arr.to_pandas(types_mapper=lambda _: STR_DTYPE)


def _int_series(arr: pa.ChunkedArray, nullable: bool = True) -> pd.Series:
    mask = ~_present(arr)
    data = np.asarray(pc.fill_null(arr, 0).to_numpy(zero_copy_only=False), dtype=np.int64)
    series = pd.Series(pd.arrays.IntegerArray(data, mask))
    return series if nullable or mask.any() else series.astype("int64")


def _bool_series(arr: pa.ChunkedArray, nullable: bool = True) -> pd.Series:
    mask = ~_present(arr)
    series = pd.Series(pd.arrays.BooleanArray(_np_bool(arr), mask))
    return series if nullable or mask.any() else series.astype("bool")


def _timestamp_series(arr: pa.ChunkedArray) -> pd.Series:
    values = np.asarray(arr.to_numpy(zero_copy_only=False), dtype="datetime64[us]")
    return _owned_series(values)


def _owned_series(values: np.ndarray) -> pd.Series:
    """A Series of ``values`` without a further copy when the array is already the frame's own (writable).

    pandas copies an ndarray it is handed unless told not to; a read-only array (a view of Arrow's buffers) is
    still copied, so the frame never writes into the file's memory.
    """
    return pd.Series(values, copy=not values.flags.writeable)


def _cast_int64(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    return pc.cast(arr, pa.int64())


def _float_numpy(arr: pa.ChunkedArray) -> np.ndarray:
    values = pc.cast(arr, pa.float64()).to_numpy(zero_copy_only=False)
    return np.asarray(values, dtype=np.float64)


def _to_naive_utc(arr: pa.ChunkedArray) -> pa.ChunkedArray:
    """Timestamps (any unit, with or without zone) or dates -> naive UTC ``timestamp[us]``."""
    kind = arr.type
    if pa.types.is_timestamp(kind):
        # A zoned timestamp stores UTC instants: dropping the zone keeps UTC wall-clock values.
        return pc.cast(arr, pa.timestamp("us"), safe=kind.unit != "ns")
    return pc.cast(arr, pa.timestamp("us"))


# ---------------------------------------------------------------------------------------------- parsers


def _parse_str(arr: pa.ChunkedArray) -> Parsed:
    return Parsed(_str_series(_as_text(arr)), _none_bad(arr))


def _parse_int(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if pa.types.is_integer(kind):
        try:
            return Parsed(_int_series(_cast_int64(arr)), _none_bad(arr))
        except pa.ArrowInvalid:  # uint64 beyond int64: report per row through the text path
            pass
    if pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        return _int_from_float(_float_numpy(arr))
    text = pc.replace_substring_regex(_trim(arr), r"^\+", "")
    text = pc.replace_substring_regex(text, r"^(-?\d+)\.0*$", r"\1")  # "3.0" is 3, as a Parquet 3.0 is
    ok = _matches(text, INT_RE)
    values = pc.cast(_masked(text, ok), pa.int64())
    return Parsed(_int_series(values), _present(arr) & ~ok)


def _int_from_float(values: np.ndarray) -> Parsed:
    present = ~np.isnan(values)
    with np.errstate(invalid="ignore"):
        ok = np.isfinite(values) & (np.floor(values) == values) & (np.abs(values) < 2.0**53)
    data = np.where(ok, values, 0).astype(np.int64)
    return Parsed(pd.Series(pd.arrays.IntegerArray(data, ~ok)), present & ~ok)


def _parse_float(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if pa.types.is_integer(kind) or pa.types.is_floating(kind) or pa.types.is_decimal(kind):
        values = _float_numpy(arr)
        bad = np.isinf(values)
    elif _is_text(kind):
        text = pc.replace_substring_regex(_trim(arr), r"^\+", "")
        ok = _matches(text, FLOAT_RE)
        values = _float_numpy(pc.cast(_masked(text, ok), pa.float64()))
        bad = (_present(arr) & ~ok) | np.isinf(values)
    else:
        values = np.full(len(arr), np.nan)
        bad = _present(arr)
    if bad.any():
        values = np.where(bad, np.nan, values)
    return Parsed(_owned_series(values), bad)


def _parse_bool(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if pa.types.is_boolean(kind):
        return Parsed(_bool_series(arr), _none_bad(arr))
    words = pc.utf8_lower(_trim(arr))
    true = _np_bool(pc.is_in(words, value_set=pa.array(TRUE_WORDS)))
    false = _np_bool(pc.is_in(words, value_set=pa.array(FALSE_WORDS)))
    values = pd.Series(pd.arrays.BooleanArray(true, ~(true | false)))
    return Parsed(values, _present(arr) & ~(true | false))


def _parse_timestamp(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if pa.types.is_timestamp(kind) or pa.types.is_date(kind):
        return Parsed(_timestamp_series(_to_naive_utc(arr)), _none_bad(arr))
    if not _is_text(kind):
        return Parsed(pd.Series(np.full(len(arr), np.datetime64("NaT", "us"))), _present(arr))
    parsed = pd.to_datetime(_trim(arr).to_pandas(), format="ISO8601", utc=True, errors="coerce")
    values = parsed.dt.tz_convert(None).astype("datetime64[us]")
    return Parsed(values.reset_index(drop=True), _present(arr) & values.isna().to_numpy())


def _parse_date(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if pa.types.is_date(kind):
        return Parsed(_timestamp_series(_to_naive_utc(arr)), _none_bad(arr))
    if pa.types.is_timestamp(kind):
        stamps = _to_naive_utc(arr)
        bad = _np_bool(pc.not_equal(pc.floor_temporal(stamps, unit="day"), stamps))
        values = _timestamp_series(stamps).mask(bad)
        return Parsed(values, bad)
    if not _is_text(kind):
        return Parsed(pd.Series(np.full(len(arr), np.datetime64("NaT", "us"))), _present(arr))
    text = _trim(arr)
    ok = _matches(text, DATE_RE)
    parsed = pd.to_datetime(_masked(text, ok).to_pandas(), format="%Y-%m-%d", errors="coerce")
    values = parsed.astype("datetime64[us]").reset_index(drop=True)
    return Parsed(values, _present(arr) & values.isna().to_numpy())


def _parse_list(arr: pa.ChunkedArray) -> Parsed:
    kind = arr.type
    if _is_text(kind):
        lists = pc.cast(pc.split_pattern(arr, LIST_SEPARATOR), LIST_TYPE)
    elif pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_list_view(kind):
        lists = pc.cast(arr, LIST_TYPE)
    else:
        empty = pa.chunked_array([pa.array([[]] * len(arr), LIST_TYPE)], LIST_TYPE)
        return Parsed(_list_series(empty), _present(arr))
    lists = pc.fill_null(lists, pa.scalar([], LIST_TYPE))
    bad = bad_list_rows(lists)
    if bad.any():
        lists = pc.if_else(pa.array(bad), pa.scalar([], LIST_TYPE), lists)
    return Parsed(_list_series(lists), bad)


def bad_list_rows(lists: pa.ChunkedArray) -> np.ndarray:
    """Rows of a list column with a malformed item (null, empty, padded with spaces, quotes or brackets).

    Args:
        lists: a ``list<string>`` column without null lists.

    Returns:
        Boolean mask over rows.

    """
    items = pc.list_flatten(lists)
    ok = np.concatenate([_items_ok(chunk) for chunk in items.chunks] or [np.zeros(0, dtype=bool)])
    return rows_of_items(lists, ~ok)


def _items_ok(chunk: pa.Array) -> np.ndarray:
    """Whether each item of a text chunk matches :data:`LIST_ITEM_RE`.

    The bytes are scanned for the few that can break the pattern (:data:`_EDGE_BYTES`, :data:`_INNER_BYTES`);
    only the items holding one, and empty or null items, go through the regex. On the scale world's 104M
    participant IDs this took about 1 s where the regex over all of them took 4.8 s.
    """
    if not (pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)):
        chunk = chunk.cast(pa.large_string())
    n = len(chunk)
    if n == 0:
        return np.zeros(0, dtype=bool)
    width = np.int32 if pa.types.is_string(chunk.type) else np.int64
    offsets = np.frombuffer(chunk.buffers()[1], dtype=width)[chunk.offset : chunk.offset + n + 1]
    data = chunk.buffers()[2]
    start, end = int(offsets[0]), int(offsets[-1])
    if end == start:
        return _matches(chunk, LIST_ITEM_RE)
    text = np.frombuffer(data, dtype=np.uint8)
    lens = np.diff(offsets)
    suspect = lens == 0
    if chunk.null_count:
        suspect |= ~_np_bool(pc.is_valid(chunk))
    # first and last byte of every item (an empty item, already suspect, reads a neighbour's)
    suspect |= _EDGE_BYTES[text[np.minimum(offsets[:-1], end - 1)]]
    suspect |= _EDGE_BYTES[text[np.maximum(offsets[1:] - 1, start)]]
    raw = text[start:end].tobytes()
    if any(bytes([b]) in raw for b in _INNER):  # rare: find the items
        inner = np.flatnonzero(_INNER_BYTES[text[start:end]]) + start
        suspect[np.searchsorted(offsets, inner, side="right") - 1] = True
    ok = ~suspect
    check = np.flatnonzero(suspect)
    if len(check):
        ok[check] = _matches(chunk.take(pa.array(check)), LIST_ITEM_RE)
    return ok


def rows_of_items(lists: pa.ChunkedArray, item_mask: np.ndarray) -> np.ndarray:
    """Rows holding at least one flagged item.

    Args:
        lists: a list column.
        item_mask: boolean mask over the flattened items (as from ``pc.list_flatten``).

    Returns:
        Boolean mask over rows.

    """
    rows = np.zeros(len(lists), dtype=bool)
    if item_mask.any():
        parents = np.asarray(pc.list_parent_indices(lists).to_numpy(zero_copy_only=False))
        rows[parents[item_mask]] = True
    return rows


def _list_series(lists: pa.ChunkedArray) -> pd.Series:
    return pd.Series(pd.arrays.ArrowExtensionArray(lists))


def _infer_text(arr: pa.ChunkedArray) -> pd.Series:
    text = _trim(arr)
    present = _present(arr)
    if not present.any():
        return _str_series(_as_text(arr))
    if _matches(text, PLAIN_INT_RE)[present].all():
        return _int_series(pc.cast(text, pa.int64()), nullable=not present.all())
    leading_zero = _matches(text, r"^-?0\d")
    if (_matches(text, FLOAT_RE) & ~leading_zero)[present].all():
        return pd.Series(_float_numpy(pc.cast(text, pa.float64())))
    return _str_series(_as_text(arr))


_PARSERS: dict[Kind, Callable[[pa.ChunkedArray], Parsed]] = {
    Kind.STR: _parse_str,
    Kind.INT: _parse_int,
    Kind.FLOAT: _parse_float,
    Kind.BOOL: _parse_bool,
    Kind.DATE: _parse_date,
    Kind.TIMESTAMP: _parse_timestamp,
    Kind.LIST: _parse_list,
}
