"""The attention a customer received: how survey answers follow the collaboration they actually experienced.

A customer answers a survey from what happened to them, not from our intentions: the satisfaction part of
collaboration is the number of customer interactions (any kind, with any of the account's contacts) in the
28 days before the answer, counted as the feature store counts ``customer_interactions_28d``: the 28 whole UTC
days before the answer's day plus that day up to the answer. The latent collaboration drivers decide how many
interactions happen; the count that results decides the answer.
"""

from __future__ import annotations

import numpy as np

WINDOW_DAYS = 28
# log(1 + count) - log(segment volume scale) has about this mean (and a standard deviation of about 1) in the
# default world
ATTENTION_CENTER = 4.8
_SHIFT = np.int64(2**33)  # room for any datetime64[s] of this century
# a window starts 28 days before its answer's day, and an answer in local time may fall a UTC day early
KEEP_DAYS = WINDOW_DAYS + 3


class RecentInteractions:
    """Start times of recent customer interactions, by account index, for windowed counts."""

    def __init__(self) -> None:
        self._keys = np.empty(0, dtype=np.int64)

    def add_month(self, month_start: np.datetime64, account: np.ndarray, started: np.ndarray) -> None:
        """Record a month's interactions (``account`` -1 for internal-only ones, which are ignored).

        Interactions that start before any window of this month's answers can reach are forgotten. The rest
        are kept by start time, not by the month that drew them: a reply can be sent weeks after its month.
        """
        keep = account >= 0
        seconds = started[keep].astype("datetime64[s]").astype(np.int64)
        keys = np.concatenate([self._keys, account[keep].astype(np.int64) * _SHIFT + seconds])
        oldest = (month_start.astype("datetime64[D]") - np.timedelta64(KEEP_DAYS, "D")).astype(
            "datetime64[s]"
        )
        self._keys = np.sort(keys[keys % _SHIFT >= oldest.astype(np.int64)])

    def count_before(self, account: np.ndarray, when: np.ndarray) -> np.ndarray:
        """Interactions of each ``account`` started in the window of ``WINDOW_DAYS`` days before ``when``."""
        day = when.astype("datetime64[D]")
        lo = (day - np.timedelta64(WINDOW_DAYS, "D")).astype("datetime64[s]").astype(np.int64)
        hi = when.astype("datetime64[s]").astype(np.int64)
        base = account.astype(np.int64) * _SHIFT
        return np.searchsorted(self._keys, base + hi, "left") - np.searchsorted(self._keys, base + lo, "left")


def attention_index(count: np.ndarray, volume_scale: np.ndarray) -> np.ndarray:
    """Standardised attention: log interactions relative to the account's segment volume."""
    return np.log1p(count) - np.log(volume_scale) - ATTENTION_CENTER
