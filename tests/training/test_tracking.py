from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.training.conftest import FAST, settings_with_store
from tests.training.synthetic import catalog, make_data
from training import tracking
from training.workflow import train_target

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def trained_twice(tmp_path_factory: pytest.TempPathFactory, mlflow_template: Path):
    settings = settings_with_store(tmp_path_factory.mktemp("mlflow"), mlflow_template)
    first = train_target(
        settings, "churn", catalog(), FAST, loader=lambda s, t: make_data(t, n_accounts=80, seed=1)
    )
    after_first = tracking.aliases(settings, "csat-churn")
    second = train_target(
        settings, "churn", catalog(), FAST, loader=lambda s, t: make_data(t, n_accounts=80, seed=2)
    )
    return settings, first, after_first, second


def test_parent_and_child_runs_hold_params_metrics_and_artifacts(trained_twice) -> None:
    settings, (comparison, record), _, _ = trained_twice
    client = tracking.connect(settings)
    exp = client.get_experiment(record.experiment_id)
    assert exp.name == "csat-churn"
    assert exp.artifact_location == (Path(settings.mlflow_artifact_root).resolve() / "csat-churn").as_uri()
    children = client.search_runs(
        [record.experiment_id], f"tags.mlflow.parentRunId = '{record.parent_run_id}'"
    )
    assert sorted(r.info.run_name for r in children) == ["baseline", "enriched"]
    for run in children:
        params, metrics = run.data.params, run.data.metrics
        assert params["feature_set"] == run.info.run_name
        for key in (
            "n_features",
            "data_window_from",
            "data_window_to",
            "data_fingerprint",
            "feature_set_version",
            "git_commit",
            "lgb_learning_rate",
            "lgb_num_leaves",
            "lgb_seed",
            "calibration",
        ):
            assert key in params, key
        assert params["n_boot"] == str(FAST.n_boot)  # the intervals depend on it: logged beside them
        for m in ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "f1", "log_loss", "brier", "ece"):
            assert {f"test_{m}", f"test_{m}_low", f"test_{m}_high"} <= set(metrics), m
        assert {"valid_ece_before", "valid_ece_after", "test_uncalibrated_ece", "threshold"} <= set(metrics)
        files = {
            a.path for d in ("plots", "tables", "serving") for a in client.list_artifacts(run.info.run_id, d)
        }
        assert {
            "plots/shap_beeswarm.png",
            "plots/roc_pr.png",
            "plots/calibration.png",
            "plots/confusion_matrix.png",
            "tables/feature_importance.csv",
            "serving/spec.json",
        } <= files
        models = client.search_logged_models(
            [record.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
        )
        assert sorted(m.name for m in models) == ["model", "pyfunc"]
    parent = client.get_run(record.parent_run_id)
    assert {"lift_roc_auc", "lift_roc_auc_low", "lift_roc_auc_high"} <= set(parent.data.metrics)
    report = {a.path for a in client.list_artifacts(record.parent_run_id, "report")}
    assert {"report/comparison.md", "report/comparison.html"} <= report
    assert comparison.results["enriched"].metrics["roc_auc"].point == pytest.approx(
        client.get_run(record.child_run_ids["enriched"]).data.metrics["test_roc_auc"]
    )


def test_the_logged_pyfunc_scores_store_rows_like_the_fitted_model(trained_twice) -> None:
    import mlflow

    settings, (comparison, record), _, _ = trained_twice
    tracking.connect(settings)
    rows = make_data("churn", n_accounts=80, seed=1).frame.head(40)  # store format: categories as text
    for name in ("baseline", "enriched"):
        pyfunc = mlflow.pyfunc.load_model(f"runs:/{record.child_run_ids[name]}/pyfunc")
        got = np.asarray(pyfunc.predict(rows))
        assert got == pytest.approx(comparison.results[name].model.predict(rows), abs=1e-12)


def test_registry_aliases_after_first_and_second_training(trained_twice) -> None:
    settings, (_, first), after_first, (_, second) = trained_twice
    assert first.version == "1" and set(first.aliases) == {"challenger", "champion"}
    assert after_first == {"challenger": "1", "champion": "1"}
    assert second.version == "2" and second.aliases == ("challenger",)
    assert tracking.aliases(settings, "csat-churn") == {"challenger": "2", "champion": "1"}


def test_registered_model_carries_what_serving_needs(trained_twice) -> None:
    settings, (comparison, _), _, _ = trained_twice
    champion = tracking.load_registered(settings, "csat-churn", "champion")
    assert champion is not None and champion.version == "1"
    spec = champion.spec
    assert spec["feature_set"] == "enriched"
    assert spec["features"] == comparison.results["enriched"].model.features
    assert spec["category_levels"]["segment"] == ["enterprise", "mid-market", "smb"]
    assert {"threshold", "bands", "calibrator", "metrics", "feature_set_version"} <= set(spec)
    client = tracking.connect(settings)
    tags = client.get_model_version("csat-churn", "1").tags
    assert {"feature_set_version", "threshold", "features", "test_roc_auc", "spec_artifact"} <= set(tags)
    test = comparison.frame.iloc[comparison.split.test]
    model = comparison.results["enriched"].model
    assert champion.booster.predict(model.matrix(test)) == pytest.approx(model.predict_raw(test))


def test_baseline_and_enriched_runs_log_the_same_budget_side_by_side(trained_twice) -> None:
    settings, (_, record), _, _ = trained_twice
    client = tracking.connect(settings)
    keys = ("n_candidates", "n_seeds", "n_boot")
    budgets = {
        name: {k: client.get_run(run_id).data.params.get(k) for k in keys}
        for name, run_id in record.child_run_ids.items()
    }
    expected = {"n_candidates": "2", "n_seeds": str(FAST.config.n_seeds), "n_boot": str(FAST.n_boot)}
    assert budgets == {"baseline": expected, "enriched": expected}


def test_logging_and_loading_models_prints_no_mlflow_chatter(settings, capsys, monkeypatch) -> None:
    import logging
    import os

    monkeypatch.delenv("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", raising=False)
    level = logging.getLogger("mlflow.pyfunc").level
    data = make_data("csat", n_accounts=60, seed=1)
    train_target(settings, "csat", catalog(), FAST, loader=lambda s, t: data)
    assert tracking.load_registered(settings, "csat-satisfaction", "champion") is not None
    out = capsys.readouterr()
    printed = out.out + out.err
    for chatter in ("Downloading artifacts", "CloudPickle", "python_model", "Validating input example"):
        assert chatter not in printed, printed
    assert "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ  # quiet only while we log or load
    assert logging.getLogger("mlflow.pyfunc").level == level
