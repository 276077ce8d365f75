from __future__ import annotations

import numpy as np
import pytest
from typer.testing import CliRunner

import training.cli as cli
import training.promote as promote
from tests.training.conftest import FAST
from tests.training.synthetic import catalog, make_data
from training import tracking
from training.data import OfflineData
from training.workflow import train_target

pytestmark = pytest.mark.slow
ARGS = ["retrain", "--target", "churn", "--no-rebuild", "--candidates", "2", "--n-boot", "100"]


def _clean(seed: int = 1, fingerprint: str = "clean") -> OfflineData:
    data = make_data("churn", n_accounts=80, seed=seed)
    data.manifest["data_fingerprint"] = fingerprint
    return data


def _weak() -> OfflineData:
    """Older data on which only a poor champion could be trained (heavy label noise)."""
    data = make_data("churn", n_accounts=80, seed=1, label_noise=0.4)
    data.manifest["data_fingerprint"] = "weak"
    return data


def _corrupted() -> OfflineData:
    """New data whose labels before the holdout were scrambled by a broken pipeline: a worse challenger."""
    data = _clean(fingerprint="corrupted")
    frame = data.frame.copy()
    cut = frame["as_of"].quantile(0.75)
    early = frame["as_of"] < cut
    frame.loc[early, "label"] = np.random.default_rng(0).permutation(frame.loc[early, "label"].to_numpy())
    return OfflineData("churn", frame, data.manifest)


def _champion(settings, data: OfflineData) -> str:
    _, record = train_target(settings, "churn", catalog(), FAST, loader=lambda s, t: data)
    assert "champion" in record.aliases
    return record.version


def _run_cli(settings, monkeypatch, data: OfflineData):
    monkeypatch.setattr(cli, "load_offline", lambda s, t: data)
    monkeypatch.setattr(cli, "load_catalog", catalog)
    monkeypatch.setattr(cli, "rebuild_store", lambda *a, **k: pytest.fail("--no-rebuild was given"))
    return CliRunner().invoke(cli.app, ARGS, obj=settings)


def _decision_runs(settings):
    client = tracking.connect(settings)
    exp = client.get_experiment_by_name("csat-churn")
    return client.search_runs([exp.experiment_id], "tags.kind = 'retrain-decision'")


def _versions(settings) -> list[str]:
    client = tracking.connect(settings)
    return sorted(v.version for v in client.search_model_versions("name = 'csat-churn'"))


def test_retrain_promotes_a_better_challenger_and_keeps_on_unchanged_data(settings, monkeypatch) -> None:
    old = _champion(settings, _weak())
    result = _run_cli(settings, monkeypatch, _clean())
    assert result.exit_code == promote.EXIT_OK, result.output
    aliases = tracking.aliases(settings, "csat-churn")
    assert aliases["champion"] == aliases["challenger"] != old
    (run,) = _decision_runs(settings)
    assert run.data.tags["outcome"] == "promoted"
    assert run.data.metrics["delta_roc_auc"] > 0
    assert run.data.tags["champion_moved_to"] == aliases["champion"]

    versions = _versions(settings)
    again = _run_cli(settings, monkeypatch, _clean())  # same data once more: nothing new to train
    assert again.exit_code == promote.EXIT_OK, again.output
    assert tracking.aliases(settings, "csat-churn") == aliases  # champion and challenger as they were
    assert _versions(settings) == versions  # no challenger trained and registered
    kept = [r for r in _decision_runs(settings) if r.data.tags["outcome"] == "kept"]
    assert len(kept) == 1 and len(_decision_runs(settings)) == 2
    assert kept[0].data.params["reasons"].startswith("data and feature-set version unchanged")
    assert kept[0].data.params["data_fingerprint"] == "clean"
    assert "challenger_version" not in kept[0].data.params  # no challenger: absent, not the text 'None'
    assert kept[0].data.params["champion_after"] == kept[0].data.params["champion_before"]


def test_retrain_refuses_a_worse_challenger_with_exit_code_3(settings, monkeypatch) -> None:
    old = _champion(settings, _clean())
    result = _run_cli(settings, monkeypatch, _corrupted())
    assert result.exit_code == promote.EXIT_REFUSED == 3, result.output
    aliases = tracking.aliases(settings, "csat-churn")
    assert aliases["champion"] == old and aliases["challenger"] != old
    (run,) = _decision_runs(settings)
    assert run.data.tags["outcome"] == "refused"
    assert run.data.params["n_boot"] == "100"  # the decision's interval has the replicates asked for
    assert run.data.metrics["delta_roc_auc"] < -promote.GateConfig().auc_tolerance
    assert "champion_moved_to" not in run.data.tags


def test_interrupted_retrain_leaves_the_champion_alone(settings, monkeypatch) -> None:
    old = _champion(settings, _weak())

    def boom(*args, **kwargs):
        raise RuntimeError("injected failure after the challenger was registered")

    monkeypatch.setattr(promote, "decide", boom)
    result = _run_cli(settings, monkeypatch, _clean())
    assert result.exit_code == promote.EXIT_ERROR, result.output
    aliases = tracking.aliases(settings, "csat-churn")
    assert aliases["champion"] == old
    assert aliases["challenger"] != old
    assert _decision_runs(settings) == []


def test_failure_inside_the_decision_run_before_the_alias_moves(settings, monkeypatch) -> None:
    old = _champion(settings, _weak())
    real = tracking._log_objects

    def fail_on_decision(objects):
        if "decision.json" in objects:
            raise KeyboardInterrupt
        real(objects)

    monkeypatch.setattr(tracking, "_log_objects", fail_on_decision)
    result = _run_cli(settings, monkeypatch, _clean())
    assert result.exit_code != 0
    assert tracking.aliases(settings, "csat-churn")["champion"] == old
    (run,) = _decision_runs(settings)
    assert run.info.status in {"FAILED", "KILLED"}


def test_sanity_gates_refuse_missing_feature_sets_and_unexplained_drift(catalog) -> None:
    from training.pipeline import compare

    data = _clean()
    frame = data.frame.copy()
    late = frame["as_of"] >= frame["as_of"].quantile(0.8)
    frame.loc[late, "meetings_90d"] = frame.loc[late, "meetings_90d"] * 10
    comp = compare(OfflineData("churn", frame, data.manifest), catalog, FAST.config, n_boot=50)
    gates, reasons = promote.sanity_gates(comp, promote.GateConfig())
    assert gates == {"rows": True, "feature_sets": True, "drift": False}
    assert any("meetings_90d" in r for r in reasons)
    gates, _ = promote.sanity_gates(comp, promote.GateConfig(accepted_drift=("meetings_90d",)))
    assert gates["drift"] is True
    gates, reasons = promote.sanity_gates(comp, promote.GateConfig(), ["arr_usd", "crm_removed_column"])
    assert gates["feature_sets"] is False and any("crm_removed_column" in r for r in reasons)
    decision = promote.decide(comp, "2", None, promote.GateConfig())
    assert decision.outcome == "refused" and decision.champion_after is None


def test_without_collaboration_data_the_baseline_retrains_like_any_model(catalog) -> None:
    from tests.training.synthetic import COLLABORATION
    from training.pipeline import compare

    data = _clean()
    manifest = {**data.manifest, "features": {**data.manifest["features"], "collaboration": []}}
    frame = data.frame.drop(columns=list(COLLABORATION))
    comp = compare(OfflineData("churn", frame, manifest), catalog, FAST.config, n_boot=50)
    assert list(comp.results) == ["baseline"]
    baseline_champion = list(comp.results["baseline"].model.features)
    gates, reasons = promote.sanity_gates(comp, promote.GateConfig(), baseline_champion)
    assert gates["feature_sets"] is True, reasons
    # a champion that used collaboration features: losing them is refused
    gates, reasons = promote.sanity_gates(comp, promote.GateConfig(), [*baseline_champion, COLLABORATION[0]])
    assert gates["feature_sets"] is False and any(COLLABORATION[0] in r for r in reasons)
