"""Finding the table files of a data folder and reading them into Arrow tables, values untouched.

CSV files are read with every column as text (empty field = missing), so that type errors can be reported per
row by :mod:`features.contract.parsing`. Parquet files are read with their own types.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract.schemas import FILE_FORMATS, TABLES

HEADER_PEEK_BYTES = 1 << 20
SAVE_AS_UTF8 = "save the file as UTF-8 (in Excel: 'CSV UTF-8 (Comma delimited)')"
#: Field separators other than the contract's comma that exports use, and their names.
OTHER_DELIMITERS = {";": "semicolons (';')", "\t": "tabs", "|": "vertical bars ('|')"}
#: Where pyarrow's single-threaded reader says a value failed: 0-based column, 1-based row with the header.
_ARROW_CELL = re.compile(r"In CSV column #(\d+): Row #(\d+)")
CSV_BLOCK_BYTES = 64 << 20
PARQUET_BATCH_ROWS = 1 << 20
PANDAS_INDEX_PREFIX = "__index_level_"


class UnreadableFileError(Exception):
    """A table file cannot be read (truncated, undecodable, ragged, no header...)."""


class EmptyFileError(UnreadableFileError):
    """A table file holds nothing at all (0 bytes, or only blank lines): not even a CSV header."""


@dataclass(frozen=True)
class TableFile:
    """The file holding one table."""

    table: str
    path: Path
    format: str


@dataclass
class Discovery:
    """What a data folder holds.

    Attributes:
        files: the file of each table found.
        duplicates: tables with more than one file (e.g. both ``accounts.csv`` and ``accounts.parquet``).
        ignored: files at the top of the folder that are not contract tables (subfolders are not looked at).

    """

    files: dict[str, TableFile] = field(default_factory=dict)
    duplicates: dict[str, list[Path]] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def discover(data_dir: Path) -> Discovery:
    """List the table files at the top of ``data_dir``.

    Args:
        data_dir: the data folder.

    Returns:
        The table files, tables with two files, and the other files found.

    """
    found = Discovery()
    for path in sorted(p for p in data_dir.iterdir() if p.is_file() and not p.name.startswith(".")):
        fmt = path.suffix.lstrip(".")
        if fmt not in FILE_FORMATS or path.stem not in TABLES:
            found.ignored.append(path.name)
            continue
        if path.stem in found.files:
            found.duplicates.setdefault(path.stem, [found.files[path.stem].path]).append(path)
            continue
        found.files[path.stem] = TableFile(path.stem, path, fmt)
    return found


def read_raw(file: TableFile) -> pa.Table:
    """Read one table file.

    Args:
        file: the file to read.

    Returns:
        The table; CSV columns are all ``string`` (empty field = null); Parquet keeps its types.

    Raises:
        EmptyFileError: the file holds nothing (0 bytes, or a CSV of blank lines only).
        UnreadableFileError: the file cannot be read, with the reader's reason.

    """
    try:
        if file.path.stat().st_size == 0:
            why = "a CSV needs at least its header line" if file.format == "csv" else "not a Parquet file"
            raise EmptyFileError(f"{file.path.name}: empty file (0 bytes; {why})")
        table = _read_csv(file.path) if file.format == "csv" else _read_parquet(file.path)
    except UnreadableFileError:
        raise
    except (pa.ArrowException, OSError, ValueError, UnicodeDecodeError, csv.Error) as err:
        raise UnreadableFileError(f"{file.path.name}: {_first_line(str(err))}") from err
    _check_unique_names(table.column_names, file.path)
    return table


def _read_parquet(path: Path) -> pa.Table:
    """Read a Parquet file batch by batch, its text columns as ``large_string``.

    pandas keeps text as ``large_string``: reading it so from the start lets the parsed frame share the
    file's buffers instead of holding a converted copy beside them (a batch at a time is converted).
    """
    file = pq.ParquetFile(path, memory_map=True)
    schema = file.schema_arrow
    wide = pa.schema([f.with_type(pa.large_string()) if pa.types.is_string(f.type) else f for f in schema])
    batches = [batch.cast(wide) for batch in file.iter_batches(batch_size=PARQUET_BATCH_ROWS)]
    table = pa.Table.from_batches(batches, wide)
    keep = [i for i, name in enumerate(table.column_names) if not name.startswith(PANDAS_INDEX_PREFIX)]
    return table.select(keep)


def _read_csv(path: Path) -> pa.Table:
    header = _csv_header(path)
    try:
        return _csv_table(path, header, threads=True)
    except pa.ArrowInvalid as err:
        raise UnreadableFileError(f"{path.name}: {_located_csv_error(path, header, err)}") from err


def _csv_table(
    path: Path, header: list[str], threads: bool, on_invalid: Callable[[Any], str] | None = None
) -> pa.Table:
    """Read a CSV file with every column as text; ``on_invalid`` sees a row of the wrong width."""
    text = pa.string()
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES, use_threads=threads),
        parse_options=pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=on_invalid),
        convert_options=pacsv.ConvertOptions(
            column_types={name: text for name in header},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _located_csv_error(path: Path, header: list[str], err: pa.ArrowInvalid) -> str:
    """The reason a CSV file cannot be read, with the data row where it happens.

    The parallel reader does not know row numbers: the file is read again on one thread, which stops at the
    same place and knows it. The row's text (pyarrow quotes it) is left out: it may describe a person.

    Args:
        path: the file.
        header: its column names.
        err: the error of the parallel read.

    Returns:
        E.g. ``CSV parse error at data row 3: expected 4 fields, found 3 (...)``.

    """
    bad_rows: list[Any] = []

    def note(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    try:
        _csv_table(path, header, threads=False, on_invalid=note)
    except pa.ArrowInvalid as again:
        err = again
    if bad_rows:
        row = bad_rows[0]
        where = f" at data row {row.number - 1:,}" if row.number else " (data row unknown)"
        return (
            f"CSV parse error{where}: expected {row.expected_columns} fields, found {row.actual_columns}"
            " (a field holding a comma, a quote or a line break must be in double quotes)"
        )
    hit = _ARROW_CELL.search(str(err))
    if hit and "UTF8" in str(err):
        column = header[int(hit[1])] if int(hit[1]) < len(header) else f"#{int(hit[1]) + 1}"
        return f"not UTF-8 text in column {column!r} at data row {int(hit[2]) - 1:,}; {SAVE_AS_UTF8}"
    return _first_line(str(err))


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(HEADER_PEEK_BYTES)
    if not head.strip():
        raise EmptyFileError(f"{path.name}: empty file (a CSV needs at least its header line)")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        cut_by_peek = len(head) == HEADER_PEEK_BYTES and err.reason == "unexpected end of data"
        if not cut_by_peek:
            raise UnreadableFileError(f"{path.name}: {_not_utf8(head, err)}") from err
        text = head[: err.start].decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)), [])
    if not any(name.strip() for name in header):
        raise UnreadableFileError(f"{path.name}: no header line")
    _check_delimiter(header, path)
    _check_unique_names(header, path)
    return header


def _not_utf8(head: bytes, err: UnicodeDecodeError) -> str:
    """Where the first byte that is not UTF-8 is: its line (the header is line 1) and byte offset."""
    offset = err.start + (len(codecs.BOM_UTF8) if head.startswith(codecs.BOM_UTF8) else 0)
    line = head.count(b"\n", 0, offset) + 1
    return (
        f"not UTF-8 text at line {line:,} (byte {offset:,} of the file, 0x{head[offset]:02x}: {err.reason});"
        f" {SAVE_AS_UTF8}"
    )


def _check_delimiter(header: list[str], path: Path) -> None:
    """Refuse a header read as one column that holds another delimiter (a European Excel export's ``;``)."""
    if len(header) != 1:
        return
    found = [name for mark, name in OTHER_DELIMITERS.items() if mark in header[0]]
    if found:
        shown = header[0] if len(header[0]) <= 60 else header[0][:60] + "..."
        raise UnreadableFileError(
            f"{path.name}: the header reads as one column {shown!r}: its fields seem separated by"
            f" {found[0]}, but a contract CSV separates them with commas (in Excel: save as"
            " 'CSV UTF-8 (Comma delimited)')"
        )


def _check_unique_names(names: list[str], path: Path) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise UnreadableFileError(f"{path.name}: duplicate column name(s) {', '.join(dupes)}")


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else message
