"""The ``csat`` command: an error in the user's input ends with one clear message, not a traceback."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from csat.cli import main


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["features", "build"], "data folder not found: data/raw"),
        (["features", "show", "A1"], "no online store at store/online/features.sqlite"),
        (["train", "--target", "csat"], "no offline store for 'csat' under store"),
    ],
)
def test_a_missing_input_ends_with_its_message_and_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args, message
) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [k for k in os.environ if k.startswith("CSAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setattr(sys, "argv", ["csat", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "option"),
    [
        (["train", "--candidates", "0"], "--candidates"),
        (["train", "--n-boot", "0"], "--n-boot"),
        (["retrain", "--threads", "0"], "--threads"),
    ],
)
def test_a_training_budget_below_its_minimum_is_refused_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args, option
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "argv", ["csat", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert f"Invalid value for '{option}'" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["retrain", "--tolerance", "nan"], "must be a finite number >= 0, got nan"),
        (["retrain", "--tolerance", "-1"], "must be a finite number >= 0, got -1.0"),
        (["retrain", "--accept-drift", "not_a_feature"], "not a feature of the catalog: not_a_feature"),
        (["retrain", "--as-of", "2026-13-01"], "'--as-of'"),
    ],
)
def test_bad_retrain_options_are_usage_errors(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args, message
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("COLUMNS", "300")  # the error box on one line
    monkeypatch.setattr(sys, "argv", ["csat", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_retrain_rebuilds_the_store_as_of_the_date_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import date

    from typer.testing import CliRunner

    from csat.settings import load_settings
    from training import cli

    seen: list[object] = []

    def rebuild(settings, as_of=None, console=None):  # noqa: ANN001, ANN202
        seen.append(as_of)
        raise RuntimeError("stop after the rebuild")

    monkeypatch.setattr(cli, "rebuild_store", rebuild)
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    res = CliRunner().invoke(cli.app, ["retrain", "--as-of", "2026-01-01", "--target", "churn"], obj=settings)
    assert res.exit_code == 1 and "champion unchanged" in res.output
    assert seen == [date(2026, 1, 1)]


def test_csat_ui_hands_its_process_to_the_mlflow_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from csat.settings import load_settings
    from training import cli

    calls: list[tuple[str, list[str]]] = []
    monkeypatch.setattr(cli.os, "execvp", lambda file, args: calls.append((file, list(args))))
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    CliRunner().invoke(cli.app, ["ui", "--port", "5055"], obj=settings)
    assert len(calls) == 1 and calls[0][1] == cli.ui_command(settings, "127.0.0.1", 5055)
    assert calls[0][0] == calls[0][1][0]  # exec, not a child: a signal to csat ui stops the server itself
