"""Contract: what the customer pays for, from the accounts table."""

from features.catalog import FeatureGroup, group_features

_SRC = ("accounts",)
GROUP = FeatureGroup(
    name="contract",
    title="Contract",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "contract",
        "baseline",
        _SRC,
        [
            ("arr_usd", "Annual recurring revenue of the account in US dollars", None, "float"),
            ("plan", "The product plan the customer is on", None, "category"),
            (
                "arr_per_employee",
                "Annual recurring revenue per customer employee (US dollars)",
                None,
                "float",
            ),
        ],
    ),
)
