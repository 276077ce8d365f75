"""Finding the table files of a data folder and reading them into Arrow tables, values untouched.

CSV files are read with every column as text (empty field = missing), so that type errors can be reported per
row by :mod:`features.contract.parsing`. Parquet files are read with their own types.
"""

from __future__ import annotations

import csv
import io
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from features.contract.schemas import FILE_FORMATS, TABLES

HEADER_PEEK_BYTES = 1 << 20
CSV_BLOCK_BYTES = 64 << 20
PARQUET_BATCH_ROWS = 1 << 20
PANDAS_INDEX_PREFIX = "__index_level_"


class UnreadableFileError(Exception):
    """A table file cannot be read (truncated, undecodable, ragged, no header...)."""


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
        UnreadableFileError: the file cannot be read, with the reader's reason.

    """
    try:
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
    text = pa.string()
    return pacsv.read_csv(
        path,
        read_options=pacsv.ReadOptions(block_size=CSV_BLOCK_BYTES),
        parse_options=pacsv.ParseOptions(newlines_in_values=True),
        convert_options=pacsv.ConvertOptions(
            column_types={name: text for name in header},
            null_values=[""],
            strings_can_be_null=True,
            quoted_strings_can_be_null=True,
        ),
    )


def _csv_header(path: Path) -> list[str]:
    with path.open("rb") as handle:
        head = handle.read(HEADER_PEEK_BYTES)
    if not head.strip():
        raise UnreadableFileError(f"{path.name}: empty file (a CSV needs at least its header line)")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        cut_by_peek = len(head) == HEADER_PEEK_BYTES and err.reason == "unexpected end of data"
        if not cut_by_peek:
            reason = f"not UTF-8 text ({err.reason} at byte {err.start})"
            raise UnreadableFileError(f"{path.name}: {reason}") from err
        text = head[: err.start].decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(text)), [])
    if not any(name.strip() for name in header):
        raise UnreadableFileError(f"{path.name}: no header line")
    _check_unique_names(header, path)
    return header


def _check_unique_names(names: list[str], path: Path) -> None:
    dupes = sorted(name for name, count in Counter(names).items() if count > 1)
    if dupes:
        raise UnreadableFileError(f"{path.name}: duplicate column name(s) {', '.join(dupes)}")


def _first_line(message: str) -> str:
    lines = [line for line in message.strip().splitlines() if line.strip()]
    return lines[0] if lines else message
