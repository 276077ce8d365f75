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
