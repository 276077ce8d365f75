from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from training.data import Truth
from training.evaluate import (
    METRICS,
    band_table,
    bootstrap_metrics,
    choose_bands,
    choose_threshold,
    oracle_probabilities,
    paired_lift,
    point_metrics,
)


def _world(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    score = rng.normal(0, 1, n)
    p = 1 / (1 + np.exp(-1.5 * score))
    y = (rng.random(n) < p).astype(int)
    return y, p


@settings(max_examples=30, deadline=None)
@given(
    y=st.lists(st.integers(0, 1), min_size=10, max_size=80),
    seed=st.integers(0, 1000),
    decimals=st.sampled_from([1, 2, 6]),
)
def test_point_metrics_match_sklearn(y: list[int], seed: int, decimals: int) -> None:
    y_arr = np.array(y)
    if len(set(y)) < 2:
        return
    p = np.round(np.random.default_rng(seed).random(len(y)), decimals)
    got = point_metrics(y_arr, p, 0.5)
    pred = p >= 0.5
    assert got["accuracy"] == pytest.approx(skm.accuracy_score(y_arr, pred))
    assert got["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y_arr, pred))
    assert got["f1"] == pytest.approx(skm.f1_score(y_arr, pred, zero_division=0.0))
    assert got["roc_auc"] == pytest.approx(skm.roc_auc_score(y_arr, p))
    assert got["pr_auc"] == pytest.approx(skm.average_precision_score(y_arr, p))
    assert got["log_loss"] == pytest.approx(skm.log_loss(y_arr, np.clip(p, 1e-15, 1 - 1e-15)))
    assert got["brier"] == pytest.approx(skm.brier_score_loss(y_arr, p))


def test_ece_of_a_perfectly_calibrated_binning_is_zero() -> None:
    y = np.array([0, 0, 0, 1, 1, 1, 1, 0, 1, 1])
    p = np.array([0.25] * 4 + [0.75] * 4 + [0.95, 0.95]) * 0 + np.r_[[0.25] * 4, [0.75] * 4, [0.5, 1.0]]
    # bins: 0.25 -> 1/4 positives, 0.75 -> 3/4 positives, 0.5 -> label 1 (gap .5), 1.0 -> label 1 (gap 0)
    assert point_metrics(y, p, 0.5)["ece"] == pytest.approx(0.5 / 10)


def test_bootstrap_interval_contains_point_and_narrows_with_n() -> None:
    widths = {}
    for n in (300, 3000):
        y, p = _world(n, seed=n)
        res = bootstrap_metrics(y, p, 0.5, n_boot=400, seed=3)
        for m in METRICS:
            assert res[m].low <= res[m].point <= res[m].high, m
        widths[n] = {m: res[m].high - res[m].low for m in METRICS}
    for m in ("accuracy", "roc_auc", "pr_auc", "log_loss", "brier", "f1", "balanced_accuracy"):
        assert widths[3000][m] < 0.6 * widths[300][m], m


def test_cluster_bootstrap_is_wider_when_rows_of_an_account_repeat() -> None:
    y, p = _world(200, seed=1)
    y, p = np.repeat(y, 10), np.repeat(p, 10)
    groups = np.repeat(np.arange(200), 10)
    rows = bootstrap_metrics(y, p, 0.5, n_boot=300, seed=0)["roc_auc"]
    clusters = bootstrap_metrics(y, p, 0.5, groups=groups, n_boot=300, seed=0)["roc_auc"]
    assert clusters.high - clusters.low > 2 * (rows.high - rows.low)


def test_paired_lift_of_identical_models_is_exactly_zero() -> None:
    y, p = _world(500, seed=2)
    lift = paired_lift(y, p, p, 0.5, 0.5, n_boot=300, seed=0)
    for m in METRICS:
        assert lift[m].low <= 0.0 <= lift[m].high
        assert lift[m].point == 0.0


def test_paired_lift_detects_a_better_model_and_is_narrower_than_unpaired() -> None:
    rng = np.random.default_rng(4)
    y, p = _world(2000, seed=4)
    weak = np.clip(p + rng.normal(0, 0.25, len(p)), 0.01, 0.99)
    lift = paired_lift(y, weak, p, 0.5, 0.5, n_boot=400, seed=0)["roc_auc"]
    assert lift.low > 0
    a = bootstrap_metrics(y, weak, 0.5, n_boot=400, seed=0)["roc_auc"]
    b = bootstrap_metrics(y, p, 0.5, n_boot=400, seed=1)["roc_auc"]
    unpaired = np.hypot(a.high - a.low, b.high - b.low)
    assert lift.high - lift.low < unpaired


def test_threshold_and_bands_are_chosen_on_validation() -> None:
    y, p = _world(3000, seed=5)
    thr = choose_threshold(y, p)
    assert 0.3 < thr < 0.7
    bands = choose_bands(p, "churn")
    table = band_table(bands, y, p)
    assert table.loc["high", "share"] == pytest.approx(0.1, abs=0.01)
    assert (
        table.loc["high", "event_rate"] > table.loc["medium", "event_rate"] > table.loc["low", "event_rate"]
    )
    csat_bands = choose_bands(p, "csat")
    assert csat_bands.risk_is_one_minus_p
    assert (csat_bands.band(np.array([0.01]))[0], csat_bands.band(np.array([0.99]))[0]) == ("high", "low")


def test_oracle_churn_combines_renewals_inside_the_horizon() -> None:
    frame = pd.DataFrame(
        {
            "example_id": ["a@1", "a@2", "b@1"],
            "account_id": ["a", "a", "b"],
            "as_of": pd.to_datetime(["2024-01-01", "2024-06-01", "2024-01-01"]),
        }
    )
    renewals = pd.DataFrame(
        {
            "account_id": ["a", "a", "a", "b"],
            "renewal_date": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-05-01", "2025-01-01"]),
            "p_churn": [0.9, 0.2, 0.5, 0.7],
        }
    )
    out = oracle_probabilities(frame, "churn", Truth(renewals=renewals), horizon_days=180)
    assert out is not None
    # a@1: renewals on 03-01 and 05-01 (01-01 is not after the cutoff); a@2: none; b@1: outside horizon
    assert out == pytest.approx([1 - 0.8 * 0.5, 0.0, 0.0])


def test_oracle_is_absent_without_ground_truth_and_maps_csat_responses() -> None:
    frame = pd.DataFrame(
        {"example_id": ["r1", "r2"], "account_id": ["a", "b"], "as_of": pd.to_datetime(["2024-01-01"] * 2)}
    )
    assert oracle_probabilities(frame, "csat", None, 0) is None
    truth = Truth(csat=pd.DataFrame({"response_id": ["r2", "r1"], "p_satisfied": [0.3, 0.8]}))
    assert oracle_probabilities(frame, "csat", truth, 0) == pytest.approx([0.8, 0.3])
    partial = Truth(csat=pd.DataFrame({"response_id": ["r1"], "p_satisfied": [0.8]}))
    assert oracle_probabilities(frame, "csat", partial, 0) is None
