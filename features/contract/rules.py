"""The contract's rules as pandera schemas (values, uniqueness, row rules, foreign keys) plus list checks.

Every check is vectorised; membership tests (enums, foreign keys) run through ``pyarrow.compute.is_in``.
Failures come back as :class:`Failure` (column, rule, 0-based row positions) for the loader to report and
reject.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pandera.pandas as pa_schema
import pyarrow as pa
import pyarrow.compute as pc
from pandera.errors import SchemaErrors

from features.contract.parsing import rows_of_items
from features.contract.schemas import ColumnSpec, Kind, TableSpec

NOT_NULL = "not_null"
UNIQUE = "unique"
IANA_TIMEZONE = "iana_timezone"
REJECTED_SUFFIX = " (referenced row rejected)"
MULTI_UNIQUE = "multiple_fields_uniqueness"
_PANDERA_RULES = {"not_nullable": NOT_NULL, "field_uniqueness": UNIQUE}


@dataclass
class Failure:
    """Rows breaking one rule.

    Attributes:
        column: the column (``a+b`` for a rule over several columns).
        rule: the rule name.
        rows: sorted 0-based row positions.
        hint: what a valid value looks like, when the rule name does not say it.
        example: one offending value and its row, for people to see what is wrong (empty when the column
            describes people, whose values an error message must not echo).

    """

    column: str
    rule: str
    rows: np.ndarray
    hint: str = ""
    example: str = ""


@dataclass(frozen=True)
class Keys:
    """The keys of a referenced table: those of the rows kept, and every key read."""

    kept: pa.Array
    seen: pa.Array

    @property
    def all_kept(self) -> bool:
        """Whether no key was lost with a rejected row (both hold distinct keys, ``kept`` within ``seen``)."""
        return len(self.kept) == len(self.seen)


def fk_rule(labels: list[str]) -> str:
    """Rule name of a foreign key.

    Args:
        labels: the referenced ``table.column`` labels (several when any of them may match).

    Returns:
        E.g. ``fk -> accounts.account_id``.

    """
    return "fk -> " + "|".join(labels)


def as_arrow(series: pd.Series) -> pa.Array | pa.ChunkedArray:
    """Return the Arrow data of a Series (zero-copy for Arrow-backed columns).

    Args:
        series: a pandas Series.

    Returns:
        The Arrow array.

    """
    array = series.array
    if hasattr(array, "__arrow_array__"):  # Arrow-backed and masked arrays: no copy, chunks kept
        return array.__arrow_array__()
    return pa.array(series)


def duplicated(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Mark every occurrence of a value that occurs more than once (missing values are never duplicates).

    Sort-based, through ranks: a value occurs more than once exactly when its lowest and highest rank among
    ties differ. On tens of millions of strings it is several times faster and lighter than hashing
    (``Series.duplicated`` or ``pyarrow.compute.unique``), and unlike taking the sorted values it holds no
    second copy of the text.

    Args:
        values: the values.

    Returns:
        Boolean mask over the values.

    """
    n = len(values)
    if n < 2 or _strictly_increasing(values):  # exports sorted by their key: nothing to rank
        return np.zeros(n, dtype=bool)
    first = np.asarray(pc.rank(values, tiebreaker="min"))
    last = np.asarray(pc.rank(values, tiebreaker="max"))
    return (first != last) & _np_mask(pc.is_valid(values))


def _strictly_increasing(values: pa.Array | pa.ChunkedArray) -> bool:
    """Whether every value is present and greater than the one before it (then no value repeats)."""
    if values.null_count:
        return False
    n = len(values)
    return bool(pc.all(pc.greater(values.slice(1), values.slice(0, n - 1))).as_py())


def arrow_isin(series: pd.Series, values: pa.Array) -> pd.Series:
    """Vectorised membership test, much faster than ``Series.isin`` on Arrow strings.

    Args:
        series: values to test.
        values: the allowed values.

    Returns:
        Boolean Series on the same index (missing values are False).

    """
    found = pc.is_in(as_arrow(series), value_set=values)
    mask = np.asarray(pc.fill_null(found, False).to_numpy(zero_copy_only=False), dtype=bool)
    return pd.Series(mask, index=series.index)


def key_values(series: pd.Series) -> pa.Array:
    """Distinct non-missing values of a key column.

    Args:
        series: the key column.

    Returns:
        The distinct keys as an Arrow string array.

    """
    values = pc.unique(pc.drop_null(as_arrow(series)))
    return pc.cast(values, pa.string())


# ------------------------------------------------------------------------------------------ value rules


def value_failures(spec: TableSpec, frame: pd.DataFrame) -> list[Failure]:
    """Check a table's value rules: not-null, unique, enums, ranges, time zones and row rules.

    Foreign keys are checked separately (:func:`foreign_key_failures`), once the referenced keys are known;
    list columns are checked at parse time and by :func:`list_fk_failures`.

    Args:
        spec: the table spec.
        frame: the parsed table, indexed by 0-based row position.

    Returns:
        Every failure, all rows of each.

    """
    present = set(frame.columns)
    columns = {
        col.name: pa_schema.Column(nullable=col.nullable, checks=_column_checks(col))
        for col in spec.columns
        if col.name in present and col.kind is not Kind.LIST
    }
    rules = [r for r in spec.order_rules if r.later in present and r.earlier in present]
    checks = [pa_schema.Check(_order_check(r.later, r.earlier), error=r.rule) for r in rules]
    labels = {r.rule: r.later for r in rules}
    together = list(spec.unique_together) if set(spec.unique_together) <= present else None
    if together:
        labels[MULTI_UNIQUE] = "+".join(together)
    schema = pa_schema.DataFrameSchema(columns, checks=checks, unique=together, report_duplicates="all")
    return run_schema(schema, frame, labels)


def _column_checks(col: ColumnSpec) -> list[pa_schema.Check]:
    checks: list[pa_schema.Check] = []
    if col.unique:
        checks.append(
            pa_schema.Check(lambda s: pd.Series(~duplicated(as_arrow(s)), index=s.index), error=UNIQUE)
        )
    if col.allowed:
        allowed = pa.array(col.allowed)
        rule = "allowed: " + "|".join(col.allowed)
        checks.append(pa_schema.Check(lambda s: arrow_isin(s, allowed), error=rule))
    if col.ge is not None and col.le is not None:
        checks.append(pa_schema.Check.in_range(col.ge, col.le, error=f"{col.ge:g}..{col.le:g}"))
    elif col.ge is not None:
        checks.append(pa_schema.Check.ge(col.ge, error=f">= {col.ge:g}"))
    if col.iana_timezone:
        checks.append(pa_schema.Check(lambda s: arrow_isin(s, _known_zones(s)), error=IANA_TIMEZONE))
    return checks


def _order_check(later: str, earlier: str) -> Callable[[pd.DataFrame], pd.Series]:
    def check(frame: pd.DataFrame) -> pd.Series:
        return ~(frame[later] < frame[earlier])  # NaT on either side compares False: passes

    return check


def _known_zones(series: pd.Series) -> pa.Array:
    names = key_values(series).to_pylist()
    return pa.array([name for name in names if is_iana_zone(name)], pa.string())


@lru_cache(maxsize=4096)
def is_iana_zone(name: str) -> bool:
    """Whether ``name`` is an IANA time-zone name known to ``zoneinfo``.

    Args:
        name: e.g. ``Europe/Paris``.

    Returns:
        True when ``zoneinfo`` can load it.

    """
    try:
        ZoneInfo(name)
    except (ValueError, KeyError, OSError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def run_schema(
    schema: pa_schema.DataFrameSchema, frame: pd.DataFrame, frame_labels: dict[str, str] | None = None
) -> list[Failure]:
    """Validate lazily and collect every failure.

    Args:
        schema: the pandera schema.
        frame: the frame, indexed by 0-based row position.
        frame_labels: column label of each frame-level rule (pandera reports those once per column).

    Returns:
        One :class:`Failure` per (column, rule), with all failing rows.

    """
    try:  # in place: the schemas coerce nothing, so pandera's defensive copy of the frame is pure cost
        schema.validate(frame, lazy=True, inplace=True)
    except SchemaErrors as err:
        return _failures_from_cases(err.failure_cases, frame_labels or {})
    return []


def _failures_from_cases(cases: pd.DataFrame, frame_labels: dict[str, str]) -> list[Failure]:
    unplaced = cases[cases["index"].isna()]
    if len(unplaced):  # a schema-level failure without rows would be a bug here: never hide it
        raise RuntimeError(f"unexpected schema failure: {unplaced[['column', 'check']].to_dict('records')}")
    checks = cases["check"].astype(str)
    frame_level = (cases["schema_context"] == "DataFrameSchema").to_numpy()
    columns = np.where(frame_level, checks.map(frame_labels), cases["column"].astype(str))
    rules = checks.map(lambda c: _PANDERA_RULES.get(c, c))
    if MULTI_UNIQUE in frame_labels:
        together = frame_labels[MULTI_UNIQUE].replace("+", ", ")
        rules = rules.where(checks != MULTI_UNIQUE, f"{UNIQUE} ({together})")
    keyed = pd.DataFrame({"column": columns, "rule": rules.to_numpy(), "index": cases["index"].to_numpy()})
    failures = []
    for (column, rule), group in keyed.groupby(["column", "rule"], sort=False):
        rows = np.unique(group["index"].to_numpy(dtype=np.int64))
        failures.append(Failure(str(column), str(rule), rows))
    return failures


# ------------------------------------------------------------------------------------------ foreign keys


def foreign_key_failures(
    frame: pd.DataFrame, column: str, labels: list[str], keys: Keys, cascade: bool
) -> tuple[list[Failure], int]:
    """Rows of a scalar column whose value is not a key of the referenced table(s).

    Args:
        frame: the table.
        column: the referring column.
        labels: the referenced ``table.column`` labels.
        keys: the referenced keys.
        cascade: a value that is the key of a rejected row fails too, under its own rule
            (``... (referenced row rejected)``); otherwise it passes and is only counted.

    Returns:
        The failures, and the number of rows kept although they refer to a rejected row.

    """
    rule = fk_rule(labels)
    allowed = keys.kept if cascade else keys.seen
    values = frame[column]
    # one membership test, without a schema around it (pandera's took 1.9 s for the scale world's 41.5M
    # organisers, where the test alone takes 1.2 s)
    outside = values.notna().to_numpy() & ~arrow_isin(values, allowed).to_numpy()
    rows = np.unique(np.asarray(frame.index.to_numpy()[outside], np.int64))
    failures = [Failure(column, rule, rows)] if len(rows) else []
    if cascade:
        if not failures:
            return [], 0
        rows = failures[0].rows
        seen = arrow_isin(frame[column].iloc[rows], keys.seen).to_numpy()
        return _split(column, rule, rows[~seen], rows[seen]), 0
    if keys.all_kept:
        return failures, 0
    values = frame[column].dropna()
    to_rejected = int((arrow_isin(values, keys.seen) & ~arrow_isin(values, keys.kept)).sum())
    return failures, to_rejected


def list_fk_failures(
    series: pd.Series, labels: list[str], keys: Keys, cascade: bool
) -> tuple[list[Failure], int]:
    """Rows of a list column with an element that is not a key of the referenced table.

    Args:
        series: the list column (Arrow ``list<string>``).
        labels: the referenced ``table.column`` labels.
        keys: the referenced keys.
        cascade: as for :func:`foreign_key_failures`.

    Returns:
        The failures, and the number of rows kept although an element refers to a rejected row.

    """
    lists = as_arrow(series)
    items = pc.list_flatten(lists)
    kept = _np_mask(pc.is_in(items, value_set=keys.kept))
    seen = kept if keys.all_kept else _np_mask(pc.is_in(items, value_set=keys.seen))
    dangling = np.flatnonzero(rows_of_items(lists, ~seen))
    to_rejected = np.setdiff1d(np.flatnonzero(rows_of_items(lists, seen & ~kept)), dangling)
    rule = fk_rule(labels)
    if cascade:
        return _split(str(series.name), rule, dangling, to_rejected), 0
    return _split(str(series.name), rule, dangling, to_rejected[:0]), len(to_rejected)


def _split(column: str, rule: str, dangling: np.ndarray, cascaded: np.ndarray) -> list[Failure]:
    found = [Failure(column, rule, dangling), Failure(column, rule + REJECTED_SUFFIX, cascaded)]
    return [f for f in found if len(f.rows)]


def _np_mask(mask: pa.Array | pa.ChunkedArray) -> np.ndarray:
    return np.asarray(pc.fill_null(mask, False).to_numpy(zero_copy_only=False), dtype=bool)
