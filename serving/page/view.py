"""The page's account view: scores, trend, drivers, the collaboration picture and what to do about it.

Everything comes from what the service already holds: the online store's latest feature values (the
collaboration picture is the store's 28/56/90/180-day windows, so it costs nothing to compute and matches what
the models saw), the stored score history and the live TreeSHAP explanation. Aggregates only: no person.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from serving import schemas as s
from serving.runtime import Runtime

HISTORY_POINTS = 52
#: Drivers this far down either model's list of risk-raising drivers may still prompt an action line.
ACTION_DEPTH = 10


def build_view(rt: Runtime, account_id: str) -> s.AccountView:
    """Everything the account view shows for one account.

    Args:
        rt: the loaded runtime.
        account_id: the account.

    Returns:
        The view.

    Raises:
        LookupError: unknown account.

    """
    explanation = rt.explain(account_id)
    row = rt.store.loc[[account_id]].iloc[0]
    meta = rt.accounts.reindex([account_id]).iloc[0]
    table = rt.risk_table().set_index("account_id")
    change = table.at[account_id, "change"] if account_id in table.index else None
    summary = s.AccountSummary(
        account_id=account_id,
        name=_text(meta["name"]),
        segment=_text(row.get("segment")),
        region=_text(row.get("region")),
        csm_team=_text(meta["csm_team"]),
        churn_change_7d=_num(change),
    )
    return s.AccountView(
        account_id=account_id,
        account=summary,
        history=rt.history(account_id, HISTORY_POINTS),
        explanation=explanation,
        collaboration=collaboration(row),
        actions=actions(row, explanation),
    )


def collaboration(row: pd.Series) -> s.Collaboration:
    """The collaboration picture of one store row (the store's windows, no person named).

    Customer hours are shown in four periods of the last 180 days, each exact from the store's windows:
    the last 28 days, the 28 before (from the 28-day trend), days 57-90 and days 91-180, each also as hours
    per 30 days so that periods of different length compare.
    """
    h28, h90, h180 = (_num(row.get(f"customer_hours_{w}d")) for w in (28, 90, 180))
    trend = _num(row.get("customer_hours_trend_28d"))
    prev28 = None if h28 is None or trend is None else h28 - trend
    periods = [
        _period("last 28 days", 0, 28, h28),
        _period("29-56 days ago", 28, 56, prev28),
        _period("57-90 days ago", 56, 90, _minus(h90, h28, prev28)),
        _period("91-180 days ago", 90, 180, _minus(h180, h90)),
    ]
    engaged = _num(row.get("executive_engaged_90d"))
    return s.Collaboration(
        periods=periods,
        contacts_reached={f"{w}d": _num(row.get(f"contacts_reached_{w}d")) for w in (28, 90, 180)},
        contact_coverage_90d=_num(row.get("contact_coverage_90d")),
        executives_reached={f"{w}d": _num(row.get(f"executives_reached_{w}d")) for w in (28, 90, 180)},
        our_executive_engaged_90d=None if engaged is None else engaged > 0,
        days_since_last_meeting=_num(row.get("days_since_last_meeting")),
        reply_hours_avg_90d=_num(row.get("reply_hours_avg_90d")),
        meeting_hours_change_28d=_num(row.get("meeting_hours_trend_28d")),
    )


@dataclass(frozen=True)
class Rule:
    """An action line: shown when one of ``features`` is among the drivers raising risk and ``when`` holds."""

    features: frozenset[str]
    when: Callable[[dict[str, float | None]], bool]
    say: Callable[[dict[str, float | None]], str]


#: Days without any interaction after which the account counts as gone quiet.
QUIET_DAYS = 14


def _lt(v: float | None, limit: float) -> bool:
    return v is not None and v < limit


RULES = (
    Rule(
        frozenset(
            {
                "contacts_reached_28d",
                "contacts_reached_90d",
                "contacts_reached_180d",
                "contact_coverage_28d",
                "contact_coverage_90d",
                "contact_coverage_180d",
                "top_contact_share_90d",
                "relationship_coverage_28d",
            }
        ),
        lambda v: _lt(v["contacts_reached_90d"], 3) or _lt(v["contact_coverage_90d"], 0.25),
        lambda v: (
            f"Few contacts reached: {_count(v['contacts_reached_90d'])} in 90 days "
            f"({_share(v['contact_coverage_90d'])} of known contacts). Widen the relationship beyond them."
        ),
    ),
    Rule(
        frozenset(
            {
                "executives_reached_28d",
                "executives_reached_90d",
                "executives_reached_180d",
                "days_since_last_executive_contact",
                "decision_makers_reached_90d",
                "executive_engaged_28d",
                "executive_engaged_90d",
                "executive_engaged_180d",
            }
        ),
        lambda v: not v["executives_reached_90d"] or not v["executive_engaged_90d"],
        lambda v: (
            "No executive engaged: "
            + (
                "no customer executive reached in 90 days"
                if not v["executives_reached_90d"]
                else "none of our executives took part in 90 days"
            )
            + ". Set up an executive sponsor conversation."
        ),
    ),
    Rule(
        frozenset(
            {
                "reply_hours_avg_28d",
                "reply_hours_avg_90d",
                "reply_hours_avg_180d",
                "replied_24h_share_90d",
                "unanswered_share_90d",
            }
        ),
        lambda v: (v["reply_hours_avg_90d"] or 0) > 24 or _lt(v["replied_24h_share_90d"], 0.7),
        lambda v: (
            f"Slow replies: {_quantity(v['reply_hours_avg_90d'], 'hour')} on average, "
            f"{_share(v['replied_24h_share_90d'])} answered within a day (90 days). "
            "Answer this customer faster."
        ),
    ),
    Rule(
        frozenset(
            {
                "meeting_hours_trend_28d",
                "meeting_hours_28d",
                "meeting_hours_90d",
                "customer_hours_trend_28d",
                "days_since_last_meeting",
            }
        ),
        lambda v: (
            _lt(v["meeting_hours_trend_28d"], 0)
            or (v["days_since_last_meeting"] or 0) > 45
            or v["days_since_last_meeting"] is None
        ),
        lambda v: (
            f"Less meeting time: {_signed(v['meeting_hours_trend_28d'])} hours in the last 28 days "
            f"against the 28 before; last meeting {_days(v['days_since_last_meeting'])}. "
            "Book a working session."
        ),
    ),
    Rule(
        frozenset(
            {
                *(f"customer_{m}_{w}d" for m in ("interactions", "hours") for w in (28, 90, 180)),
                *(f"{kind}_hours_{w}d" for kind in ("email", "call") for w in (28, 90, 180)),
                "customer_interactions_trend_28d",
                "customer_hours_trend_28d",
                "days_since_last_interaction",
            }
        ),
        lambda v: (
            _lt(v["customer_interactions_trend_28d"], 0)
            or _lt(v["customer_hours_28d"], 0.75 * (v["customer_hours_90d"] or 0) * 28 / 90)
            or (v["days_since_last_interaction"] or 0) > QUIET_DAYS
            or v["days_since_last_interaction"] is None
        ),
        lambda v: (
            f"Less contact overall: {_interactions(v['customer_interactions_28d'])} "
            f"in the last 28 days ({_signed_count(v['customer_interactions_trend_28d'])} against the "
            f"28 before); last interaction {_days(v['days_since_last_interaction'])}. "
            "Check in on their goals and plans."
        ),
    ),
)
RULE_INPUTS = (
    "contacts_reached_90d",
    "contact_coverage_90d",
    "executives_reached_90d",
    "executive_engaged_90d",
    "reply_hours_avg_90d",
    "replied_24h_share_90d",
    "meeting_hours_trend_28d",
    "days_since_last_meeting",
    "customer_interactions_28d",
    "customer_interactions_trend_28d",
    "customer_hours_28d",
    "customer_hours_90d",
    "days_since_last_interaction",
)


def actions(row: pd.Series, explanation: s.Explanation) -> list[str]:
    """Plain action lines where the drivers raising risk point at something a CSM can change.

    Args:
        row: the account's store row.
        explanation: both models' contributions.

    Returns:
        One line per rule that fires, in rule order.

    """
    raising = set()
    for model in (explanation.churn, explanation.satisfaction):
        risky = [d.feature for d in model.contributions if d.direction == "raises risk"]
        raising |= set(risky[:ACTION_DEPTH])
    values = {name: _num(row.get(name)) for name in RULE_INPUTS}
    return [rule.say(values) for rule in RULES if rule.features & raising and rule.when(values)]


def _period(label: str, start: int, end: int, hours: float | None) -> s.CollabPeriod:
    per30 = None if hours is None else hours * 30.0 / (end - start)
    return s.CollabPeriod(label=label, days_ago_from=start, days_ago_to=end, hours=hours, hours_per_30d=per30)


def _minus(total: float | None, *parts: float | None) -> float | None:
    if total is None or any(p is None for p in parts):
        return None
    return max(0.0, total - sum(p for p in parts if p is not None))


def _num(v: Any) -> float | None:
    if v is None or isinstance(v, str):
        return None
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) else None


def _text(v: Any) -> str | None:
    return None if v is None or (not isinstance(v, str) and bool(pd.isna(v))) else str(v)


def _count(v: float | None) -> str:
    return "none" if v is None else f"{v:,.0f}"


def _share(v: float | None) -> str:
    return "unknown share" if v is None else f"{v:.0%}"


def _quantity(v: float | None, unit: str) -> str:
    """A whole count with its unit, singular for one: ``1 hour``, ``40 hours``."""
    if v is None:
        return f"an unknown number of {unit}s"
    shown = _count(v)
    return f"{shown} {unit}" if shown == "1" else f"{shown} {unit}s"


def _interactions(v: float | None) -> str:
    """The number of interactions in words: ``1 email, meeting, call or chat``, ``14 emails, ...``."""
    if v is None:
        return "an unknown number of emails, meetings, calls and chats"
    shown = _count(v)
    return (
        f"{shown} email, meeting, call or chat"
        if shown == "1"
        else f"{shown} emails, meetings, calls and chats"
    )


def _signed(v: float | None) -> str:
    """A change with one decimal and its sign; no sign when it rounds to zero (``0.0``, not ``+0.0``)."""
    if v is None:
        return "unknown"
    shown = round(v, 1)
    return "0.0" if shown == 0 else f"{shown:+.1f}"


def _signed_count(v: float | None) -> str:
    """A change in a count with its sign; no sign when it rounds to zero."""
    if v is None:
        return "unknown"
    shown = round(v)
    return "0" if shown == 0 else f"{shown:+,d}"


def _days(v: float | None) -> str:
    """How long ago, in whole days: ``less than a day ago``, ``1 day ago``, ``3 days ago``."""
    if v is None:
        return "none in 180 days"
    return "less than a day ago" if v < 1 else f"{_quantity(v, 'day')} ago"
