"""Offline and online feature stores, written atomically.

Offline: ``<store>/offline/<target>`` is a symbolic link to a complete version folder
``<store>/offline/.versions/<target>-<time>-<id>/`` holding ``frame.parquet`` and ``manifest.json``. A build
writes a new version folder and then swaps the link with one ``os.replace``; an interrupted build leaves the
previous link, and so the previous good store, in place. Online: ``<store>/online/features.sqlite`` (see
:mod:`features.engine.online`).
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from features.engine.online import READ_ERRORS, read_online_db, stage_online_db
from features.errors import StoreCorruptError

Target = Literal["csat", "churn"]
FRAME = "frame.parquet"
MANIFEST = "manifest.json"
ONLINE_FILE = "features.sqlite"
ABSENT_SUFFIX = ".absent"
KEEP_OLD_VERSIONS = 2
REBUILD = "rebuild the store with `csat features build`"


def atomic_write_text(path: Path, text: str) -> None:
    """Write a text file through a temporary name and ``os.replace`` (the store's atomic writer).

    Raises:
        OSError: the file cannot be written; an error on the temporary file names ``path``, the place the
            caller knows (a rename into place names both, the place second).

    """
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{uuid.uuid4().hex}")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as err:
        if err.filename != str(tmp) or err.filename2 is not None:
            raise
        raise type(err)(err.errno, err.strerror, str(path)) from err
    finally:
        if tmp.exists():
            tmp.unlink()


def check_store_dir(store_dir: Path) -> None:
    """Check that the store folder can be made and written, before a build spends minutes on the data.

    Args:
        store_dir: the store folder (it need not exist yet).

    Raises:
        NotADirectoryError: the folder, or a folder above it, is a file or a link to nothing.
        PermissionError: the nearest existing folder cannot be written.

    """
    path = Path(store_dir)
    for part in (path, *path.parents):
        if part.is_symlink() and not part.exists():
            raise NotADirectoryError(errno.ENOTDIR, "a symbolic link to something missing", str(part))
        if part.exists() and not part.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, os.strerror(errno.ENOTDIR), str(part))
        if part.is_dir():
            if not os.access(part, os.W_OK | os.X_OK):
                raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(part))
            return


def offline_dir(store_dir: Path, target: Target) -> Path:
    """Return the path readers use for a target's offline frame (a link to the current version)."""
    return Path(store_dir) / "offline" / target


def online_path(store_dir: Path) -> Path:
    """Return the online store's database file."""
    return Path(store_dir) / "online" / ONLINE_FILE


def _write_frame(frame: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(frame, preserve_index=False)
    pq.write_table(table, path)


def write_offline(store_dir: Path, target: Target, frame: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """Write a new version of a target's offline store and switch readers to it; return its folder.

    :func:`stage_offline` (same arguments), then :func:`publish_offline`.
    """
    version = stage_offline(store_dir, target, frame, manifest)
    publish_offline(store_dir, target, version)
    return version


def stage_offline(store_dir: Path, target: Target, frame: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """Write a complete new version of a target's offline store that readers do not see yet.

    :func:`publish_offline` switches readers to it; :func:`discard_offline` removes it unpublished.

    Args:
        store_dir: the store folder.
        target: ``csat`` or ``churn``.
        frame: example_id, account_id, as_of, label, then the feature columns.
        manifest: the version's manifest (written beside the frame).

    Returns:
        The new version folder (complete: frame and manifest).

    """
    versions = Path(store_dir) / "offline" / ".versions"
    versions.mkdir(parents=True, exist_ok=True)
    version = versions / f"{target}-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:8]}"
    tmp_version = version.with_name(f".tmp-{version.name}")
    tmp_version.mkdir()
    try:
        _write_frame(frame, tmp_version / FRAME)
        atomic_write_text(tmp_version / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True, default=str))
        os.replace(tmp_version, version)
    except BaseException:
        shutil.rmtree(tmp_version, ignore_errors=True)
        raise
    return version


def publish_offline(store_dir: Path, target: Target, version: Path) -> None:
    """Switch readers of a target's offline store to a staged version, atomically, and prune old versions.

    Args:
        store_dir: the store folder.
        target: ``csat`` or ``churn``.
        version: the folder :func:`stage_offline` returned.

    """
    base = Path(store_dir) / "offline"
    link = offline_dir(store_dir, target)
    if link.exists() and not link.is_symlink():  # a plain folder from elsewhere: keep it as an old version
        os.replace(link, base / ".versions" / f"{target}-legacy-{uuid.uuid4().hex[:8]}")
    tmp_link = base / f".{target}.link-{uuid.uuid4().hex}"
    try:
        os.symlink(Path(".versions") / version.name, tmp_link)
        os.replace(tmp_link, link)
    finally:
        tmp_link.unlink(missing_ok=True)
    _absent_marker(store_dir, target).unlink(missing_ok=True)
    _prune(base / ".versions", target, keep={version.name})


def discard_offline(version: Path) -> None:
    """Remove a staged offline version that was never published (a build stopped before its switch)."""
    shutil.rmtree(version, ignore_errors=True)


def _absent_marker(store_dir: Path, target: Target) -> Path:
    return Path(store_dir) / "offline" / f"{target}{ABSENT_SUFFIX}"


def absent_reason(store_dir: Path, target: Target) -> str | None:
    """Why the last build made no frame for a target, or ``None`` when it made one (or none was recorded).

    Args:
        store_dir: the store folder.
        target: ``csat`` or ``churn``.

    Returns:
        The reason the build recorded, e.g. ``the renewals table has no rows``.

    """
    marker = _absent_marker(store_dir, target)
    return marker.read_text(encoding="utf-8").strip() if marker.is_file() else None


def mark_offline_absent(store_dir: Path, target: Target, reason: str) -> None:
    """Record that the last build made no frame for a target, and why; readers no longer see an older one.

    The link to the older version goes (the version itself is pruned later, as on a replacement), so
    training cannot pair a frame built from earlier data with this build's online store.

    Args:
        store_dir: the store folder.
        target: ``csat`` or ``churn``.
        reason: why there is no frame (e.g. ``the renewals table has no rows``).

    """
    atomic_write_text(_absent_marker(store_dir, target), reason)
    link = offline_dir(store_dir, target)
    if link.is_symlink():
        link.unlink()
    elif link.exists():  # a plain folder from elsewhere: keep it as an old version
        versions = link.parent / ".versions"
        versions.mkdir(exist_ok=True)
        os.replace(link, versions / f"{target}-legacy-{uuid.uuid4().hex[:8]}")


def _prune(versions: Path, target: Target, keep: set[str]) -> None:
    """Remove old versions of a target beyond the last few (readers of a just-replaced one keep working)."""
    old = sorted(
        (p for p in versions.iterdir() if p.name.startswith(f"{target}-") and p.name not in keep),
        key=lambda p: p.stat().st_mtime,
    )
    for p in old[: max(0, len(old) - KEEP_OLD_VERSIONS)]:
        shutil.rmtree(p, ignore_errors=True)
    for p in versions.iterdir():  # leftovers of interrupted builds
        if p.name.startswith(f".tmp-{target}-") and time.time() - p.stat().st_mtime > 3600:
            shutil.rmtree(p, ignore_errors=True)


def read_offline(store_dir: Path, target: Target) -> tuple[pd.DataFrame, dict]:
    """Read the offline frame of a target and its manifest.

    Args:
        store_dir: the store folder.
        target: ``csat`` or ``churn``.

    Returns:
        The frame (example_id, account_id, as_of, label, features) and the manifest dict.

    Raises:
        FileNotFoundError: no store was built for the target.

    """
    folder = offline_dir(store_dir, target).resolve()
    if not (folder / FRAME).is_file():
        reason = absent_reason(store_dir, target)
        if reason is not None:
            raise FileNotFoundError(
                f"no offline store for {target!r} under {store_dir}: the last build made none ({reason})"
            )
        raise FileNotFoundError(
            f"no offline store for {target!r} under {store_dir}; run `csat features build`"
        )
    manifest = _read_manifest(folder / MANIFEST)
    try:
        frame = pq.read_table(folder / FRAME).to_pandas()
    except pa.ArrowException as err:
        why = f"the offline frame {folder / FRAME} cannot be read ({err})"
        raise StoreCorruptError(f"{why}; {REBUILD}") from err
    return frame, manifest


def _read_manifest(path: Path) -> dict[str, Any]:
    """An offline manifest, which must be a JSON object; a missing or damaged one is a corrupt store."""
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError as err:
        raise StoreCorruptError(f"the offline store is incomplete: {path} is missing; {REBUILD}") from err
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise StoreCorruptError(f"the offline manifest {path} is not valid JSON ({err}); {REBUILD}") from err
    if not isinstance(manifest, dict):
        raise StoreCorruptError(f"the offline manifest {path} is not a JSON object; {REBUILD}")
    return manifest


def write_online(store_dir: Path, frame: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """Replace the online store with ``frame`` (one row per account) atomically.

    :func:`stage_online` (same arguments), then :func:`publish_online`.
    """
    staged = stage_online(store_dir, frame, manifest)
    try:
        publish_online(store_dir, staged)
    finally:
        staged.unlink(missing_ok=True)
    return online_path(store_dir)


def stage_online(store_dir: Path, frame: pd.DataFrame, manifest: dict[str, Any]) -> Path:
    """Write a complete new online store beside the current one; :func:`publish_online` swaps it in.

    Args:
        store_dir: the store folder.
        frame: one row per account: account_id, as_of, then the feature columns.
        manifest: the store's manifest.

    Returns:
        The staged file (a temporary name in the online folder; remove it if it is not published).

    """
    return stage_online_db(online_path(store_dir), frame, manifest)


def publish_online(store_dir: Path, staged: Path) -> None:
    """Swap a file :func:`stage_online` wrote in for the online store, atomically (readers keep theirs)."""
    os.replace(staged, online_path(store_dir))


def read_online(store_dir: Path, account_ids: Sequence[str] | None = None) -> pd.DataFrame:
    """Read the latest features per account (all accounts, or the given ones) from the online store.

    Numbers come back as float64, categories as strings, ``as_of`` as a timestamp; the manifest is in
    ``frame.attrs["manifest"]``.
    """
    df, meta = _read_online_checked(online_path(store_dir), account_ids)
    cats = set(meta.get("categorical", []))
    for col in df.columns:
        if col == "as_of":
            df[col] = pd.to_datetime(df[col]).astype("datetime64[us]")
        elif col != "account_id" and col not in cats:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
    df.attrs["manifest"] = meta
    return df


def read_online_manifest(store_dir: Path) -> dict[str, Any]:
    """Read the online store's manifest alone."""
    return _read_online_checked(online_path(store_dir), [])[1]


def _read_online_checked(
    path: Path, account_ids: Sequence[str] | None
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """:func:`read_online_db`; a damaged file (not SQLite, a table missing, bad JSON) is a corrupt store."""
    try:
        return read_online_db(path, account_ids)
    except READ_ERRORS as err:
        raise StoreCorruptError(f"the online store {path} cannot be read ({err}); {REBUILD}") from err
