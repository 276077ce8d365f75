"""Labelled example frames: CSAT (one row per survey response) and churn (monthly account snapshots)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import pandas as pd

#: The event stamp of each event table (the data's time span is taken over these). The contract marks the same
#: columns (``ColumnSpec.event_stamp``); a test keeps the two equal. Kept literal so that importing the build
#: (and with it the Spark backend) does not import the schemas' validation library.
EVENT_STAMPS: dict[str, str] = {
    "interactions": "started_at",
    "tickets": "opened_at",
    "usage": "date",
    "invoices": "issued_at",
    "surveys": "responded_at",
    "renewals": "renewal_date",
}
FRAME_COLUMNS = ["example_id", "account_id", "as_of", "label"]
#: How far after now an event stamp still counts towards the data's time span: naive local times exported as
#: UTC can run up to 14 hours ahead; anything later (a meeting scheduled, a renewal signed ahead, a 2099 typo)
#: is kept, read by features only as of later dates, and left out of the span.
FUTURE_TOLERANCE = timedelta(days=1)


def latest_stamp(now: datetime | None = None) -> pd.Timestamp:
    """The latest event stamp that counts towards the data's time span: :data:`FUTURE_TOLERANCE` after now.

    Args:
        now: the moment (naive UTC, or aware); default the current time.

    Returns:
        A naive UTC timestamp, cut to the second.

    """
    moment = pd.Timestamp(now if now is not None else datetime.now(UTC))
    if moment.tzinfo is not None:
        moment = moment.tz_convert(UTC).tz_localize(None)
    return (moment + FUTURE_TOLERANCE).floor("s")


def data_span(
    tables: Mapping[str, pd.DataFrame], now: datetime | None = None
) -> tuple[pd.Timestamp, pd.Timestamp] | None:
    """First and last event stamp of the data, or ``None`` when there are no events.

    The end is the last stamp over all event tables, leaving out stamps after :func:`latest_stamp` (events not
    yet happened, or mistyped years). The start is the first stamp over the activity tables (all but renewals,
    whose history may reach back years before any other record); renewals only when no other event table
    has rows.

    Args:
        tables: the contract tables.
        now: the moment stamps may not pass by more than :data:`FUTURE_TOLERANCE`; default the current time.

    Returns:
        ``(first, last)``, or ``None``.

    """
    limit = latest_stamp(now)
    lows: dict[str, pd.Timestamp] = {}
    highs: list[pd.Timestamp] = []
    for name, col in EVENT_STAMPS.items():
        df = tables.get(name)
        if df is not None and len(df) and col in df.columns:
            s = pd.to_datetime(df[col])  # min and max skip missing stamps; no copy without them
            low, high = s.min(), s.max()
            if pd.isna(low) or low > limit:
                continue
            lows[name] = low
            highs.append(high if high <= limit else s[s <= limit].max())
    if not highs:
        return None
    activity = [v for k, v in lows.items() if k != "renewals"]
    return min(activity or list(lows.values())), max(highs)


def csat_frame(surveys: pd.DataFrame) -> pd.DataFrame:
    """One example per survey response: ``as_of`` = responded_at, ``label`` = 1 when csat >= 4.

    Args:
        surveys: the contract's surveys table.

    Returns:
        ``example_id`` (the response_id), ``account_id``, ``as_of``, ``label`` sorted by time.

    """
    out = pd.DataFrame(
        {
            "example_id": surveys["response_id"].astype(str),
            "account_id": surveys["account_id"].astype(str),
            "as_of": pd.to_datetime(surveys["responded_at"]).astype("datetime64[us]"),
            "label": (surveys["csat"] >= 4).astype("int64"),
        }
    )
    return out.sort_values(["as_of", "example_id"], kind="stable").reset_index(drop=True)


def snapshot_dates(start: pd.Timestamp, end: pd.Timestamp, horizon_days: int) -> list[pd.Timestamp]:
    """First days of months from ``start`` on whose horizon ends by ``end`` (label fully observed)."""
    first = pd.Timestamp(start).normalize()
    first = first if first.day == 1 else (first + pd.offsets.MonthBegin(1))
    dates = []
    cur = first
    while cur + pd.Timedelta(days=horizon_days) <= end:
        dates.append(cur)
        cur = cur + pd.offsets.MonthBegin(1)
    return dates


def churn_frame(
    accounts: pd.DataFrame,
    renewals: pd.DataFrame,
    horizon_days: int,
    span: tuple[pd.Timestamp, pd.Timestamp],
) -> pd.DataFrame:
    """One example per active account per monthly snapshot.

    ``label`` = 1 when a renewal with outcome ``churned`` falls in (as_of, as_of + horizon_days]. Only
    snapshots
    whose horizon ends on or before the end of the data, and only accounts active at the snapshot: customer
    since
    on or before it, and no churned renewal on or before it (a churn on the snapshot day itself ends the
    account).

    Args:
        accounts: the contract's accounts table.
        renewals: the contract's renewals table.
        horizon_days: label horizon after each snapshot.
        span: first and last event stamp of the data (:func:`data_span`).

    Returns:
        ``example_id`` (``account_id@YYYY-MM-DD``), ``account_id``, ``as_of``, ``label``.

    """
    dates = snapshot_dates(span[0], span[1], horizon_days)
    if not dates:
        return pd.DataFrame(
            {
                c: pd.Series(dtype=t)
                for c, t in zip(FRAME_COLUMNS, ["str", "str", "datetime64[us]", "int64"], strict=True)
            }
        )
    acc = pd.DataFrame(
        {
            "account_id": accounts["account_id"].astype(str),
            "since": pd.to_datetime(accounts["customer_since"]),
        }
    )
    churn = renewals[renewals["outcome"] == "churned"]
    churn = pd.DataFrame(
        {"account_id": churn["account_id"].astype(str), "churn_at": pd.to_datetime(churn["renewal_date"])}
    )
    grid = acc.merge(pd.DataFrame({"as_of": pd.to_datetime(pd.Series(dates))}), how="cross")
    grid = grid[grid["since"] <= grid["as_of"]]
    pairs = grid[["account_id", "as_of"]].merge(churn, on="account_id", how="left")
    horizon = pd.Timedelta(days=horizon_days)
    pairs["before"] = pairs["churn_at"] <= pairs["as_of"]
    pairs["inside"] = (pairs["churn_at"] > pairs["as_of"]) & (pairs["churn_at"] <= pairs["as_of"] + horizon)
    agg = pairs.groupby(["account_id", "as_of"], as_index=False)[["before", "inside"]].any()
    agg = agg[~agg["before"]]
    out = pd.DataFrame(
        {
            "example_id": agg["account_id"] + "@" + agg["as_of"].dt.strftime("%Y-%m-%d"),
            "account_id": agg["account_id"].astype(str),
            "as_of": agg["as_of"].astype("datetime64[us]"),
            "label": agg["inside"].astype("int64"),
        }
    )
    return out.sort_values(["as_of", "account_id"], kind="stable").reset_index(drop=True)
