"""Compiled passes that compute blocks of window features without SQL.

The SQL of :mod:`features.engine.sql` defines every feature, and the Spark engine runs it as written. For
six blocks the DuckDB engine runs these passes instead of the statements that join every cutoff with each
day of its account's people or rows over the window:

* the per-contact windows (contacts, executives and decision makers reached over 28/90/180 days, the top
  contact's share, the contacts of the 28 days before, the last executive contact: ``acc_ct_agg``);
* the per-employee windows (employees engaged, managers and executives engaged, the after-hours share:
  ``acc_emp_agg``; and each cutoff's team, the employees engaged in the last 28 days: ``team``);
* the relationships (pairs of a contact and an employee with 2+ meaningful interactions in 28 days:
  ``acc_rel_agg``);
* the account's totals (hours, interactions and people by channel, by window class: ``acc_ix_cls``);
* the internal network (our people the account team worked with, meaningfully, in 28 days: ``emp_net``);
* responsiveness (each inbound email's reply delay, by window class: ``resp_cls``).

Five blocks of the baseline are passes too, each a sweep over its account's few rows, one by one, per cutoff:
usage (``out_usage``, :func:`sweep_usage`), support (``out_support``, :func:`sweep_tickets`), survey history
(``out_survey_history``, :func:`sweep_surveys`), renewal history (``out_renewal_history``,
:func:`sweep_renewals`) and billing (``out_billing``, :func:`sweep_invoices`). On the scale world they took
0.8, 0.7, 0.3, 0.1 and 0.3 s (inputs, sweep and frame), where their statements took 1.8, 2.6, 2.2, 0.9 and
0.8 s alone.

Each collaboration block is an explode pass, which writes one row per interaction and person (or pair) at its
account's next place, so the rows come out ordered by account and day (:func:`day_order` orders the
interactions by day, a counting sort), and a sweep, which lets each cutoff read its account's rows of the
window known before it, keeping per-person sums in small arrays. An explode runs in two steps
(:func:`two_steps`): it counts each account's rows, then writes them into one packed record array that numpy
allocates, and each row carries what its sweep reads (durations, kinds), so that the sweep reads its rows in
order and never looks an interaction up. The passes give the same values as the statements:
``tests/features/test_passes.py`` compares the two paths value for value, and the naive-reference and leakage
property tests run both.

They are plain Python over numpy arrays, compiled by numba (:func:`compiled`, cached on disk) when the data
is big enough for that to pay (:mod:`features.engine.passes`); the tests also run them uncompiled.
"""

from __future__ import annotations

from functools import cache, partial
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


def count_people_rows(org: Any, inner: Any, inner_offsets: Any, ext: Any, ext_offsets: Any) -> Any:
    """Distinct people of each interaction: its organiser and the items of its two participants' lists.

    Args:
        org: the organisers' identifier codes (-1: null).
        inner: the internal participants' codes (-1: null), by interaction as ``inner_offsets`` says.
        inner_offsets: each interaction's first item, and the end (``n + 1`` offsets).
        ext: the external participants' codes (-1: null).
        ext_offsets: the same for ``ext``.

    Returns:
        The number of distinct non-null codes of each interaction (int32).

    """
    n = org.shape[0]
    out = np.zeros(n, np.int32)
    longest = 1
    for i in range(n):
        longest = max(
            longest, 1 + inner_offsets[i + 1] - inner_offsets[i] + ext_offsets[i + 1] - ext_offsets[i]
        )
    seen = np.empty(longest, np.int64)
    for i in range(n):
        k = 0
        if org[i] >= 0:
            seen[0], k = org[i], 1
        for j in range(inner_offsets[i], inner_offsets[i + 1] + ext_offsets[i + 1] - ext_offsets[i]):
            code = inner[j] if j < inner_offsets[i + 1] else ext[j - inner_offsets[i + 1] + ext_offsets[i]]
            if code < 0:
                continue
            q = 0
            while q < k and seen[q] != code:
                q += 1
            if q == k:
                seen[k] = code
                k += 1
        out[i] = k
    return out


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
    order = np.empty(day.shape[0], np.int32)  # interaction positions: the interactions' row count < 2**31
    for i in range(day.shape[0]):
        order[by_day[day[i] - first_day]] = i
        by_day[day[i] - first_day] += 1
    return order


def explode_rows_step(ix: Any, ct: Any, visit: Any, first: Any, out: Any, step: int) -> None:
    """One row per (interaction, customer contact), as the engine's ``ix_contact``, by account and day.

    Two steps over the interactions in day order (:func:`two_steps` runs both): the first counts each
    account's rows, the second writes each row at its account's next place (a counting sort by account
    without a second copy of the rows).

    Args:
        ix: interactions: stamp and known time (us), minutes, organiser's contact code (-1: none), the
            external participants' contact codes (-1: not a contact) and their list offsets.
        ct: contacts: account code, recorded time (us, :data:`NULL_TS` when absent), executive flag.
        visit: the interactions' positions by day (:func:`day_order`).
        first: each account's first row (``n + 1`` offsets); step 0 adds each account's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(contact, stamp, known, ms, executive)``, which step 1 fills.
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known, minutes, org, ext, offsets = ix
    acc_of, recorded, is_exec = ct
    out_ct, out_stamp, out_known, out_ms, out_exec = out
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


def sweep_rows(rows: Any, first: Any, cuts: Any, is_dm: Any, n_contacts: int) -> Any:
    """Per-contact window figures of every cutoff (the 14 columns of :data:`CONTACT_COLUMNS`).

    Args:
        rows: the rows of :func:`explode_rows_step`, by account and day.
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


#: Employees: the role codes of :func:`sweep_employee_rows`, and the smallest group of our people a
#: per-team figure may describe (features.engine.sql's MIN_GROUP, written out for numba's cache as above).
OTHER_ROLE, MANAGER, EXECUTIVE = 0, 1, 2
MIN_GROUP = 5
US_PER_HOUR = 3_600_000_000
WORKDAY = (8, 17)  # office hours, local time, Monday to Friday: the rest is after hours
#: The columns :func:`sweep_employee_rows` gives, as the statement ``acc_emp_agg`` names them.
EMPLOYEE_COLUMNS = (
    *(f"employees_engaged_{w}d" for w in WINDOWS),
    *(f"manager_engaged_{w}d" for w in WINDOWS),
    *(f"executive_engaged_{w}d" for w in WINDOWS),
    "employees_engaged_trend_28d",
    *(f"after_hours_share_{w}d" for w in WINDOWS),
)


def explode_employee_rows_step(
    ix: Any, staff: Any, ct: Any, em: Any, visit: Any, first: Any, out: Any, step: int
) -> None:
    """One row per (interaction, account, employee), as the engine's ``acc_emp_r``, by account and day.

    An interaction's accounts are those of its customer contacts (as ``ix_account``), each known at the
    earliest its contacts make it known; its employees are the internal participants and the organiser (as
    ``ix_employee``). Two steps, as :func:`explode_rows_step`.

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them.
        staff: the employees' codes (-1: not an employee): the organiser's, the internal participants' and
            their list offsets.
        ct: contacts, as :func:`explode_rows_step` reads them.
        em: employees: recorded time (us, :data:`NULL_TS` when absent), time-zone code, and the zones'
            offsets ``(first, at, offset)``: zone z's changes of UTC offset are ``at[first[z]:first[z + 1]]``
            (the first at :data:`NULL_TS`), and ``offset`` holds the offset (us) from each on. An interaction
            is after hours for an employee outside Monday-Friday office hours (:data:`WORKDAY`) in their zone.
        visit: the interactions' positions by day (:func:`day_order`).
        first: each account's first row (``n + 1`` offsets); step 0 adds each account's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(employee, stamp day, known, ms, after hours)``, which step 1 fills.
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known, minutes, org, ext, offsets = ix
    org_e, staff_e, staff_offsets = staff
    acc_of, recorded, _ = ct
    em_recorded, em_zone, (zone_first, shift_at, shift_us) = em
    widest = 1
    for i in range(offsets.shape[0] - 1):
        widest = max(widest, offsets[i + 1] - offsets[i] + 1)
    accs, acc_known = np.empty(widest, np.int64), np.empty(widest, np.int64)
    out_em, out_day, out_known, out_ms, out_ah = out
    at = first[:-1].copy()
    for i in visit:
        lo, hi = offsets[i], offsets[i + 1]
        with_org = org[i] >= 0
        for j in range(lo, hi):
            if ext[j] == org[i]:
                with_org = False
        m = 0
        for j in range(lo, hi + 1):
            c = ext[j] if j < hi else (org[i] if with_org else -1)
            if c < 0:
                continue
            a, kc = acc_of[c], max(known[i], recorded[c])
            p = 0
            while p < m and accs[p] != a:
                p += 1
            if p == m:
                accs[p], acc_known[p] = a, kc
                m += 1
            acc_known[p] = min(acc_known[p], kc)
        if m == 0:
            continue
        # ROUND half away from zero, as the engine's exact(): durations are not negative; NULL adds 0
        ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
        s_lo, s_hi = staff_offsets[i], staff_offsets[i + 1]
        with_org_e = org_e[i] >= 0
        for j in range(s_lo, s_hi):
            if staff_e[j] == org_e[i]:
                with_org_e = False
        for j in range(s_lo, s_hi + 1):
            e = staff_e[j] if j < s_hi else (org_e[i] if with_org_e else -1)
            if e < 0:
                continue
            if step == 0:  # the count needs no local time
                for p in range(m):
                    first[accs[p] + 1] += 1
                continue
            z = em_zone[e]
            sh = zone_first[z]
            while sh + 1 < zone_first[z + 1] and shift_at[sh + 1] <= started[i]:
                sh += 1
            local = started[i] + shift_us[sh]
            day = local // US_PER_DAY
            hour = (local - day * US_PER_DAY) // US_PER_HOUR
            late = not ((day + 3) % 7 < 5 and WORKDAY[0] <= hour < WORKDAY[1])  # day 0 was a Thursday
            for p in range(m):
                a = accs[p]
                r = at[a]
                out_em[r], out_day[r] = e, started[i] // US_PER_DAY
                out_known[r] = max(acc_known[p], known[i], em_recorded[e])
                out_ms[r], out_ah[r] = ms, late
                at[a] += 1


def sweep_employee_rows(rows: Any, first: Any, cuts: Any, role: Any, n_employees: int) -> Any:
    """Per-employee window figures of every cutoff (:data:`EMPLOYEE_COLUMNS`), and each cutoff's team.

    Args:
        rows: the rows of :func:`explode_employee_rows_step`, by account and day.
        first: each account's first row (``n_accounts + 1`` offsets).
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.
        role: role code per employee (:data:`MANAGER`, :data:`EXECUTIVE`, else :data:`OTHER_ROLE`).
        n_employees: number of employee codes.

    Returns:
        ``(engaged, managers, executives, after-hours share)`` as ``(cutoffs, N_WINDOWS)`` arrays, the trend
        of employees engaged, and the team (the employees engaged in the last 28 days) as ``(cutoff id,
        employee)`` pairs.

    """
    em, day, known, row_ms, ah = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    engaged, managers, executives = (
        np.zeros((n_cut, N_WINDOWS)),
        np.zeros((n_cut, N_WINDOWS)),
        np.zeros((n_cut, N_WINDOWS)),
    )
    share, trend = np.full((n_cut, N_WINDOWS), np.nan), np.zeros(n_cut)
    team_cut, team_em, n_team = np.empty(n_cut + 1, np.int64), np.empty(n_cut + 1, np.int32), 0
    cap = 1
    for a in range(first.shape[0] - 1):
        cap = max(cap, min(first[a + 1] - first[a], n_employees))
    slot, touched = np.full(n_employees, -1, np.int64), np.empty(cap, np.int64)
    hours, late = np.zeros((cap, N_WINDOWS)), np.zeros((cap, N_WINDOWS))
    seen, prev = np.zeros((cap, N_WINDOWS), np.bool_), np.zeros(cap, np.bool_)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and day[lo] < cdn - LOOKBACK:
            lo += 1
        k = 0
        j = lo
        while j < first[acc + 1] and day[j] <= cdn:
            sdn = day[j]
            if known[j] < at:
                ms = row_ms[j]
                s = slot[em[j]]
                if s < 0:
                    s = k
                    slot[em[j]], touched[k] = s, em[j]
                    k += 1
                    for q in range(N_WINDOWS):
                        hours[s, q], late[s, q], seen[s, q] = 0.0, 0.0, False
                    prev[s] = False
                for q in range(N_WINDOWS):
                    if sdn >= cdn - WINDOWS[q]:
                        hours[s, q] += ms
                        if ah[j]:
                            late[s, q] += ms
                        seen[s, q] = True
                if cdn - PREV_TREND_START <= sdn < cdn - TREND_DAYS:
                    prev[s] = True
            j += 1
        for q in range(N_WINDOWS):
            tot, tot_late, n, n_mgr, n_ex = 0.0, 0.0, 0.0, 0.0, 0.0
            for s in range(k):
                tot += hours[s, q]
                tot_late += late[s, q]
                if seen[s, q]:
                    n += 1.0
                    n_mgr = max(n_mgr, 1.0 * (role[touched[s]] == MANAGER))
                    n_ex = max(n_ex, 1.0 * (role[touched[s]] == EXECUTIVE))
            engaged[cid, q], managers[cid, q], executives[cid, q] = n, n_mgr, n_ex
            if n >= MIN_GROUP and tot != 0.0:
                share[cid, q] = tot_late / tot
        for s in range(k):
            trend[cid] -= prev[s]
            if seen[s, 0]:
                if n_team == team_cut.shape[0]:
                    team_cut = np.concatenate((team_cut, np.empty(n_team, np.int64)))
                    team_em = np.concatenate((team_em, np.empty(n_team, np.int32)))
                team_cut[n_team], team_em[n_team] = cid, touched[s]
                n_team += 1
            slot[touched[s]] = -1
        trend[cid] += engaged[cid, 0]
    return (engaged, managers, executives, share), trend, (team_cut[:n_team], team_em[:n_team])


#: Relationships: a (contact, employee) pair with this many meaningful interactions in the last
#: RELATION_DAYS days (features.engine.sql's definition, written out for numba's cache as above).
RELATION_MIN, RELATION_DAYS = 2, 28
#: The columns :func:`sweep_pair_rows` gives, as the statement ``acc_rel_agg`` names them.
RELATION_COLUMNS = (
    "customer_relationships_28d",
    "contacts_in_relationship_28d",
    "employees_in_relationship_28d",
)


def explode_pair_rows_step(
    ix: Any,
    staff: Any,
    ct: Any,
    em_recorded: Any,
    meaningful: Any,
    visit: Any,
    first: Any,
    out: Any,
    step: int,
) -> None:
    """One row per (meaningful interaction, contact, employee), as the engine's ``acc_pair_r``, by account.

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them.
        staff: the employees' codes as :func:`explode_employee_rows_step` reads them.
        ct: contacts, as :func:`explode_rows_step` reads them.
        em_recorded: each employee's recorded time (us, :data:`NULL_TS` when absent).
        meaningful: whether each interaction is meaningful (an email or meeting of at most 5 people).
        visit: the interactions' positions by day (:func:`day_order`).
        first: each account's first row (``n + 1`` offsets); step 0 adds each account's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(contact, stamp day, known, employee)``, which step 1 fills.
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known, _, org, ext, offsets = ix
    org_e, staff_e, staff_offsets = staff
    acc_of, recorded, _ = ct
    out_ct, out_day, out_known, out_em = out
    at = first[:-1].copy()
    for i in visit:
        if not meaningful[i]:
            continue
        lo, hi, s_lo, s_hi = offsets[i], offsets[i + 1], staff_offsets[i], staff_offsets[i + 1]
        with_org, with_org_e = org[i] >= 0, org_e[i] >= 0
        for j in range(lo, hi):
            if ext[j] == org[i]:
                with_org = False
        for j in range(s_lo, s_hi):
            if staff_e[j] == org_e[i]:
                with_org_e = False
        for j in range(lo, hi + 1):
            c = ext[j] if j < hi else (org[i] if with_org else -1)
            if c < 0:
                continue
            a = acc_of[c]
            for h in range(s_lo, s_hi + 1):
                e = staff_e[h] if h < s_hi else (org_e[i] if with_org_e else -1)
                if e < 0:
                    continue
                if step == 0:
                    first[a + 1] += 1
                    continue
                r = at[a]
                out_ct[r], out_day[r], out_em[r] = c, started[i] // US_PER_DAY, e
                out_known[r] = max(known[i], recorded[c], em_recorded[e])
                at[a] += 1


def sweep_pair_rows(rows: Any, first: Any, cuts: Any, n_contacts: int, n_employees: int) -> Any:
    """Each cutoff's relationships (:data:`RELATION_COLUMNS`): (contact, employee) pairs that count.

    Args:
        rows: the rows of :func:`explode_pair_rows_step`, by account and day.
        first: each account's first row.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.
        n_contacts: number of contact codes.
        n_employees: number of employee codes.

    Returns:
        ``(relationships, contacts, employees)`` per cutoff: the pairs, and the contacts and the employees in
        at least one of them.

    """
    ct, day, known, em = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    rel, rel_ct, rel_em = np.zeros(n_cut), np.zeros(n_cut), np.zeros(n_cut)
    cap = 1
    for a in range(first.shape[0] - 1):
        cap = max(cap, first[a + 1] - first[a])
    keys = np.empty(cap, np.int64)
    in_ct, in_em = np.zeros(n_contacts, np.bool_), np.zeros(n_employees, np.bool_)
    lo = 0
    for i in range(n_cut):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and day[lo] < cdn - RELATION_DAYS:
            lo += 1
        m = 0
        j = lo
        while j < first[acc + 1] and day[j] <= cdn:
            if known[j] < at:
                keys[m] = np.int64(ct[j]) * n_employees + em[j]
                m += 1
            j += 1
        pairs = np.sort(keys[:m])
        run = 0
        for t in range(m):
            run = run + 1 if t > 0 and pairs[t] == pairs[t - 1] else 1
            if run == RELATION_MIN:
                rel[cid] += 1.0
                c, e = pairs[t] // n_employees, pairs[t] % n_employees
                if not in_ct[c]:
                    in_ct[c] = True
                    rel_ct[cid] += 1.0
                if not in_em[e]:
                    in_em[e] = True
                    rel_em[cid] += 1.0
        for t in range(m):
            in_ct[pairs[t] // n_employees], in_em[pairs[t] % n_employees] = False, False
    return rel, rel_ct, rel_em


#: Account totals: the window classes of features.engine.sql's CLASS_EDGES (class c holds the stamp days from
#: CLASS_EDGES[c] days before the cutoff's day to the next edge), written out for numba's cache as above; the
#: interaction kinds with sums of their own (codes 0, 1, 2; any other kind 3); the sums, as ``acc_ix_cls``
#: names them.
CLASS_EDGES = (28, 56, 90, 180)
KINDS = ("email", "meeting", "call")
MEETING = 1
ACCOUNT_SUMS = ("n", "ms", "email_ms", "meeting_ms", "call_ms", "meaningful_ms")
IS_MEANINGFUL = 4  # added to a row's kind code (0-3) in :func:`explode_account_rows_step` when meaningful


def explode_account_rows_step(
    ix: Any, ct: Any, kind: Any, meaningful: Any, visit: Any, first: Any, out: Any, step: int
) -> None:
    """One row per (interaction, account), as the engine's ``ix_account``, by account and day.

    An interaction's accounts, and when each is known, are those of :func:`explode_employee_rows_step`.

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them.
        ct: contacts, as :func:`explode_rows_step` reads them.
        kind: each interaction's kind code (:data:`KINDS`' positions; 3 for any other).
        meaningful: whether each interaction is meaningful.
        visit: the interactions' positions by day (:func:`day_order`).
        first: each account's first row (``n + 1`` offsets); step 0 adds each account's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(stamp, known, ms, what)``, which step 1 fills; ``what`` is the kind code,
            plus :data:`IS_MEANINGFUL` when the interaction is meaningful.
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known, minutes, org, ext, offsets = ix
    acc_of, recorded, _ = ct
    widest = 1
    for i in range(offsets.shape[0] - 1):
        widest = max(widest, offsets[i + 1] - offsets[i] + 1)
    accs, acc_known = np.empty(widest, np.int64), np.empty(widest, np.int64)
    out_stamp, out_known, out_ms, out_what = out
    at = first[:-1].copy()
    for i in visit:
        lo, hi = offsets[i], offsets[i + 1]
        with_org = org[i] >= 0
        for j in range(lo, hi):
            if ext[j] == org[i]:
                with_org = False
        m = 0
        for j in range(lo, hi + 1):
            c = ext[j] if j < hi else (org[i] if with_org else -1)
            if c < 0:
                continue
            a, kc = acc_of[c], max(known[i], recorded[c])
            p = 0
            while p < m and accs[p] != a:
                p += 1
            if p == m:
                accs[p], acc_known[p] = a, kc
                m += 1
            acc_known[p] = min(acc_known[p], kc)
        # ROUND half away from zero, as the engine's exact(): durations are not negative; NULL adds 0
        ms = np.floor(minutes[i] * MS_PER_MINUTE + 0.5) if minutes[i] == minutes[i] else 0.0
        what = kind[i] + (IS_MEANINGFUL if meaningful[i] else 0)
        for p in range(m):
            a = accs[p]
            if step == 0:
                first[a + 1] += 1
                continue
            r = at[a]
            out_stamp[r], out_known[r], out_ms[r], out_what[r] = started[i], acc_known[p], ms, what
            at[a] += 1


def sweep_account_rows(rows: Any, first: Any, cuts: Any) -> Any:
    """Each cutoff's sums of :data:`ACCOUNT_SUMS` per window class, and its last meeting and interaction.

    Args:
        rows: the rows of :func:`explode_account_rows_step`, by account and day.
        first: each account's first row.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(sums, last_meeting, last)``: ``sums[cutoff, c, m]`` sums measure ``m`` over the rows of window
        class ``c``, and the times (us) of the last meeting and the last interaction in each class
        (:data:`NULL_TS`: none).

    """
    stamp, known, row_ms, row_what = rows
    c_id, c_acc, c_at = cuts
    n_cut = c_id.shape[0]
    n_cls = len(CLASS_EDGES)
    sums = np.zeros((n_cut, n_cls, len(ACCOUNT_SUMS)))
    last_meeting, last = np.full((n_cut, n_cls), NULL_TS), np.full((n_cut, n_cls), NULL_TS)
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
                sdn, ms, kind = stamp[j] // US_PER_DAY, row_ms[j], row_what[j] % IS_MEANINGFUL
                c = 0
                while sdn < cdn - CLASS_EDGES[c]:
                    c += 1
                sums[cid, c, 0] += 1.0
                sums[cid, c, 1] += ms
                if kind < len(KINDS):
                    sums[cid, c, 2 + kind] += ms
                if row_what[j] >= IS_MEANINGFUL:
                    sums[cid, c, 5] += ms
                last[cid, c] = max(last[cid, c], stamp[j])
                if kind == MEETING:
                    last_meeting[cid, c] = max(last_meeting[cid, c], stamp[j])
            j += 1
    return sums, last_meeting, last


def explode_network_rows_step(
    ix: Any, staff: Any, em_recorded: Any, meaningful: Any, visit: Any, first: Any, out: Any, step: int
) -> None:
    """One row per (meaningful interaction, employee, other employee), as ``emp_pair_r``, by employee and day.

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them (stamps and known times are read).
        staff: the employees' codes as :func:`explode_employee_rows_step` reads them.
        em_recorded: each employee's recorded time (us, :data:`NULL_TS` when absent).
        meaningful: whether each interaction is meaningful.
        visit: the interactions' positions by day (:func:`day_order`).
        first: each employee's first row (``n + 1`` offsets); step 0 adds each employee's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(partner, stamp day, known day)``, which step 1 fills.
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known = ix[0], ix[1]
    org, inner, offsets = staff
    out_b, out_sdn, out_kdn = out
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
                    continue
                r = at[a]
                out_b[r], out_sdn[r] = b, started[i] // US_PER_DAY
                out_kdn[r] = max(known[i], em_recorded[a], em_recorded[b]) // US_PER_DAY
                at[a] += 1


def network_sizes(rows: Any, first: Any, who: Any, day: Any) -> Any:
    """Each (employee, day)'s network: colleagues with 2+ meaningful interactions with them (``emp_net``).

    Args:
        rows: the rows of :func:`explode_network_rows_step`, by employee and day.
        first: each employee's first row.
        who: the employees asked for, sorted.
        day: the days asked for, sorted within an employee.

    Returns:
        The number of partners with :data:`RELATION_MIN` or more interactions stamped in the
        :data:`RELATION_DAYS` days before the day and known on an earlier day.

    """
    partner, sdn, kdn = rows
    n_employees = first.shape[0] - 1
    count, touched = np.zeros(n_employees, np.int64), np.empty(n_employees, np.int64)
    out = np.zeros(who.shape[0])
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
                out[q] += 1.0
            count[touched[t]] = 0
    return out


#: Responsiveness: a reply counts within REPLY_DAYS days, and is fast within FAST_REPLY_S seconds
#: (features.engine.sql's REPLY_WINDOW_DAYS and FAST_REPLY_S, written out for numba's cache as above);
#: the sums of :func:`sweep_reply_rows`, as ``resp_cls`` names them.
REPLY_DAYS = 7
FAST_REPLY_S = 24 * 3600
US_PER_S = 1_000_000
REPLY_SUMS = ("n_in", "d_delay", "d_replied", "d_fast")
INBOUND, REPLIED, FAST = 1, 2, 4  # the flags of a reply row: an inbound email; its first reply; a fast one


def outbound_emails_step(
    ix: Any, org_e: Any, kind: Any, visit: Any, recorded: Any, first: Any, out: Any, step: int
) -> None:
    """Emails one of our employees organised, once per naming of a contact, by contact and day (``outbound``).

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them.
        org_e: the organiser's employee code (-1: not an employee, or no internal participants' list).
        kind: each interaction's kind code (:data:`KINDS`' positions).
        visit: the interactions' positions by day (:func:`day_order`).
        recorded: the contacts' and the employees' recorded times (us, :data:`NULL_TS` when absent).
        first: each contact's first row (``n + 1`` offsets); step 0 adds each contact's count of rows at its
            next place, into zeros.
        out: the rows' arrays, ``(stamp, known)``, which step 1 fills, ordered by day (not by time within a
            day; a contact named twice gives two equal rows, which change no reply delay).
        step: 0 counts, 1 writes (:func:`two_steps` runs both and allocates ``out`` between them).

    """
    started, known, _, org, ext, offsets = ix
    ct_recorded, em_recorded = recorded
    out_stamp, out_known = out
    at = first[:-1].copy()
    for i in visit:
        if kind[i] != 0 or org_e[i] < 0:
            continue
        for j in range(offsets[i], offsets[i + 1]):
            c = ext[j]
            if c < 0 or c == org[i]:  # the SQL's NOT is_org
                continue
            if step == 0:
                first[c + 1] += 1
                continue
            out_stamp[at[c]] = started[i]
            out_known[at[c]] = max(known[i], ct_recorded[c], em_recorded[org_e[i]])
            at[c] += 1


def reply_rows_visit(ix: Any, kind: Any, ct: Any, outbound: Any, visit: Any) -> Any:
    """Each inbound email, and each step by which its reply delay as known falls, in the order visited.

    An inbound email is one a contact organised. Its candidate replies are our emails to that contact in
    the next :data:`REPLY_DAYS` days, each known once both emails are; taken in order of that time (then of
    delay), every candidate that lowers the running shortest delay is a step: its row carries the change of
    the delay, :data:`REPLIED` for the first, and :data:`FAST` when it brings the delay to 24 hours or less.
    The sums of the rows known before a cutoff give its inbound emails, replies, delays and fast replies
    (the engine's ``resp_r``). The rows are searched once and written in the order of ``visit``;
    :func:`reply_rows` then places them by account (an explode's two steps would search twice: on the
    scale world 5.9-6.1 s, where the search and the placing took 3.8 s in all, with the same rows).

    Args:
        ix: the interactions as :func:`explode_rows_step` reads them.
        kind: each interaction's kind code (:data:`KINDS`' positions).
        ct: contacts, as :func:`explode_rows_step` reads them.
        outbound: the outbound emails' rows and each contact's first row (``outbound_emails`` of
            :func:`compiled`, from :func:`outbound_emails_step`).
        visit: the interactions' positions by day (:func:`day_order`): each contact's search for replies
            starts where its previous one ended, which needs the days never to go back.

    Returns:
        ``(account, stamp day, known, delay change (s), flags)`` of each row, and the number of rows (the
        arrays may be longer).

    """
    started, known, _, org, ext, offsets = ix
    acc_of, recorded, _ = ct
    (o_stamp, o_known), o_first = outbound
    longest = 1
    for c in range(o_first.shape[0] - 1):
        longest = max(longest, o_first[c + 1] - o_first[c])
    cand_known, cand_delay = np.empty(longest, np.int64), np.empty(longest)
    cur = o_first[:-1].copy()  # each contact's first outbound row not before the day: days only grow
    size = max(16, visit.shape[0] // 4)
    out_acc, out_day, out_known = np.empty(size, np.int32), np.empty(size, np.int32), np.empty(size, np.int64)
    out_delay, out_flags = np.empty(size), np.empty(size, np.int8)
    r = 0
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
        hi = o_first[c + 1]
        while cur[c] < hi and o_stamp[cur[c]] // US_PER_DAY < sdn:  # the contact's first row of the day
            cur[c] += 1
        q, n = cur[c], 0
        while q < hi and o_stamp[q] // US_PER_DAY <= sdn + REPLY_DAYS:
            if started[i] < o_stamp[q] <= started[i] + REPLY_DAYS * US_PER_DAY:
                cand_known[n] = max(k_in, o_known[q])
                cand_delay[n] = float(o_stamp[q] // US_PER_S - started[i] // US_PER_S)
                n += 1
            q += 1
        for u in range(1, n):  # insertion sort by (known, delay): a handful of candidates
            kk, dd, v = cand_known[u], cand_delay[u], u
            while v > 0 and (cand_known[v - 1] > kk or (cand_known[v - 1] == kk and cand_delay[v - 1] > dd)):
                cand_known[v], cand_delay[v] = cand_known[v - 1], cand_delay[v - 1]
                v -= 1
            cand_known[v], cand_delay[v] = kk, dd
        if r + n + rows_in > out_acc.shape[0]:  # room for this email's rows: the arrays grow by half
            grow = max(out_acc.shape[0] // 2, n + rows_in)
            out_acc = np.concatenate((out_acc, np.empty(grow, np.int32)))
            out_day = np.concatenate((out_day, np.empty(grow, np.int32)))
            out_known = np.concatenate((out_known, np.empty(grow, np.int64)))
            out_delay = np.concatenate((out_delay, np.empty(grow)))
            out_flags = np.concatenate((out_flags, np.empty(grow, np.int8)))
        steps, best = 0, np.inf
        for u in range(n):
            if cand_delay[u] < best:
                out_acc[r], out_day[r], out_known[r] = a, sdn, cand_known[u]
                out_delay[r] = cand_delay[u] - (best if steps else 0.0)
                fast = cand_delay[u] <= FAST_REPLY_S and (steps == 0 or best > FAST_REPLY_S)
                out_flags[r] = (0 if steps else REPLIED) + (FAST if fast else 0)
                r += 1
                best = cand_delay[u]
                steps += 1
        for _ in range(rows_in):
            out_acc[r], out_day[r], out_known[r], out_delay[r], out_flags[r] = a, sdn, k_in, 0.0, INBOUND
            r += 1
    return (out_acc, out_day, out_known, out_delay, out_flags), r


def place_reply_rows(rows: Any, n: int, first: Any, out: Any) -> None:
    """Write the first ``n`` rows of :func:`reply_rows_visit` at their account's next place, in order.

    Args:
        rows: the rows, as :func:`reply_rows_visit` gives them.
        n: how many there are.
        first: each account's first row (``n_accounts + 1`` offsets).
        out: the rows' arrays, ``(stamp day, known, delay change (s), flags)``, filled here.

    """
    acc, day, known, delay, flags = rows
    out_day, out_known, out_delay, out_flags = out
    at = first[:-1].copy()
    for r in range(n):
        p = at[acc[r]]
        out_day[p], out_known[p], out_delay[p], out_flags[p] = day[r], known[r], delay[r], flags[r]
        at[acc[r]] += 1


def sweep_reply_rows(rows: Any, first: Any, cuts: Any) -> Any:
    """Each cutoff's sums of :data:`REPLY_SUMS` per window class (as :func:`sweep_account_rows`).

    Args:
        rows: the rows of :func:`reply_rows`, by account and day.
        first: each account's first row.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``sums[cutoff, class, measure]``.

    """
    day, known, delay, flags = rows
    c_id, c_acc, c_at = cuts
    sums = np.zeros((c_id.shape[0], len(CLASS_EDGES), len(REPLY_SUMS)))
    lo = 0
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        if acc < 0:
            continue
        cdn = at // US_PER_DAY
        lo = max(lo, first[acc])
        while lo < first[acc + 1] and day[lo] < cdn - LOOKBACK:
            lo += 1
        j = lo
        while j < first[acc + 1] and day[j] <= cdn:
            if known[j] < at:
                c = 0
                while day[j] < cdn - CLASS_EDGES[c]:
                    c += 1
                sums[cid, c, 0] += 1.0 if flags[j] & INBOUND else 0.0
                sums[cid, c, 1] += delay[j]
                sums[cid, c, 2] += 1.0 if flags[j] & REPLIED else 0.0
                sums[cid, c, 3] += 1.0 if flags[j] & FAST else 0.0
            j += 1
    return sums


#: Usage: the longest window its features read (features.engine.sql's USAGE_DAYS, written out as above).
USAGE_DAYS = 90
#: The columns :func:`sweep_usage` gives, as the statement ``out_usage`` names them.
USAGE_COLUMNS = (
    "active_users_avg_28d",
    "active_users_avg_90d",
    "licensed_seats_avg_28d",
    "seat_utilisation_28d",
    "seat_utilisation_90d",
    "key_feature_events_28d",
    "key_feature_events_90d",
    "events_per_active_user_28d",
    "active_users_trend_28d",
    "seat_utilisation_trend_28d",
    "key_feature_events_trend_28d",
    "usage_reports_28d",
    "days_since_last_usage",
)


def sweep_usage(first: Any, day: Any, known: Any, values: Any, present: Any, cuts: Any) -> Any:
    """The usage features of every cutoff (:data:`USAGE_COLUMNS`), as the statement ``out_usage`` gives them.

    A cutoff reads its account's rows known before it and stamped in its last :data:`USAGE_DAYS` days, all
    of them (an account has a row a day at most): the sums are of whole numbers, exact in any order.

    Args:
        first: each account's first row (``n_accounts + 1`` offsets) of the rows, which are by account.
        day: each row's stamp day.
        known: each row's known time (us): the later of its date and its ``recorded_at``.
        values: ``(rows, 3)`` active users, licensed seats and key feature events, as doubles.
        present: ``(rows, 3)`` whether each value is there (a null adds to no sum).
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(cutoffs, 13)`` values by cutoff id, NaN for null.

    """
    c_id, c_acc, c_at = cuts
    out = np.full((c_id.shape[0], len(USAGE_COLUMNS)), np.nan)
    total, count = np.zeros((3, 3)), np.zeros((3, 3))  # [window: 28 days, the 28 before, 90 days, measure]
    mean, util = np.zeros((3, 3)), np.zeros(3)
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        cdn = at // US_PER_DAY
        total[:], count[:] = 0.0, 0.0
        rows, rows28, rows_prev, gap = 0.0, 0.0, 0.0, -1
        if 0 <= acc < first.shape[0] - 1:
            for j in range(first[acc], first[acc + 1]):
                if known[j] >= at or day[j] < cdn - USAGE_DAYS:
                    continue
                rows += 1.0
                gap = cdn - day[j] if gap < 0 else min(gap, cdn - day[j])
                w = 0 if day[j] >= cdn - TREND_DAYS else (1 if day[j] >= cdn - PREV_TREND_START else -1)
                rows28 += 1.0 if w == 0 else 0.0
                rows_prev += 1.0 if w == 1 else 0.0
                for m in range(3):
                    if present[j, m]:
                        total[2, m] += values[j, m]
                        count[2, m] += 1.0
                        if w >= 0:
                            total[w, m] += values[j, m]
                            count[w, m] += 1.0
        # AVG: the sum over the count, null (NaN) without values; a ratio of SUMs: null when either sums no
        # value or the denominator is 0
        for w in range(3):
            for m in range(3):
                mean[w, m] = total[w, m] / count[w, m] if count[w, m] > 0 else np.nan
            sums = count[w, 0] > 0 and count[w, 1] > 0 and total[w, 1] != 0
            util[w] = total[w, 0] / total[w, 1] if sums else np.nan
        # SUM(CASE WHEN in window THEN events ELSE 0 END): null only when every row it reads gives a null
        events28 = total[0, 2] if rows == 0 or rows - rows28 + count[0, 2] > 0 else np.nan
        events_prev = total[1, 2] if rows == 0 or rows - rows_prev + count[1, 2] > 0 else np.nan
        out[cid, 0], out[cid, 1], out[cid, 2] = mean[0, 0], mean[2, 0], mean[0, 1]
        out[cid, 3], out[cid, 4], out[cid, 5], out[cid, 6] = util[0], util[2], events28, total[2, 2]
        avg28 = mean[0, 0]
        out[cid, 7] = events28 / avg28 if avg28 == avg28 and avg28 != 0 else np.nan
        out[cid, 8], out[cid, 9], out[cid, 10] = avg28 - mean[1, 0], util[0] - util[1], events28 - events_prev
        out[cid, 11] = rows28
        if gap >= 0:
            out[cid, 12] = gap
    return out


#: The columns :func:`sweep_tickets` gives, as the statement ``out_support`` names them.
SUPPORT_COLUMNS = (
    *(f"tickets_{w}d" for w in WINDOWS),
    *(f"tickets_sev{s}_180d" for s in range(1, 5)),
    "severe_tickets_90d",
    "escalated_tickets_90d",
    "escalated_tickets_180d",
    "open_tickets",
    "open_severe_tickets",
    "oldest_open_ticket_days",
    "resolved_tickets_90d",
    "avg_resolution_hours_90d",
    "avg_resolution_hours_180d",
    "max_resolution_hours_180d",
    "reopened_180d",
    "tickets_trend_28d",
)
#: The support features count no ticket opened and closed before this many days (features.engine.sql's
#: SUPPORT_DAYS, written out as above).
SUPPORT_DAYS = 180


def sweep_tickets(first: Any, stamps: Any, kinds: Any, reopened: Any, cuts: Any) -> Any:
    """The support features of every cutoff (:data:`SUPPORT_COLUMNS`), as the statement ``out_support`` does.

    A cutoff reads its account's tickets known to be opened before it, the few of an account one by one,
    but those its features cannot count (:data:`SUPPORT_DAYS`, as the statement's join): a ticket counts
    from its opening, its resolution from its closing.

    Args:
        first: each account's first row (``n_accounts + 1`` offsets) of the rows, which are by account.
        stamps: ``(rows, 4)`` opened, closed, and when each became known (us; :data:`NULL_TS` for none).
        kinds: ``(rows, 3)`` the severity when 1 to 4 (else 0), whether it is severe and whether the ticket
            was escalated (0 or 1 each).
        reopened: ``(rows, 2)`` times reopened, and whether that is given (1) or null (0).
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(cutoffs, 19)`` values by cutoff id, NaN for null.

    """
    c_id, c_acc, c_at = cuts
    out = np.full((c_id.shape[0], len(SUPPORT_COLUMNS)), np.nan)
    counts = np.zeros(len(SUPPORT_COLUMNS))
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        cdn, at_s = at // US_PER_DAY, at // US_PER_S
        counts[:] = 0.0
        rows, oldest, res_sum, res_n, res_sum180, res_n180, res_max = 0, 0, 0.0, 0.0, 0.0, 0.0, 0.0
        reopen_rows, reopen_given = 0, 0
        if 0 <= acc < first.shape[0] - 1:
            for j in range(first[acc], first[acc + 1]):
                opened, closed, close_known = stamps[j, 0], stamps[j, 1], stamps[j, 3]
                if stamps[j, 2] >= at:  # not known to be opened yet
                    continue
                has_open, has_close = opened != NULL_TS, closed != NULL_TS
                odn, cldn = opened // US_PER_DAY, closed // US_PER_DAY
                closed_now = close_known != NULL_TS and close_known < at
                recent = (has_open and odn >= cdn - SUPPORT_DAYS) or (
                    has_close and cldn >= cdn - SUPPORT_DAYS
                )
                if not (recent or not closed_now):
                    continue
                rows += 1
                severity, severe, escalated = kinds[j, 0], kinds[j, 1] == 1, kinds[j, 2] == 1
                age = cdn - odn if has_open else -1  # days from the opening to the cutoff's day
                for q in range(N_WINDOWS):
                    counts[q] += 1.0 if 0 <= age <= WINDOWS[q] else 0.0
                if 0 <= age <= 180:
                    if 1 <= severity <= 4:
                        counts[N_WINDOWS + severity - 1] += 1.0
                    counts[9] += 1.0 if escalated else 0.0
                if 0 <= age <= 90:
                    counts[7] += 1.0 if severe else 0.0
                    counts[8] += 1.0 if escalated else 0.0
                if 0 <= age <= TREND_DAYS:
                    counts[18] += 1.0
                elif TREND_DAYS < age <= PREV_TREND_START:
                    counts[18] -= 1.0
                if not closed_now:  # open as of the cutoff
                    counts[10] += 1.0
                    counts[11] += 1.0 if severe else 0.0
                    if has_open:  # the second it falls in: DATE_DIFF('second', ...) counts those
                        oldest = max(oldest, at_s - opened // US_PER_S)
                    continue
                if cldn < cdn - 180:
                    continue
                reopen_rows += 1
                if reopened[j, 1] > 0:
                    reopen_given += 1
                    counts[17] += reopened[j, 0]
                counts[13] += 1.0 if cldn >= cdn - 90 else 0.0
                if has_open:
                    took = float(closed // US_PER_S - opened // US_PER_S)
                    res_sum180, res_n180 = res_sum180 + took, res_n180 + 1.0
                    res_max = took if res_n180 == 1.0 else max(res_max, took)
                    if cldn >= cdn - 90:
                        res_sum, res_n = res_sum + took, res_n + 1.0
        for c in range(len(SUPPORT_COLUMNS)):
            out[cid, c] = counts[c]
        out[cid, 12] = oldest / 86400.0
        out[cid, 14] = res_sum / res_n / 3600.0 if res_n > 0 else np.nan
        out[cid, 15] = res_sum180 / res_n180 / 3600.0 if res_n180 > 0 else np.nan
        out[cid, 16] = res_max / 3600.0 if res_n180 > 0 else np.nan
        # SUM(CASE WHEN resolved THEN reopened ELSE 0 END): null only when every row it reads gives a null
        if rows > 0 and reopen_rows == rows and reopen_given == 0:
            out[cid, 17] = np.nan
    return out


#: The columns :func:`sweep_surveys` gives, as the statement ``out_survey_history`` names them.
SURVEY_COLUMNS = (
    "prior_responses",
    "prior_responses_365d",
    "prior_csat_mean",
    "prior_csat_mean_365d",
    "last_csat",
    "prior_nps_mean",
    "prior_unsatisfied_share",
    "days_since_last_survey",
)
YEAR_DAYS = 365
SATISFIED = 4  # a CSAT of 4 or 5 is satisfied


def sweep_surveys(first: Any, stamps: Any, scores: Any, cuts: Any) -> Any:
    """The survey history of every cutoff (:data:`SURVEY_COLUMNS`), as the statement ``out_survey_history``.

    A cutoff reads every response of its account known before it, the few of an account one by one.

    Args:
        first: each account's first row (``n_accounts + 1`` offsets) of the rows, which are by account.
        stamps: ``(rows, 2)`` responded and known (us; :data:`NULL_TS` for none).
        scores: ``(rows, 2)`` CSAT and NPS, NaN where null.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(cutoffs, 8)`` values by cutoff id, NaN for null.

    """
    c_id, c_acc, c_at = cuts
    out = np.full((c_id.shape[0], len(SURVEY_COLUMNS)), np.nan)
    sums = np.zeros((3, 2))  # [all, last 365 days, the last response's time] x [sum, count] of CSAT
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        cdn = at // US_PER_DAY
        sums[:] = 0.0
        rows, recent, nps, nps_n, unsatisfied, last = 0.0, 0.0, 0.0, 0.0, 0.0, NULL_TS
        if 0 <= acc < first.shape[0] - 1:
            for j in range(first[acc], first[acc + 1]):
                responded, csat = stamps[j, 0], scores[j, 0]
                if stamps[j, 1] >= at:
                    continue
                rows += 1.0
                in_year = responded != NULL_TS and responded // US_PER_DAY >= cdn - YEAR_DAYS
                recent += 1.0 if in_year else 0.0
                if scores[j, 1] == scores[j, 1]:
                    nps, nps_n = nps + scores[j, 1], nps_n + 1.0
                if responded != NULL_TS and responded > last:  # a later last response: its CSATs anew
                    last, sums[2, 0], sums[2, 1] = responded, 0.0, 0.0
                if csat != csat:
                    continue
                unsatisfied += 1.0 if csat < SATISFIED else 0.0
                sums[0, 0], sums[0, 1] = sums[0, 0] + csat, sums[0, 1] + 1.0
                if in_year:
                    sums[1, 0], sums[1, 1] = sums[1, 0] + csat, sums[1, 1] + 1.0
                if responded != NULL_TS and responded == last:
                    sums[2, 0], sums[2, 1] = sums[2, 0] + csat, sums[2, 1] + 1.0
        out[cid, 0], out[cid, 1] = rows, recent
        for w in range(3):
            if sums[w, 1] > 0:
                out[cid, 2 + w] = sums[w, 0] / sums[w, 1]
        if nps_n > 0:
            out[cid, 5] = nps / nps_n
        if rows > 0:
            out[cid, 6] = unsatisfied / rows
        if last != NULL_TS:  # the seconds each falls in, as DATE_DIFF('second', ...) counts them
            out[cid, 7] = float(at // US_PER_S - last // US_PER_S) / 86400.0
    return out


CENTS_PER_USD = 100.0
#: Renewal outcomes by code (:func:`sweep_renewals` counts the last three; any other is code 0).
OUTCOMES = ("renewed", "expanded", "contracted", "churned")
#: The columns :func:`sweep_renewals` gives, as the statement ``out_renewal_history`` names them.
RENEWAL_COLUMNS = (
    "renewals_prior",
    "renewals_expanded_prior",
    "renewals_contracted_prior",
    "renewals_churned_prior",
    "arr_change_prior_usd",
    "last_arr_change_usd",
    "days_since_last_renewal",
)


def sweep_renewals(first: Any, stamps: Any, outcome: Any, cents: Any, cuts: Any) -> Any:
    """The renewal history of every cutoff (:data:`RENEWAL_COLUMNS`), as ``out_renewal_history`` gives it.

    Args:
        first: each account's first row (``n_accounts + 1`` offsets) of the rows, which are by account.
        stamps: ``(rows, 2)`` renewal day (:data:`NULL_TS` for none) and known time (us).
        outcome: each row's outcome code (:data:`OUTCOMES`).
        cents: each row's ARR change in whole cents, NaN where null.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(cutoffs, 7)`` values by cutoff id, NaN for null.

    """
    c_id, c_acc, c_at = cuts
    out = np.full((c_id.shape[0], len(RENEWAL_COLUMNS)), np.nan)
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        rows, expanded, contracted, churned, change, last = 0.0, 0.0, 0.0, 0.0, 0.0, NULL_TS
        last_change, last_given = 0.0, False
        if 0 <= acc < first.shape[0] - 1:
            for j in range(first[acc], first[acc + 1]):
                if stamps[j, 1] >= at:
                    continue
                rows += 1.0
                expanded += 1.0 if outcome[j] == 1 else 0.0
                contracted += 1.0 if outcome[j] == 2 else 0.0
                churned += 1.0 if outcome[j] == 3 else 0.0
                given = cents[j] == cents[j]
                change += cents[j] if given else 0.0
                day = stamps[j, 0]
                if day == NULL_TS:
                    continue
                if day > last:  # a later last renewal: its changes anew
                    last, last_change, last_given = day, 0.0, False
                if day == last and given:
                    last_change, last_given = last_change + cents[j], True
        out[cid, 0], out[cid, 1], out[cid, 2], out[cid, 3] = rows, expanded, contracted, churned
        out[cid, 4] = change / CENTS_PER_USD
        if last_given:
            out[cid, 5] = last_change / CENTS_PER_USD
        if last != NULL_TS:
            out[cid, 6] = float(at // US_PER_DAY - last)
    return out


#: The columns :func:`sweep_invoices` gives, as the statement ``out_billing`` names them.
BILLING_COLUMNS = (
    "invoices_365d",
    "invoiced_usd_365d",
    "overdue_open_invoices",
    "overdue_open_usd",
    "max_days_overdue",
    "paid_late_invoices_365d",
    "avg_days_late_365d",
    "max_days_late_365d",
    "paid_late_share_365d",
)


def sweep_invoices(first: Any, stamps: Any, days: Any, cents: Any, cuts: Any) -> Any:
    """The billing features of every cutoff (:data:`BILLING_COLUMNS`), as the statement ``out_billing``.

    An invoice counts once known; its lateness only once it is due (overdue) or paid (late).

    Args:
        first: each account's first row (``n_accounts + 1`` offsets) of the rows, which are by account.
        stamps: ``(rows, 2)`` known and paid (us; :data:`NULL_TS` for none).
        days: ``(rows, 3)`` issued, due and paid days (:data:`NULL_TS` for none).
        cents: each row's amount in whole cents, NaN where null.
        cuts: cutoffs sorted by account and time, as :func:`sweep_rows` reads them.

    Returns:
        ``(cutoffs, 9)`` values by cutoff id, NaN for null.

    """
    c_id, c_acc, c_at = cuts
    out = np.full((c_id.shape[0], len(BILLING_COLUMNS)), np.nan)
    for i in range(c_id.shape[0]):
        acc, at, cid = c_acc[i], c_at[i], c_id[i]
        cdn = at // US_PER_DAY
        rows, issued, issued_usd, issued_given, overdue, overdue_usd, overdue_given = 0, 0, 0.0, 0, 0, 0.0, 0
        most_overdue, paid, late, late_days, most_late = 0, 0, 0, 0.0, 0
        if 0 <= acc < first.shape[0] - 1:
            for j in range(first[acc], first[acc + 1]):
                if stamps[j, 0] >= at:
                    continue
                rows += 1
                idn, ddn, pdn, given = days[j, 0], days[j, 1], days[j, 2], cents[j] == cents[j]
                if idn != NULL_TS and idn >= cdn - YEAR_DAYS:
                    issued += 1
                    issued_usd += cents[j] if given else 0.0
                    issued_given += 1 if given else 0
                if ddn != NULL_TS and ddn < cdn and (stamps[j, 1] == NULL_TS or stamps[j, 1] >= at):
                    overdue += 1
                    overdue_usd += cents[j] if given else 0.0
                    overdue_given += 1 if given else 0
                    most_overdue = max(most_overdue, cdn - ddn)
                if stamps[j, 1] == NULL_TS or stamps[j, 1] >= at or pdn < cdn - YEAR_DAYS:
                    continue
                paid += 1
                if ddn == NULL_TS:  # GREATEST(NULL, 0) is 0
                    continue
                most_late = max(most_late, pdn - ddn)
                if pdn > ddn:
                    late, late_days = late + 1, late_days + (pdn - ddn)
        out[cid, 0], out[cid, 2], out[cid, 4], out[cid, 5] = issued, overdue, most_overdue, late
        # SUM(CASE WHEN ... THEN cents ELSE 0 END): null only when every row it reads gives a null
        if rows == 0 or rows - issued + issued_given > 0:
            out[cid, 1] = issued_usd / CENTS_PER_USD
        if rows == 0 or rows - overdue + overdue_given > 0:
            out[cid, 3] = overdue_usd / CENTS_PER_USD
        if late > 0:
            out[cid, 6] = late_days / late
        if paid > 0:
            out[cid, 7], out[cid, 8] = most_late, late / paid
    return out


KERNELS = (
    count_people_rows,
    sweep_invoices,
    sweep_surveys,
    sweep_renewals,
    sweep_usage,
    sweep_tickets,
    outbound_emails_step,
    reply_rows_visit,
    place_reply_rows,
    sweep_reply_rows,
    explode_network_rows_step,
    network_sizes,
    explode_account_rows_step,
    sweep_account_rows,
    day_order,
    explode_rows_step,
    sweep_rows,
    explode_employee_rows_step,
    sweep_employee_rows,
    explode_pair_rows_step,
    sweep_pair_rows,
)
#: The explode passes, each a kernel of one step and the dtypes of the rows it writes (see :func:`two_steps`).
EXPLODES = {
    "explode_rows": (explode_rows_step, (np.int32, np.int64, np.int64, np.float64, np.bool_)),
    "explode_employee_rows": (
        explode_employee_rows_step,
        (np.int32, np.int32, np.int64, np.float64, np.bool_),
    ),
    "explode_pair_rows": (explode_pair_rows_step, (np.int32, np.int32, np.int64, np.int32)),
    "explode_account_rows": (explode_account_rows_step, (np.int64, np.int64, np.float64, np.int8)),
    "explode_network_rows": (explode_network_rows_step, (np.int32, np.int32, np.int32)),
    "outbound_emails": (outbound_emails_step, (np.int64, np.int64)),
}


def two_steps(step_kernel: Any, dtypes: tuple, *args: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """Run an explode pass: count each key's rows, then write every row at its key's next place.

    The rows' arrays are allocated here, by numpy, between the two steps: numpy asks the system for huge
    pages for big arrays, which numba's own allocations do not get, and the writes, spread over every
    account's place at once, then miss far fewer address translations.

    Args:
        step_kernel: the pass's kernel (``*_step``), called with the inputs, ``first``, the rows' arrays and
            the step (0: count into ``first``; 1: write).
        dtypes: the dtypes of the rows' arrays, in the kernel's order.
        *args: the kernel's inputs, then the number of keys (accounts, contacts or employees).

    Returns:
        The rows' arrays, by key, and each key's first row (``n_keys + 1`` offsets).

    """
    *inputs, n_keys = args
    first = np.zeros(int(n_keys) + 1, np.int64)
    step_kernel(*inputs, first, _row_arrays(0, dtypes), 0)
    first = np.cumsum(first)
    n = int(first[-1])
    out = _row_arrays(n, dtypes)
    step_kernel(*inputs, first, out, 1)
    return tuple(a[:n] for a in out), first


def _row_arrays(n: int, dtypes: tuple) -> tuple[np.ndarray, ...]:
    """``n`` rows of ``dtypes`` (two at least), as one array per field over a single packed record array.

    A row's fields lie side by side, so that a pass writing rows at each account's place touches one place
    per account rather than one per field and account (``bench/scatter_writes.py`` and
    ``bench/explode_layout.py`` measured such writes 2.0-2.2x faster into one row-major matrix than into
    separate arrays for rows of random accounts, and 1.35x for the contacts explode). Two rows at least: an
    array of one row or none counts as contiguous, which numba would compile the kernel for again.
    """
    rows = np.empty(max(n, 2), np.dtype([(f"f{i}", d) for i, d in enumerate(dtypes)]))
    return tuple(rows[f"f{i}"] for i in range(len(dtypes)))


REPLY_DTYPES = (np.int32, np.int64, np.float64, np.int8)  # the rows of :func:`reply_rows`


def reply_rows(k: dict[str, Any], *args: Any) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
    """The reply rows by account and day, as an explode pass gives its rows, from kernels ``k``.

    Args:
        k: the kernels (:func:`reply_rows_visit` and :func:`place_reply_rows`).
        *args: the arguments of :func:`reply_rows_visit`, then the number of accounts.

    Returns:
        The rows' arrays ``(stamp day, known, delay change (s), flags)``, by account, and each account's first
        row (``n_accounts + 1`` offsets).

    """
    *inputs, n_accounts = args
    visited, n = k["reply_rows_visit"](*inputs)
    first = np.zeros(int(n_accounts) + 1, np.int64)
    first[1:] = np.cumsum(np.bincount(visited[0][:n], minlength=int(n_accounts)))
    out = _row_arrays(n, REPLY_DTYPES)
    k["place_reply_rows"](visited, n, first, out)
    return tuple(a[:n] for a in out), first


def _with_explodes(k: dict[str, Any]) -> dict[str, Any]:
    """The kernels ``k`` and, under each explode pass's name, the pass run by :func:`two_steps` on them."""
    explodes = {name: partial(two_steps, k[f.__name__], dtypes) for name, (f, dtypes) in EXPLODES.items()}
    return k | explodes | {"reply_rows": partial(reply_rows, k)}


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
        return _with_explodes({f.__name__: numba.njit(cache=True, nogil=True)(f) for f in KERNELS})
    except RuntimeError:  # "cannot cache function ...: no locator available" (nowhere to write)
        return _with_explodes({f.__name__: numba.njit(nogil=True)(f) for f in KERNELS})


def plain() -> dict[str, Any]:
    """The kernels uncompiled: for small data, where compiling would take longer than running."""
    return _with_explodes({f.__name__: f for f in KERNELS})
