"""Recency: days since we last met, spoke to, or reached an executive at the customer (180-day lookback)."""

from features.catalog import FeatureGroup, group_features

_SRC = ("interactions", "contacts")
GROUP = FeatureGroup(
    name="recency",
    title="Recency",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features(
        "recency",
        "collaboration",
        _SRC,
        [
            (
                "days_since_last_meeting",
                "Days since the last meeting with the customer (empty if none in 180 days)",
                180,
                "float",
            ),
            (
                "days_since_last_interaction",
                "Days since the last interaction of any kind with the customer (empty if none in 180 days)",
                180,
                "float",
            ),
            (
                "days_since_last_executive_contact",
                "Days since we last interacted with a customer executive (empty if none in 180 days)",
                180,
                "float",
            ),
        ],
    ),
)
