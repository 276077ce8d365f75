"""Billing: invoices, overdue amounts and late payments (lateness counts only once the due date passed)."""

from features.catalog import FeatureGroup, group_features

_SRC = ("invoices",)
GROUP = FeatureGroup(
    name="billing",
    title="Billing",
    feature_set="baseline",
    requires=_SRC,
    features=group_features(
        "billing",
        "baseline",
        _SRC,
        [
            ("invoices_365d", "Invoices issued in the last year", 365, "float"),
            ("invoiced_usd_365d", "Amount invoiced in the last year (US dollars)", 365, "float"),
            ("overdue_open_invoices", "Invoices past their due date and still unpaid", None, "float"),
            ("overdue_open_usd", "Amount past due and still unpaid (US dollars)", None, "float"),
            ("max_days_overdue", "Days the oldest unpaid past-due invoice is overdue", None, "float"),
            (
                "paid_late_invoices_365d",
                "Invoices paid after their due date, paid in the last year",
                365,
                "float",
            ),
            ("avg_days_late_365d", "Average days late of invoices paid late in the last year", 365, "float"),
            ("max_days_late_365d", "Most days late of any invoice paid in the last year", 365, "float"),
            (
                "paid_late_share_365d",
                "Share of invoices paid in the last year that were paid late",
                365,
                "float",
            ),
        ],
    ),
)
