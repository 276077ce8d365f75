"""Live features at another date: the feature store's own definitions, run on demand for a few accounts.

The online store holds each account's features as of one date. When a caller asks for another date, the
service computes the features of just the requested accounts from the raw tables, with the same engine and
definitions as ``csat features build``. The raw tables are loaded and validated once per worker, on the first
such request (the contract loader's rejects go to a temporary folder: serving writes nothing).
"""

from __future__ import annotations

import logging
import tempfile
import threading
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pandas as pd
from rich.console import Console

from csat.settings import Settings

log = logging.getLogger("csat.serving")

#: Tables whose rows belong to one account (``account_id``); the rest are kept whole.
ACCOUNT_TABLES = ("accounts", "contacts", "tickets", "usage", "invoices", "surveys", "renewals")


def _people(ix: pd.DataFrame, column: str) -> pd.DataFrame:
    """``row`` (position in ``ix``, default index) and ``person`` of a list column, and the organiser."""
    exploded = ix[column].explode()
    return pd.concat(
        [
            pd.DataFrame({"row": exploded.index.to_numpy(), "person": exploded.to_numpy()}),
            pd.DataFrame({"row": np.arange(len(ix)), "person": ix["organizer_id"].to_numpy()}),
        ],
        ignore_index=True,
    ).dropna()


@dataclass(frozen=True)
class InteractionIndex:
    """Who each interaction touches: ``accounts`` (row, account_id) and ``employees`` (row, person)."""

    accounts: pd.DataFrame
    employees: pd.DataFrame

    @classmethod
    def of(cls, tables: Mapping[str, pd.DataFrame]) -> InteractionIndex:
        """Index the interactions of the contract tables (contacts map people to accounts)."""
        ix = tables["interactions"].reset_index(drop=True)
        contact_account = tables["contacts"].set_index("contact_id")["account_id"].astype(str)
        ext = _people(ix, "external_participants")
        ext["account_id"] = ext["person"].map(contact_account)
        accounts = ext.dropna(subset=["account_id"])[["row", "account_id"]].drop_duplicates()
        employees = _people(ix, "internal_participants")
        employees = employees[~employees["person"].isin(contact_account.index)].drop_duplicates()
        return cls(accounts, employees)

    def rows_for(self, account_ids: Collection[str]) -> np.ndarray:
        """Interactions the features of these accounts can depend on.

        Those touching the accounts, and every interaction of an employee who took part in one of them (the
        account team's internal network counts their colleagues across all their work).
        """
        ids = set(map(str, account_ids))
        mine = self.accounts.loc[self.accounts["account_id"].isin(ids), "row"].unique()
        team = self.employees.loc[self.employees["row"].isin(mine), "person"].unique()
        theirs = self.employees.loc[self.employees["person"].isin(team), "row"].unique()
        return np.union1d(mine, theirs)


def account_slice(
    tables: Mapping[str, pd.DataFrame], account_ids: Collection[str], index: InteractionIndex | None
) -> dict[str, pd.DataFrame]:
    """The rows the features of ``account_ids`` can depend on.

    Account tables keep the requested accounts' rows; interactions keep :meth:`InteractionIndex.rows_for`;
    employees stay whole.

    Args:
        tables: contract tables as the loader returns them.
        account_ids: the accounts to keep.
        index: the interaction index of the same tables (``None`` when there are no interactions).

    Returns:
        The sliced tables (same names).

    """
    ids = set(map(str, account_ids))
    out: dict[str, pd.DataFrame] = {}
    for name, df in tables.items():
        out[name] = df[df["account_id"].astype(str).isin(ids)] if name in ACCOUNT_TABLES else df
    if "interactions" in tables and index is not None:
        out["interactions"] = tables["interactions"].iloc[index.rows_for(ids)]
    return out


class LiveFeatures:
    """Features of chosen accounts as of any date, from the raw tables of ``settings.data_dir``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._tables: dict[str, pd.DataFrame] | None = None
        self._index: InteractionIndex | None = None
        self._accounts: frozenset[str] = frozenset()
        self._lock = threading.Lock()
        self._loader: threading.Thread | None = None
        self._state = threading.Lock()  # guards ``_loader``; ``_lock`` is held for a whole load
        self.last_error: str | None = None  # why the last load failed (a later request tries again)
        self.first_event: pd.Timestamp | None = None  # the raw data's first event stamp, once loaded

    @property
    def loaded(self) -> bool:
        """Whether the raw tables are in memory."""
        return self._tables is not None

    def preload(self) -> None:
        """Start loading the raw tables in a background thread; requests meanwhile are told to retry."""
        with self._state:
            if self._loader is None and self._tables is None and self.available:
                self._loader = threading.Thread(target=self._load_quietly, name="csat-live-load", daemon=True)
                self._loader.start()

    def wait(self, seconds: float) -> bool:
        """Start the load if needed and wait for it at most ``seconds``; whether the tables are in memory."""
        self.preload()
        loader = self._loader
        if loader is not None and not self.loaded:
            loader.join(timeout=seconds)
        return self.loaded

    def _load_quietly(self) -> None:
        try:
            self.tables()
        except Exception as err:  # logged once per new reason; a later request retries the load
            if str(err) != self.last_error:
                log.error("loading the raw tables for scoring at another date failed: %s", err)
            with self._state:
                self.last_error = str(err)
                self._loader = None
        else:
            self.last_error = None

    @property
    def available(self) -> bool:
        """Whether the raw tables are there to compute from."""
        return Path(self.settings.data_dir).is_dir()

    def tables(self) -> dict[str, pd.DataFrame]:
        """The validated raw tables, loaded once (thread-safe)."""
        with self._lock:
            if self._tables is None:
                from features.contract import load_contract
                from features.labels import data_span

                with tempfile.TemporaryDirectory(prefix="csat-live-") as tmp:
                    loaded = load_contract(
                        Path(self.settings.data_dir),
                        self.settings,
                        rejects_dir=Path(tmp),
                        console=Console(quiet=True),
                    )
                tables = dict(loaded.tables)
                span = data_span(tables)
                self.first_event = span[0] if span is not None else None
                self._accounts = frozenset(tables["accounts"]["account_id"].astype(str))
                if "interactions" in tables and "contacts" in tables:
                    self._index = InteractionIndex.of(tables)
                self._tables = tables  # last: ``loaded`` (what requests wait for) means all of the above
            return self._tables

    def frame(self, account_ids: list[str], as_of: date | datetime | str) -> pd.DataFrame:
        """Store-format rows (``account_id``, ``as_of``, features) for the accounts, as of the cutoff.

        Args:
            account_ids: accounts to compute (each must exist in the raw accounts table).
            as_of: the cutoff; only data stamped and recorded strictly before it is used.

        Returns:
            One row per account, in the order given.

        """
        from features.build import build_frames, online_cutoff

        cutoff = online_cutoff(as_of)
        tables = account_slice(self.tables(), account_ids, self._index)
        entities = pd.DataFrame({"account_id": [str(a) for a in account_ids], "as_of": cutoff})
        return build_frames(tables, {"live": entities}, self.settings, engine="duckdb")["live"]

    def known(self, account_ids: Collection[str]) -> set[str]:
        """Which of the accounts exist in the raw accounts table."""
        self.tables()
        return set(map(str, account_ids)) & self._accounts
