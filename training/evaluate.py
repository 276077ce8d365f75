"""Test-period metrics with bootstrap intervals, paired lift, decision threshold, risk bands and the oracle.

All metrics are computed as weighted sums, so a bootstrap replicate is just a vector of resampling counts
(rows, or whole accounts when ``groups`` is given) and thousands of replicates stay cheap. With unit weights
the functions reproduce scikit-learn's definitions (ROC AUC with ties counted half, average precision as the
step-wise PR AUC, log loss, Brier score) and a 10-bin equal-width expected calibration error.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from training.data import Target, Truth

METRICS: tuple[str, ...] = (
    "accuracy",
    "balanced_accuracy",
    "roc_auc",
    "pr_auc",
    "f1",
    "log_loss",
    "brier",
    "ece",
)
LOWER_IS_BETTER: frozenset[str] = frozenset({"log_loss", "brier", "ece"})
ECE_BINS = 10
_CHUNK = 128


@dataclass(frozen=True)
class Interval:
    """A point estimate with its bootstrap percentile interval."""

    point: float
    low: float
    high: float

    def to_dict(self) -> dict[str, float]:
        """As a plain dict.

        Returns:
            ``{"point", "low", "high"}``.

        """
        return asdict(self)


#: Accuracy is measured at this threshold on calibrated probabilities (see :func:`weighted_metrics`).
ACCURACY_THRESHOLD = 0.5


def weighted_metrics(y: np.ndarray, p: np.ndarray, threshold: float, w: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric for each row of a weight matrix.

    Args:
        y: 0/1 labels, shape (n,).
        p: predicted probability of label 1, shape (n,).
        threshold: predicted label is ``p >= threshold`` (balanced accuracy and F1). Accuracy is judged
            at ``ACCURACY_THRESHOLD`` instead: for calibrated probabilities that rule maximises it, while a
            threshold chosen for balanced accuracy makes accuracy swing with every refit on rare labels.
        w: weights, shape (B, n) (bootstrap counts, or ones for the point estimate).

    Returns:
        Metric name -> array of shape (B,); NaN where a replicate lacks one of the classes.

    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    pred = (p >= threshold).astype(float)
    total = w.sum(1)
    correct = w @ ((p >= ACCURACY_THRESHOLD) == (y == 1)).astype(float)
    tp, fp = w @ (pred * y), w @ (pred * (1 - y))
    fn, tn = w @ ((1 - pred) * y), w @ ((1 - pred) * (1 - y))
    pos, neg = tp + fn, fp + tn
    pc = np.clip(p, 1e-15, 1 - 1e-15)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = {
            "accuracy": correct / total,
            "balanced_accuracy": 0.5 * (tp / pos + tn / neg),
            "f1": 2 * tp / (2 * tp + fp + fn),
            "log_loss": -(w @ (y * np.log(pc) + (1 - y) * np.log(1 - pc))) / total,
            "brier": (w @ (p - y) ** 2) / total,
            "ece": _ece(y, p, w, total),
        }
        auc, ap = _ranking(y, p, w, pos, neg)
    out["roc_auc"], out["pr_auc"] = auc, ap
    return {k: np.where((pos > 0) & (neg > 0), v, np.nan) for k, v in out.items()}


def _ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, total: np.ndarray) -> np.ndarray:
    bins = np.minimum((p * ECE_BINS).astype(int), ECE_BINS - 1)
    onehot = np.zeros((len(p), ECE_BINS))
    onehot[np.arange(len(p)), bins] = 1.0
    gap = (w * y) @ onehot - (w * p) @ onehot
    return np.abs(gap).sum(1) / total


def _ranking(
    y: np.ndarray, p: np.ndarray, w: np.ndarray, pos: np.ndarray, neg: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC AUC and average precision, treating tied scores as one threshold."""
    order = np.argsort(p, kind="mergesort")
    ps, ys = p[order], y[order]
    starts = np.flatnonzero(np.r_[True, np.diff(ps) != 0])
    ws = w[:, order]
    gp = np.add.reduceat(ws * ys, starts, axis=1)
    gn = np.add.reduceat(ws * (1 - ys), starts, axis=1)
    below = np.cumsum(gn, axis=1) - gn
    auc = (gp * (below + 0.5 * gn)).sum(1) / (pos * neg)
    gp_d, gn_d = gp[:, ::-1], gn[:, ::-1]
    tp_c, fp_c = np.cumsum(gp_d, axis=1), np.cumsum(gn_d, axis=1)
    precision = np.divide(tp_c, tp_c + fp_c, out=np.zeros_like(tp_c), where=(tp_c + fp_c) > 0)
    ap = (gp_d * precision).sum(1) / pos
    return auc, ap


def point_metrics(y: np.ndarray, p: np.ndarray, threshold: float) -> dict[str, float]:
    """Metrics on the rows as they are.

    Args:
        y: 0/1 labels.
        p: probabilities of label 1.
        threshold: decision threshold.

    Returns:
        Metric name -> value.

    """
    values = weighted_metrics(y, p, threshold, np.ones((1, len(y))))
    return {k: float(v[0]) for k, v in values.items()}


def bootstrap_weights(
    n: int, n_boot: int, seed: int, groups: np.ndarray | None = None
) -> Iterator[np.ndarray]:
    """Bootstrap resampling counts, in chunks of rows of a (B, n) matrix.

    Args:
        n: number of rows.
        n_boot: number of replicates.
        seed: random seed.
        groups: optional cluster label per row; whole clusters (accounts) are resampled together.

    Yields:
        Weight matrices whose rows sum to the resample size.

    """
    rng = np.random.default_rng(seed)
    if groups is None:
        codes, n_groups = np.arange(n), n
    else:
        codes, uniques = pd.factorize(pd.Series(groups), sort=True)
        n_groups = len(uniques)
    done = 0
    while done < n_boot:
        b = min(_CHUNK, n_boot - done)
        counts = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=b).astype(float)
        yield counts[:, codes]
        done += b


def _interval(point: float, replicates: np.ndarray, level: float, non_negative: bool) -> Interval:
    """Percentile interval shifted by the bootstrap bias estimate (mean replicate minus point).

    For most metrics the shift is negligible; the binned ECE, however, grows under resampling (noise adds
    to every bin's absolute gap), so its plain percentile interval can lie entirely above the estimate.
    """
    alpha = (1 - level) / 2
    finite = replicates[np.isfinite(replicates)]
    if finite.size == 0 or not np.isfinite(point):
        return Interval(float(point), float("nan"), float("nan"))
    bias = float(finite.mean()) - point
    low, high = np.quantile(finite, [alpha, 1 - alpha]) - bias
    if non_negative:
        low, high = max(0.0, low), max(0.0, high)
    return Interval(float(point), float(low), float(high))


def bootstrap_metrics(
    y: np.ndarray,
    p: np.ndarray,
    threshold: float,
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Every metric with a bias-shifted bootstrap percentile interval (see :func:`_interval`).

    Args:
        y: 0/1 labels.
        p: probabilities of label 1.
        threshold: decision threshold.
        groups: optional account id per row (cluster bootstrap).
        n_boot: number of replicates.
        seed: random seed.
        level: interval coverage.

    Returns:
        Metric name -> interval.

    """
    point = point_metrics(y, p, threshold)
    reps: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    for w in bootstrap_weights(len(y), n_boot, seed, groups):
        for k, v in weighted_metrics(y, p, threshold, w).items():
            reps[k].append(v)
    return {m: _interval(point[m], np.concatenate(reps[m]), level, True) for m in METRICS}


def paired_lift(
    y: np.ndarray,
    p_base: np.ndarray,
    p_new: np.ndarray,
    threshold_base: float | np.ndarray,
    threshold_new: float | np.ndarray,
    *,
    groups: np.ndarray | None = None,
    n_boot: int = 1000,
    seed: int = 0,
    level: float = 0.95,
) -> dict[str, Interval]:
    """Difference new minus base of every metric, bootstrapped over the SAME resampled rows for both.

    Each model may come as several fits with different random seeds (rows of a 2-D ``p_*``, one threshold
    per fit): the lift is then the mean over the seed pairs, and every replicate resamples the seed pairs
    as well as the rows, so the interval covers fitting noise, not only the choice of test rows.

    Args:
        y: 0/1 labels (shared test rows).
        p_base: base model probabilities, shape (n,) or (seeds, n).
        p_new: new model probabilities, same shape as ``p_base``.
        threshold_base: base model's decision threshold (one per seed for 2-D input).
        threshold_new: new model's decision threshold (one per seed for 2-D input).
        groups: optional account id per row (cluster bootstrap).
        n_boot: number of replicates.
        seed: random seed.
        level: interval coverage.

    Returns:
        Metric name -> interval of (new - base); for loss-type metrics a negative lift is an improvement.

    """
    pb, pn = np.atleast_2d(p_base), np.atleast_2d(p_new)
    tb, tn = np.broadcast_to(threshold_base, len(pb)), np.broadcast_to(threshold_new, len(pn))
    if pb.shape != pn.shape:
        raise ValueError(f"p_base and p_new differ in shape: {pb.shape} vs {pn.shape}")
    r = len(pb)
    point = {m: 0.0 for m in METRICS}
    for k in range(r):
        base, new = point_metrics(y, pb[k], float(tb[k])), point_metrics(y, pn[k], float(tn[k]))
        for m in METRICS:
            point[m] += (new[m] - base[m]) / r
    pick_rng = np.random.default_rng([seed, 1])
    reps: dict[str, list[np.ndarray]] = {m: [] for m in METRICS}
    for w in bootstrap_weights(len(y), n_boot, seed, groups):
        diffs = {m: np.empty((r, len(w))) for m in METRICS}
        for k in range(r):
            a = weighted_metrics(y, pb[k], float(tb[k]), w)
            b = weighted_metrics(y, pn[k], float(tn[k]), w)
            for m in METRICS:
                diffs[m][k] = b[m] - a[m]
        picks = pick_rng.integers(0, r, size=(len(w), r))
        for m in METRICS:
            reps[m].append(np.take_along_axis(diffs[m].T, picks, axis=1).mean(axis=1))
    return {m: _interval(point[m], np.concatenate(reps[m]), level, False) for m in METRICS}


def choose_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """Decision threshold maximising balanced accuracy (Youden's J) on validation rows.

    Balanced accuracy treats both classes alike, so the choice does not depend on which class is coded 1
    (satisfied for CSAT, churned for churn) nor on the class balance.

    Args:
        y: validation labels.
        p: validation probabilities (calibrated, as served).

    Returns:
        The threshold.

    """
    candidates = np.unique(np.quantile(p, np.linspace(0.01, 0.99, 99)))
    if candidates.size == 0:
        return 0.5
    w = np.ones((1, len(y)))
    scores = [weighted_metrics(y, p, float(t), w)["balanced_accuracy"][0] for t in candidates]
    return float(candidates[int(np.nanargmax(scores))])


@dataclass(frozen=True)
class RiskBands:
    """Risk bands on the served risk score (churn: p; CSAT: 1 - p_satisfied), cut on validation quantiles."""

    risk_is_one_minus_p: bool
    medium: float
    high: float
    shares: tuple[float, float] = (0.7, 0.9)

    def band(self, p: np.ndarray) -> np.ndarray:
        """Band name per probability.

        Args:
            p: calibrated probability of label 1.

        Returns:
            Array of ``low`` / ``medium`` / ``high``.

        """
        risk = risk_score(p, self.risk_is_one_minus_p)
        return np.where(risk >= self.high, "high", np.where(risk >= self.medium, "medium", "low"))

    def to_dict(self) -> dict[str, object]:
        """As a plain dict.

        Returns:
            JSON-friendly representation.

        """
        return {
            "risk": "1 - p" if self.risk_is_one_minus_p else "p",
            "medium": self.medium,
            "high": self.high,
            "quantiles": list(self.shares),
        }


def risk_score(p: np.ndarray, one_minus_p: bool) -> np.ndarray:
    """Risk from the probability of label 1.

    Args:
        p: probability of label 1.
        one_minus_p: True when label 1 is the good outcome (CSAT satisfied).

    Returns:
        Probability of the bad outcome.

    """
    return 1.0 - np.asarray(p) if one_minus_p else np.asarray(p)


def choose_bands(p_valid: np.ndarray, target: Target) -> RiskBands:
    """Cut risk bands at the 70th and 90th percentile of validation risk (top 10 % high, next 20 % medium).

    Args:
        p_valid: calibrated validation probabilities.
        target: ``csat`` (risk = dissatisfaction) or ``churn``.

    Returns:
        The bands.

    """
    one_minus = target == "csat"
    medium, high = np.quantile(risk_score(p_valid, one_minus), [0.7, 0.9])
    return RiskBands(one_minus, float(medium), float(high))


def band_table(bands: RiskBands, y: np.ndarray, p: np.ndarray) -> pd.DataFrame:
    """Rows and observed bad-outcome rate per band.

    Args:
        bands: the risk bands.
        y: labels.
        p: calibrated probabilities.

    Returns:
        Frame indexed by band with ``rows``, ``share``, ``event_rate`` and ``mean_risk``.

    """
    event = 1 - np.asarray(y) if bands.risk_is_one_minus_p else np.asarray(y)
    frame = pd.DataFrame(
        {"band": bands.band(p), "event": event, "risk": risk_score(p, bands.risk_is_one_minus_p)}
    )
    table = frame.groupby("band").agg(
        rows=("event", "size"), event_rate=("event", "mean"), mean_risk=("risk", "mean")
    )
    table["share"] = table["rows"] / len(frame)
    return table.reindex(["low", "medium", "high"]).fillna(0.0)


def oracle_probabilities(
    frame: pd.DataFrame, target: Target, truth: Truth | None, horizon_days: int
) -> np.ndarray | None:
    """Return the simulator's true probability of label 1 per row (``None`` without ground truth).

    CSAT: ``p_satisfied`` of the response. Churn: ``1 - prod(1 - p_churn)`` over the account's renewals in
    ``(as_of, as_of + horizon]`` (0 when none falls in the window).

    Args:
        frame: rows in the store's format.
        target: ``csat`` or ``churn``.
        truth: ground truth, or ``None``.
        horizon_days: churn horizon.

    Returns:
        Probabilities aligned with ``frame`` rows, or ``None`` when the truth is absent or incomplete.

    """
    if truth is None:
        return None
    if target == "csat":
        if truth.csat is None:
            return None
        lookup = truth.csat.set_index(truth.csat["response_id"].astype(str))["p_satisfied"]
        out = frame["example_id"].astype(str).map(lookup).to_numpy(float)
        return None if np.isnan(out).any() else out
    if truth.renewals is None:
        return None
    rows = pd.DataFrame(
        {
            "row": np.arange(len(frame)),
            "account_id": frame["account_id"].astype(str).to_numpy(),
            "as_of": pd.to_datetime(frame["as_of"]).to_numpy(),
        }
    )
    ren = truth.renewals.assign(
        account_id=truth.renewals["account_id"].astype(str),
        renewal_date=pd.to_datetime(truth.renewals["renewal_date"]),
    )
    merged = rows.merge(ren, on="account_id", how="inner")
    horizon = pd.Timedelta(days=horizon_days)
    inside = (merged["renewal_date"] > merged["as_of"]) & (
        merged["renewal_date"] <= merged["as_of"] + horizon
    )
    merged = merged[inside]
    survive = np.log1p(-merged["p_churn"].clip(0, 1 - 1e-12)).groupby(merged["row"]).sum()
    out = np.zeros(len(frame))
    out[survive.index.to_numpy()] = 1.0 - np.exp(survive.to_numpy())
    return out
