"""Streaming writers for the contract tables: Parquet or CSV, by chunks, in a folder renamed into place."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

LIST_COLUMNS = ("internal_participants", "external_participants")
#: Seconds after its last change beyond which a staging folder left by a killed run is removed.
STALE_STAGING_SECONDS = 3600
DATE_COLUMNS = {"customer_since", "hired_at", "date", "issued_at", "due_at", "paid_at", "renewal_date"}


def to_arrow(frame: pd.DataFrame | pa.Table) -> pa.Table:
    """Arrow table with contract types: dates as date32, timestamps as naive microseconds."""
    table = frame if isinstance(frame, pa.Table) else pa.Table.from_pandas(frame, preserve_index=False)
    for name in table.column_names:
        col = table[name]
        if name in DATE_COLUMNS and pa.types.is_timestamp(col.type):
            table = table.set_column(table.schema.get_field_index(name), name, pc.cast(col, pa.date32()))
        elif pa.types.is_timestamp(col.type) and col.type.unit != "us":
            table = table.set_column(
                table.schema.get_field_index(name), name, pc.cast(col, pa.timestamp("us"))
            )
    return table


def _csv_frame(table: pa.Table) -> pd.DataFrame:
    """The CSV form of a chunk: lists joined by ';', ISO 8601 timestamps, YYYY-MM-DD dates."""
    out = {}
    for name in table.column_names:
        col = table[name]
        if name in LIST_COLUMNS:
            out[name] = pc.binary_join(col, ";").to_pandas()
        elif pa.types.is_timestamp(col.type):
            out[name] = pc.strftime(pc.cast(col, pa.timestamp("s")), format="%Y-%m-%dT%H:%M:%S").to_pandas()
        elif pa.types.is_date32(col.type):
            out[name] = pc.strftime(col, format="%Y-%m-%d").to_pandas()
        else:
            out[name] = col.to_pandas()
    return pd.DataFrame(out)


class TableWriter:
    """Appends chunks of one table to ``<folder>/<table>.<fmt>``."""

    def __init__(self, folder: Path, table: str, fmt: str) -> None:
        self.path = folder / f"{table}.{fmt}"
        self.fmt = fmt
        self.rows = 0
        self._parquet: pq.ParquetWriter | None = None

    def write(self, chunk: pd.DataFrame | pa.Table) -> None:
        """Append one chunk."""
        table = to_arrow(chunk)
        if self.fmt == "parquet":
            if self._parquet is None:
                self._parquet = pq.ParquetWriter(self.path, table.schema, compression="zstd")
            self._parquet.write_table(table.cast(self._parquet.schema))
        else:
            _csv_frame(table).to_csv(self.path, mode="a", header=self.rows == 0, index=False)
        self.rows += table.num_rows

    def close(self) -> None:
        """Finish the file."""
        if self._parquet is not None:
            self._parquet.close()


class OutputFolderError(ValueError):
    """The output folder cannot be (re)placed by a simulated world without losing what is in it."""


def check_output_folder(out_dir: Path, marker: str) -> Path:
    """The absolute output folder, after checking that a world may replace it.

    A world replaces its output folder whole. The folder may be new, empty, or an earlier world (it holds
    ``marker``); anything else (a file, a folder of other files, such as a user's own exports) is refused
    rather than deleted.

    Args:
        out_dir: the output folder.
        marker: path, relative to the folder, that only a simulated world holds.

    Returns:
        The folder as an absolute path.

    Raises:
        OutputFolderError: ``out_dir`` is a file, a folder holding files that are not a world's, or the
            current folder (or one holding it).

    """
    out_dir = Path(out_dir).absolute().resolve()
    if out_dir.exists() and not out_dir.is_dir():
        raise OutputFolderError(f"{out_dir} is a file, not a folder")
    if out_dir.is_dir() and any(out_dir.iterdir()) and not (out_dir / marker).exists():
        raise OutputFolderError(
            f"{out_dir} already holds files that are not a simulated world; a world replaces its output"
            " folder whole, so choose a new or empty folder"
        )
    if out_dir.parent == out_dir:
        raise OutputFolderError(f"{out_dir} is a file system's root; choose a folder inside it")
    cwd = Path.cwd().resolve()
    if cwd == out_dir or out_dir in cwd.parents:
        raise OutputFolderError(f"{out_dir} holds the current folder, which a new world would remove")
    return out_dir


def _last_change(folder: Path) -> float:
    """The latest modification time of a folder and of what it directly holds (files grow as months pass)."""
    times = [folder.stat().st_mtime]
    for entry in folder.iterdir():
        try:
            times.append(entry.stat().st_mtime)
        except FileNotFoundError:  # removed meanwhile
            continue
    return max(times)


def _running(pid: int) -> bool:
    """Whether a process with this id runs on this machine (then its staging folder may be in use)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except PermissionError:  # someone else's process
        return True
    except (ProcessLookupError, OverflowError):
        return False
    return True


def remove_stale_staging(out_dir: Path, max_age: float = STALE_STAGING_SECONDS) -> list[Path]:
    """Remove staging folders of ``out_dir`` that runs stopped at once (SIGKILL, power loss) left behind.

    A leftover ``.<name>.tmp-<pid>`` beside ``out_dir`` goes when nothing in it changed for ``max_age``
    seconds and no process ``<pid>`` runs here, so that a run still writing is never disturbed.

    Args:
        out_dir: the output folder (absolute).
        max_age: seconds since the last change after which a leftover is stale.

    Returns:
        The folders removed.

    """
    removed = []
    prefix = f".{out_dir.name}.tmp-"
    for folder in out_dir.parent.iterdir():
        pid = folder.name.removeprefix(prefix)
        if pid == folder.name or not pid.isdigit() or int(pid) == os.getpid() or not folder.is_dir():
            continue
        try:
            stale = time.time() - _last_change(folder) > max_age and not _running(int(pid))
        except FileNotFoundError:  # another run removed it meanwhile
            continue
        if stale:
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder)
    return removed


@contextmanager
def staged_folder(out_dir: Path) -> Iterator[Path]:
    """Yield a temporary sibling folder; on success it replaces ``out_dir``, on failure it is removed.

    Stale staging folders of earlier runs killed outright are removed first (:func:`remove_stale_staging`).
    A SIGTERM is a failure only where it unwinds as an exception (``csat simulate`` runs under
    :func:`csat.signals.sigterm_unwinds`).
    """
    out_dir = Path(out_dir).absolute().resolve()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_staging(out_dir)
    tmp = out_dir.parent / f".{out_dir.name}.tmp-{os.getpid()}"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = out_dir.parent / f".{out_dir.name}.old-{os.getpid()}"
    try:
        if out_dir.exists():
            out_dir.rename(old)
        tmp.rename(out_dir)
    except BaseException:
        if old.exists() and not out_dir.exists():
            old.rename(out_dir)  # the previous world goes back in place
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
