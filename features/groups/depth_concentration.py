"""Depth and concentration: time per contact, meaningful (small) interactions, single-threaded risk.

A meaningful interaction is an email or meeting with at most 5 participants in all.
"""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts")
_SPECS = [
    (f"hours_per_contact_{w}d", f"Hours with the customer per contact reached, last {w} days", w, "float")
    for w in WINDOWS
]
_SPECS += [
    (
        f"meaningful_share_{w}d",
        f"Share of customer time in small emails and meetings (5 people or fewer), last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        f"top_contact_share_{w}d",
        f"Share of contact time spent with the single most-engaged contact, last {w} days"
        " (single-threaded risk)",
        w,
        "float",
    )
    for w in WINDOWS
]
GROUP = FeatureGroup(
    name="depth_concentration",
    title="Depth and concentration",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("depth_concentration", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
