"""Compiled passes that compute a block of window features without SQL: the per-contact windows.

The SQL of :mod:`features.engine.sql` defines every feature, and the Spark engine runs it as written. For the
per-contact windows (contacts, executives and decision makers reached over 28/90/180 days, the top contact's
share, the contacts of the 28 days before, the last executive contact), the DuckDB engine runs these passes
instead of the statements ``acc_ct_r`` ... ``acc_ct_agg``, which join every cutoff with each day of its
account's contacts over 180 days. The passes give the same values: ``tests/features/test_passes.py``
compares the two paths value for value, and the naive-reference and leakage property tests run both:

* :func:`day_order` orders the interactions by day (a counting sort);
* :func:`explode_rows` writes one row per (interaction, customer contact), as the engine's ``ix_contact``,
  each at its account's next place, so the rows come out ordered by account and day;
* :func:`sweep_rows` lets each cutoff read its account's rows of the last 180 days known before it, keeping
  per-contact sums in small arrays.

They are plain Python over numpy arrays, compiled by numba (:func:`compiled`, cached on disk) when the data
is big enough for that to pay (:mod:`features.engine.passes`); the tests also run them uncompiled.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np

US_PER_DAY = 86_400_000_000
MS_PER_MINUTE = 60_000.0
NULL_TS = np.iinfo(np.int64).min  # a missing timestamp in int64 microseconds
# The definitions' windows (features.engine.sql's WINDOWS, TREND_DAYS, PREV_TREND_START), written out here:
# numba freezes them into its cached code, and its cache sees changes to this file only. A test checks them.
WINDOWS = (28, 90, 180)
TREND_DAYS = 28
PREV_TREND_START = 56
N_WINDOWS = len(WINDOWS)
LOOKBACK = max(WINDOWS)
#: The columns :func:`sweep_rows` gives, as the statement ``acc_ct_agg`` names them.
CONTACT_COLUMNS = (
    *(f"contacts_reached_{w}d" for w in WINDOWS),
    *(f"executives_reached_{w}d" for w in WINDOWS),
    *(f"decision_makers_reached_{w}d" for w in WINDOWS),
    *(f"top_contact_share_{w}d" for w in WINDOWS),
    "contacts_reached_prev",
    "last_exec_ts",
)


def day_order(started: Any) -> Any:
    """The interactions' positions ordered by stamp day: a stable counting sort (no comparison sort).

    The explode kernels visit the interactions in this order, so their rows come out ordered by day.
    """
    day = started // US_PER_DAY
    first_day = day.min() if day.shape[0] else 0
    by_day = np.zeros(day.max() - first_day + 2 if day.shape[0] else 1, np.int64)
    for d in day:
        by_day[d - first_day + 1] += 1
    by_day = np.cumsum(by_day)
    order = np.empty(day.shape[0], np.int64)
    for i in range(day.shape[0]):
        order[by_day[day[i] - first_day]] = i
        by_day[day[i] - first_day] += 1
    return order


def explode_rows(ix: Any, ct: Any, visit: Any, n_accounts: int) -> Any:
    """One row per (interaction, customer contact), as the engine's ``ix_contact``, by account and day.

    Two passes over the interactions in day order: the first counts each account's rows, the second writes
    each row at its account's next place (a counting sort by account without a second copy of the rows).

    Args:
        ix: interactions: stamp and known time (us), minutes, organiser's contact code (-1: none), the
            external participants' contact codes (-1: not a contact) and their list offsets.
        ct: contacts: account code, recorded time (us, :data:`NULL_TS` when absent), executive flag.
        visit: the interactions' positions by day (:func:`day_order`).
        n_accounts: number of account codes.

    Returns:
        The rows' ``(contact, stamp, known, ms, executive)`` arrays, and each account's first row.

    """
    started, known, minutes, org, ext, offsets = ix
    acc_of, recorded, is_exec = ct
    first = np.zeros(n_accounts + 1, np.int64)
    out_ct, out_stamp, out_known = np.empty(0, np.int32), np.empty(0, np.int64), np.empty(0, np.int64)
    out_ms, out_exec = np.empty(0), np.empty(0, np.bool_)
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            lo, hi = offsets[i], offsets[i + 1]
            with_org = org[i] >= 0
            for j in range(lo, hi):
                if ext[j] == org[i]:
                    with_org = False
            # ROUND half away from zero, as the engine's exact(): durations are not negative; NULL adds 0
            ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
            for j in range(lo, hi + 1):
                c = ext[j] if j < hi else (org[i] if with_org else -1)
                if c < 0:
                    continue
                a = acc_of[c]
                if step == 0:
                    first[a + 1] += 1
                    continue
                r = at[a]
                out_ct[r], out_stamp[r], out_known[r] = c, started[i], max(known[i], recorded[c])
                out_ms[r], out_exec[r] = ms, is_exec[c]
                at[a] += 1
        if step == 0:
            first = np.cumsum(first)
            n = first[-1]
            out_ct, out_stamp, out_known = np.empty(n, np.int32), np.empty(n, np.int64), np.empty(n, np.int64)
            out_ms, out_exec = np.empty(n), np.empty(n, np.bool_)
    return (out_ct, out_stamp, out_known, out_ms, out_exec), first


def sweep_rows(rows: Any, first: Any, cuts: Any, is_dm: Any, n_contacts: int) -> Any:
    """Per-contact window figures of every cutoff (the 14 columns of :data:`CONTACT_COLUMNS`).

    Args:
        rows: the rows of :func:`explode_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).
        is_dm: decision-maker flag per contact code.
        n_contacts: number of contact codes.

    Returns:
        ``(reached, executives, decision makers, top share)`` as ``(cutoffs, N_WINDOWS)`` arrays (one column
        per window), the contacts of the 28 days before the last 28, and the last executive contact's time.

    """
    ct, stamp, known, ms, is_exec = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    reached, execs, dms = (
        np.zeros((n_cut, N_WINDOWS)),
        np.zeros((n_cut, N_WINDOWS)),
        np.zeros((n_cut, N_WINDOWS)),
    )
    share, before, last = np.full((n_cut, N_WINDOWS), np.nan), np.zeros(n_cut), np.full(n_cut, NULL_TS)
    cap = 1  # distinct contacts a cutoff can see: at most its account's rows, at most every contact
    for a in range(first.shape[0] - 1):
        cap = max(cap, min(first[a + 1] - first[a], n_contacts))
    slot, touched = np.full(n_contacts, -1, np.int64), np.empty(cap, np.int64)
    hours, seen = np.zeros((cap, N_WINDOWS)), np.zeros((cap, N_WINDOWS), np.bool_)
    prev, c_ex, c_dm = np.zeros(cap, np.bool_), np.zeros(cap, np.bool_), np.zeros(cap, np.bool_)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - LOOKBACK:
            lo += 1
        k, lx = 0, NULL_TS
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            sdn = stamp[j] // US_PER_DAY
            if known[j] < at:
                s = slot[ct[j]]
                if s < 0:
                    s = k
                    slot[ct[j]], touched[k] = s, ct[j]
                    k += 1
                    for q in range(N_WINDOWS):
                        hours[s, q], seen[s, q] = 0.0, False
                    prev[s], c_ex[s], c_dm[s] = False, is_exec[j], is_dm[ct[j]]
                for q in range(N_WINDOWS):
                    if sdn >= cdn - WINDOWS[q]:
                        hours[s, q] += ms[j]
                        seen[s, q] = True
                if cdn - PREV_TREND_START <= sdn < cdn - TREND_DAYS:
                    prev[s] = True
                if is_exec[j]:
                    lx = max(lx, stamp[j])
            j += 1
        for q in range(N_WINDOWS):
            tot, top, n, n_ex, n_dm = 0.0, 0.0, 0.0, 0.0, 0.0
            for s in range(k):
                tot += hours[s, q]
                if seen[s, q]:
                    n, n_ex, n_dm, top = n + 1.0, n_ex + c_ex[s], n_dm + c_dm[s], max(top, hours[s, q])
            reached[cid, q], execs[cid, q], dms[cid, q] = n, n_ex, n_dm
            if tot != 0.0:
                share[cid, q] = top / tot
        for s in range(k):
            before[cid] += prev[s]
            slot[touched[s]] = -1
        last[cid] = lx
    return (reached, execs, dms, share), before, last


KERNELS = (day_order, explode_rows, sweep_rows)


@cache
def compiled() -> dict[str, Any] | None:
    """The kernels compiled by numba, or None when numba is not installed.

    The compiled code is cached on disk beside this module (or in numba's user-wide cache, or
    ``NUMBA_CACHE_DIR``) for the next run; where no folder can be written, each run compiles it again.
    """
    try:
        import numba
    except ImportError:
        return None
    try:
        return {f.__name__: numba.njit(cache=True)(f) for f in KERNELS}
    except RuntimeError:  # "cannot cache function ...: no locator available" (nowhere to write)
        return {f.__name__: numba.njit(f) for f in KERNELS}


def plain() -> dict[str, Any]:
    """The kernels uncompiled: for small data, where compiling would take longer than running."""
    return {f.__name__: f for f in KERNELS}
