"""`csat train` / `csat retrain`: user errors found before anything is trained, one line and exit code 2;
an error in one target's retrain reported as that target's outcome beside the others'."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

import training.cli as cli
import training.promote as promote
from tests.training.synthetic import catalog, make_data
from training import tracking
from training.data import OfflineData
from training.pipeline import compare
from training.split import SplitError
from training.train import TrainConfig

CFG = TrainConfig(n_candidates=1, num_threads=1, seed=3, n_seeds=1)
FAST_ARGS = ["--candidates", "2", "--n-boot", "100", "--seeds", "1"]


def _short_churn() -> OfflineData:
    """Twelve monthly churn cutoffs: too few for a 180-day horizon between train, validation and test."""
    return make_data("churn", n_accounts=40, months=12)


def _one_class(target: str = "csat") -> OfflineData:
    data = make_data(target, n_accounts=30, seed=1)
    return OfflineData(data.target, data.frame.assign(label=1), data.manifest)


def _invoke(settings, monkeypatch, args: list[str], data: dict[str, OfflineData]):
    """Run the training CLI on the given frames; training or retraining anything fails the test."""
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr(cli, "load_offline", lambda s, t: data[t])
    monkeypatch.setattr(cli, "load_catalog", catalog)
    monkeypatch.setattr(cli, "rebuild_store", lambda *a, **k: pytest.fail("--no-rebuild was given"))
    monkeypatch.setattr(cli, "train_target", lambda *a, **k: pytest.fail("trained despite the error"))
    monkeypatch.setattr(cli, "retrain_target", lambda *a, **k: pytest.fail("retrained despite the error"))
    return CliRunner().invoke(cli.app, args, obj=settings)


def test_a_churn_history_too_short_for_the_horizon_names_the_target_and_the_months() -> None:
    from training.pipeline import split_for

    with pytest.raises(SplitError) as err:
        split_for(_short_churn(), CFG)
    message = str(err.value)
    assert message.startswith("churn: not enough months of history for its 180-day horizon")
    assert "needs about 21 months (16 monthly cutoffs)" in message
    assert "the store has about 17 months (12 monthly cutoffs, 2023-01 to 2023-12)" in message


@pytest.mark.parametrize("command", [["train"], ["retrain", "--no-rebuild"]])
@pytest.mark.parametrize("target", ["all", "churn"])
def test_a_target_that_cannot_be_split_stops_the_command_before_any_training(
    settings, monkeypatch, command: list[str], target: str
) -> None:
    data = {"csat": make_data("csat", n_accounts=60), "churn": _short_churn()}
    result = _invoke(settings, monkeypatch, [*command, "--target", target, *FAST_ARGS], data)
    assert result.exit_code == 2, result.output
    assert "error: churn: not enough months of history" in result.output
    assert "Traceback" not in result.output
    assert ("--target csat" in result.output) == (target == "all")
    assert tracking.aliases(settings, "csat-satisfaction") == {}  # nothing registered


def _leaking(data: OfflineData) -> OfflineData:
    """A custom accounts column 'Renewal Status' that holds the label itself, as the store offers it."""
    feature = "crm_renewal_status"
    m = data.manifest
    manifest = {
        **m,
        "features": {**m["features"], "baseline": [*m["features"]["baseline"], feature]},
        "categorical": [*m["categorical"], feature],
        "catalog": {
            feature: {
                "group": "account_extras",
                "description": "The account's CRM custom field 'Renewal Status' (as recorded in the accounts"
                " table)",
            }
        },
    }
    frame = data.frame.assign(**{feature: data.frame["label"].map({1: "lost", 0: "renewed"})})
    return OfflineData(data.target, frame, manifest)


@pytest.mark.parametrize("command", [["train"], ["retrain", "--no-rebuild"]])
def test_a_label_leak_in_one_target_stops_every_target_before_any_training(
    settings, monkeypatch, command: list[str]
) -> None:
    data = {"csat": make_data("csat", n_accounts=60), "churn": _leaking(make_data("churn", n_accounts=40))}
    result = _invoke(settings, monkeypatch, [*command, "--target", "all", *FAST_ARGS], data)
    assert result.exit_code == 2, result.output
    (line,) = [line for line in result.output.splitlines() if line.strip()]
    assert line.startswith("error: churn: feature 'crm_renewal_status' alone separates the labels")
    assert 'exclude_account_columns = ["Renewal Status"] in csat.toml' in line
    assert "--target csat" in line and "Traceback" not in result.output
    assert tracking.aliases(settings, "csat-satisfaction") == {}  # nothing registered


def test_too_little_data_is_one_line_naming_the_target_and_the_period() -> None:
    with pytest.raises(SplitError, match=r"^csat: too little data: the train period has \d+ examples"):
        compare(_one_class(), catalog(), CFG, n_boot=10)
    empty = make_data("churn", n_accounts=5)
    empty = OfflineData("churn", empty.frame.iloc[:0], empty.manifest)
    with pytest.raises(SplitError, match="^churn: the offline frame has no examples"):
        compare(empty, catalog(), CFG, n_boot=10)


def test_tiny_data_through_the_cli_exits_2_naming_every_target_too_small(settings, monkeypatch) -> None:
    tiny = make_data("churn", n_accounts=3, months=5)
    data = {"csat": _one_class(), "churn": tiny}
    result = _invoke(settings, monkeypatch, ["train", *FAST_ARGS], data)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1
    assert "csat: too little data" in lines[0] and "churn: not enough months of history" in lines[0]


def test_an_unusable_tracking_store_is_one_line_before_training(tmp_path: Path, monkeypatch) -> None:
    from csat.settings import Settings

    bad = Settings(
        data_dir=tmp_path / "data",
        store_dir=tmp_path / "store",
        mlflow_tracking_uri="foo://nowhere",
        mlflow_artifact_root=tmp_path / "artifacts",
    )
    data = {"csat": make_data("csat", n_accounts=60), "churn": make_data("churn", n_accounts=40)}
    for command in (["train"], ["retrain", "--no-rebuild"], ["retrain"]):  # the last: before the rebuild
        result = _invoke(bad, monkeypatch, [*command, *FAST_ARGS], data)
        assert result.exit_code == 2, result.output
        assert "error: cannot use the MLflow tracking store 'foo://nowhere'" in result.output
        assert "CSAT_MLFLOW_TRACKING_URI" in result.output and "Traceback" not in result.output


def test_an_unreachable_tracking_server_fails_fast(tmp_path: Path) -> None:
    from csat.settings import Settings

    unreachable = Settings(
        mlflow_tracking_uri="http://bob:s3cret@127.0.0.1:9", mlflow_artifact_root=tmp_path / "a"
    )
    start = time.monotonic()
    with pytest.raises(tracking.TrackingStoreError, match=r"http://\*\*\*@127.0.0.1:9") as err:
        tracking.check_tracking(unreachable)
    assert time.monotonic() - start < 30
    assert "s3cret" not in str(err.value) and "bob" not in str(err.value)  # the message goes to logs


def _with_crm(data: OfflineData) -> OfflineData:
    features = {**data.manifest["features"], "baseline": [*data.manifest["features"]["baseline"], "crm_tier"]}
    return OfflineData(
        data.target, data.frame.assign(crm_tier="gold"), {**data.manifest, "features": features}
    )


def test_accept_drift_refuses_a_crm_name_the_store_does_not_have(settings, monkeypatch) -> None:
    data = {"churn": _with_crm(make_data("churn", n_accounts=40))}
    args = ["retrain", "--no-rebuild", "--target", "churn", *FAST_ARGS]
    result = _invoke(settings, monkeypatch, [*args, "--accept-drift", "crm_tierr"], data)
    assert result.exit_code == 2, result.output
    assert "crm_tierr" in result.output and "crm_tier" in result.output.replace("crm_tierr", "")

    kept = promote.Decision("churn", "kept", "2", "1", "1", ["unchanged data"])
    monkeypatch.setattr(cli, "retrain_target", lambda *a, **k: kept)
    ok = CliRunner().invoke(cli.app, [*args, "--accept-drift", "crm_tier"], obj=settings)
    assert ok.exit_code == 0, ok.output


def test_as_of_without_a_rebuild_is_a_usage_error(settings, monkeypatch) -> None:
    result = _invoke(settings, monkeypatch, ["retrain", "--no-rebuild", "--as-of", "2024-06-01"], {})
    assert result.exit_code == 2
    assert "--as-of needs a rebuild" in result.output


def test_a_missing_store_is_exit_2_for_retrain_as_for_train(tmp_path: Path, monkeypatch, capsys) -> None:
    import os
    import sys

    from csat.cli import main

    for name in [k for k in os.environ if k.startswith("CSAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    codes = {}
    for args in (["train", "--target", "csat"], ["retrain", "--no-rebuild", "--target", "csat"]):
        monkeypatch.setattr(sys, "argv", ["csat", *args])
        with pytest.raises(SystemExit) as exit_:
            main()
        err = capsys.readouterr().err
        codes[args[0]] = exit_.value.code
        assert "error: no offline store for 'csat' under store" in err and "Traceback" not in err
    assert codes == {"train": 2, "retrain": 2}
    assert not (tmp_path / "mlruns").exists()  # stopped before touching the tracking store


@pytest.mark.slow
def test_retrain_reports_each_target_when_one_fails_after_another_was_promoted(settings, monkeypatch) -> None:
    from training.workflow import train_target

    data = {"csat": make_data("csat", n_accounts=60, seed=1), "churn": make_data("churn", n_accounts=40)}
    _invoke(settings, monkeypatch, [], data)  # stubs; the real retrain below, failing for churn only
    monkeypatch.setattr(cli, "retrain_target", promote.retrain_target)

    def train_or_fail(settings, target, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        if target == "churn":
            raise RuntimeError("injected churn failure")
        return train_target(settings, target, *args, **kwargs)

    monkeypatch.setattr(promote, "train_target", train_or_fail)
    result = CliRunner().invoke(cli.app, ["retrain", "--no-rebuild", *FAST_ARGS], obj=settings)
    assert result.exit_code == promote.EXIT_ERROR, result.output
    rows = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "promoted" in rows["csat"] and "unchanged" not in rows["csat"]
    assert "failed" in rows["churn"] and "churn failed: RuntimeError: injected churn failure" in result.output
    assert "retrain failed" not in result.output
    assert set(tracking.aliases(settings, "csat-satisfaction")) == {"challenger", "champion"}
    assert tracking.aliases(settings, "csat-churn") == {}


def test_exit_code_is_an_error_when_any_target_failed() -> None:
    promoted = promote.Decision("csat", "promoted", "2", "1", "2")
    refused = promote.Decision("csat", "refused", "2", "1", "1")
    failed = promote.failed("churn", RuntimeError("boom"), "1", "1")
    assert failed.reasons == ["churn failed: RuntimeError: boom; its champion is unchanged"]
    moved = promote.failed("churn", RuntimeError("boom"), "1", "2")  # the error came after the alias moved
    assert moved.reasons == ["churn failed: RuntimeError: boom; its champion moved to version 2"]
    assert (moved.champion_before, moved.champion_after) == ("1", "2")
    assert promote.exit_code([promoted, failed]) == promote.EXIT_ERROR
    assert promote.exit_code([refused, failed]) == promote.EXIT_ERROR
    assert promote.exit_code([promoted, refused]) == promote.EXIT_REFUSED


def test_a_train_stopped_by_sigterm_marks_its_mlflow_runs_failed_not_running(settings, monkeypatch) -> None:
    import os
    import signal

    from training import tracking

    data = make_data("csat", n_accounts=80, seed=1)
    real = tracking._child_params

    def stopped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        os.kill(os.getpid(), signal.SIGTERM)  # the scheduler stops the job inside a child run
        return real(*args, **kwargs)

    monkeypatch.setattr(tracking, "_child_params", stopped)
    monkeypatch.setattr(cli, "load_offline", lambda s, t: data)
    monkeypatch.setattr(cli, "load_catalog", catalog)
    args = ["train", "--target", "csat", "--candidates", "1", "--seeds", "1", "--n-boot", "20"]
    res = CliRunner().invoke(cli.app, args, obj=settings)
    assert res.exit_code == 128 + signal.SIGTERM
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL  # the default action is back
    client = tracking.connect(settings)
    exp = client.get_experiment_by_name("csat-satisfaction")
    runs = client.search_runs([exp.experiment_id])
    assert runs and {r.info.status for r in runs} == {"FAILED"}
    assert client.search_registered_models() == []  # nothing registered from a run that did not finish
    with pytest.raises(LookupError):  # reports (scripts.world_table) read finished comparisons only
        tracking.latest_comparison_runs(settings, "csat")


def _stop_inside(monkeypatch: pytest.MonkeyPatch, module: object, name: str) -> None:
    """SIGTERM this process when ``module.name`` is called (then call it): a scheduler stopping the job."""
    import os
    import signal

    real = getattr(module, name)

    def stopped(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        os.kill(os.getpid(), signal.SIGTERM)
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, stopped)


def test_a_sigterm_while_the_champion_moves_lets_the_decision_run_finish(settings, monkeypatch) -> None:
    import mlflow

    from csat.signals import Terminated, sigterm_unwinds
    from tests.training.conftest import FAST
    from training.workflow import train_target

    data = make_data("churn", n_accounts=80, seed=1)
    first = train_target(settings, "churn", catalog(), FAST, loader=lambda s, t: data)[1].version
    second = train_target(settings, "churn", catalog(), FAST, loader=lambda s, t: data)[1].version
    _stop_inside(monkeypatch, mlflow, "set_tag")  # right after the alias moved
    with pytest.raises(Terminated), sigterm_unwinds():
        tracking.record_decision(settings, "churn", {"outcome": "promoted"}, {}, second)
    client = tracking.connect(settings)
    assert first != second
    assert tracking.current_alias_version(client, "csat-churn", "champion") == second
    exp = client.get_experiment_by_name("csat-churn")
    (run,) = client.search_runs([exp.experiment_id], "tags.kind = 'retrain-decision'")
    assert run.info.status == "FINISHED"  # the run that moved the champion says so
    assert run.data.tags["champion_moved_to"] == second


def test_a_sigterm_while_registering_lets_the_comparison_finish(settings, monkeypatch) -> None:
    from csat.signals import Terminated, sigterm_unwinds
    from tests.training.conftest import FAST
    from training.workflow import train_target

    data = make_data("csat", n_accounts=80, seed=1)
    _stop_inside(monkeypatch, tracking, "_register")
    with pytest.raises(Terminated), sigterm_unwinds():
        train_target(settings, "csat", catalog(), FAST, loader=lambda s, t: data)
    client = tracking.connect(settings)
    exp = client.get_experiment_by_name("csat-satisfaction")
    (parent,) = client.search_runs([exp.experiment_id], "tags.kind = 'comparison'")
    assert parent.info.status == "FINISHED"
    assert parent.data.tags["registered_version"] == "1"  # registered, and the run says so
    assert parent.data.tags["aliases_at_registration"] == "challenger,champion"  # history: they move later


def test_enough_months_with_a_shrinking_book_is_not_called_too_few_months() -> None:
    from training.pipeline import split_for

    data = make_data("churn", n_accounts=400, months=26)
    frame = data.frame
    months = frame["as_of"].dt.to_period("M")
    rank = months.rank(method="dense").astype(int)
    keep = frame.groupby(months).cumcount() < (400 * 0.85**rank).astype(int)  # 15% fewer accounts a month
    with pytest.raises(SplitError) as err:
        split_for(OfflineData("churn", frame[keep].reset_index(drop=True), data.manifest), CFG)
    message = str(err.value)
    assert message.startswith(
        "churn: 26 monthly cutoffs would do for its 180-day horizon, but the later months"
    )
    assert "not enough months" not in message
