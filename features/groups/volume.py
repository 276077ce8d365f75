"""Collaboration volume: hours the customer spends with us by email, meeting and call.

Interactions carry no account: each is attributed to every account whose contacts take part (as organizer or
external participant). An email's hours are the time the analytics export estimates for it.
"""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts")
_SPECS = [
    (f"{kind}_hours_{w}d", f"Hours of {label} with the customer's contacts in the last {w} days", w, "float")
    for kind, label in (("email", "email"), ("meeting", "meetings"), ("call", "calls"))
    for w in WINDOWS
]
_SPECS += [
    (f"customer_hours_{w}d", f"Hours of all interactions with the customer in the last {w} days", w, "float")
    for w in WINDOWS
]
_SPECS += [
    (
        f"customer_interactions_{w}d",
        f"Emails, meetings, calls and chats with the customer, last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
GROUP = FeatureGroup(
    name="volume",
    title="Collaboration volume",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("volume", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
