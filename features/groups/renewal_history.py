"""Renewal history: earlier contract outcomes known at the cutoff."""

from features.catalog import FeatureGroup, group_features

_SRC = ("renewals",)
GROUP = FeatureGroup(
    name="renewal_history",
    title="Renewal history",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "renewal_history",
        "baseline",
        _SRC,
        [
            ("renewals_prior", "Contract renewals decided so far", None, "float"),
            ("renewals_expanded_prior", "Earlier renewals where the customer expanded", None, "float"),
            (
                "renewals_contracted_prior",
                "Earlier renewals where the customer reduced the contract",
                None,
                "float",
            ),
            ("renewals_churned_prior", "Earlier renewals where the customer left", None, "float"),
            (
                "arr_change_prior_usd",
                "Total change in annual revenue over earlier renewals (US dollars)",
                None,
                "float",
            ),
            (
                "last_arr_change_usd",
                "Change in annual revenue at the most recent renewal (US dollars)",
                None,
                "float",
            ),
            ("days_since_last_renewal", "Days since the most recent renewal", None, "float"),
        ],
    ),
)
