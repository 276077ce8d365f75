"""Trends: the last 28 days against the 28 days before, for the main collaboration signals."""

from features.catalog import FeatureGroup, group_features

_SRC = ("interactions", "contacts")
_SPECS = [
    (f"{key}_trend_28d", f"Change in {label}: last 28 days minus the 28 days before", 56, "float")
    for key, label in (
        ("email_hours", "hours of email with the customer"),
        ("meeting_hours", "hours of meetings with the customer"),
        ("call_hours", "hours of calls with the customer"),
        ("customer_hours", "hours of all interactions with the customer"),
        ("customer_interactions", "number of interactions with the customer"),
        ("contacts_reached", "customer contacts reached"),
    )
]
GROUP = FeatureGroup(
    name="trends",
    title="Collaboration trends",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("trends", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
