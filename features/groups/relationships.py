"""Relationships with the customer.

A relationship is a pair of one of our people and one customer contact with at least 2 meaningful
interactions (email or meeting, 5 participants or fewer) together in the last 28 days.
"""

from features.catalog import FeatureGroup, group_features

_SRC = ("interactions", "contacts", "employees")
GROUP = FeatureGroup(
    name="relationships",
    title="Relationships with the customer",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features(
        "relationships",
        "collaboration",
        _SRC,
        [
            (
                "customer_relationships_28d",
                "Working relationships between our people and customer contacts",
                28,
                "float",
            ),
            (
                "contacts_in_relationship_28d",
                "Customer contacts with a working relationship to someone of ours",
                28,
                "float",
            ),
            (
                "relationship_coverage_28d",
                "Share of the account's known contacts with a working relationship to someone of ours",
                28,
                "float",
            ),
            (
                "employees_in_relationship_28d",
                "Our people with a working relationship at the customer",
                28,
                "float",
            ),
        ],
    ),
)
