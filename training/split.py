"""Time-ordered train / validation / test split, with purging of overlapping churn label windows.

The three periods follow each other in time: the model is fitted on the earliest cutoffs, tuned, early-stopped
and calibrated on the next period, and measured once on the latest one. No test example is used for fitting or
tuning.

Purging (churn). A churn label at cutoff ``t`` is only known at ``t + horizon`` (it says whether the account
churned in ``(t, t + horizon]``). A training example whose label window reaches past the start of the
validation period therefore carries an outcome that lies inside the validation period - often the very renewal
that the validation examples of the same account are labelled with - and a model deployed at the start of that
period could not have known it. Such examples are dropped (purged): a training example is kept only when
``as_of + horizon <= validation start``, and likewise a validation example only when
``as_of + horizon <= test start``. CSAT labels are known at the response itself (horizon 0), so nothing is
purged for them beyond strict time order.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold

from training.errors import SplitError


@dataclass(frozen=True)
class TimeSplit:
    """Row positions of the three periods and the boundaries between them."""

    train: np.ndarray
    valid: np.ndarray
    test: np.ndarray
    valid_start: pd.Timestamp
    test_start: pd.Timestamp
    horizon_days: int
    purged_train: int
    purged_valid: int

    def summary(self, as_of: pd.Series) -> dict[str, str | int]:
        """Describe the periods (row counts, first and last cutoff) for logs and reports.

        Args:
            as_of: the frame's cutoff column the positions refer to.

        Returns:
            A flat dict of strings and counts.

        """
        out: dict[str, str | int] = {
            "horizon_days": self.horizon_days,
            "purged_train": self.purged_train,
            "purged_valid": self.purged_valid,
        }
        for name, idx in (("train", self.train), ("valid", self.valid), ("test", self.test)):
            times = as_of.iloc[idx]
            out[f"{name}_rows"] = len(idx)
            out[f"{name}_from"] = f"{times.min():%Y-%m-%d}"
            out[f"{name}_to"] = f"{times.max():%Y-%m-%d}"
        return out


def _period_start(times: np.ndarray, share: float) -> pd.Timestamp:
    """First cutoff of the latest period holding about ``share`` of ``times`` (whole cutoffs only)."""
    ordered = np.sort(times)
    start = ordered[min(len(ordered) - 1, int(np.floor(len(ordered) * (1.0 - share))))]
    return pd.Timestamp(start)


def time_split(
    as_of: pd.Series, *, valid_frac: float = 0.2, test_frac: float = 0.2, horizon_days: int = 0
) -> TimeSplit:
    """Split rows into train, validation and test periods by cutoff time.

    The test period holds about ``test_frac`` of all rows (the latest cutoffs). Among the rows whose label is
    known before the test period starts, the latest ``valid_frac`` (of all rows) form the validation period;
    training rows are those whose label is known before the validation period starts.

    Args:
        as_of: cutoff timestamp of each example.
        valid_frac: target share of all rows in the validation period.
        test_frac: target share of all rows in the test period.
        horizon_days: label horizon; 0 for labels known at the cutoff (CSAT).

    Returns:
        The split, with positional indices into ``as_of``.

    Raises:
        SplitError: a period would be empty.

    """
    times = pd.to_datetime(as_of).to_numpy()
    if len(times) == 0:
        raise SplitError("no examples to split")
    horizon = np.timedelta64(int(horizon_days), "D")
    test_start = _period_start(times, test_frac)
    test = np.flatnonzero(times >= test_start)
    before_test = times < test_start
    known_by_test = before_test & (times + horizon <= test_start.to_datetime64())
    if not known_by_test.any():
        raise SplitError("no example has its label known before the test period; data window too short")
    share = min(1.0, valid_frac * len(times) / int(known_by_test.sum()))
    valid_start = _period_start(times[known_by_test], share)
    valid = np.flatnonzero(known_by_test & (times >= valid_start))
    before_valid = times < valid_start
    train = np.flatnonzero(before_valid & (times + horizon <= valid_start.to_datetime64()))
    if min(len(train), len(valid), len(test)) == 0:
        raise SplitError(
            f"empty period (train={len(train)}, valid={len(valid)}, test={len(test)}); "
            f"the data window is too short for horizon {horizon_days} days"
        )
    return TimeSplit(
        train=train,
        valid=valid,
        test=test,
        valid_start=valid_start,
        test_start=test_start,
        horizon_days=int(horizon_days),
        purged_train=int(before_valid.sum() - len(train)),
        purged_valid=int((before_test & ~before_valid).sum() - len(valid)),
    )


def account_folds(
    labels: np.ndarray, accounts: np.ndarray, n_splits: int, seed: int
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Tuning folds that keep every row of one account in the same fold (stratified by label).

    Args:
        labels: 0/1 label per row.
        accounts: account id per row.
        n_splits: number of folds.
        seed: shuffling seed.

    Returns:
        (fit positions, score positions) per fold.

    """
    folds = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return list(folds.split(np.zeros(len(labels)), labels, groups=accounts))


def min_monthly_cutoffs(
    horizon_days: int, *, valid_frac: float, test_frac: float, limit: int = 240
) -> int | None:
    """Fewest monthly cutoffs (equally many examples each) :func:`time_split` can divide into three periods.

    Args:
        horizon_days: label horizon.
        valid_frac: share of rows in the validation period.
        test_frac: share of rows in the test period.
        limit: largest number of cutoffs tried.

    Returns:
        The number of cutoffs, or ``None`` when even ``limit`` is not enough.

    """
    for n in range(3, limit + 1):
        as_of = pd.Series(pd.date_range("2000-01-01", periods=n, freq="MS"))
        try:
            time_split(as_of, valid_frac=valid_frac, test_frac=test_frac, horizon_days=horizon_days)
        except SplitError:
            continue
        return n
    return None
