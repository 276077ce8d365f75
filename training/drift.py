"""Population stability index (PSI) per feature between two periods (training vs test or holdout).

Like with like. A time split puts the earliest cutoffs in training, and those cutoffs see a truncated history:
a 365-day count at a cutoff 100 days after the data starts covers 100 days, an all-history mean of earlier
survey answers is mostly missing. Compared with a holdout that sees full windows, such features always look
drifted, and a drift gate would refuse every retrain on a young history. So :func:`drift_table` compares each
feature on the training rows whose history covers its window only (:func:`history_days`), and marks as
explained the features whose drift is expected by construction (:data:`EXPLAINED_DRIFT`, declared by feature
with the reason). A feature whose window is longer than any training row's history cannot be compared like
with like; it is reported with that reason and not counted as drift.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

PSI_MODERATE = 0.1
PSI_SEVERE = 0.25
_EPS = 1e-4
MIN_REFERENCE_ROWS = 200
#: History an all-history feature (no window: averages and counts of every earlier record) needs to settle.
SETTLE_DAYS = 365

#: Features whose drift between an earlier and a later period is expected by construction, with the reason.
EXPLAINED_DRIFT: dict[str, str] = {
    "cutoff_month": "calendar month of the cutoff: a later period holds other months by construction",
    "tenure_days": "account age: grows by the length of the gap between the periods",
    "tenure_years": "account age: grows by the length of the gap between the periods",
    "is_first_year": "account age: fewer accounts are in their first year as time passes",
    "prior_responses": "count of every earlier survey answer: grows as the history lengthens",
    "renewals_prior": "count of every earlier renewal: grows as the history lengthens",
    "renewals_expanded_prior": "count of every earlier renewal: grows as the history lengthens",
    "renewals_contracted_prior": "count of every earlier renewal: grows as the history lengthens",
    "renewals_churned_prior": "count of every earlier renewal: grows as the history lengthens",
    "arr_change_prior_usd": "sum over every earlier renewal: grows as the history lengthens",
}
#: All-history features (no window) whose values depend on how much history precedes the cutoff.
ALL_HISTORY_GROUPS: frozenset[str] = frozenset({"survey_history", "renewal_history", "crm_contacts"})


def _shares(codes: np.ndarray, n_bins: int) -> np.ndarray:
    counts = np.bincount(codes, minlength=n_bins).astype(float)
    shares = counts / max(1.0, counts.sum())
    return np.clip(shares, _EPS, None)


def psi(expected: pd.Series, actual: pd.Series, *, categorical: bool = False, bins: int = 10) -> float:
    """PSI of ``actual`` against ``expected``; missing values form their own bin.

    Numeric columns are cut at the deciles of ``expected``; categorical ones compare level shares (levels
    unseen in ``expected`` share one bin).

    Args:
        expected: reference values (the training period).
        actual: compared values (the test period or a new holdout).
        categorical: treat values as levels.
        bins: number of quantile bins for numbers.

    Returns:
        ``sum((a - e) * ln(a / e))`` over bins; 0 means identical distributions.

    """
    if categorical:
        levels = pd.Index(expected.dropna().astype(str).unique())
        n_bins = len(levels) + 2

        def codes_of(s: pd.Series) -> np.ndarray:
            idx = levels.get_indexer(s.astype("string").fillna("\0missing"))
            idx = np.where(idx < 0, len(levels), idx)
            return np.where(s.isna().to_numpy(), len(levels) + 1, idx)

    else:
        ref = pd.to_numeric(expected, errors="coerce").to_numpy(float)
        edges: np.ndarray = (
            np.unique(np.nanquantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
            if np.isfinite(ref).any()
            else np.array([])
        )
        n_bins = len(edges) + 2

        def codes_of(s: pd.Series) -> np.ndarray:
            v = pd.to_numeric(s, errors="coerce").to_numpy(float)
            return np.where(np.isnan(v), n_bins - 1, np.searchsorted(edges, v, side="right"))

    e, a = _shares(codes_of(expected), n_bins), _shares(codes_of(actual), n_bins)
    return float(np.sum((a - e) * np.log(a / e)))


def severity(value: float) -> str:
    """Conventional reading of a PSI value.

    Args:
        value: the PSI.

    Returns:
        ``stable`` (< 0.1), ``moderate`` (< 0.25) or ``severe``.

    """
    if value < PSI_MODERATE:
        return "stable"
    return "moderate" if value < PSI_SEVERE else "severe"


def psi_table(
    reference: pd.DataFrame, current: pd.DataFrame, features: list[str], categorical: list[str]
) -> pd.DataFrame:
    """PSI for every feature, most drifted first.

    Args:
        reference: rows of the reference period.
        current: rows of the compared period.
        features: columns to compare.
        categorical: which of them are categorical.

    Returns:
        Frame with columns ``feature``, ``psi`` and ``severity``.

    """
    cats = set(categorical)
    rows = [{"feature": f, "psi": psi(reference[f], current[f], categorical=f in cats)} for f in features]
    table = pd.DataFrame(rows, columns=["feature", "psi"])
    table["severity"] = table["psi"].map(severity)
    return table.sort_values("psi", ascending=False, kind="mergesort").reset_index(drop=True)


def history_days(window_days: int | None, group: str) -> int:
    """Days of history a feature needs before its value is comparable across periods.

    Args:
        window_days: the feature's window (``None`` for point-in-time states and all-history features).
        group: the feature's catalog group.

    Returns:
        The window, :data:`SETTLE_DAYS` for all-history features, 0 for states (open tickets, plan, ...).

    """
    if window_days is not None:
        return int(window_days)
    return SETTLE_DAYS if group in ALL_HISTORY_GROUPS else 0


def drift_table(
    reference: pd.DataFrame,
    current: pd.DataFrame,
    features: list[str],
    categorical: list[str],
    needs_days: dict[str, int],
    history_start: pd.Timestamp,
) -> pd.DataFrame:
    """PSI per feature comparing like with like: reference rows whose history covers the feature's window.

    Args:
        reference: rows of the reference period (training), with ``as_of``.
        current: rows of the compared period (holdout).
        features: columns to compare.
        categorical: which of them are categorical.
        needs_days: feature -> days of history it needs (:func:`history_days`; missing means 0).
        history_start: first cutoff of the data (where history starts).

    Returns:
        Frame with ``feature``, ``psi``, ``severity``, ``reference_rows`` and ``explained`` (the reason the
        drift does not count, or empty), most drifted first.

    """
    cats = set(categorical)
    as_of = pd.to_datetime(reference["as_of"])
    rows = []
    for f in features:
        days = needs_days.get(f, 0)
        ref = reference[as_of >= history_start + pd.Timedelta(days=days)] if days else reference
        explained = EXPLAINED_DRIFT.get(f, "")
        if len(ref) < MIN_REFERENCE_ROWS:
            value = float("nan")
            explained = explained or f"unmeasured: training history shorter than the {days} days it needs"
        else:
            value = psi(ref[f], current[f], categorical=f in cats)
        rows.append({"feature": f, "psi": value, "reference_rows": len(ref), "explained": explained})
    table = pd.DataFrame(rows, columns=["feature", "psi", "reference_rows", "explained"])
    table["severity"] = table["psi"].map(lambda v: "unmeasured" if np.isnan(v) else severity(v))
    table = table[["feature", "psi", "severity", "reference_rows", "explained"]]
    return table.sort_values("psi", ascending=False, kind="mergesort", na_position="last").reset_index(
        drop=True
    )
