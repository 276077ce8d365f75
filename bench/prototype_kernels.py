"""The prototype's kernels (issue #3): plain Python over numpy arrays, compiled by numba at scale.

:func:`day_order` orders the interactions by day (a counting sort, no comparison sort) and
:func:`interaction_accounts` gives the accounts of each interaction and when each became known (the
engine's ``ix_account``). Then each block of features takes two passes: an explode kernel visits the
interactions by day and writes each row at its account's next place (the network: its employee's), so its
rows come out ordered by account and day without a second copy; and a sweep lets each cutoff read its
account's rows of the window's days known before it (no join is materialised):

* the per-contact windows: :func:`explode_rows` gives one row per (interaction, customer contact), as the
  engine's ``ix_contact`` (the external participants that are contacts, and the organiser when a contact
  outside that list); :func:`sweep_rows` keeps per-contact sums in small arrays. These two and
  :func:`day_order` are the product's now (:mod:`features.engine.kernels`, the DuckDB engine's compiled
  passes, fed from the prepared tables, where a null participants' list leaves its organiser out as in the
  SQL); the prototype imports them from there;
* the per-employee windows: :func:`explode_employee_rows` gives one row per (interaction, account,
  employee) with its after-hours time (the engine's ``acc_emp_r``); :func:`sweep_employee_rows`;
* relationships: :func:`explode_pair_rows` gives one row per (meaningful interaction, contact, employee)
  (the engine's ``acc_pair_r``); :func:`sweep_pair_rows` counts each pair's interactions in 28 days;
* the internal network: :func:`team_rows` gives each cutoff's employees engaged in 28 days,
  :func:`explode_network_rows` one row per (meaningful interaction, employee, other employee) by employee
  and day (the engine's ``emp_pair_r``), and :func:`network_sizes` each team member's relationships with
  colleagues as of the cutoff's day;
* responsiveness: :func:`outbound_emails` gives our employees' emails to each contact by contact and day
  (the engine's ``outbound``), :func:`reply_rows` each inbound email and the steps by which its reply delay,
  as known, falls (the engine's ``resp_r``), and :func:`sweep_reply_rows` their sums per window class;
* the account's totals: :func:`count_people` gives each interaction's distinct people (the engine's
  ``n_people``), :func:`account_rows` one row per (interaction, account) with its measures (the engine's
  ``acc_ix_r``), and :func:`sweep_account_rows` their sums per window class.

Each function is self-contained (numba compiles each on its own; the participants' loop is repeated in each
rather than shared, as numba did not make calls between kernels cheap) and is tested uncompiled against the
SQL. The files must be valid (the product's loader rejects what would differ): for instance an organiser
who is a contact counts here when a participants' list is NULL (the SQL's ``NOT ARRAY_CONTAINS`` is NULL
there), and an id that is both a contact and an employee counts twice among an interaction's people.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np

from features.engine.kernels import (  # the product's per-contact passes: the prototype's first block
    EXPLODES,
    LOOKBACK,
    MS_PER_MINUTE,
    NULL_TS,
    US_PER_DAY,
    day_order,
    explode_rows_step,
    sweep_rows,
    two_steps,
)
from features.engine.sql import (
    CLASS_EDGES,
    MEANINGFUL_MAX_PEOPLE,
    MIN_GROUP,
    PREV_TREND_START,
    TREND_DAYS,
    WINDOWS,
)

MAX_EMPLOYEES = 4096  # our employees on one account in one cutoff's 180 days; checked likewise
MAX_PAIR_SIDE = 512  # contacts, and employees, of one account's relationship pairs in 28 days; checked
RELATION_DAYS = 28  # a relationship: at least RELATION_MIN meaningful interactions in this many days
RELATION_MIN = 2
TEAM_DAYS = 28  # the engine's team of a cutoff: our employees seen on the account in the last 28 days
US_PER_HOUR = 3_600_000_000
WORK_HOURS = (8, 17)  # Monday to Friday, local time: the contract's working hours
REPLY_DAYS = 7  # a reply to an inbound email counts within this many days (the engine's REPLY_WINDOW_DAYS)
FAST_REPLY_S = 24 * 3600  # a reply within 24 hours is fast
US_PER_S = 1_000_000
REPLY_MEASURES = ("n_in", "d_delay", "d_replied", "d_fast")  # :func:`reply_rows`' measures
KINDS = ("email", "meeting", "call")  # interaction kinds with sums of their own; codes 0, 1, 2 (others: 3)
MEASURES = ("n", "ms", *(f"{k}_ms" for k in KINDS), "meaningful_ms")  # :func:`sweep_account_rows`' sums


def lookup_codes(indices: Any, table: Any) -> Any:
    """``table[indices]`` as int64, -1 where an index is negative (a NULL): dictionary indices to codes."""
    out = np.empty(indices.shape[0], np.int64)
    for j in range(indices.shape[0]):
        out[j] = table[indices[j]] if indices[j] >= 0 else -1
    return out


def interaction_accounts(ix: Any, ct: Any) -> Any:
    """The accounts of each interaction and when each became known, as the engine's ``ix_account``.

    An account takes part through its contacts (the external participants, and the organiser when a contact
    outside that list); it is known once the first of them is (the interaction's known time or the contact's
    ``recorded_at``, the later).

    Args:
        ix: interactions, as for :func:`explode_rows`.
        ct: contacts: account code and recorded time (us, :data:`NULL_TS` when absent).

    Returns:
        ``(offsets, account, known)``: interaction ``i``'s accounts are rows ``offsets[i]:offsets[i + 1]``.

    """
    started, known, _, org, ext, offsets = ix
    acc_of, recorded = ct[0], ct[1]
    n = started.shape[0]
    out_off, out_acc, out_known = (
        np.zeros(n + 1, np.int64),
        np.empty(ext.shape[0] + n, np.int64),
        np.empty(ext.shape[0] + n, np.int64),
    )
    r = 0
    for i in range(n):
        lo, hi = offsets[i], offsets[i + 1]
        with_org = org[i] >= 0
        for j in range(lo, hi):
            if ext[j] == org[i]:
                with_org = False
        for j in range(lo, hi + 1):
            c = ext[j] if j < hi else (org[i] if with_org else -1)
            if c < 0:
                continue
            a, k = acc_of[c], max(known[i], recorded[c])
            q = out_off[i]
            while q < r and out_acc[q] != a:
                q += 1
            if q == r:
                out_acc[r], out_known[r] = a, k
                r += 1
            else:
                out_known[q] = min(out_known[q], k)
        out_off[i + 1] = r
    return out_off, out_acc[:r], out_known[:r]


def explode_employee_rows(ix: Any, accounts: Any, em: Any, zones: Any, visit: Any, n_accounts: int) -> Any:
    """One row per (interaction, account, employee), as the engine's ``acc_emp_r``, by account and day.

    Args:
        ix: interactions: stamp and known time (us), minutes, organiser's employee code (-1: none), the
            internal participants' employee codes (-1: not an employee) and their list offsets.
        accounts: :func:`interaction_accounts` of the same interactions.
        em: employees: recorded time (us, :data:`NULL_TS` when absent) and time-zone code.
        zones: ``(first, step, offsets)``: each zone's UTC offset (us) at ``first + k * step`` for every
            ``k`` over the interactions' span (offsets change on those steps only).
        visit: the interactions' positions by day (:func:`day_order`).
        n_accounts: number of account codes.

    Returns:
        The rows' ``(employee, stamp, known, ms, after-hours ms)`` arrays, and each account's first row
        (two passes, as :func:`explode_rows`).

    """
    started, known, minutes, org, inner, offsets = ix
    acc_off, acc, acc_known = accounts
    recorded, zone = em
    first_step, step_us, shift = zones
    first = np.zeros(n_accounts + 1, np.int64)
    out_em, out_stamp, out_known = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    out_ms, out_ah = np.empty(0), np.empty(0)
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            if acc_off[i + 1] == acc_off[i]:
                continue
            lo, hi = offsets[i], offsets[i + 1]
            with_org = org[i] >= 0
            for j in range(lo, hi):
                if inner[j] == org[i]:
                    with_org = False
            ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
            for j in range(lo, hi + 1):
                e = inner[j] if j < hi else (org[i] if with_org else -1)
                if e < 0:
                    continue
                if step == 0:
                    for q in range(acc_off[i], acc_off[i + 1]):
                        first[acc[q] + 1] += 1
                    continue
                local = started[i] + shift[zone[e], (started[i] - first_step) // step_us]
                weekday = (local // US_PER_DAY + 3) % 7  # 0 is Monday: day 0 (1970-01-01) was a Thursday
                hour = (local % US_PER_DAY) // US_PER_HOUR
                after = not (weekday < 5 and WORK_HOURS[0] <= hour < WORK_HOURS[1])
                for q in range(acc_off[i], acc_off[i + 1]):
                    r = at[acc[q]]
                    out_em[r], out_stamp[r] = e, started[i]
                    out_known[r] = max(acc_known[q], known[i], recorded[e])
                    out_ms[r], out_ah[r] = ms, ms if after else 0.0
                    at[acc[q]] += 1
        if step == 0:
            first = np.cumsum(first)
            n = first[-1]
            out_em, out_stamp, out_known = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
            out_ms, out_ah = np.empty(n), np.empty(n)
    return (out_em, out_stamp, out_known, out_ms, out_ah), first


def sweep_employee_rows(rows: Any, first: Any, cuts: Any, roles: Any, n_employees: int) -> Any:
    """Per-employee window figures of every cutoff (:data:`bench.prototype_sweep.EMPLOYEE_COLUMNS`).

    Args:
        rows: the rows of :func:`explode_employee_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).
        roles: per employee code, 1 for a manager, 2 for an executive, 0 otherwise.
        n_employees: number of employee codes.

    Returns:
        ``(engaged, manager, executive, after-hours share)`` as ``(cutoffs, 3)`` arrays (one column per
        window), and the engaged employees' change over the 28 days before the last 28.

    """
    em, stamp, known, ms, ah = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    engaged, manager, executive = np.zeros((n_cut, 3)), np.zeros((n_cut, 3)), np.zeros((n_cut, 3))
    share, trend = np.full((n_cut, 3), np.nan), np.zeros(n_cut)
    slot, touched = np.full(n_employees, -1, np.int64), np.empty(MAX_EMPLOYEES, np.int64)
    hours, after, seen = (
        np.zeros((MAX_EMPLOYEES, 3)),
        np.zeros((MAX_EMPLOYEES, 3)),
        np.zeros((MAX_EMPLOYEES, 3), np.bool_),
    )
    prev = np.zeros(MAX_EMPLOYEES, np.bool_)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - LOOKBACK:
            lo += 1
        k = 0
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            sdn = stamp[j] // US_PER_DAY
            if known[j] < at:
                s = slot[em[j]]
                if s < 0:
                    if k == MAX_EMPLOYEES:
                        raise ValueError("an account has more employees in one window than MAX_EMPLOYEES")
                    s = k
                    slot[em[j]], touched[k] = s, em[j]
                    k += 1
                    for q in range(3):
                        hours[s, q], after[s, q], seen[s, q] = 0.0, 0.0, False
                    prev[s] = False
                for q in range(3):
                    if sdn >= cdn - WINDOWS[q]:
                        hours[s, q] += ms[j]
                        after[s, q] += ah[j]
                        seen[s, q] = True
                if cdn - PREV_TREND_START <= sdn < cdn - TREND_DAYS:
                    prev[s] = True
            j += 1
        for q in range(3):
            tot, tot_ah, n = 0.0, 0.0, 0.0
            for s in range(k):
                tot, tot_ah = tot + hours[s, q], tot_ah + after[s, q]
                if seen[s, q]:
                    n += 1.0
                    role = roles[touched[s]]
                    manager[cid, q] = max(manager[cid, q], 1.0 if role == 1 else 0.0)
                    executive[cid, q] = max(executive[cid, q], 1.0 if role == 2 else 0.0)
            engaged[cid, q] = n
            if n >= MIN_GROUP and tot != 0.0:
                share[cid, q] = tot_ah / tot
        trend[cid] = engaged[cid, 0]
        for s in range(k):
            trend[cid] -= prev[s]
            slot[touched[s]] = -1
    return (engaged, manager, executive, share), trend


def count_people(org_known: Any, contacts: Any, employees: Any) -> Any:
    """Distinct people of each interaction: organiser and participants (the engine's ``n_people``).

    Args:
        org_known: whether the organiser is given (not NULL).
        contacts: ``(organiser, participants, offsets)`` as contact codes (-1: not a contact).
        employees: the same as employee codes.

    Returns:
        The count per interaction. An identifier that is neither a contact nor an employee counts only as
        the organiser (the loader rejects such participants).

    """
    org_ct, ext, ext_off = contacts
    org_em, inner, in_off = employees
    n = org_ct.shape[0]
    out = np.zeros(n, np.int64)
    longest = 1
    for i in range(n):
        longest = max(longest, ext_off[i + 1] - ext_off[i] + in_off[i + 1] - in_off[i] + 1)
    keys = np.empty(longest, np.int64)
    for i in range(n):
        k = 0
        if org_ct[i] >= 0:
            keys[0], k = org_ct[i], 1
        elif org_em[i] >= 0:
            keys[0], k = -2 - org_em[i], 1
        elif org_known[i]:
            keys[0], k = -1, 1  # no participant has key -1: the organiser is counted once
        for j in range(ext_off[i], ext_off[i + 1] + in_off[i + 1] - in_off[i]):
            key = ext[j] if j < ext_off[i + 1] else -2 - inner[j - ext_off[i + 1] + in_off[i]]
            if key == -1:  # not a contact, not an employee
                continue
            new = True
            for q in range(k):
                if keys[q] == key:
                    new = False
            if new:
                keys[k] = key
                k += 1
        out[i] = k
    return out


def meaningful_interactions(kind: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Whether each interaction is meaningful: an email or meeting of at most 5 people (numpy, no kernel).

    Args:
        kind: kind codes (:data:`KINDS`' positions; 3 for any other).
        people: :func:`count_people` of the interactions.

    """
    return (kind <= KINDS.index("meeting")) & (people <= MEANINGFUL_MAX_PEOPLE)


def account_rows(ix: Any, kind: Any, meaningful: Any, accounts: Any, visit: Any, n_accounts: int) -> Any:
    """One row per (interaction, account) with its kind and whether it is meaningful, by account and day.

    One pass: the rows per account are the pairs of :func:`interaction_accounts`, counted beforehand.

    Args:
        ix: interactions, as for :func:`explode_rows` (stamp and minutes are read).
        kind: kind code per interaction (:data:`KINDS`' positions; 3 for any other).
        meaningful: :func:`meaningful_interactions` of the interactions.
        accounts: :func:`interaction_accounts` of the interactions.
        visit: the interactions' positions by day (:func:`day_order`).
        n_accounts: number of account codes.

    Returns:
        The rows' ``(kind, stamp, known, ms, meaningful)`` arrays (the engine's ``acc_ix_r``), and each
        account's first row.

    """
    started, minutes = ix[0], ix[2]
    acc_off, acc, acc_known = accounts
    first = np.zeros(n_accounts + 1, np.int64)
    for a in acc:
        first[a + 1] += 1
    first = np.cumsum(first)
    at = first[:-1].copy()
    n = acc.shape[0]
    out_kind, out_stamp, out_known = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    out_ms, out_mean = np.empty(n), np.empty(n, np.bool_)
    for i in visit:
        ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
        for q in range(acc_off[i], acc_off[i + 1]):
            r = at[acc[q]]
            out_kind[r], out_stamp[r], out_known[r] = kind[i], started[i], acc_known[q]
            out_ms[r], out_mean[r] = ms, meaningful[i]
            at[acc[q]] += 1
    return (out_kind, out_stamp, out_known, out_ms, out_mean), first


def sweep_account_rows(rows: Any, first: Any, cuts: Any) -> Any:
    """Each cutoff's sums of :data:`MEASURES` per window class, and its last meeting and interaction.

    Args:
        rows: the rows of :func:`account_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).

    Returns:
        ``(sums, last_meeting, last)``: ``sums[cutoff, c, m]`` sums measure ``m`` over the rows of window
        class ``c`` (class ``c`` holds the stamp days from ``CLASS_EDGES[c]`` days before the cutoff's day
        to the next edge), and the times (us) of the last meeting and the last interaction in the 180 days
        (:data:`NULL_TS`: none).

    """
    kind, stamp, known, ms, meaningful = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    sums = np.zeros((n_cut, len(CLASS_EDGES), len(MEASURES)))
    last_meeting, last = np.full(n_cut, NULL_TS), np.full(n_cut, NULL_TS)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - LOOKBACK:
            lo += 1
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            if known[j] < at:
                sdn = stamp[j] // US_PER_DAY
                c = 0
                while sdn < cdn - CLASS_EDGES[c]:
                    c += 1
                sums[cid, c, 0] += 1.0
                sums[cid, c, 1] += ms[j]
                if kind[j] <= 2:
                    sums[cid, c, 2 + kind[j]] += ms[j]
                if meaningful[j]:
                    sums[cid, c, 5] += ms[j]
                last[cid] = max(last[cid], stamp[j])
                if kind[j] == 1:
                    last_meeting[cid] = max(last_meeting[cid], stamp[j])
            j += 1
    return sums, last_meeting, last


def explode_pair_rows(ix: Any, people: Any, meaningful: Any, visit: Any, n_accounts: int) -> Any:
    """One row per (meaningful interaction, contact, employee), by account and day (``acc_pair_r``).

    Args:
        ix: interactions: stamp and known time (us), then the contact codes ``(organiser, participants,
            offsets)`` and the employee codes likewise.
        people: ``(account code, recorded time)`` of each contact, and the recorded time of each employee.
        meaningful: :func:`meaningful_interactions` of the interactions.
        visit: the interactions' positions by day (:func:`day_order`).
        n_accounts: number of account codes.

    Returns:
        The rows' ``(contact, stamp, known, employee)`` arrays, and each account's first row (two passes,
        as :func:`explode_rows`).

    """
    started, known, org_ct, ext, ext_off, org_em, inner, in_off = ix
    acc_of, ct_recorded, em_recorded = people
    first = np.zeros(n_accounts + 1, np.int64)
    out_ct, out_stamp, out_known = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    out_em = np.empty(0, np.int64)
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            if not meaningful[i]:
                continue
            ct_org, em_org = org_ct[i] >= 0, org_em[i] >= 0
            for j in range(ext_off[i], ext_off[i + 1]):
                if ext[j] == org_ct[i]:
                    ct_org = False
            for j in range(in_off[i], in_off[i + 1]):
                if inner[j] == org_em[i]:
                    em_org = False
            for j in range(ext_off[i], ext_off[i + 1] + 1):
                c = ext[j] if j < ext_off[i + 1] else (org_ct[i] if ct_org else -1)
                if c < 0:
                    continue
                a = acc_of[c]
                for h in range(in_off[i], in_off[i + 1] + 1):
                    e = inner[h] if h < in_off[i + 1] else (org_em[i] if em_org else -1)
                    if e < 0:
                        continue
                    if step == 0:
                        first[a + 1] += 1
                        continue
                    r = at[a]
                    out_ct[r], out_stamp[r], out_em[r] = c, started[i], e
                    out_known[r] = max(known[i], ct_recorded[c], em_recorded[e])
                    at[a] += 1
        if step == 0:
            first = np.cumsum(first)
            n = first[-1]
            out_ct, out_stamp, out_known = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
            out_em = np.empty(n, np.int64)
    return (out_ct, out_stamp, out_known, out_em), first


def sweep_pair_rows(rows: Any, first: Any, cuts: Any, n_contacts: int, n_employees: int) -> Any:
    """Each cutoff's relationships: (contact, employee) pairs with 2+ meaningful interactions in 28 days.

    Args:
        rows: the rows of :func:`explode_pair_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).
        n_contacts: number of contact codes.
        n_employees: number of employee codes.

    Returns:
        ``(relationships, contacts, employees)`` per cutoff: the pairs, and the contacts and the employees
        in at least one of them.

    """
    ct, stamp, known, em = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    rel, rel_ct, rel_em = np.zeros(n_cut), np.zeros(n_cut), np.zeros(n_cut)
    slot_ct, slot_em = np.full(n_contacts, -1, np.int64), np.full(n_employees, -1, np.int64)
    who_ct, who_em = np.empty(MAX_PAIR_SIDE, np.int64), np.empty(MAX_PAIR_SIDE, np.int64)
    in_ct, in_em = np.zeros(MAX_PAIR_SIDE, np.bool_), np.zeros(MAX_PAIR_SIDE, np.bool_)
    count = np.zeros((MAX_PAIR_SIDE, MAX_PAIR_SIDE), np.int64)
    touched = np.empty(MAX_PAIR_SIDE * MAX_PAIR_SIDE, np.int64)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - RELATION_DAYS:
            lo += 1
        n_ct, n_em, n_pairs = 0, 0, 0
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            if known[j] < at:
                if slot_ct[ct[j]] < 0:
                    if n_ct == MAX_PAIR_SIDE:
                        raise ValueError("an account has more contacts in 28 days than MAX_PAIR_SIDE")
                    slot_ct[ct[j]], who_ct[n_ct] = n_ct, ct[j]
                    n_ct += 1
                if slot_em[em[j]] < 0:
                    if n_em == MAX_PAIR_SIDE:
                        raise ValueError("an account has more employees in 28 days than MAX_PAIR_SIDE")
                    slot_em[em[j]], who_em[n_em] = n_em, em[j]
                    n_em += 1
                sc, se = slot_ct[ct[j]], slot_em[em[j]]
                if count[sc, se] == 0:
                    touched[n_pairs] = sc * MAX_PAIR_SIDE + se
                    n_pairs += 1
                count[sc, se] += 1
            j += 1
        for t in range(n_pairs):
            sc, se = touched[t] // MAX_PAIR_SIDE, touched[t] % MAX_PAIR_SIDE
            if count[sc, se] >= RELATION_MIN:
                rel[cid] += 1.0
                in_ct[sc], in_em[se] = True, True
            count[sc, se] = 0
        for s in range(n_ct):
            rel_ct[cid] += in_ct[s]
            in_ct[s], slot_ct[who_ct[s]] = False, -1
        for s in range(n_em):
            rel_em[cid] += in_em[s]
            in_em[s], slot_em[who_em[s]] = False, -1
    return rel, rel_ct, rel_em


def team_rows(rows: Any, first: Any, cuts: Any, n_employees: int) -> Any:
    """Each cutoff's team: our employees with an interaction on the account in the last 28 days.

    Args:
        rows: the rows of :func:`explode_employee_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).
        n_employees: number of employee codes.

    Returns:
        ``(cutoff, employee, day)`` per team member (the engine's ``team``), the day being the cutoff's.

    """
    em, stamp, known = rows[0], rows[1], rows[2]
    c_id, c_acc, c_at = cuts
    member = np.zeros(n_employees, np.bool_)
    who = np.empty(MAX_EMPLOYEES, np.int64)
    cap = c_id.shape[0] + 16
    out_cut, out_em, out_day = np.empty(cap, np.int64), np.empty(cap, np.int64), np.empty(cap, np.int64)
    r, lo = 0, 0
    for i in range(c_id.shape[0]):
        acc, at = c_acc[i], c_at[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - TEAM_DAYS:
            lo += 1
        k = 0
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            if known[j] < at and not member[em[j]]:
                if k == MAX_EMPLOYEES:
                    raise ValueError("an account has more employees in one window than MAX_EMPLOYEES")
                member[em[j]], who[k] = True, em[j]
                k += 1
            j += 1
        if r + k > cap:
            cap = 2 * (r + k)
            out_cut, out_em, out_day = (
                np.concatenate((out_cut[:r], np.empty(cap - r, np.int64))),
                np.concatenate((out_em[:r], np.empty(cap - r, np.int64))),
                np.concatenate((out_day[:r], np.empty(cap - r, np.int64))),
            )
        for s in range(k):
            out_cut[r], out_em[r], out_day[r] = c_id[i], who[s], cdn
            member[who[s]] = False
            r += 1
    return out_cut[:r], out_em[:r], out_day[:r]


def explode_network_rows(ix: Any, recorded: Any, meaningful: Any, visit: Any, n_employees: int) -> Any:
    """One row per (meaningful interaction, employee, other employee), by employee and day (``emp_pair_r``).

    Args:
        ix: interactions: stamp and known time (us), the organiser's employee code (-1: none), the internal
            participants' employee codes and their list offsets.
        recorded: each employee's recorded time (us, :data:`NULL_TS` when absent).
        meaningful: :func:`meaningful_interactions` of the interactions.
        visit: the interactions' positions by day (:func:`day_order`).
        n_employees: number of employee codes.

    Returns:
        The rows' ``(partner, stamp day, known day)`` arrays, and each employee's first row.

    """
    started, known, org, inner, offsets = ix
    first = np.zeros(n_employees + 1, np.int64)
    out_b, out_sdn, out_kdn = np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)
    for step in range(2):  # count each employee's rows, then place them
        at = first[:-1].copy()
        for i in visit:
            if not meaningful[i]:
                continue
            lo, hi = offsets[i], offsets[i + 1]
            with_org = org[i] >= 0
            for j in range(lo, hi):
                if inner[j] == org[i]:
                    with_org = False
            for j in range(lo, hi + 1):
                a = inner[j] if j < hi else (org[i] if with_org else -1)
                if a < 0:
                    continue
                for h in range(lo, hi + 1):
                    b = inner[h] if h < hi else (org[i] if with_org else -1)
                    if b < 0 or b == a:
                        continue
                    if step == 0:
                        first[a + 1] += 1
                    else:
                        out_b[at[a]], out_sdn[at[a]] = b, started[i] // US_PER_DAY
                        out_kdn[at[a]] = max(known[i], recorded[a], recorded[b]) // US_PER_DAY
                        at[a] += 1
        if step == 0:
            first = np.cumsum(first)
            n = first[-1]
            out_b, out_sdn, out_kdn = np.empty(n, np.int64), np.empty(n, np.int64), np.empty(n, np.int64)
    return (out_b, out_sdn, out_kdn), first


def network_sizes(rows: Any, first: Any, who: Any, day: Any, n_employees: int) -> Any:
    """Each (employee, day)'s relationships with colleagues: partners of 2+ meaningful interactions.

    Args:
        rows: the rows of :func:`explode_network_rows`, by employee and day.
        first: each employee's first row.
        who: the employees asked for, sorted; ``day``: the days asked for, sorted within an employee.
        day: see ``who``.
        n_employees: number of employee codes.

    Returns:
        The number of partners with :data:`RELATION_MIN` or more interactions stamped in the 28 days
        before the day and known on an earlier day (the engine's ``emp_net``).

    """
    partner, sdn, kdn = rows
    count = np.zeros(n_employees, np.int64)
    touched = np.empty(n_employees, np.int64)
    out = np.zeros(who.shape[0], np.int64)
    lo = 0
    for q in range(who.shape[0]):
        e, d = who[q], day[q]
        lo = max(lo, first[e])
        while lo < first[e + 1] and sdn[lo] < d - RELATION_DAYS:
            lo += 1
        k, j = 0, lo
        while j < first[e + 1] and sdn[j] < d:
            if kdn[j] < d:
                if count[partner[j]] == 0:
                    touched[k] = partner[j]
                    k += 1
                count[partner[j]] += 1
            j += 1
        for t in range(k):
            if count[touched[t]] >= RELATION_MIN:
                out[q] += 1
            count[touched[t]] = 0
    return out


def outbound_emails(ix: Any, org_em: Any, kind: Any, visit: Any, recorded: Any, n_contacts: int) -> Any:
    """Emails organised by one of our employees, once per naming of a contact, by contact and day.

    Args:
        ix: interactions: stamp and known time (us), the organiser's contact code, the external
            participants' contact codes and their list offsets.
        org_em: the organiser's employee code (-1: not an employee).
        kind: kind codes (:data:`KINDS`' positions).
        visit: the interactions' positions by day (:func:`day_order`).
        recorded: ``(contacts, employees)`` recorded times (us, :data:`NULL_TS` when absent).
        n_contacts: number of contact codes.

    Returns:
        The rows' ``(stamp, known)`` arrays and each contact's first row (the engine's ``outbound``; a
        participant named twice gives two equal rows, which change no reply delay).

    """
    started, known, org, ext, offsets = ix
    ct_recorded, em_recorded = recorded
    first = np.zeros(n_contacts + 1, np.int64)
    out_stamp, out_known = np.empty(0, np.int64), np.empty(0, np.int64)
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            if kind[i] != 0 or org_em[i] < 0:
                continue
            for j in range(offsets[i], offsets[i + 1]):
                c = ext[j]
                if c < 0 or c == org[i]:  # the SQL's NOT is_org
                    continue
                if step == 0:
                    first[c + 1] += 1
                    continue
                out_stamp[at[c]] = started[i]
                out_known[at[c]] = max(known[i], ct_recorded[c], em_recorded[org_em[i]])
                at[c] += 1
        if step == 0:
            first = np.cumsum(first)
            out_stamp, out_known = np.empty(first[-1], np.int64), np.empty(first[-1], np.int64)
    return (out_stamp, out_known), first


def reply_rows(ix: Any, kind: Any, people: Any, outbound: Any, visit: Any, n_accounts: int) -> Any:
    """Each inbound email, and each step by which its reply delay as known falls, by account and day.

    An inbound email is one a contact organised. Its candidate replies are our emails to that contact in
    the next :data:`REPLY_DAYS` days, each known once both emails are; taken in order of that time (then of
    delay), every candidate that lowers the running shortest delay is a step: its row carries the change of
    the delay, 1 replied for the first, and 1 fast when it brings the delay to 24 hours or less. The sums
    of the rows known before a cutoff give its inbound emails, replies, delays and fast replies (``resp_r``).

    Args:
        ix: interactions: stamp and known time (us), the organiser's contact code, the external
            participants' contact codes and their list offsets.
        kind: kind codes (:data:`KINDS`' positions).
        people: the contacts' account codes and recorded times.
        outbound: :func:`outbound_emails`.
        visit: the interactions' positions by day (:func:`day_order`).
        n_accounts: number of account codes.

    Returns:
        The rows' ``(stamp, known)`` arrays and their :data:`REPLY_MEASURES` (``(rows, 4)``), and each
        account's first row.

    """
    started, known, org, ext, offsets = ix
    acc_of, recorded = people
    (o_stamp, o_known), o_first = outbound
    o_day = o_stamp // US_PER_DAY
    longest = 1
    for c in range(o_first.shape[0] - 1):
        longest = max(longest, o_first[c + 1] - o_first[c])
    cand_known, cand_delay = np.empty(longest, np.int64), np.empty(longest)
    first = np.zeros(n_accounts + 1, np.int64)
    out_stamp, out_known, out_m = np.empty(0, np.int64), np.empty(0, np.int64), np.empty((0, 4))
    for step in range(2):
        at = first[:-1].copy()
        for i in visit:
            c = org[i]
            if kind[i] != 0 or c < 0:
                continue
            a, k_in, sdn = acc_of[c], max(known[i], recorded[c]), started[i] // US_PER_DAY
            rows_in = 0  # the organiser's rows: each time it is named among the participants, else one
            for j in range(offsets[i], offsets[i + 1]):
                if ext[j] == c:
                    rows_in += 1
            rows_in = max(rows_in, 1)
            lo, hi = o_first[c], o_first[c + 1]
            q = lo + np.searchsorted(o_day[lo:hi], sdn)
            n = 0
            while q < hi and o_day[q] <= sdn + REPLY_DAYS:
                if started[i] < o_stamp[q] <= started[i] + REPLY_DAYS * US_PER_DAY:
                    cand_known[n] = max(k_in, o_known[q])
                    cand_delay[n] = float(o_stamp[q] // US_PER_S - started[i] // US_PER_S)
                    n += 1
                q += 1
            for u in range(1, n):  # insertion sort by (known, delay): a handful of candidates
                kk, dd, v = cand_known[u], cand_delay[u], u
                while v > 0 and (
                    cand_known[v - 1] > kk or (cand_known[v - 1] == kk and cand_delay[v - 1] > dd)
                ):
                    cand_known[v], cand_delay[v] = cand_known[v - 1], cand_delay[v - 1]
                    v -= 1
                cand_known[v], cand_delay[v] = kk, dd
            steps, best = 0, np.inf
            for u in range(n):
                if cand_delay[u] < best:
                    if step == 1:
                        r = at[a]
                        out_stamp[r], out_known[r] = started[i], cand_known[u]
                        out_m[r, 0] = 0.0
                        out_m[r, 1] = cand_delay[u] - (best if steps else 0.0)
                        out_m[r, 2] = 0.0 if steps else 1.0
                        fast = cand_delay[u] <= FAST_REPLY_S and (steps == 0 or best > FAST_REPLY_S)
                        out_m[r, 3] = 1.0 if fast else 0.0
                        at[a] += 1
                    best = cand_delay[u]
                    steps += 1
            if step == 0:
                first[a + 1] += rows_in + steps
                continue
            for _ in range(rows_in):
                r = at[a]
                out_stamp[r], out_known[r] = started[i], k_in
                out_m[r, 0], out_m[r, 1], out_m[r, 2], out_m[r, 3] = 1.0, 0.0, 0.0, 0.0
                at[a] += 1
        if step == 0:
            first = np.cumsum(first)
            n_rows = first[-1]
            out_stamp, out_known, out_m = (
                np.empty(n_rows, np.int64),
                np.empty(n_rows, np.int64),
                np.empty((n_rows, 4)),
            )
    return (out_stamp, out_known, out_m), first


def sweep_reply_rows(rows: Any, first: Any, cuts: Any) -> Any:
    """Each cutoff's sums of :data:`REPLY_MEASURES` per window class (as :func:`sweep_account_rows`).

    Args:
        rows: the rows of :func:`reply_rows`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time: id, account code (-1: no contacts), time (us).

    Returns:
        ``sums[cutoff, class, measure]``.

    """
    stamp, known, m = rows
    c_id, c_acc, c_at = cuts
    sums = np.zeros((c_id.shape[0], len(CLASS_EDGES), m.shape[1]))
    lo = 0
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and stamp[lo] // US_PER_DAY < cdn - LOOKBACK:
            lo += 1
        j = lo
        while j < first[acc + 1] and stamp[j] // US_PER_DAY <= cdn:
            if known[j] < at:
                sdn = stamp[j] // US_PER_DAY
                c = 0
                while sdn < cdn - CLASS_EDGES[c]:
                    c += 1
                for q in range(m.shape[1]):
                    sums[cid, c, q] += m[j, q]
            j += 1
    return sums


def explode_rows(ix: Any, ct: Any, visit: Any, n_accounts: int) -> Any:
    """The product's per-contact explode, uncompiled (:func:`features.engine.kernels.two_steps`)."""
    return two_steps(explode_rows_step, EXPLODES["explode_rows"][1], ix, ct, visit, n_accounts)


KERNELS = (
    lookup_codes,
    day_order,
    explode_rows_step,
    sweep_rows,
    interaction_accounts,
    count_people,
    account_rows,
    sweep_account_rows,
    explode_pair_rows,
    sweep_pair_rows,
    team_rows,
    explode_network_rows,
    network_sizes,
    outbound_emails,
    reply_rows,
    sweep_reply_rows,
    explode_employee_rows,
    sweep_employee_rows,
)


def compiled() -> dict[str, Any]:
    """The kernels compiled by numba (in the locked packages, as shap needs it).

    Raises:
        SystemExit: numba is not installed.

    """
    try:
        import numba
    except ImportError:
        raise SystemExit(
            "the prototype needs numba, which requirements.lock holds (for shap): run `make install`"
        ) from None
    return _with_explode({f.__name__: numba.njit(cache=True)(f) for f in KERNELS})


def plain() -> dict[str, Any]:
    """The kernels uncompiled (tests run them on tiny worlds)."""
    return _with_explode({f.__name__: f for f in KERNELS})


def _with_explode(k: dict[str, Any]) -> dict[str, Any]:
    """The kernels ``k``, and ``explode_rows``: the product's two steps on ``k``'s step kernel."""
    return k | {"explode_rows": partial(two_steps, k["explode_rows_step"], EXPLODES["explode_rows"][1])}
