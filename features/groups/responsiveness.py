"""Responsiveness: after-hours work and how fast we answer the customer's emails.

After-hours: an interaction starting outside Monday-Friday 08:00-17:00 in the employee's own timezone; the
share is over our people's time with the customer and is shown only when at least 5 of our people took part.
Reply: an inbound email is one organised by a customer contact; its reply is the first later email organised
by one of our employees with that contact among its external participants, within 7 days (168 hours). Only
emails known at the cutoff count, so an email sent shortly before the cutoff is still unanswered then.
"""

from features.catalog import FeatureGroup, group_features

WINDOWS = (28, 90, 180)
_SRC = ("interactions", "contacts", "employees")
_SPECS = [
    (
        f"after_hours_share_{w}d",
        f"Share of our time with the customer outside working hours, last {w} days (5+ people only)",
        w,
        "float",
    )
    for w in WINDOWS
]
_SPECS += [
    ("inbound_emails_28d", "Emails from the customer's contacts to us, last 28 days", 28, "float"),
    ("inbound_emails_90d", "Emails from the customer's contacts to us, last 90 days", 90, "float"),
]
_SPECS += [
    (
        f"reply_hours_avg_{w}d",
        f"Average hours until we replied to the customer's emails received in the last {w} days",
        w,
        "float",
    )
    for w in WINDOWS
]
_SPECS += [
    (
        "replied_24h_share_90d",
        "Share of customer emails (last 90 days) we answered within 24 hours",
        90,
        "float",
    ),
    (
        "unanswered_share_90d",
        "Share of customer emails (last 90 days) not yet answered within 7 days",
        90,
        "float",
    ),
]
GROUP = FeatureGroup(
    name="responsiveness",
    title="Responsiveness",
    feature_set="collaboration",
    requires=_SRC,
    features=group_features("responsiveness", "collaboration", _SRC, _SPECS),  # type: ignore[arg-type]
)
