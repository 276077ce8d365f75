"""The prototype's kernels (issue #3): plain Python over numpy arrays, compiled by numba at scale.

From the interactions file to the per-contact windows of every cutoff, in three passes:

1. :func:`explode_rows` - one row per (interaction, customer contact), as the engine's ``ix_contact``: the
   external participants that are contacts, and the organiser when a contact outside that list.
2. :func:`order_rows` - the rows ordered by account, then stamp day (two counting sorts, no comparison sort).
3. :func:`sweep_rows` - each cutoff reads its account's rows of the last :data:`LOOKBACK` days known before
   it, with per-contact sums in small arrays (no join is materialised).

Each function is self-contained (numba compiles each on its own) and is tested uncompiled against the SQL.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from features.engine.sql import PREV_TREND_START, TREND_DAYS, WINDOWS

US_PER_DAY = 86_400_000_000
MS_PER_MINUTE = 60_000.0
NULL_TS = np.iinfo(np.int64).min  # a missing timestamp in int64 microseconds
MAX_CONTACTS = 4096  # contacts of one account in one cutoff's 180 days (the scale world: under 100); checked
LOOKBACK = max(WINDOWS)


def explode_rows(ix: Any, ct: Any) -> Any:
    """One row per (interaction, customer contact), in file order, as the engine's ``ix_contact``.

    Args:
        ix: interactions: stamp and known time (us), minutes, organiser's contact code (-1: none), the
            external participants' contact codes (-1: not a contact) and their list offsets.
        ct: contacts: account code, recorded time (us, :data:`NULL_TS` when absent), executive flag.

    Returns:
        The rows' ``(contact, stamp, known, ms, executive, account)`` arrays.

    Unlike the SQL, an organiser who is a contact counts when the participants' list is NULL (the SQL's
    ``NOT ARRAY_CONTAINS`` is NULL there); the simulator writes no NULL lists.

    """
    started, known, minutes, org, ext, offsets = ix
    acc_of, recorded, is_exec = ct
    n = ext.shape[0] + started.shape[0]  # at most every participant and every organiser
    out_ct, out_stamp, out_known = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    out_ms, out_exec, out_acc = np.empty(n), np.empty(n, np.bool_), np.empty(n, np.int64)
    r = 0
    for i in range(started.shape[0]):
        lo, hi = offsets[i], offsets[i + 1]
        with_org = org[i] >= 0
        for j in range(lo, hi):
            if ext[j] == org[i]:
                with_org = False
        # ROUND half away from zero, as the engine's exact(): durations are not negative; NULL adds nothing
        ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
        for j in range(lo, hi + 1):
            c = ext[j] if j < hi else (org[i] if with_org else -1)
            if c >= 0:
                out_ct[r], out_stamp[r], out_known[r] = c, started[i], max(known[i], recorded[c])
                out_ms[r], out_exec[r], out_acc[r] = ms, is_exec[c], acc_of[c]
                r += 1
    return out_ct[:r], out_stamp[:r], out_known[:r], out_ms[:r], out_exec[:r], out_acc[:r]


def order_rows(rows: Any, n_accounts: int) -> Any:
    """The rows ordered by account, then stamp day: two stable counting sorts (day first, then account).

    Returns:
        The ordered ``(contact, stamp, known, ms, executive)`` arrays, and the ``n_accounts + 1`` offsets of
        each account's first row.

    """
    acc, day = rows[5], rows[1] // US_PER_DAY
    first_day = day.min() if day.shape[0] else 0
    by_day = np.zeros(day.max() - first_day + 2 if day.shape[0] else 1, np.int64)
    for d in day:
        by_day[d - first_day + 1] += 1
    by_day = np.cumsum(by_day)
    days_order = np.empty(day.shape[0], np.int64)
    for r in range(day.shape[0]):
        days_order[by_day[day[r] - first_day]] = r
        by_day[day[r] - first_day] += 1
    first = np.zeros(n_accounts + 1, np.int64)
    for a in acc:
        first[a + 1] += 1
    first = np.cumsum(first)
    at, order = first[:-1].copy(), np.empty(acc.shape[0], np.int64)
    for r in days_order:
        order[at[acc[r]]] = r
        at[acc[r]] += 1
    return (rows[0][order], rows[1][order], rows[2][order], rows[3][order], rows[4][order]), first


def sweep_rows(rows: Any, first: Any, cuts: Any, is_dm: Any, n_contacts: int) -> Any:
    """Per-contact window figures of every cutoff (the 14 columns of :data:`bench.prototype_sweep.COLUMNS`).

    Args:
        rows: the ordered rows of :func:`order_rows`.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).
        is_dm: decision-maker flag per contact code.
        n_contacts: number of contact codes.

    Returns:
        ``(reached, executives, decision makers, top share)`` as ``(cutoffs, 3)`` arrays (one column per
        window), the contacts of the 28 days before the last 28, and the last executive contact's time.

    """
    ct, stamp, known, ms, is_exec = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    reached, execs, dms = np.zeros((n_cut, 3)), np.zeros((n_cut, 3)), np.zeros((n_cut, 3))
    share, before, last = np.full((n_cut, 3), np.nan), np.zeros(n_cut), np.full(n_cut, NULL_TS)
    slot, touched = np.full(n_contacts, -1, np.int64), np.empty(MAX_CONTACTS, np.int64)
    hours, seen = np.zeros((MAX_CONTACTS, 3)), np.zeros((MAX_CONTACTS, 3), np.bool_)
    prev, c_ex, c_dm = (
        np.zeros(MAX_CONTACTS, np.bool_),
        np.zeros(MAX_CONTACTS, np.bool_),
        np.zeros(MAX_CONTACTS, np.bool_),
    )
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
                    if k == MAX_CONTACTS:
                        raise ValueError("an account has more contacts in one window than MAX_CONTACTS")
                    s = k
                    slot[ct[j]], touched[k] = s, ct[j]
                    k += 1
                    for q in range(3):
                        hours[s, q], seen[s, q] = 0.0, False
                    prev[s], c_ex[s], c_dm[s] = False, is_exec[j], is_dm[ct[j]]
                for q in range(3):
                    if sdn >= cdn - WINDOWS[q]:
                        hours[s, q] += ms[j]
                        seen[s, q] = True
                if cdn - PREV_TREND_START <= sdn < cdn - TREND_DAYS:
                    prev[s] = True
                if is_exec[j]:
                    lx = max(lx, stamp[j])
            j += 1
        for q in range(3):
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


def compiled() -> dict[str, Any]:
    """The kernels compiled by numba (the prototype's own dependency; ``make bench-prototype`` installs it).

    Raises:
        SystemExit: numba is not installed.

    """
    try:
        import numba
    except ImportError:
        raise SystemExit(
            "the prototype needs numba: run it with `make bench-prototype`, which installs it"
        ) from None
    return {f.__name__: numba.njit(cache=True)(f) for f in (explode_rows, order_rows, sweep_rows)}


def plain() -> dict[str, Any]:
    """The kernels uncompiled (tests run them on tiny worlds)."""
    return {f.__name__: f for f in (explode_rows, order_rows, sweep_rows)}
