"""A deliberately naive pandas reference for every catalog feature.

It works differently from the engine on purpose: for each example it first cuts the whole world down to what
was known at the cutoff (a snapshot: rows stamped, and recorded, strictly before it), then computes each
feature
with plain Python over that snapshot. No pre-aggregation, no day tables, no running minimums.
"""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np
import pandas as pd

from tests.features.fixtures import STAMPS

EPOCH = pd.Timestamp("1970-01-01")
NAN = float("nan")
W = (28, 90, 180)


def day(ts: pd.Timestamp) -> int:
    return (ts.normalize() - EPOCH).days


def snapshot(world: dict[str, pd.DataFrame], t: pd.Timestamp) -> dict[str, pd.DataFrame]:
    out = {}
    for name, df in world.items():
        rec = df["recorded_at"] if "recorded_at" in df.columns else pd.Series(pd.NaT, index=df.index)
        if name in STAMPS:
            stamp = df[STAMPS[name]]
            known = stamp.where(rec.isna() | (rec <= stamp), rec)
            keep = known < t
        else:
            keep = rec.isna() | (rec < t)
        out[name] = df[keep.to_numpy()]
    return out


def _mean(xs: list[float]) -> float:
    return float(np.mean(xs)) if xs else NAN


def _div(a: float, b: float) -> float:
    if b is None or (isinstance(b, float) and math.isnan(b)) or b == 0:
        return NAN
    return a / b


def accounts_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    r: dict[str, Any] = {"cutoff_month": float(t.month)}
    acc = v["accounts"][v["accounts"].account_id == a]
    names = [
        "industry",
        "segment",
        "region",
        "employee_count",
        "has_owner",
        "has_csm",
        "tenure_days",
        "tenure_years",
        "days_to_anniversary",
        "is_first_year",
        "arr_usd",
        "plan",
        "arr_per_employee",
        "crm_contract_type",
        "crm_discount_pct",
        "crm_auto_renew",
    ]
    if acc.empty:
        return r | dict.fromkeys(names, None)
    row = acc.iloc[0]
    ten = day(t) - day(row.customer_since)
    r |= {
        "industry": row.industry,
        "segment": row.segment,
        "region": row.region,
        "employee_count": float(row.employee_count),
        "has_owner": float(pd.notna(row.owner_id)),
        "has_csm": float(pd.notna(row.csm_id)),
        "tenure_days": float(ten),
        "tenure_years": ten / 365.25,
        "days_to_anniversary": float(-ten if ten < 0 else (365 - ten % 365) % 365),
        "is_first_year": float(ten < 365),
        "arr_usd": float(row.arr_usd),
        "plan": row.plan,
        "arr_per_employee": _div(float(row.arr_usd), float(row.employee_count)),
    }
    if "Contract Type" in acc.columns:
        r |= {
            "crm_contract_type": row["Contract Type"],
            "crm_discount_pct": float(row["discount_pct"]),
            "crm_auto_renew": float(row["auto_renew"]),
        }
    return r


def contacts_ref(v: dict, a: str) -> dict[str, Any]:
    c = v["contacts"][v["contacts"].account_id == a]
    return {
        "known_contacts": float(len(c)),
        "known_executive_contacts": float((c.seniority == "executive").sum()),
        "known_decision_makers": float(c.is_decision_maker.sum()),
    }


def billing_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    cd = day(t)
    n365 = usd365 = 0.0
    overdue_n = overdue_usd = 0.0
    overdue_days: list[int] = []
    paid_n = late_n = 0
    late_days: list[int] = []
    paid_days: list[int] = []
    for row in v["invoices"][v["invoices"].account_id == a].itertuples():
        idn, ddn = day(row.issued_at), day(row.due_at)
        if idn >= cd - 365:
            n365 += 1
            usd365 += row.amount_usd
        unpaid = pd.isna(row.paid_at) or row.paid_at >= t
        if ddn < cd and unpaid:
            overdue_n += 1
            overdue_usd += row.amount_usd
            overdue_days.append(cd - ddn)
        if not unpaid and day(row.paid_at) >= cd - 365:
            pdn = day(row.paid_at)
            paid_n += 1
            paid_days.append(max(pdn - ddn, 0))
            if pdn > ddn:
                late_n += 1
                late_days.append(pdn - ddn)
    return {
        "invoices_365d": n365,
        "invoiced_usd_365d": usd365,
        "overdue_open_invoices": overdue_n,
        "overdue_open_usd": overdue_usd,
        "max_days_overdue": float(max(overdue_days, default=0)),
        "paid_late_invoices_365d": float(late_n),
        "avg_days_late_365d": _mean(late_days),
        "max_days_late_365d": float(max(paid_days)) if paid_days else NAN,
        "paid_late_share_365d": _div(late_n, paid_n),
    }


def renewals_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    r = v["renewals"][v["renewals"].account_id == a]
    out = {
        "renewals_prior": float(len(r)),
        "renewals_expanded_prior": float((r.outcome == "expanded").sum()),
        "renewals_contracted_prior": float((r.outcome == "contracted").sum()),
        "renewals_churned_prior": float((r.outcome == "churned").sum()),
        "arr_change_prior_usd": float(r.arr_change_usd.sum()),
        "last_arr_change_usd": NAN,
        "days_since_last_renewal": NAN,
    }
    if len(r):
        last = r.renewal_date.max()
        out["last_arr_change_usd"] = float(r[r.renewal_date == last].arr_change_usd.sum())
        out["days_since_last_renewal"] = float(day(t) - day(last))
    return out


def surveys_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    s = v["surveys"][v["surveys"].account_id == a]
    cd = day(t)
    recent = [row.csat for row in s.itertuples() if day(row.responded_at) >= cd - 365]
    nps = [float(x) for x in s.nps if pd.notna(x)]
    out = {
        "prior_responses": float(len(s)),
        "prior_responses_365d": float(len(recent)),
        "prior_csat_mean": _mean(list(s.csat)),
        "prior_csat_mean_365d": _mean(recent),
        "last_csat": NAN,
        "prior_nps_mean": _mean(nps),
        "prior_unsatisfied_share": _mean([float(c < 4) for c in s.csat]),
        "days_since_last_survey": NAN,
    }
    if len(s):
        last = s.responded_at.max()
        out["last_csat"] = _mean(list(s[s.responded_at == last].csat))
        out["days_since_last_survey"] = (t - last).total_seconds() / 86400
    return out


def tickets_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    cd = day(t)
    out: dict[str, Any] = defaultdict(float)
    res: dict[int, list[float]] = {90: [], 180: []}
    oldest = 0.0
    for row in v["tickets"][v["tickets"].account_id == a].itertuples():
        odn = day(row.opened_at)
        closed = pd.notna(row.closed_at) and row.closed_at < t
        for w in W:
            out[f"tickets_{w}d"] += odn >= cd - w
        if odn >= cd - 180:
            out[f"tickets_sev{row.severity}_180d"] += 1
            out["escalated_tickets_180d"] += bool(row.escalated)
        if odn >= cd - 90:
            out["severe_tickets_90d"] += row.severity <= 2
            out["escalated_tickets_90d"] += bool(row.escalated)
        if odn >= cd - 28:
            out["tickets_trend_28d"] += 1
        elif odn >= cd - 56:
            out["tickets_trend_28d"] -= 1
        if not closed:
            out["open_tickets"] += 1
            out["open_severe_tickets"] += row.severity <= 2
            oldest = max(oldest, (t - row.opened_at).total_seconds() / 86400)
        else:
            hours = (row.closed_at - row.opened_at).total_seconds() / 3600
            cl = day(row.closed_at)
            for w in (90, 180):
                if cl >= cd - w:
                    res[w].append(hours)
            if cl >= cd - 180:
                out["reopened_180d"] += row.reopened_count
    r = {
        k: float(out[k]) for k in [f"tickets_{w}d" for w in W] + [f"tickets_sev{s}_180d" for s in range(1, 5)]
    }
    for k in (
        "severe_tickets_90d",
        "escalated_tickets_90d",
        "escalated_tickets_180d",
        "open_tickets",
        "open_severe_tickets",
        "reopened_180d",
        "tickets_trend_28d",
    ):
        r[k] = float(out[k])
    r |= {
        "oldest_open_ticket_days": oldest,
        "resolved_tickets_90d": float(len(res[90])),
        "avg_resolution_hours_90d": _mean(res[90]),
        "avg_resolution_hours_180d": _mean(res[180]),
        "max_resolution_hours_180d": max(res[180]) if res[180] else NAN,
    }
    return r


def usage_ref(v: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    cd = day(t)
    rows = [
        (day(r.date), r)
        for r in v["usage"][v["usage"].account_id == a].itertuples()
        if day(r.date) >= cd - 90
    ]
    last = [r for d, r in rows if d >= cd - 28]
    prev = [r for d, r in rows if cd - 56 <= d < cd - 28]
    allr = [r for _, r in rows]

    def util(rs: list) -> float:
        return (
            _div(float(sum(r.active_users for r in rs)), float(sum(r.licensed_seats for r in rs)))
            if rs
            else NAN
        )

    avg28 = _mean([r.active_users for r in last])
    ev28 = float(sum(r.key_feature_events for r in last))
    return {
        "active_users_avg_28d": avg28,
        "active_users_avg_90d": _mean([r.active_users for r in allr]),
        "licensed_seats_avg_28d": _mean([r.licensed_seats for r in last]),
        "seat_utilisation_28d": util(last),
        "seat_utilisation_90d": util(allr),
        "key_feature_events_28d": ev28,
        "key_feature_events_90d": float(sum(r.key_feature_events for r in allr)),
        "events_per_active_user_28d": _div(ev28, avg28),
        "active_users_trend_28d": avg28 - _mean([r.active_users for r in prev]),
        "seat_utilisation_trend_28d": util(last) - util(prev),
        "key_feature_events_trend_28d": ev28 - sum(r.key_feature_events for r in prev),
        "usage_reports_28d": float(len(last)),
        "days_since_last_usage": float(cd - max(d for d, _ in rows)) if rows else NAN,
    }


def _people(row) -> list[str]:
    return list(dict.fromkeys([row.organizer_id, *row.internal_participants, *row.external_participants]))


def _after_hours(ts: pd.Timestamp, tz: str) -> bool:
    local = ts.tz_localize("UTC").tz_convert(tz)
    return not (local.weekday() < 5 and 8 <= local.hour < 17)


def collab_ref(v: dict, v0: dict, a: str, t: pd.Timestamp) -> dict[str, Any]:
    cd = day(t)
    contacts = v["contacts"].set_index("contact_id")
    mine = contacts[contacts.account_id == a]
    known_n = len(mine)
    emps = v["employees"].set_index("employee_id")
    acc_rows = []
    for row in v["interactions"].itertuples():
        ext = [p for p in dict.fromkeys([*row.external_participants, row.organizer_id]) if p in mine.index]
        if not ext or day(row.started_at) < cd - 180:
            continue
        internal = [
            p for p in dict.fromkeys([*row.internal_participants, row.organizer_id]) if p in emps.index
        ]
        people = _people(row)
        meaningful = row.kind in ("email", "meeting") and len(people) <= 5
        acc_rows.append((row, day(row.started_at), row.duration_minutes / 60, ext, internal, meaningful))

    def in_w(d: int, w: int) -> bool:
        return d >= cd - w

    def in_prev(d: int) -> bool:
        return cd - 56 <= d < cd - 28

    r: dict[str, Any] = {}
    for w in W:
        sel = [x for x in acc_rows if in_w(x[1], w)]
        for kind in ("email", "meeting", "call"):
            r[f"{kind}_hours_{w}d"] = sum(h for row, _, h, *_ in sel if row.kind == kind)
        hours = sum(x[2] for x in sel)
        r[f"customer_hours_{w}d"] = hours
        r[f"customer_interactions_{w}d"] = float(len(sel))
        r[f"meaningful_share_{w}d"] = _div(sum(x[2] for x in sel if x[5]), hours)
        per_c: dict[str, float] = defaultdict(float)
        for x in sel:
            for c in x[3]:
                per_c[c] += x[2]
        r[f"contacts_reached_{w}d"] = float(len(per_c))
        r[f"executives_reached_{w}d"] = float(sum(mine.loc[c, "seniority"] == "executive" for c in per_c))
        r[f"decision_makers_reached_{w}d"] = float(sum(bool(mine.loc[c, "is_decision_maker"]) for c in per_c))
        r[f"contact_coverage_{w}d"] = _div(len(per_c), known_n)
        r[f"hours_per_contact_{w}d"] = _div(hours, len(per_c)) if sel else NAN
        r[f"top_contact_share_{w}d"] = _div(max(per_c.values()), sum(per_c.values())) if per_c else NAN
        per_e: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
        for x in sel:
            for e in x[4]:
                per_e[e][0] += x[2]
                per_e[e][1] += x[2] if _after_hours(x[0].started_at, emps.loc[e, "timezone"]) else 0.0
        r[f"employees_engaged_{w}d"] = float(len(per_e))
        r[f"manager_engaged_{w}d"] = float(any(emps.loc[e, "role"] == "manager" for e in per_e))
        r[f"executive_engaged_{w}d"] = float(any(emps.loc[e, "role"] == "executive" for e in per_e))
        tot = sum(h for h, _ in per_e.values())
        r[f"after_hours_share_{w}d"] = (
            _div(sum(ah for _, ah in per_e.values()), tot) if len(per_e) >= 5 else NAN
        )
    prev = [x for x in acc_rows if in_prev(x[1])]
    last = [x for x in acc_rows if in_w(x[1], 28)]
    for key, pick in (
        ("email_hours", lambda x: x[2] * (x[0].kind == "email")),
        ("meeting_hours", lambda x: x[2] * (x[0].kind == "meeting")),
        ("call_hours", lambda x: x[2] * (x[0].kind == "call")),
        ("customer_hours", lambda x: x[2]),
        ("customer_interactions", lambda x: 1.0),
    ):
        r[f"{key}_trend_28d"] = sum(pick(x) for x in last) - sum(pick(x) for x in prev)
    r["contacts_reached_trend_28d"] = float(
        len({c for x in last for c in x[3]}) - len({c for x in prev for c in x[3]})
    )
    r["employees_engaged_trend_28d"] = float(
        len({e for x in last for e in x[4]}) - len({e for x in prev for e in x[4]})
    )

    def since(xs: list) -> float:
        return (t - max(x[0].started_at for x in xs)).total_seconds() / 86400 if xs else NAN

    r["days_since_last_meeting"] = since([x for x in acc_rows if x[0].kind == "meeting"])
    r["days_since_last_interaction"] = since(acc_rows)
    r["days_since_last_executive_contact"] = since(
        [x for x in acc_rows if any(mine.loc[c, "seniority"] == "executive" for c in x[3])]
    )
    # relationships with the customer
    pairs: dict[tuple[str, str], int] = defaultdict(int)
    for x in last:
        if x[5]:
            for e in x[4]:
                for c in x[3]:
                    pairs[(e, c)] += 1
    rel = [p for p, n in pairs.items() if n >= 2]
    r["customer_relationships_28d"] = float(len(rel))
    r["contacts_in_relationship_28d"] = float(len({c for _, c in rel}))
    r["employees_in_relationship_28d"] = float(len({e for e, _ in rel}))
    r["relationship_coverage_28d"] = _div(len({c for _, c in rel}), known_n)
    # internal network of the account team, from what was known at the start of the cutoff's day
    team = {e for x in last for e in x[4]}
    emps0 = set(v0["employees"].employee_id)
    ipairs: dict[tuple[str, str], int] = defaultdict(int)
    for row in v0["interactions"].itertuples():
        people = _people(row)
        if day(row.started_at) < cd - 28 or row.kind not in ("email", "meeting") or len(people) > 5:
            continue
        es = [p for p in dict.fromkeys([*row.internal_participants, row.organizer_id]) if p in emps0]
        for e in es:
            for p in es:
                if e != p:
                    ipairs[(e, p)] += 1
    sizes = [sum(1 for (e, _), n in ipairs.items() if e == m and n >= 2) for m in team]
    big = len(team) >= 5
    r["team_network_avg_28d"] = sum(sizes) / len(team) if big else NAN
    r["team_network_total_28d"] = float(sum(sizes)) if big else NAN
    r |= replies_ref(v, a, t, mine, emps)
    return r


def replies_ref(v: dict, a: str, t: pd.Timestamp, mine: pd.DataFrame, emps: pd.DataFrame) -> dict[str, Any]:
    cd = day(t)
    emails = v["interactions"][v["interactions"].kind == "email"]
    inbound = emails[emails.organizer_id.isin(mine.index)]
    outbound = emails[emails.organizer_id.isin(emps.index)]
    delays: list[tuple[int, float | None]] = []
    for row in inbound.itertuples():
        replies = [
            (o.started_at - row.started_at).total_seconds() / 3600
            for o in outbound.itertuples()
            if row.organizer_id in list(o.external_participants)
            and row.started_at < o.started_at <= row.started_at + pd.Timedelta(days=7)
        ]
        delays.append((day(row.started_at), min(replies) if replies else None))
    out: dict[str, Any] = {}
    for w in (28, 90):
        out[f"inbound_emails_{w}d"] = float(sum(d >= cd - w for d, _ in delays))
    for w in W:
        out[f"reply_hours_avg_{w}d"] = _mean([x for d, x in delays if d >= cd - w and x is not None])
    in90 = [x for d, x in delays if d >= cd - 90]
    out["replied_24h_share_90d"] = _div(sum(x is not None and x <= 24 for x in in90), len(in90))
    replied = sum(x is not None for x in in90)
    out["unanswered_share_90d"] = 1 - _div(replied, len(in90)) if in90 else NAN
    return out


def reference_features(
    world: dict[str, pd.DataFrame], account_id: str, as_of: pd.Timestamp
) -> dict[str, Any]:
    """Every catalog feature (and the fixture's account extras) for one example, naively."""
    t = pd.Timestamp(as_of)
    v = snapshot(world, t)
    v0 = snapshot(world, t.normalize())
    r = accounts_ref(v, account_id, t)
    r |= contacts_ref(v, account_id)
    r |= billing_ref(v, account_id, t)
    r |= renewals_ref(v, account_id, t)
    r |= surveys_ref(v, account_id, t)
    r |= tickets_ref(v, account_id, t)
    r |= usage_ref(v, account_id, t)
    r |= collab_ref(v, v0, account_id, t)
    return r
