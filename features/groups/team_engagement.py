"""Team engagement: how many of our people work with the customer, and whether managers or executives do."""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts", "employees")
_SPECS = [
    (
        f"employees_engaged_{w}d",
        f"Different people on our side who worked with the customer, last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        f"manager_engaged_{w}d",
        f"Whether one of our managers took part with the customer, last {w} days",
        w,
        "bool",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        f"executive_engaged_{w}d",
        f"Whether one of our executives took part with the customer, last {w} days",
        w,
        "bool",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        "employees_engaged_trend_28d",
        "Change in our people engaged: last 28 days minus the 28 days before",
        56,
        "float",
    )
]
GROUP = FeatureGroup(
    name="team_engagement",
    title="Team engagement",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("team_engagement", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
