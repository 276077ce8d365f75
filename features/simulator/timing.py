"""Timestamps for simulated events: working hours or after-hours in a local timezone, stored as naive UTC."""

from __future__ import annotations

import numpy as np
import pandas as pd

HOUR = np.timedelta64(3600, "s")


def month_days(month_start: pd.Timestamp, first_days: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """The weekdays and the weekend days of a month (or of its first ``first_days`` days), as midnights."""
    last = month_start + pd.offsets.MonthEnd(0)
    if first_days is not None:
        last = min(last, month_start + pd.Timedelta(days=first_days - 1))
    days = pd.date_range(month_start, last, freq="D")
    weekday = days.dayofweek < 5
    return days[weekday].to_numpy().astype("datetime64[s]"), days[~weekday].to_numpy().astype("datetime64[s]")


def local_times(
    rng: np.random.Generator,
    month_start: pd.Timestamp,
    after_hours: np.ndarray,
    first_days: int | None = None,
) -> np.ndarray:
    """Local wall-clock times in a month: 08:00-17:00 on weekdays, or after hours (evenings, weekends).

    Args:
        rng: the random stream.
        month_start: first day of the month.
        after_hours: per event, whether it happens outside working hours.
        first_days: only in the month's first days (a survey campaign), instead of the whole month.

    Returns:
        Naive local times (datetime64[s]).

    """
    weekdays, weekends = month_days(month_start, first_days)
    if not len(weekdays):  # a window of weekend days only: they are the working days of the campaign
        weekdays, weekends = weekends, weekends[:0]
    n = len(after_hours)
    weekend = after_hours & (rng.random(n) < 0.4) & (len(weekends) > 0)
    day = weekdays[rng.integers(0, len(weekdays), n)]
    if len(weekends):
        day = np.where(weekend, weekends[rng.integers(0, len(weekends), n)], day)
    hours = np.where(after_hours & ~weekend, rng.uniform(17.25, 22.5, n), rng.uniform(8.0, 16.75, n))
    return day + (hours * 3600).astype(np.int64).astype("timedelta64[s]")


def to_utc(local: np.ndarray, timezones: np.ndarray) -> np.ndarray:
    """Convert naive local times, each in its own IANA timezone, to naive UTC (datetime64[s])."""
    out = np.empty(len(local), dtype="datetime64[s]")
    for tz in np.unique(timezones):
        mask = timezones == tz
        idx = pd.DatetimeIndex(local[mask])
        aware = idx.tz_localize(
            str(tz), ambiguous=np.zeros(len(idx), dtype=bool), nonexistent="shift_forward"
        )
        out[mask] = aware.tz_convert("UTC").tz_localize(None).to_numpy().astype("datetime64[s]")
    return out
