"""Internal network of the account team.

The account team is our people who interacted with the customer in the last 28 days. An internal relationship
is a pair of our employees with at least 2 meaningful interactions together (email or meeting, 5 participants
or fewer) in the 28 full days before the cutoff's day. Shown only for teams of at least 5 people.
"""

from features.catalog import FeatureGroup, group_features

_SRC = ("interactions", "contacts", "employees")
GROUP = FeatureGroup(
    name="internal_network",
    title="Internal network of the account team",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features(
        "internal_network",
        "collaboration",
        _SRC,
        [
            (
                "team_network_avg_28d",
                "Average internal network size (colleague relationships) per account-team member"
                " (5+ people only)",
                28,
                "float",
            ),
            (
                "team_network_total_28d",
                "Colleague relationships summed over the account team (5+ people only)",
                28,
                "float",
            ),
        ],
    ),
)
