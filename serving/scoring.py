"""Batch scoring (``csat score-all``): every account's answer, kept with history in ``<store>/scores``.

Each run appends one row per account to ``scores.sqlite`` inside one transaction (readers see a run whole or
not at all). The service answers known accounts from the latest run when it matches the online store's date
and the served model versions, and reads the history for a risk trend.
"""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from serving import schemas as s
from serving.runtime import Runtime

SCORES_FILE = "scores.sqlite"
STORED_TOP_K = 5
SCHEMA = """CREATE TABLE IF NOT EXISTS scores (
    run_id TEXT, scored_at TEXT, account_id TEXT, as_of TEXT, versions TEXT,
    satisfaction_probability REAL, churn_probability REAL, risk_band TEXT, answer TEXT)"""
INDEX = "CREATE INDEX IF NOT EXISTS scores_account ON scores(account_id, scored_at)"
TREND_EPS = 0.01


def scores_path(store_dir: Path) -> Path:
    """The scores database inside the store."""
    return Path(store_dir) / "scores" / SCORES_FILE


def score_all(runtime: Runtime, store_dir: Path, batch: int = 500) -> int:
    """Score every account of the online store and append the answers to the history.

    Args:
        runtime: the loaded models and store.
        store_dir: the store folder.
        batch: rows scored per call.

    Returns:
        Number of accounts written.

    """
    now = datetime.now(UTC).isoformat(timespec="seconds")
    versions = json.dumps(runtime.versions, sort_keys=True)
    rows: list[tuple] = []
    frame = runtime.store.reset_index(drop=True)
    for start in range(0, len(frame), batch):
        for a in runtime.answers(frame.iloc[start : start + batch], "stored_scores", STORED_TOP_K, False):
            rows.append((now, now, a.account_id, a.as_of, versions, a.satisfaction_probability,
                         a.churn_probability, a.risk_band, a.model_dump_json()))  # fmt: skip
    path = scores_path(store_dir)
    path.parent.mkdir(parents=True, exist_ok=True)
    with sqlite3.connect(path) as con:
        con.execute(SCHEMA)
        con.execute(INDEX)
        con.executemany("INSERT INTO scores VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    return len(rows)


def load_latest(
    store_dir: Path, versions: dict[str, str], as_of: dict[str, str]
) -> dict[str, s.AccountScore]:
    """Latest stored answers still valid for the served models and the online store's dates.

    Args:
        store_dir: the store folder.
        versions: served model versions.
        as_of: account -> the online store's ``as_of`` text.

    Returns:
        Account -> stored answer (empty when there is no scores file).

    """
    path = scores_path(store_dir)
    if not path.is_file():
        return {}
    want = json.dumps(versions, sort_keys=True)
    query = (
        "SELECT account_id, as_of, answer FROM scores WHERE versions = ? AND scored_at = "
        "(SELECT MAX(scored_at) FROM scores WHERE versions = ?)"
    )
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        rows = con.execute(query, (want, want)).fetchall()
    return {a: s.AccountScore.model_validate_json(ans) for a, d, ans in rows if as_of.get(a) == d}


def history(store_dir: Path, account_id: str, limit: int = 50) -> list[tuple[str, str, float, float, str]]:
    """Stored scores of one account, oldest first: (scored_at, as_of, satisfaction p, churn p, band)."""
    path = scores_path(store_dir)
    if not path.is_file():
        return []
    query = (
        "SELECT scored_at, as_of, satisfaction_probability, churn_probability, risk_band FROM scores "
        "WHERE account_id = ? ORDER BY scored_at DESC LIMIT ?"
    )
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        return list(reversed(con.execute(query, (account_id, limit)).fetchall()))


def trend(values: list[float]) -> s.Trend:
    """``rising``, ``falling`` or ``flat`` from the least-squares slope per run of a risk series."""
    if len(values) < 2:
        return "flat"
    slope = float(np.polyfit(np.arange(len(values)), np.asarray(values), 1)[0])
    return "rising" if slope > TREND_EPS else ("falling" if slope < -TREND_EPS else "flat")


def week_ago(store_dir: Path, days: int = 7, not_after: str | None = None) -> dict[str, float]:
    """Churn probability per account from the latest run scored at least ``days`` before the latest run.

    Args:
        store_dir: the store folder.
        days: how far back the comparison run must lie.
        not_after: the served store's data date (``as_of`` text): a run of later data (an earlier store was
            rebuilt as of an older date since) is no "before".

    Returns:
        Account -> that run's churn probability (empty when no run is old enough or there is no file).

    """
    path = scores_path(store_dir)
    if not path.is_file():
        return {}
    with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
        query = "SELECT scored_at, MAX(as_of) FROM scores GROUP BY scored_at ORDER BY scored_at"
        runs = con.execute(query).fetchall()
        if not runs:
            return {}
        cutoff = datetime.fromisoformat(runs[-1][0]) - timedelta(days=days)
        older = [
            at
            for at, data_date in runs
            if datetime.fromisoformat(at) <= cutoff and (not_after is None or data_date <= not_after)
        ]
        if not older:
            return {}
        rows = con.execute(
            "SELECT account_id, churn_probability FROM scores WHERE scored_at = ?", (older[-1],)
        ).fetchall()
    return {str(a): float(p) for a, p in rows}
