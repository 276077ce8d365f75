from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tests.training.synthetic import make_data
from training.data import OfflineData, model_feature_sets
from training.pipeline import LeakageError, compare
from training.split import time_split
from training.train import (
    Calibrator,
    TrainConfig,
    fit_calibrator,
    fit_feature_set,
    prepare_matrix,
    sample_candidates,
)

CFG = TrainConfig(n_candidates=2, num_threads=1, seed=3)


def test_named_sets_come_from_the_catalog_and_manifest(catalog) -> None:
    data = make_data("csat", n_accounts=20)
    sets = model_feature_sets(data.manifest, catalog)
    assert sets["baseline"] == data.manifest["features"]["baseline"]
    assert (
        sets["enriched"] == data.manifest["features"]["baseline"] + data.manifest["features"]["collaboration"]
    )


def test_matrix_casts_numbers_to_float_and_fixes_category_levels() -> None:
    frame = pd.DataFrame({"n": [1, 2, 3], "b": [True, False, True], "c": ["x", None, "new"]})
    x = prepare_matrix(frame, ["n", "b", "c"], {"c": ["x", "y"]})
    assert x["n"].dtype == "float64" and x["b"].dtype == "float64"
    assert list(x["c"].cat.categories) == ["x", "y"]
    assert x["c"].isna().tolist() == [False, True, True]


def test_every_feature_set_gets_the_same_candidates() -> None:
    assert sample_candidates(5, 1) == sample_candidates(5, 1)
    assert len(sample_candidates(5, 1)) == 5


def test_training_is_deterministic(catalog) -> None:
    data = make_data("csat", n_accounts=60, seed=2)
    split = time_split(data.frame["as_of"])
    feats = model_feature_sets(data.manifest, catalog)["enriched"]
    cands = sample_candidates(2, 3)
    a = fit_feature_set(data.frame, split, "enriched", feats, ["segment"], cands, CFG)
    b = fit_feature_set(data.frame, split, "enriched", feats, ["segment"], cands, CFG)
    test = data.frame.iloc[split.test]
    assert np.array_equal(a.predict(test), b.predict(test))
    assert a.booster.model_to_string() == b.booster.model_to_string()


def test_calibrators_map_monotonically_and_round_trip() -> None:
    rng = np.random.default_rng(0)
    p = rng.random(2000)
    y = (rng.random(2000) < p**2).astype(int)
    for kind in ("platt", "isotonic"):
        cal = fit_calibrator(p, y, kind)
        grid = np.linspace(0, 1, 50)
        out = cal.apply(grid)
        assert np.all(np.diff(out) >= -1e-12)
        assert np.array_equal(Calibrator.from_dict(cal.to_dict()).apply(grid), out)
        assert abs(cal.apply(np.array([0.5]))[0] - 0.25) < 0.08


def test_comparison_measures_the_collaboration_lift(catalog) -> None:
    comp = compare(make_data("churn", n_accounts=120, seed=1), catalog, CFG, n_boot=100)
    assert set(comp.results) == {"baseline", "enriched"}
    assert comp.lift is not None and comp.lift["roc_auc"].low > 0
    enriched = comp.results["enriched"]
    assert 0.2 < enriched.shap.share_of("collaboration") < 0.9
    assert comp.results["baseline"].shap.share_of("collaboration") == 0.0
    assert enriched.model.calibrator.kind in {"none", "platt", "isotonic"}
    assert set(enriched.valid_ece) == {"before", "after"}


def test_without_collaboration_features_the_baseline_trains_alone(catalog) -> None:
    data = make_data("csat", n_accounts=60)
    manifest = {**data.manifest, "features": {**data.manifest["features"], "collaboration": []}}
    comp = compare(OfflineData("csat", data.frame, manifest), catalog, CFG, n_boot=50)
    assert list(comp.results) == ["baseline"] and comp.lift is None
    assert comp.champion_set == "baseline"
    assert any("baseline alone" in n for n in comp.notes)


def _with_sentinel(data: OfflineData) -> OfflineData:
    """Add a column known only after the cutoff (the outcome itself) that predicts the label perfectly."""
    frame = data.frame.assign(outcome_recorded_later=data.frame["label"].astype(float))
    return OfflineData(data.target, frame, data.manifest)


def test_leakage_sentinel_outside_the_feature_sets_changes_nothing(catalog) -> None:
    clean = make_data("csat", n_accounts=60, seed=4)
    leaky = _with_sentinel(clean)
    a = compare(clean, catalog, CFG, n_boot=50)
    b = compare(leaky, catalog, CFG, n_boot=50)
    for name in a.results:
        assert "outcome_recorded_later" not in b.results[name].model.features
        assert b.results[name].metrics["accuracy"].point == a.results[name].metrics["accuracy"].point
        assert b.results[name].metrics["accuracy"].point < 0.95


def test_leakage_sentinel_listed_as_a_feature_is_refused(catalog) -> None:
    leaky = _with_sentinel(make_data("csat", n_accounts=60, seed=4))
    features = {
        **leaky.manifest["features"],
        "baseline": [*leaky.manifest["features"]["baseline"], "outcome_recorded_later"],
    }
    manifest = {**leaky.manifest, "features": features}
    with pytest.raises(LeakageError, match="outcome_recorded_later"):
        compare(OfflineData("csat", leaky.frame, manifest), catalog, CFG, n_boot=50)


def _accounts_frame(n_accounts: int = 120, rows: int = 3, seed: int = 0) -> pd.DataFrame:
    """Training rows whose label is constant within each account (churn's early months: no churn yet, or
    churning soon), with a text column unique per account (an email) and one shared by many accounts."""
    rng = np.random.default_rng(seed)
    accounts = np.repeat([f"A{i:04d}" for i in range(n_accounts)], rows)
    label = np.repeat(rng.integers(0, 2, n_accounts), rows)
    return pd.DataFrame(
        {
            "account_id": accounts,
            "label": label,
            "crm_email": [a.lower() + "@example.com" for a in accounts],
            "crm_tier": rng.choice(["gold", "silver", "bronze"], len(accounts)),
        }
    )


def test_a_category_unique_per_account_is_no_label_leak() -> None:
    from training.pipeline import check_leakage

    frame = _accounts_frame()
    check_leakage(frame, ["crm_email", "crm_tier"], ["crm_email", "crm_tier"])  # nothing raised


@pytest.mark.parametrize(
    ("column", "categorical"),
    [
        ("status_text", True),  # the label written as text
        ("status_number", False),  # the label as a number
        ("status_shared", True),  # a category shared by many accounts that stands for the label
    ],
)
def test_a_column_that_stands_for_the_label_is_still_a_leak(column: str, categorical: bool) -> None:
    from training.pipeline import check_leakage

    frame = _accounts_frame()
    frame["status_text"] = np.where(frame["label"] == 1, "churned", "active")
    frame["status_number"] = frame["label"].astype(float)
    frame["status_shared"] = np.where(frame["label"] == 1, "lost-", "kept-") + (frame.index % 7).astype(str)
    with pytest.raises(LeakageError, match=column) as err:
        check_leakage(frame, [column], [column] if categorical else [])
    assert err.value.feature == column
