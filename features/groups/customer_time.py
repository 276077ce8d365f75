"""Customer time: how long the account has been a customer and where it is in its contract year."""

from features.catalog import FeatureGroup, group_features

_SRC = ("accounts",)
GROUP = FeatureGroup(
    name="customer_time",
    title="Customer time",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "customer_time",
        "baseline",
        _SRC,
        [
            ("tenure_days", "Days since the account became a customer", None, "float"),
            ("tenure_years", "Years since the account became a customer", None, "float"),
            (
                "days_to_anniversary",
                "Days until the next anniversary of the customer start date",
                None,
                "float",
            ),
            ("is_first_year", "Whether the account is in its first year as a customer", None, "bool"),
            (
                "cutoff_month",
                "Calendar month of the date the features describe (1-12, seasonality)",
                None,
                "float",
            ),
        ],
    ),
)
