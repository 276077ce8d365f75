"""Drift compares like with like: truncated early history and declared reasons do not block a retrain."""

from __future__ import annotations

import numpy as np
import pandas as pd

from training.drift import EXPLAINED_DRIFT, SETTLE_DAYS, drift_table, history_days, psi_table


def _history_frame(seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, pd.Timestamp]:
    """Two years of monthly cutoffs; a 365-day count that is truncated while the history is young."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2023-01-01")
    as_of = start + pd.to_timedelta(rng.uniform(0, 730, 6000), unit="D")
    covered = np.minimum((as_of - start).days, 365) / 365
    frame = pd.DataFrame(
        {
            "as_of": as_of,
            "invoices_365d": rng.poisson(12 * covered).astype(float),
            "cutoff_month": as_of.month.astype(float),
            "usage_28d": rng.normal(0, 1, len(as_of)),
        }
    )
    late = frame["as_of"] >= start + pd.Timedelta(days=600)
    return frame[~late], frame[late], start


def test_truncated_windows_are_compared_on_full_history_rows_only() -> None:
    train, test, start = _history_frame()
    feats = ["invoices_365d", "usage_28d"]
    naive = psi_table(train, test, feats, []).set_index("feature")["psi"]
    fair = drift_table(train, test, feats, [], {"invoices_365d": 365, "usage_28d": 28}, start)
    fair = fair.set_index("feature")
    assert naive["invoices_365d"] > 0.25  # the naive comparison calls a young history "severe drift"
    assert fair.loc["invoices_365d", "psi"] < 0.1
    assert fair.loc["invoices_365d", "reference_rows"] < len(train)
    assert fair.loc["usage_28d", "psi"] < 0.1 and fair.loc["invoices_365d", "explained"] == ""


def test_declared_reasons_and_unmeasurable_windows_are_explained() -> None:
    train, test, start = _history_frame()
    table = drift_table(train, test, ["cutoff_month", "usage_28d"], [], {"usage_28d": 5000}, start)
    table = table.set_index("feature")
    assert table.loc["cutoff_month", "explained"] == EXPLAINED_DRIFT["cutoff_month"]
    assert np.isnan(table.loc["usage_28d", "psi"]) and "unmeasured" in table.loc["usage_28d", "explained"]


def test_history_needs_come_from_the_window_or_the_group() -> None:
    assert history_days(90, "support") == 90
    assert history_days(None, "survey_history") == SETTLE_DAYS
    assert history_days(None, "support") == 0
