"""Seniority: whether we reach the customer's executives and decision makers."""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts")
_SPECS = [
    (f"executives_reached_{w}d", f"Customer executives we interacted with in the last {w} days", w, "float")
    for w in WINDOWS
]
_SPECS += [
    (
        f"decision_makers_reached_{w}d",
        f"Customer decision makers we interacted with in the last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
GROUP = FeatureGroup(
    name="seniority",
    title="Seniority reached",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("seniority", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
