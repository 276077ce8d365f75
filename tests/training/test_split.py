from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tests.training.synthetic import make_data
from training.split import SplitError, account_folds, time_split


def _check(as_of: pd.Series, horizon: int) -> None:
    split = time_split(as_of, horizon_days=horizon)
    t = pd.to_datetime(as_of).reset_index(drop=True)
    tr, va, te = t.iloc[split.train], t.iloc[split.valid], t.iloc[split.test]
    assert set(split.train).isdisjoint(split.valid) and set(split.valid).isdisjoint(split.test)
    assert tr.max() < split.valid_start <= va.min()
    assert va.max() < split.test_start <= te.min()
    h = pd.Timedelta(days=horizon)
    assert (tr + h <= split.valid_start).all()
    assert (va + h <= split.test_start).all()
    assert len(split.test) == int((t >= split.test_start).sum())


def test_csat_split_is_time_ordered_without_purge() -> None:
    data = make_data("csat", n_accounts=60)
    split = time_split(data.frame["as_of"])
    _check(data.frame["as_of"], 0)
    assert split.purged_train == split.purged_valid == 0
    n = len(data.frame)
    assert abs(len(split.test) / n - 0.2) < 0.05 and abs(len(split.valid) / n - 0.2) < 0.05


def test_churn_split_purges_label_windows_reaching_the_next_period() -> None:
    data = make_data("churn", n_accounts=40, months=30)
    split = time_split(data.frame["as_of"], horizon_days=180)
    _check(data.frame["as_of"], 180)
    assert split.purged_train > 0 and split.purged_valid > 0
    as_of = data.frame["as_of"]
    gap_rows = as_of[(as_of < split.valid_start) & (as_of + pd.Timedelta(days=180) > split.valid_start)]
    assert split.purged_train == len(gap_rows)


def test_split_refuses_a_window_too_short_for_the_horizon() -> None:
    data = make_data("churn", n_accounts=10, months=6)
    with pytest.raises(SplitError):
        time_split(data.frame["as_of"], horizon_days=180)


@settings(max_examples=40, deadline=None)
@given(
    days=st.lists(st.integers(0, 900), min_size=30, max_size=300),
    horizon=st.sampled_from([0, 30, 90]),
)
def test_split_invariants_hold_for_any_cutoffs(days: list[int], horizon: int) -> None:
    as_of = pd.Series(pd.Timestamp("2022-01-01") + pd.to_timedelta(days, unit="D"))
    try:
        time_split(as_of, horizon_days=horizon)
    except SplitError:
        assume(False)  # too many rejections would fail Hypothesis' health check
    _check(as_of, horizon)


def test_tuning_folds_keep_each_account_together() -> None:
    data = make_data("churn", n_accounts=50, months=12)
    y, acc = data.frame["label"].to_numpy(), data.frame["account_id"].to_numpy()
    folds = account_folds(y, acc, 4, seed=1)
    assert len(folds) == 4
    seen = np.zeros(len(y), dtype=int)
    for fit_idx, score_idx in folds:
        assert set(acc[fit_idx]).isdisjoint(acc[score_idx])
        seen[score_idx] += 1
    assert (seen == 1).all()
