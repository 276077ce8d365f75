"""Firmographics: who the customer is, from the accounts table."""

from features.catalog import FeatureGroup, group_features

_SRC = ("accounts",)
GROUP = FeatureGroup(
    name="firmographics",
    title="Firmographics",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "firmographics",
        "baseline",
        _SRC,
        [
            ("industry", "The customer's industry", None, "category"),
            ("segment", "Customer segment: enterprise, mid-market or small business", None, "category"),
            ("region", "The customer's sales region", None, "category"),
            ("employee_count", "Number of employees at the customer company", None, "float"),
            ("has_owner", "Whether a seller (account owner) is assigned", None, "bool"),
            ("has_csm", "Whether a customer success manager is assigned", None, "bool"),
        ],
    ),
)
