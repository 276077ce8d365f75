"""Population stability index (PSI) per feature between two periods (training vs test or holdout)."""

from __future__ import annotations

import numpy as np
import pandas as pd

PSI_MODERATE = 0.1
PSI_SEVERE = 0.25
_EPS = 1e-4


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
        edges = (
            np.unique(np.nanquantile(ref, np.linspace(0, 1, bins + 1)[1:-1]))
            if np.isfinite(ref).any()
            else []
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
