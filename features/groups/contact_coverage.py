"""Contact coverage (breadth): how many of the customer's people we reach, and what share of those known."""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts")
_SPECS = [
    (
        f"contacts_reached_{w}d",
        f"Different customer contacts we interacted with in the last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        f"contact_coverage_{w}d",
        f"Share of the account's known contacts we interacted with in the last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
GROUP = FeatureGroup(
    name="contact_coverage",
    title="Contact coverage (breadth)",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("contact_coverage", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
