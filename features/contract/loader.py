"""Load a folder of raw tables, validate every contract rule, reject bad rows, and return clean frames."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from csat.settings import Settings
from features.contract.parsing import TYPE_HINTS, TYPE_RULES, parse_column, parse_extra
from features.contract.readers import (
    Discovery,
    EmptyFileError,
    TableFile,
    UnreadableFileError,
    discover,
    read_raw,
)
from features.contract.rejects import rejected_rows, rejects_table, remove_stale, write_rejects
from features.contract.report import (
    DUPLICATE_TABLE,
    MAX_ROWS_SHOWN,
    MISSING_COLUMN,
    MISSING_FOLDER,
    MISSING_TABLE,
    NO_ROWS,
    REJECTS_THRESHOLD,
    UNREADABLE_FILE,
    ContractError,
    Problem,
    TableReport,
    ValidationReport,
)
from features.contract.rules import (
    NOT_NULL,
    Failure,
    Keys,
    foreign_key_failures,
    key_values,
    list_fk_failures,
    value_failures,
)
from features.contract.schemas import (
    LABEL_TABLES,
    REQUIRED_TABLES,
    TABLE_SPECS,
    TABLES,
    ColumnSpec,
    ForeignKey,
    Kind,
    TableSpec,
    describes_people,
    output_dtype,
    validation_order,
)
from features.contract.summary import print_summary
from features.cpus import usable_cpus
from features.labels import latest_stamp

REJECTS_SUBFOLDER = "rejects"
COLLABORATION_TABLE = "interactions"
#: Characters of an offending value a type problem shows.
EXAMPLE_CHARS = 40


@dataclass
class LoadResult:
    """What :func:`load_contract` returns.

    Attributes:
        tables: the tables present, clean rows only, index reset, in contract order.
        report: per-table counts and every problem found.
        missing_tables: contract tables absent from the folder (optional ones: the load went on without them).
        warnings: warnings that were printed (a missing or empty ``interactions`` table).
        rejects_path: the rejects folder (``<table>.csv`` files exist there for tables that lost rows).

    """

    tables: dict[str, pd.DataFrame]
    report: ValidationReport
    missing_tables: list[str]
    warnings: list[str]
    rejects_path: Path


@dataclass
class _Loaded:
    frame: pd.DataFrame
    rejects: pa.Table | None


def load_contract(
    data_dir: Path,
    settings: Settings,
    *,
    rejects_dir: Path | None = None,
    console: Console | None = None,
    loaded_at: datetime | None = None,
) -> LoadResult:
    """Load every contract table of ``data_dir``, validate it, and return the clean rows.

    Each table is read from ``<table>.csv`` or ``<table>.parquet`` (a folder may mix them; subfolders and
    other files are ignored, the latter with a note). Every rule of the contract is checked and every problem
    is reported at once. Rows that break a rule are left out of the returned frames and written with their
    reasons to ``<rejects_dir>/rejects/<table>.csv``; ``rejects_dir`` defaults to ``settings.store_dir``,
    beside the run's output (the feature store), so a default load writes ``store/rejects/<table>.csv``.
    A rejects file from an earlier load is removed when its table has no rejects now. Row numbers in problems
    and rejects are 1-based data rows of the file (row 1 is the first row after the CSV header).

    Foreign keys are checked against the rows *kept* in the referenced table: a row referring to a rejected
    row is rejected too, under a rule of its own (``... (referenced row rejected)``). A check whose referenced
    table is absent is skipped with a note. The summary (rows read, kept and rejected per table, problems,
    notes and warnings) is always printed.

    Args:
        data_dir: the folder of raw tables.
        settings: the settings (``rejects_threshold``, ``store_dir``, ``exclude_account_columns``).
        rejects_dir: folder under which ``rejects/`` is written; default ``settings.store_dir``.
        console: where to print the summary; default a console on standard error.
        loaded_at: the moment of the load (default now): a row whose event stamp lies more than a day after
            it is rejected (a row from the future would stretch the data's time span).

    Returns:
        The clean tables, the report, the missing optional tables, the warnings and the rejects folder.

    Raises:
        ContractError: a required table or column is missing, a file is unreadable or ambiguous, or a table's
            share of rejected rows is above ``settings.rejects_threshold``. Its message lists every problem.

    """
    console = console if console is not None else Console(stderr=True)
    data_dir = Path(data_dir)
    rejects_path = Path(rejects_dir if rejects_dir is not None else settings.store_dir) / REJECTS_SUBFOLDER
    found = _discover(data_dir)
    missing = [name for name in TABLES if name not in found.files]
    report = ValidationReport(notes=[f"ignored file: {name}" for name in found.ignored])
    report.problems += _table_set_problems(found, missing, data_dir)
    with _reading(console, len(set(found.files) - set(found.duplicates))) as reading:
        frames, rejects = _load_tables(found, report, loaded_at or datetime.now(UTC), reading)
    report.notes += _exclusion_notes(frames.get("accounts"), settings.exclude_account_columns)
    report.problems += _threshold_problems(report, settings.rejects_threshold)
    report.problems += _no_accounts_problems(report)
    report.problems.sort(key=lambda p: (not p.fatal, _table_rank(p.table)))
    _write_all_rejects(rejects, rejects_path, report)
    warnings = _warnings(missing, report) + _label_warnings(report)
    print_summary(console, report, missing, warnings, rejects_path)
    if report.fatal:
        raise ContractError(report.problems, report)
    return LoadResult(frames, report, missing, warnings, rejects_path)


# ------------------------------------------------------------------------------------------ the folder


def _discover(data_dir: Path) -> Discovery:
    if not data_dir.is_dir():
        what = "is a file, not a folder" if data_dir.exists() else "not found"
        detail = f"data folder {what}: {data_dir}"
        problem = Problem("(folder)", "", MISSING_FOLDER, 0, detail=detail, fatal=True)
        raise ContractError([problem])
    return discover(data_dir)


def _table_set_problems(found: Discovery, missing: list[str], data_dir: Path) -> list[Problem]:
    problems = []
    for name in REQUIRED_TABLES:
        if name in missing:
            detail = f"required table not found: expected {name}.csv or {name}.parquet in {data_dir}"
            problems.append(Problem(name, "", MISSING_TABLE, 0, detail=detail, fatal=True))
    if all(name in missing for name in LABEL_TABLES):
        detail = (
            "at least one label table is required (surveys for CSAT, renewals for churn); neither was found"
        )
        problems.append(Problem("/".join(LABEL_TABLES), "", MISSING_TABLE, 0, detail=detail, fatal=True))
    for name, paths in found.duplicates.items():
        detail = f"one table, several files: {', '.join(p.name for p in paths)} (keep one)"
        problems.append(Problem(name, "", DUPLICATE_TABLE, 0, detail=detail, fatal=True))
    return problems


def _table_rank(table: str) -> int:
    return TABLES.index(table) if table in TABLES else -1


# ------------------------------------------------------------------------------------------ one table


@contextmanager
def _reading(console: Console, tables: int) -> Iterator[Callable[[str], None]]:
    """A progress bar over the tables as they are read and validated; given each table's name as it starts.

    It is transient: a terminal sees it while the load runs (15-20 s on the scale world) and then the summary
    in its place; a console that is not a terminal (a log, a pipe) gets the summary only.
    """
    columns = (
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
    )
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        task = progress.add_task("reading raw tables", total=tables)
        started: list[str] = []

        def reading(name: str) -> None:
            description = f"reading and checking {name}"
            progress.update(task, completed=len(started), description=description, refresh=True)
            started.append(name)

        yield reading
        progress.update(task, completed=tables)


def _load_tables(
    found: Discovery, report: ValidationReport, loaded_at: datetime, reading: Callable[[str], None]
) -> tuple[dict[str, pd.DataFrame], dict[str, pa.Table]]:
    refs: dict[str, Keys] = {}
    frames: dict[str, pd.DataFrame] = {}
    rejects: dict[str, pa.Table] = {}
    for name in validation_order():
        if name not in found.files or name in found.duplicates:
            continue
        reading(name)
        loaded = _load_table(found.files[name], refs, report, loaded_at)
        if loaded is None:
            continue
        frames[name] = loaded.frame
        if loaded.rejects is not None:
            rejects[name] = loaded.rejects
    return {name: frames[name] for name in TABLES if name in frames}, rejects


def _load_table(
    file: TableFile, refs: dict[str, Keys], report: ValidationReport, loaded_at: datetime
) -> _Loaded | None:
    spec = TABLE_SPECS[file.table]
    counts = report.tables[file.table] = TableReport(file.table, file.path)
    try:
        columns, counts.rows_read = _read_columns_or_empty(file, report.notes)
        report.problems += _missing_columns(spec, list(columns))
        frame, failures = _build_frame(spec, columns, counts.rows_read)
    except UnreadableFileError as err:
        report.problems.append(_unreadable(spec, err))
        return None
    failures = _merge_type_failures(failures, value_failures(spec, frame))
    report.notes += _future_notes(spec, frame, loaded_at)
    failures += _reference_failures(spec, frame, failures, refs, report.notes)
    keep = np.ones(len(frame), dtype=bool)
    keep[rejected_rows(failures)] = False
    _remember_keys(spec, frame, keep, refs)
    kept = _finalize(spec, frame if keep.all() else frame[keep])
    counts.rows_kept, counts.rows_rejected = len(kept), int((~keep).sum())
    report.problems += [_problem(spec.name, f) for f in failures]
    try:
        return _Loaded(kept, _rejects(spec, file, counts.rows_read, failures))
    except UnreadableFileError as err:
        report.problems.append(_unreadable(spec, err))
        return None


def _future_notes(spec: TableSpec, frame: pd.DataFrame, loaded_at: datetime) -> list[str]:
    """Name the rows stamped after the load (kept: a meeting scheduled, a renewal signed ahead, a typo)."""
    limit = latest_stamp(loaded_at)
    notes = []
    for col in spec.columns:
        if not col.event_stamp or col.name not in frame.columns:
            continue
        ahead = frame[col.name] > limit  # NaT compares False
        if ahead.any():
            rows = np.flatnonzero(ahead.to_numpy())
            shown = ", ".join(str(r) for r in (rows[:MAX_ROWS_SHOWN] + 1).tolist())
            more = ", ..." if len(rows) > MAX_ROWS_SHOWN else ""
            notes.append(
                f"{spec.name}.{col.name}: {len(rows):,} row(s) stamped more than a day after the load"
                f" (data rows {shown}{more}; the latest {frame[col.name].max():%Y-%m-%d}); kept: features"
                " read them only as of later dates, and the data's time span ends at the load"
            )
    return notes


def _unreadable(spec: TableSpec, err: UnreadableFileError) -> Problem:
    return Problem(spec.name, "", UNREADABLE_FILE, 0, detail=str(err), fatal=True)


def _read_columns(file: TableFile) -> tuple[dict[str, pa.ChunkedArray], int]:
    """The file's columns by name, and its row count.

    The table itself is not kept: :func:`_build_frame` drops each column once parsed, so a column that parsing
    converts (timestamps, numbers) is held twice only while it is parsed. The rejects re-read the file
    (:func:`_rejects`).
    """
    raw = read_raw(file)
    return dict(zip(raw.column_names, raw.columns, strict=True)), raw.num_rows


def _read_columns_or_empty(file: TableFile, notes: list[str]) -> tuple[dict[str, pa.ChunkedArray], int]:
    """The file's columns and row count, an empty file of an optional table reading as a header-only one.

    The contract lets an optional table be present and empty; a file with nothing at all in it (``: >
    tickets.csv``, an export that found no rows) is such a table. A required table's empty file stays an
    error.

    Args:
        file: the table's file.
        notes: where the note saying so goes.

    Returns:
        The columns by name (the required ones, without rows, for an empty file) and the row count.

    Raises:
        EmptyFileError: the file of a required table is empty.
        UnreadableFileError: the file cannot be read.

    """
    try:
        return _read_columns(file)
    except EmptyFileError:
        if file.table in REQUIRED_TABLES:
            raise
    spec = TABLE_SPECS[file.table]
    notes.append(
        f"{file.path.name} is an empty file: read as an empty {spec.name} table (as a file holding only its"
        " header line is)"
    )
    return {name: pa.chunked_array([], pa.string()) for name in spec.required_columns}, 0


def _rejects(spec: TableSpec, file: TableFile, rows_read: int, failures: list[Failure]) -> pa.Table | None:
    """The rejected rows with their original values, read again from the file (None without failures)."""
    if not failures:
        return None
    raw = read_raw(file)
    if raw.num_rows != rows_read:
        raise UnreadableFileError(
            f"{file.path.name}: the file changed while it was loaded"
            f" ({rows_read:,} rows, then {raw.num_rows:,})"
        )
    return rejects_table(spec.name, raw, failures)


def _missing_columns(spec: TableSpec, present: list[str]) -> list[Problem]:
    by_lower = {name.lower(): name for name in present}
    problems = []
    for name in spec.required_columns:
        if name in present:
            continue
        detail = f"required column {name!r} not found in {spec.name}"
        if name in by_lower:
            detail += f" (found {by_lower[name]!r}: column names are lower case)"
        problems.append(Problem(spec.name, name, MISSING_COLUMN, 0, detail=detail, fatal=True))
    for col in spec.columns:  # an optional column in other case would be read as a custom column, silently
        if not col.required and col.name not in present and col.name in by_lower:
            detail = (
                f"optional column {col.name!r} found as {by_lower[col.name]!r} in {spec.name}: column names"
                " are lower case (as it is, it would be ignored or read as a custom column)"
            )
            problems.append(Problem(spec.name, col.name, MISSING_COLUMN, 0, detail=detail, fatal=True))
    return problems


def _build_frame(
    spec: TableSpec, columns: dict[str, pa.ChunkedArray], num_rows: int
) -> tuple[pd.DataFrame, list[Failure]]:
    """Parse every column into the frame, taking each out of ``columns`` (emptied).

    The contract's columns are parsed a column per usable CPU at once (Arrow and numpy free the GIL: the scale
    world's interactions took 1.9 s one column after the other, 1.0 s so), and each raw column is let go as
    soon as it is parsed (:func:`_parse_job`).
    """
    jobs: list[tuple[ColumnSpec, list[pa.ChunkedArray]]] = []
    for col in spec.columns:
        if col.name in columns:
            jobs.append((col, [columns.pop(col.name)]))
        elif not col.required and col.fill_if_absent:
            jobs.append((col, [pa.chunked_array([pa.nulls(num_rows, pa.string())], pa.string())]))
    with ThreadPoolExecutor(max_workers=max(1, min(len(jobs), usable_cpus()))) as pool:
        parsed = list(pool.map(lambda job: _parse_job(spec.name, *job), jobs))
    data = {col.name: values for (col, _), (values, _) in zip(jobs, parsed, strict=True)}
    failures = [failure for _, failure in parsed if failure is not None]
    for name in list(columns):
        data[name] = parse_extra(columns.pop(name))
    return pd.DataFrame(data, copy=False), failures


def _parse_job(
    table: str, col: ColumnSpec, holder: list[pa.ChunkedArray]
) -> tuple[pd.Series, Failure | None]:
    """Parse the raw column in ``holder`` (emptied: once parsed, its buffers go unless the values share them).

    Returns:
        The parsed values, and the column's type failure (None when every value is of the type).

    """
    column = holder.pop()
    values, bad = _parse(column, col)
    return values, _type_failure(table, col, column, bad) if bad.any() else None


def _type_failure(table: str, col: ColumnSpec, column: pa.ChunkedArray, bad: np.ndarray) -> Failure:
    """The rows whose value is not of the column's type, with the first one's value as an example.

    Args:
        table: the table.
        col: the column's spec.
        column: the column as read (values untouched).
        bad: the rows whose value is not of the type.

    Returns:
        The failure; its example is left out for a column about people (:func:`describes_people`).

    """
    rows = np.flatnonzero(bad)
    if describes_people(table, col):
        example = "its values are not shown (a column about people): see the rejects file"
    else:
        example = f"data row {rows[0] + 1:,} holds {_shown_value(column[int(rows[0])].as_py())}"
    return Failure(col.name, TYPE_RULES[col.kind], rows, TYPE_HINTS[col.kind], example)


def _shown_value(value: object) -> str:
    """A value as an error message shows it: text quoted (cut after 40 characters), others as they print."""
    if not isinstance(value, str):
        return str(value)
    return repr(value if len(value) <= EXAMPLE_CHARS else value[:EXAMPLE_CHARS] + "...")


def _parse(column: pa.ChunkedArray, col: ColumnSpec) -> tuple[pd.Series, np.ndarray]:
    try:
        parsed = parse_column(column, col)
    except (pa.ArrowException, ValueError, OverflowError) as err:
        raise UnreadableFileError(f"column {col.name!r} cannot be read as {col.kind}: {err}") from err
    values = parsed.values.reset_index(drop=True)
    if col.default is not None:
        values = values.fillna(col.default)
    return values, parsed.bad


def _merge_type_failures(type_failures: list[Failure], value: list[Failure]) -> list[Failure]:
    """Drop ``not_null`` rows that are only null because their value was not of the type (reported once)."""
    typed = {f.column: f.rows for f in type_failures}
    merged = list(type_failures)
    for failure in value:
        if failure.rule == NOT_NULL and failure.column in typed:
            rows = np.setdiff1d(failure.rows, typed[failure.column])
            failure = Failure(failure.column, failure.rule, rows, failure.hint)
        if len(failure.rows):
            merged.append(failure)
    return merged


def _reference_failures(
    spec: TableSpec, frame: pd.DataFrame, failures: list[Failure], refs: dict[str, Keys], notes: list[str]
) -> list[Failure]:
    checks: list[tuple[ColumnSpec, Keys]] = []
    said: dict[str, list[str]] = {}  # each column's notes, given in column order at the end
    for col in spec.columns:
        if not col.references or col.name not in frame.columns:
            continue
        said[col.name] = []
        keys = _target_keys(spec, col, frame, failures, refs, said[col.name])
        if keys is not None:
            checks.append((col, keys))
    lists = [(col, keys) for col, keys in checks if col.kind is Kind.LIST]
    with ThreadPoolExecutor(max_workers=max(1, min(len(lists), usable_cpus()))) as pool:
        # the list columns' lookups (Arrow, without the GIL) run beside the others (the interactions' three
        # columns: 5.9 s one after the other on the scale world)
        pending = {col.name: pool.submit(_find_references, frame, col, keys) for col, keys in lists}
        done = {
            col.name: _find_references(frame, col, keys) for col, keys in checks if col.name not in pending
        }
        done |= {name: future.result() for name, future in pending.items()}
    found: list[Failure] = []
    for col, _ in checks:
        found += _check_reference(spec.name, col, frame, done[col.name], said[col.name])
    for column_notes in said.values():
        notes += column_notes
    return found


def _find_references(frame: pd.DataFrame, col: ColumnSpec, keys: Keys) -> tuple[list[Failure], int]:
    """A column's rows that name no key, and how many name a rejected row (:func:`_check_reference`)."""
    labels = [fk.label for fk in col.references]
    cascade = all(fk.cascade for fk in col.references)
    if col.kind is Kind.LIST:
        return list_fk_failures(frame[col.name], labels, keys, cascade)
    return foreign_key_failures(frame, col.name, labels, keys, cascade)


def _check_reference(
    table: str, col: ColumnSpec, frame: pd.DataFrame, found_refs: tuple[list[Failure], int], notes: list[str]
) -> list[Failure]:
    labels = [fk.label for fk in col.references]
    cascade = all(fk.cascade for fk in col.references)
    found, to_rejected = found_refs
    target = " or ".join(labels)
    if to_rejected:
        notes.append(
            f"{table}.{col.name}: {to_rejected:,} row(s) kept that refer to a rejected row of {target}"
        )
    if not col.required and not cascade:
        # an optional pointer to a person (a CSM who left, a manager not in the export) is no reason to lose
        # the row, let alone, through the account, every row of the account: the row stays, without the
        # pointer (an account whose CSM left has no CSM), and is named
        for failure in found:
            frame.loc[frame.index[failure.rows], col.name] = None
            shown = ", ".join(str(r) for r in (failure.rows[:MAX_ROWS_SHOWN] + 1).tolist())
            more = ", ..." if len(failure.rows) > MAX_ROWS_SHOWN else ""
            notes.append(
                f"{table}.{col.name}: {len(failure.rows):,} row(s) kept that name no {target}"
                f" (data rows {shown}{more}); the column is optional: those rows are kept without it"
            )
        return []
    return found


def _target_keys(
    spec: TableSpec,
    col: ColumnSpec,
    frame: pd.DataFrame,
    failures: list[Failure],
    refs: dict[str, Keys],
    notes: list[str],
) -> Keys | None:
    parts: list[Keys] = []
    for fk in col.references:
        keys = _own_keys(frame, fk, failures) if fk.table == spec.name else refs.get(fk.label)
        if keys is None:
            if fk.table not in REQUIRED_TABLES:  # a required table not loaded is already a fatal problem
                notes.append(f"{spec.name}.{col.name} -> {fk.label} not checked: {fk.table} not loaded")
            return None
        parts.append(keys)
    if len(parts) == 1:
        return parts[0]
    return Keys(pa.concat_arrays([k.kept for k in parts]), pa.concat_arrays([k.seen for k in parts]))


def _own_keys(frame: pd.DataFrame, fk: ForeignKey, failures: list[Failure]) -> Keys | None:
    """Keys of the table itself (self-reference), the kept ones being those of rows without failures yet."""
    if fk.column not in frame.columns:
        return None
    ok = np.ones(len(frame), dtype=bool)
    ok[rejected_rows(failures)] = False
    return Keys(key_values(frame[fk.column][ok]), key_values(frame[fk.column]))


def _remember_keys(spec: TableSpec, frame: pd.DataFrame, keep: np.ndarray, refs: dict[str, Keys]) -> None:
    wanted = {fk.label for other in TABLE_SPECS.values() for c in other.columns for fk in c.references}
    for col in spec.columns:
        label = f"{spec.name}.{col.name}"
        if label in wanted and col.name in frame.columns:
            refs[label] = Keys(key_values(frame[col.name][keep]), key_values(frame[col.name]))


def _finalize(spec: TableSpec, frame: pd.DataFrame) -> pd.DataFrame:
    frame = frame.reset_index(drop=True)
    for col in spec.columns:
        if col.name in frame.columns and frame[col.name].dtype != output_dtype(col):
            frame[col.name] = frame[col.name].astype(output_dtype(col))  # type: ignore[call-overload]
    return frame


def _problem(table: str, failure: Failure) -> Problem:
    rows = (failure.rows[:MAX_ROWS_SHOWN] + 1).tolist()
    return Problem(
        table, failure.column, failure.rule, len(failure.rows), rows, failure.hint, example=failure.example
    )


# ------------------------------------------------------------------------------------------ the whole load


def _threshold_problems(report: ValidationReport, threshold: float) -> list[Problem]:
    problems = []
    for counts in report.tables.values():
        share = counts.rejected_share
        if share > threshold:
            detail = (
                f"{counts.rows_rejected:,} of {counts.rows_read:,} rows rejected ({share:.2%}), "
                f"above the threshold of {threshold:.2%} (settings.rejects_threshold)"
            )
            problems.append(
                Problem(counts.table, "", REJECTS_THRESHOLD, counts.rows_rejected, [], detail, True)
            )
    return problems


def _label_warnings(report: ValidationReport) -> list[str]:
    """A warning when the label tables that were read hold no row: the load goes on, but labels nothing."""
    counts = [report.tables[name] for name in LABEL_TABLES if name in report.tables]
    stopped = {p.table for p in report.problems if p.fatal}
    if not counts or any(c.rows_kept or c.table in stopped for c in counts):
        return []  # no label table at all (already a stop), or one with rows, or one that stopped the load
    found = ", ".join(f"{c.table}: {c.rows_read:,} read, none kept" for c in counts)
    return [
        f"no label rows ({found}): no example can be labelled; the build writes the online store alone and"
        " there is nothing to train on"
    ]


def _no_accounts_problems(report: ValidationReport) -> list[Problem]:
    """A stop when the accounts table was read but holds no row (every other row needs its account)."""
    counts = report.tables.get("accounts")
    stopped = any(p.fatal and p.table == "accounts" for p in report.problems)
    if counts is None or counts.rows_kept or stopped:
        return []
    detail = (
        f"the accounts table holds no rows ({counts.rows_read:,} read): every other row needs its account"
    )
    return [Problem("accounts", "", NO_ROWS, 0, detail=detail, fatal=True)]


def _write_all_rejects(rejects: dict[str, pa.Table], folder: Path, report: ValidationReport) -> None:
    for name in TABLES:
        if name in rejects:
            report.tables[name].rejects_file = write_rejects(folder, name, rejects[name])
        elif folder.is_dir():
            remove_stale(folder, name)


def _exclusion_notes(accounts: pd.DataFrame | None, excluded: list[str]) -> list[str]:
    if accounts is None:
        return []
    unknown = [name for name in excluded if name not in accounts.columns]
    return [f"exclude_account_columns names {name!r}, which accounts does not have" for name in unknown]


def _warnings(missing: list[str], report: ValidationReport) -> list[str]:
    consequence = "the collaboration feature set is empty; the run trains and serves the baseline alone"
    if COLLABORATION_TABLE in missing:
        return [f"no {COLLABORATION_TABLE} table: {consequence}"]
    counts = report.tables.get(COLLABORATION_TABLE)
    unreadable = any(p.table == COLLABORATION_TABLE and p.rule == UNREADABLE_FILE for p in report.problems)
    if counts is None or counts.rows_kept or unreadable:
        return []
    if counts.rows_read == 0:
        return [f"the {COLLABORATION_TABLE} table is empty: {consequence}"]
    return [f"no {COLLABORATION_TABLE} row was kept: {consequence}"]
