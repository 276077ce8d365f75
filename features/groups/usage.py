"""Product usage: active users, seat utilisation and key-feature events, with 28-day trends."""

from features.catalog import FeatureGroup, group_features

_SRC = ("usage",)
GROUP = FeatureGroup(
    name="usage",
    title="Product usage",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "usage",
        "baseline",
        _SRC,
        [
            ("active_users_avg_28d", "Average active users per usage report, last 28 days", 28, "float"),
            ("active_users_avg_90d", "Average active users per usage report, last 90 days", 90, "float"),
            ("licensed_seats_avg_28d", "Average licensed seats, last 28 days", 28, "float"),
            ("seat_utilisation_28d", "Share of licensed seats actively used, last 28 days", 28, "float"),
            ("seat_utilisation_90d", "Share of licensed seats actively used, last 90 days", 90, "float"),
            ("key_feature_events_28d", "Uses of key product features, last 28 days", 28, "float"),
            ("key_feature_events_90d", "Uses of key product features, last 90 days", 90, "float"),
            (
                "events_per_active_user_28d",
                "Key-feature uses per average active user, last 28 days",
                28,
                "float",
            ),
            (
                "active_users_trend_28d",
                "Change in average active users: last 28 days minus the 28 days before",
                56,
                "float",
            ),
            (
                "seat_utilisation_trend_28d",
                "Change in seat utilisation: last 28 days minus the 28 days before",
                56,
                "float",
            ),
            (
                "key_feature_events_trend_28d",
                "Change in key-feature uses: last 28 days minus the 28 days before",
                56,
                "float",
            ),
            ("usage_reports_28d", "Usage reports received in the last 28 days", 28, "float"),
            (
                "days_since_last_usage",
                "Days since the latest usage report (within the last 90 days)",
                90,
                "float",
            ),
        ],
    ),
)
