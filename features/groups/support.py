"""Support: tickets by severity, backlog, escalations and resolution times.

A ticket counts from its opening; its resolution (and reopen count) only from its closing.
"""

from features.catalog import FeatureGroup, group_features

_SRC = ("tickets",)
_SPECS: list[tuple[str, str, int | None, str]] = [
    (f"tickets_{w}d", f"Support tickets opened in the last {w} days", w, "float") for w in (28, 90, 180)
]
_SPECS += [
    (
        f"tickets_sev{s}_180d",
        f"Severity-{s} support tickets opened in the last 180 days ({label})",
        180,
        "float",
    )
    for s, label in ((1, "most severe"), (2, "high"), (3, "medium"), (4, "low"))
]
_SPECS += [
    ("severe_tickets_90d", "Severity 1-2 (most severe) tickets opened in the last 90 days", 90, "float"),
    ("escalated_tickets_90d", "Escalated tickets opened in the last 90 days", 90, "float"),
    ("escalated_tickets_180d", "Escalated tickets opened in the last 180 days", 180, "float"),
    ("open_tickets", "Support tickets open (not yet resolved) at the time", None, "float"),
    ("open_severe_tickets", "Severity 1-2 tickets open at the time", None, "float"),
    ("oldest_open_ticket_days", "Age in days of the oldest open support ticket", None, "float"),
    ("resolved_tickets_90d", "Support tickets resolved in the last 90 days", 90, "float"),
    (
        "avg_resolution_hours_90d",
        "Average hours to resolve tickets resolved in the last 90 days",
        90,
        "float",
    ),
    (
        "avg_resolution_hours_180d",
        "Average hours to resolve tickets resolved in the last 180 days",
        180,
        "float",
    ),
    (
        "max_resolution_hours_180d",
        "Longest resolution time (hours) of tickets resolved in 180 days",
        180,
        "float",
    ),
    ("reopened_180d", "Times tickets resolved in the last 180 days were reopened", 180, "float"),
    ("tickets_trend_28d", "Change in tickets opened: last 28 days minus the 28 days before", 56, "float"),
]
GROUP = FeatureGroup(
    name="support",
    title="Support",
    feature_set="baseline",
    requires=_SRC,
    features=group_features("support", "baseline", _SRC, _SPECS),  # type: ignore[arg-type]
)
