"""Build the feature store: load the contract, label the examples, compute features, write both stores."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pandas as pd
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from csat.settings import Settings
from csat.signals import HeldSigterm
from features.catalog import Feature, definitions_hash
from features.cpus import usable_cpus
from features.engine import compute_features, definitions_text, select_statements
from features.engine.prepare import Plan, plan
from features.engine.sql import statements
from features.errors import AsOfError
from features.labels import (
    FUTURE_TOLERANCE,
    churn_frame,
    csat_frame,
    data_span,
    latest_stamp,
    snapshot_dates,
)
from features.store import (
    check_store_dir,
    discard_offline,
    mark_offline_absent,
    publish_offline,
    publish_online,
    stage_offline,
    stage_online,
)


@dataclass
class BuildResult:
    """What a build wrote."""

    store_dir: Path
    feature_set_version: str
    data_fingerprint: str
    rows: dict[str, int] = field(default_factory=dict)
    positives: dict[str, int] = field(default_factory=dict)
    online_rows: int = 0
    online_as_of: str = ""
    groups_missing: dict[str, list[str]] = field(default_factory=dict)
    features: dict[str, list[str]] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def data_fingerprint(data_dir: Path | None, tables: Mapping[str, pd.DataFrame]) -> str:
    """Fingerprint the raw data: row counts and columns, plus each file's name and a hash of its bytes.

    The bytes, not the modification time: an export job that rewrites identical files (or a copy of the
    folder) leaves the fingerprint unchanged, so a retrain on unchanged data keeps the champion.
    """
    parts: list[Any] = sorted((n, len(df), list(df.columns)) for n, df in tables.items())
    if data_dir is not None and Path(data_dir).is_dir():
        for p in sorted(Path(data_dir).iterdir()):
            if p.is_file():
                with p.open("rb") as f:
                    parts.append((p.name, hashlib.file_digest(f, "blake2b").hexdigest()))
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:16]


def truth_fingerprint(data_dir: Path | None) -> str | None:
    """Fingerprint a simulated world's ground truth (``<data_dir>/ground_truth``), or ``None`` when absent.

    The store records it so that training compares a model with the oracle of the very world the store was
    built from, not with a ground truth that a later ``csat simulate`` wrote beside other data.
    """
    from features.simulator import GROUND_TRUTH_DIR

    folder = Path(data_dir) / GROUND_TRUTH_DIR if data_dir is not None else None
    if folder is None or not folder.is_dir():
        return None
    parts = []
    for path in sorted(folder.iterdir()):
        if path.is_file():
            with path.open("rb") as f:
                parts.append((path.name, hashlib.file_digest(f, "blake2b").hexdigest()))
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:16]


def feature_set_version(p: Plan) -> str:
    """Hash of the definitions in use: catalog metadata of the available features and the engine's SQL."""
    return definitions_hash(p.features, definitions_text(p.extras))


def manifest_for(
    target: str,
    frame: pd.DataFrame,
    p: Plan,
    version: str,
    fingerprint: str,
    horizon_days: int | None,
    computed: set[str],
) -> dict[str, Any]:
    """Build the manifest of one offline frame (or of the online store, with target ``online``)."""
    feats = [f for f in p.features if f.name in computed]
    return {
        "target": target,
        "feature_set_version": version,
        "data_fingerprint": fingerprint,
        "cutoff_min": str(frame["as_of"].min()) if len(frame) else None,
        "cutoff_max": str(frame["as_of"].max()) if len(frame) else None,
        "rows": int(len(frame)),
        "positives": int(frame["label"].sum()) if "label" in frame.columns and len(frame) else 0,
        "built_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "features": {
            "baseline": [f.name for f in feats if f.feature_set == "baseline"],
            "collaboration": [f.name for f in feats if f.feature_set == "collaboration"],
        },
        "categorical": [f.name for f in feats if f.dtype == "category"],
        "extras": [f.name for f in feats if f.group == "account_extras"],
        "catalog": {f.name: {"group": f.group, "description": f.description} for f in feats},
        "groups_missing": sorted(p.groups_missing),
        "groups_missing_tables": p.groups_missing,
        "horizon_days": horizon_days,
    }


def _progress(console: Console | None) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total}"),
        TimeElapsedColumn(),
        console=console or Console(stderr=True),
        transient=False,
    )


@contextmanager
def _timed(timings: dict[str, float], key: str) -> Iterator[None]:
    start = time.perf_counter()
    try:
        yield
    finally:
        timings[key] = round(time.perf_counter() - start, 3)


def online_cutoff(as_of: date | datetime | str | None) -> pd.Timestamp:
    """Return a cutoff as naive UTC: a date is midnight UTC (data strictly before it); None is now."""
    if as_of is None:
        return pd.Timestamp(datetime.now(UTC).replace(tzinfo=None)).floor("s")
    ts = pd.Timestamp(as_of)
    return ts.tz_convert("UTC").tz_localize(None) if ts.tzinfo else ts


#: Days after the data's last event beyond which an online store's date gets a note (its 28-day windows are
#: empty).
STALE_AFTER_DAYS = 28


def check_not_future(cutoff: pd.Timestamp, now: datetime | None = None) -> None:
    """Refuse an online date after tomorrow, before any table is read.

    A date is its midnight, so tomorrow is the latest date whose features can be known (today's data
    included); a later one would read events that have not happened yet (meetings scheduled ahead) and count
    tenure to a day not yet come.

    Args:
        cutoff: the online store's cutoff (naive UTC).
        now: the current moment; default now.

    Raises:
        AsOfError: the cutoff is after tomorrow.

    """
    if cutoff > latest_stamp(now):
        today = (latest_stamp(now) - FUTURE_TOLERANCE).date()
        raise AsOfError(
            f"--as-of {cutoff.date()} is in the future (today is {today} UTC): features would read events"
            f" that have not happened yet; give a date up to {today + FUTURE_TOLERANCE}"
        )


def check_online_cutoff(cutoff: pd.Timestamp, span: tuple[pd.Timestamp, pd.Timestamp] | None) -> str | None:
    """Refuse an online date before the data, and say when it is long after the data's end.

    Args:
        cutoff: the online store's cutoff (naive UTC).
        span: first and last event stamp of the data (:func:`features.labels.data_span`), None without events.

    Returns:
        A note when the cutoff is more than :data:`STALE_AFTER_DAYS` days after the last event, else None.

    Raises:
        AsOfError: the cutoff is on or before the first event.

    """
    if span is None:
        return None
    first, last = (pd.Timestamp(t) for t in span)
    if cutoff <= first:
        earliest = first.normalize().date() + pd.Timedelta(days=1)  # a date is its midnight: after the event
        latest = last.date() + pd.Timedelta(days=1)
        raise AsOfError(
            f"--as-of {cutoff.date()} is on or before the data's first event ({first.date()}): every"
            f" online feature would be empty; give a date from {earliest} to {latest}"
        )
    if cutoff - last > pd.Timedelta(days=STALE_AFTER_DAYS):
        return (
            f"the online store is as of {cutoff.date()}, {(cutoff - last).days} days after the data's last"
            f" event ({last.date()}): its 28-day windows are empty; for the data's own present give"
            f" --as-of {last.date() + pd.Timedelta(days=1)}"
        )
    return None


def label_frames(
    tables: Mapping[str, pd.DataFrame],
    settings: Settings,
    span: tuple[pd.Timestamp, pd.Timestamp] | None = None,
) -> dict[str, pd.DataFrame]:
    """Labelled examples without features: ``csat`` when surveys has rows, ``churn`` when renewals has.

    Args:
        tables: the contract tables.
        settings: the settings (``churn_horizon_days``).
        span: the data's time span, when the caller has it (:func:`features.labels.data_span`).

    Returns:
        Target -> its entity rows with labels.

    """
    frames: dict[str, pd.DataFrame] = {}
    span = span if span is not None else data_span(tables)
    lacking = targets_left_out(tables)
    if "csat" not in lacking:
        answers = csat_frame(tables["surveys"])  # an answer dated ahead (a typo) labels nothing until then
        frames["csat"] = answers[answers["as_of"] <= latest_stamp()].reset_index(drop=True)
    if "churn" not in lacking and "accounts" in tables and span is not None:
        frames["churn"] = churn_frame(
            tables["accounts"], tables["renewals"], settings.churn_horizon_days, span
        )
    return frames


def empty_churn_note(
    frame: pd.DataFrame | None, span: tuple[pd.Timestamp, pd.Timestamp] | None, horizon_days: int
) -> str | None:
    """Why a churn frame has no examples (the data is shorter than the horizon), or None when it has some.

    Args:
        frame: the churn entity frame, None when there is none (no renewals).
        span: the data's first and last event stamp.
        horizon_days: the churn label horizon (``churn_horizon_days``).

    Returns:
        A note naming the data's span and the horizon, or None.

    """
    if frame is None or len(frame) or span is None:
        return None
    first, last = (pd.Timestamp(t) for t in span)
    if snapshot_dates(first, last, horizon_days):
        return "the churn frame has no examples: no account is an active customer at any monthly snapshot"
    return (
        f"the churn frame has no examples: the data runs from {first.date()} to {last.date()}"
        f" ({(last - first).days} days), too short for a monthly snapshot whose {horizon_days}-day horizon"
        " (churn_horizon_days) ends inside it; `csat train --target churn` needs the horizon plus a year or"
        " so of monthly snapshots (about 21 months of history at the default 180 days)"
    )


def targets_left_out(tables: Mapping[str, pd.DataFrame]) -> dict[str, str]:
    """The targets whose label table is missing or empty, with the reason (CSAT: surveys; churn: renewals).

    An empty renewals table would otherwise give churn snapshots that all say "stayed".
    """
    lacking = {}
    for target, table in (("csat", "surveys"), ("churn", "renewals")):
        if table not in tables:
            lacking[target] = f"no {table} table"
        elif not len(tables[table]):
            lacking[target] = f"the {table} table has no rows"
    return lacking


def engine_options(settings: Settings, engine: str) -> dict[str, Any]:
    """Options the settings give an engine (DuckDB: memory limit, passes; Spark: master, conf, staging)."""
    if engine == "spark":
        return {
            "master": settings.spark_master,
            "conf": dict(settings.spark_conf),
            "staging_dir": settings.spark_staging_dir,
        }
    return {"memory_limit": settings.duckdb_memory_limit, "compiled_passes": settings.duckdb_compiled_passes}


def build_frames(
    tables: Mapping[str, pd.DataFrame],
    entity_frames: Mapping[str, pd.DataFrame],
    settings: Settings,
    engine: str | None = None,
    on_step: Callable[[str], None] | None = None,
    release_tables: bool = False,
) -> dict[str, pd.DataFrame]:
    """Features for several entity frames in one engine run (the raw tables are staged once for all).

    Args:
        tables: the contract tables.
        entity_frames: name -> frame with ``account_id`` and ``as_of`` (other columns are kept).
        settings: the settings (exclude_account_columns; engine, spark_master and spark_conf).
        engine: ``duckdb`` or ``spark``; default ``settings.engine``.
        on_step: called with each statement's name as it finishes.
        release_tables: empty ``tables`` (a dict the caller owns and no longer needs) as soon as the engine
            has its own copy of the columns it reads, so that the raw frames are freed during the run.

    Returns:
        name -> the entity rows with their features.

    """
    engine = engine or settings.engine
    keys = list(entity_frames)
    if not keys:
        return {}
    both = pd.concat(list(entity_frames.values()), ignore_index=True)
    feats = compute_features(
        tables if release_tables and isinstance(tables, dict) else dict(tables),
        both,
        engine,
        exclude_account_columns=settings.exclude_account_columns,
        on_step=on_step,
        engine_options=engine_options(settings, engine),
        release_tables=release_tables,
    )
    out, start = {}, 0
    for k in keys:  # compute_features keeps the entity rows in order: each frame is one run of rows
        stop = start + len(entity_frames[k])
        out[k] = feats.iloc[start:stop].reset_index(drop=True)
        start = stop
    return out


def _load(
    settings: Settings, console: Console, timings: dict[str, float], notes: list[str]
) -> dict[str, pd.DataFrame]:
    from features.contract import load_contract

    with _timed(timings, "load"):
        loaded = load_contract(settings.data_dir, settings, console=console)
    notes.extend(loaded.warnings)
    return loaded.tables


def build_store(
    settings: Settings,
    as_of: date | None = None,
    engine: str | None = None,
    console: Console | None = None,
    tables: Mapping[str, pd.DataFrame] | None = None,
    on_step: Callable[[str], None] | None = None,
) -> BuildResult:
    """Build the offline frames (CSAT and churn) and the online store from the raw tables.

    Args:
        settings: the settings (data_dir, store_dir, churn_horizon_days, exclude_account_columns).
        as_of: the online store's date (features from data strictly before that day); default now.
        engine: feature engine, ``duckdb`` or ``spark``; default ``settings.engine``.
        console: where progress and notes go; default standard error.
        tables: already loaded contract tables (skips the load; for tests and benchmarks).
        on_step: also called with each statement's name as it finishes (for timings).

    Returns:
        What was written, with timings and the feature groups left out.

    Raises:
        AsOfError: ``as_of`` is after tomorrow (before the load), or on or before the data's first event.
        NotADirectoryError: the store folder, or one above it, is a file (before the load).
        PermissionError: the store folder cannot be written (before the load).

    """
    console = console or Console(stderr=True)
    engine = engine or settings.engine
    timings: dict[str, float] = {}
    notes: list[str] = []
    cutoff = online_cutoff(as_of)
    check_not_future(cutoff)  # before the load, which takes minutes on big data
    check_store_dir(settings.store_dir)
    if engine == "spark":
        from features.engine.spark_backend import start_checked

        # before the load (minutes on big data): a missing extra, a wrong master, spark_conf value or
        # staging folder is reported at once; the session started here is the one the build runs on
        start_checked(**engine_options(settings, engine))
    owned = tables is None
    if tables is None:
        tables = _load(settings, console, timings, notes)
    tables = dict(tables)
    span = data_span(tables)
    stale = check_online_cutoff(cutoff, span)
    if stale is not None:
        notes.append(stale)
        console.print(f"[yellow]{escape(stale)}")
    p = plan(tables, settings.exclude_account_columns)
    for group, lacking in p.groups_missing.items():
        msg = f"feature group {group!r} left out: table(s) {', '.join(lacking)} missing or empty"
        notes.append(msg)
        console.print(f"[yellow]{msg}")
    for msg in p.notes:
        notes.append(msg)
        console.print(f"[yellow]{escape(msg)}")
    chosen, _, where = select_statements(p, statements(p.extras))
    computed = set(where)
    version = feature_set_version(p)
    fingerprint = data_fingerprint(settings.data_dir, tables)
    truth = truth_fingerprint(settings.data_dir)
    result = BuildResult(
        Path(settings.store_dir), version, fingerprint, groups_missing=p.groups_missing, notes=notes
    )
    result.features = {
        s: [f.name for f in p.features if f.feature_set == s and f.name in computed]
        for s in ("baseline", "collaboration")
    }
    n_steps = len(chosen)
    with _progress(console) as progress:
        tasks: dict[str, Any] = {}

        entity_frames = label_frames(tables, settings, span)
        left_out = {t: r for t, r in targets_left_out(tables).items() if t not in entity_frames}
        empty = empty_churn_note(entity_frames.get("churn"), span, settings.churn_horizon_days)
        if empty is not None:
            notes.append(empty)
            console.print(f"[yellow]{escape(empty)}")
        accounts = tables["accounts"]["account_id"].astype(str)
        entity_frames["online"] = pd.DataFrame({"account_id": accounts, "as_of": cutoff}).reset_index(
            drop=True
        )
        n_rows = sum(len(f) for f in entity_frames.values())
        tasks["features"] = progress.add_task(f"features for {n_rows:,} cutoffs", total=n_steps)
        with _timed(timings, "features"):

            def step(name: str) -> None:
                progress.advance(tasks["features"])
                if on_step is not None:
                    on_step(name)

            # A build that loaded the tables itself frees them once the engine has its own copy.
            frames = build_frames(tables, entity_frames, settings, engine, step, release_tables=owned)
        progress.update(tasks["features"], completed=n_steps)  # the compiled passes stand for some statements
        online = frames.pop("online")
        manifests = {
            target: manifest_for(
                target, frame, p, version, fingerprint,
                settings.churn_horizon_days if target == "churn" else None, computed,
            ) | {"truth_fingerprint": truth}
            for target, frame in frames.items()
        }  # fmt: skip
        manifests["online"] = manifest_for("online", online, p, version, fingerprint, None, computed)
        staged = _stage_stores(settings.store_dir, frames, online, manifests, timings, progress)
        _publish_stores(settings.store_dir, staged, left_out)
    for target, reason in left_out.items():
        notes.append(f"no {target} frame: {reason}")
        console.print(f"[yellow]no {target} frame: {escape(reason)}")
    for target, frame in frames.items():
        result.rows[target] = len(frame)
        result.positives[target] = manifests[target]["positives"]
    result.online_rows = len(online)
    result.online_as_of = str(cutoff)
    result.timings = timings
    return result


@dataclass
class _Staged:
    """Complete new store parts that readers do not see yet: offline versions by target, the online file."""

    offline: dict[str, Path] = field(default_factory=dict)
    online: Path | None = None

    def discard(self) -> None:
        """Remove what was staged and not published."""
        for version in self.offline.values():
            discard_offline(version)
        if self.online is not None:
            self.online.unlink(missing_ok=True)


def _stage_stores(
    store_dir: Path,
    frames: dict[str, pd.DataFrame],
    online: pd.DataFrame,
    manifests: dict[str, dict[str, Any]],
    timings: dict[str, float],
    progress: Progress,
) -> _Staged:
    """Write every part of the new store beside the old one; a failure or SIGTERM removes what was written.

    The offline frames are written at once, in threads (Arrow's Parquet writer frees Python's lock: the
    scale world's two frames took 1.6 s so, 3.1-4.5 s one after the other); ``timings`` gets the wall time
    of that (``write_offline``) and of the online store's (``write_online``).
    """
    staged = _Staged()
    task = progress.add_task("writing offline store", total=len(frames))
    try:
        with (
            _timed(timings, "write_offline"),
            ThreadPoolExecutor(max_workers=max(1, min(len(frames), usable_cpus()))) as pool,
        ):
            writes = {t: pool.submit(stage_offline, store_dir, t, f, manifests[t]) for t, f in frames.items()}  # type: ignore[arg-type]
            try:
                for target, write in writes.items():
                    staged.offline[target] = write.result()
                    progress.advance(task)
            except BaseException as err:
                _keep_staged(writes, staged, err)
                raise
        with _timed(timings, "write_online"):
            staged.online = stage_online(store_dir, online, manifests["online"])
    except BaseException:
        staged.discard()
        raise
    return staged


def _keep_staged(writes: Mapping[str, Future[Path]], staged: _Staged, err: BaseException) -> None:
    """After ``err``, wait for the other offline writes (those not begun are cancelled); keep each one done.

    :meth:`_Staged.discard` then removes what the other threads wrote; SIGTERM is held meanwhile, so that no
    finished version goes unrecorded. A write that failed too is noted on ``err``.
    """
    with HeldSigterm() as held:
        held.hold()
        for write in writes.values():
            write.cancel()
        wait(list(writes.values()))
        for target, write in writes.items():
            if target in staged.offline or write.cancelled():
                continue
            failed = write.exception()
            if failed is None:
                staged.offline[target] = write.result()
            elif failed is not err:
                err.add_note(f"writing the {target} frame failed too: {type(failed).__name__}: {failed}")


def _publish_stores(store_dir: Path, staged: _Staged, left_out: dict[str, str]) -> None:
    """Switch readers to every staged part, with SIGTERM held: a stopped build never leaves a mixed store.

    The switches are renames (milliseconds); a SIGTERM that arrives meanwhile takes effect once all are done.
    Targets left out are marked absent first, so that no older frame of theirs outlives this build.
    """
    with HeldSigterm() as held:
        held.hold()
        try:
            for target, reason in left_out.items():
                mark_offline_absent(store_dir, target, reason)  # type: ignore[arg-type]
            for target in list(staged.offline):
                publish_offline(store_dir, target, staged.offline.pop(target))  # type: ignore[arg-type]
            if staged.online is not None:
                publish_online(store_dir, staged.online)
                staged.online = None
        finally:
            staged.discard()


def features_of(result: BuildResult) -> list[Feature]:
    """Catalog entries of the features a build wrote (static ones; extras are listed in the manifest)."""
    from features.catalog import catalog

    names = set(result.features.get("baseline", [])) | set(result.features.get("collaboration", []))
    return [f for f in catalog() if f.name in names]
