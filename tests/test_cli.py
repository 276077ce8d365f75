"""The ``csat`` command: an error in the user's input ends with one clear message, not a traceback."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from csat.cli import main


def _csat(
    args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    """Run the console script's entry point in ``cwd``: its exit code and standard error."""
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "300")  # an error box on one line
    monkeypatch.setattr(sys, "argv", ["csat", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def _no_csat_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Run as a new user would: no ``CSAT_*`` setting from the environment."""
    for name in [k for k in os.environ if k.startswith("CSAT_")]:
        monkeypatch.delenv(name)


def _raw_world(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A tiny raw world at the default ``data/raw`` under ``tmp_path``, with no ``CSAT_*`` settings."""
    from tests.contract_fixtures import make_world, write_world

    _no_csat_env(monkeypatch)
    write_world(tmp_path / "data" / "raw", make_world(), "parquet")


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
    _no_csat_env(monkeypatch)
    code, err = _csat(args, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--candidates", "0"], "Invalid value for '--candidates'"),
        (["train", "--n-boot", "0"], "Invalid value for '--n-boot'"),
        (["retrain", "--threads", "0"], "Invalid value for '--threads'"),
        (["retrain", "--tolerance", "nan"], "must be a finite number >= 0, got nan"),
        (["retrain", "--tolerance", "-1"], "must be a finite number >= 0, got -1.0"),
        (["retrain", "--accept-drift", "not_a_feature"], "not a feature of the catalog: not_a_feature"),
        (["retrain", "--as-of", "2026-13-01"], "Invalid value for '--as-of'"),
        (["simulate", "--seed", "-1"], "--seed: Input should be greater than or equal to 0"),
        (["simulate", "--accounts", "5"], "--accounts: Input should be greater than or equal to 10"),
        (["simulate", "--start", "2100-01-01"], "--start: 24 months from 2100-01-01 run until 2101-12-31"),
        (["simulate", "--out", "csat.toml"], "is a file, not a folder"),
        (["features", "list", "--set", "bogus"], "'bogus' is not one of 'baseline', 'collaboration'"),
        (["features", "show", "A1", "--as-of", "06/01/2025"], "Invalid value for '--as-of': expected a date"),
        (["features", "build", "--as-of", "06/01/2025"], "Invalid value for '--as-of': expected a date"),
    ],
)
def test_bad_options_are_usage_errors_before_any_work(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], args, message
) -> None:
    (tmp_path / "csat.toml").write_text("", encoding="utf-8")
    code, err = _csat(args, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert message in err
    assert "Traceback" not in err and "pydantic" not in err


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
    settings = load_settings(
        data_dir=tmp_path / "raw",
        store_dir=tmp_path / "store",
        mlflow_tracking_uri=f"sqlite:///{tmp_path}/mlflow.db",
        mlflow_artifact_root=tmp_path / "artifacts",
    )
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


def test_train_all_skips_a_target_the_last_build_made_no_frame_for(tmp_path: Path) -> None:
    import io

    from rich.console import Console

    from csat.settings import load_settings
    from features.store import mark_offline_absent
    from training.cli import TargetChoice, _targets

    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    out = io.StringIO()
    console = Console(file=out, width=200)
    assert _targets(TargetChoice.all, settings, console) == ["csat", "churn"]
    mark_offline_absent(settings.store_dir, "churn", "the renewals table has no rows")
    assert _targets(TargetChoice.all, settings, console) == ["csat"]
    assert "churn skipped: the last feature build made no churn frame (the renewals table has no rows)" in (
        out.getvalue()
    )
    assert _targets(TargetChoice.churn, settings, console) == ["churn"]  # asked for by name: its own error
    mark_offline_absent(settings.store_dir, "csat", "no surveys table")
    with pytest.raises(FileNotFoundError, match="made no labelled frame"):
        _targets(TargetChoice.all, settings, console)


def test_a_file_where_a_folder_is_needed_is_one_line_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.contract_fixtures import make_world, write_world

    world = make_world()
    world["surveys"].loc[0, "csat"] = 9  # a rejected row, for the rejects folder
    write_world(tmp_path / "raw", world, "csv")
    (tmp_path / "csat.toml").write_text("rejects_threshold = 0.5\n", encoding="utf-8")
    (tmp_path / "taken").write_text("a file, not a folder", encoding="utf-8")
    code, err = _csat(["validate", "raw", "--rejects-dir", "taken"], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert "error: cannot use taken/rejects: Not a directory (a part of the path is a file)" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command",
    [["features", "build"], ["retrain"], ["features", "show", "a1"]],
    ids=["features-build", "retrain-rebuild", "features-show"],
)
def test_an_online_date_before_the_data_ends_with_exit_code_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _raw_world(tmp_path, monkeypatch)
    code, err = _csat([*command, "--as-of", "2000-01-01"], tmp_path, monkeypatch, capsys)
    assert code == 2  # retrain too: the user's date, not a failed job
    last = err.strip().splitlines()[-1]  # after the load's report
    assert last.startswith("error: --as-of 2000-01-01 is on or before the data's first event (2024-01-01)")
    assert "give a date from 2024-01-02 to" in last  # the first day it accepts
    assert "Traceback" not in err
    assert not (tmp_path / "store" / "online").exists()


def test_a_rename_into_place_that_fails_names_the_place_not_the_temporary_file() -> None:
    from csat.cli import user_error_message

    err = IsADirectoryError(
        21, "Is a directory", "store/rejects/.surveys.csv.20748.tmp", None, "store/rejects/surveys.csv"
    )
    assert user_error_message(err) == "error: cannot use store/rejects/surveys.csv: Is a directory"
    taken = FileExistsError(17, "File exists", "taken/rejects")
    assert user_error_message(taken) == (
        "error: cannot use taken/rejects: File exists (a file is where a folder is needed)"
    )


@pytest.fixture(scope="module")
def built_store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny store built under ``<folder>/store``, the default store folder seen from ``<folder>``."""
    import pandas as pd

    from csat.settings import load_settings
    from features.build import build_store
    from tests.features.fixtures import make_world

    folder = tmp_path_factory.mktemp("built")
    settings = load_settings(data_dir=folder / "raw", store_dir=folder / "store")
    build_store(settings, as_of=pd.Timestamp("2024-07-01").date(), tables=make_world(3, interactions=200))
    return folder


@pytest.mark.parametrize(
    ("damaged", "args", "message"),
    [
        ("online/features.sqlite", ["features", "show", "A1"], "online store store/online/features.sqlite"),
        ("offline/csat/manifest.json", ["train", "--target", "csat"], "is not valid JSON"),
        ("offline/csat/frame.parquet", ["train", "--target", "csat"], "the offline frame"),
    ],
)
def test_a_damaged_store_file_ends_with_its_name_and_exit_code_2(
    built_store: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    damaged: str,
    args: list[str],
    message: str,
) -> None:
    import shutil

    _no_csat_env(monkeypatch)
    shutil.copytree(built_store / "store", tmp_path / "store", symlinks=True)
    (tmp_path / "store" / damaged).write_bytes(b"\x00half a file")  # a disk that filled up mid-copy, say
    code, err = _csat(args, tmp_path, monkeypatch, capsys)
    assert code == 2
    assert err.startswith("error: ") and message in err
    assert "rebuild the store with `csat features build`" in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    ("extra", "where"),
    [([], "not in the online store store/online/features.sqlite"), (["--as-of", "2024-03-01"], "data/raw")],
    ids=["online-store", "as-of"],
)
def test_features_show_of_an_unknown_account_is_a_user_error_naming_where_it_looked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], extra, where
) -> None:
    import pandas as pd

    from csat.settings import load_settings
    from features.build import build_store
    from tests.contract_fixtures import make_world, write_world

    _no_csat_env(monkeypatch)
    world = make_world()
    write_world(tmp_path / "data" / "raw", world, "parquet")
    settings = load_settings(data_dir=tmp_path / "data" / "raw", store_dir=tmp_path / "store")
    build_store(settings, as_of=pd.Timestamp("2024-03-01").date(), tables=world)
    code, err = _csat(["features", "show", "nope", *extra], tmp_path, monkeypatch, capsys)
    assert code == 2  # not a table of made-up values for an account the data does not have
    last = err.strip().splitlines()[-1]
    assert last.startswith("error: unknown account 'nope': not in ") and where in last
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "command", [["features", "build"], ["features", "show", "a1"]], ids=["features-build", "features-show"]
)
def test_an_online_date_after_tomorrow_is_refused_before_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _raw_world(tmp_path, monkeypatch)
    code, err = _csat([*command, "--as-of", "2999-01-01"], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert err.startswith("error: --as-of 2999-01-01 is in the future (today is ")  # no load report before it
    assert "give a date up to" in err and "Traceback" not in err
    assert not (tmp_path / "store").exists()


def test_a_catalog_markdown_that_cannot_be_written_names_the_file_asked_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from features import store

    def refused(file, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise PermissionError(13, "Permission denied", str(file))  # a read-only folder, as a non-root user

    monkeypatch.setattr(store, "open", refused, raising=False)
    (tmp_path / "docs").mkdir()
    code, err = _csat(["features", "list", "--markdown", "docs/cat.md"], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert err.strip() == "error: cannot use docs/cat.md: Permission denied (check the folder's permissions)"


def test_features_list_of_one_set_writes_only_that_set_as_markdown(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from features.catalog import catalog

    code, _ = _csat(
        ["features", "list", "--set", "collaboration", "--markdown", "c.md"], tmp_path, monkeypatch, capsys
    )
    assert code == 0
    doc = (tmp_path / "c.md").read_text(encoding="utf-8")
    assert doc.startswith("# Feature catalog: the collaboration set\n")
    assert "`csat features list --set collaboration --markdown FILE`" in doc
    for f in catalog():
        assert (f"`{f.name}`" in doc) == (f.feature_set == "collaboration"), f.name


def test_features_list_help_shows_the_choices_of_set() -> None:
    from typer.testing import CliRunner

    from features.feature_cli import features_app

    res = CliRunner().invoke(features_app, ["list", "--help"], terminal_width=200, env={"COLUMNS": "200"})
    assert res.exit_code == 0
    assert "baseline|collaboration" in res.output  # a typed option, not a free <str>


@pytest.mark.parametrize("command", [["features", "build"], ["retrain"]], ids=["features-build", "retrain"])
def test_a_store_folder_that_is_a_file_is_refused_before_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    _raw_world(tmp_path, monkeypatch)
    (tmp_path / "store").write_text("a file, not a folder", encoding="utf-8")
    code, err = _csat([*command, "--as-of", "2024-03-01"], tmp_path, monkeypatch, capsys)
    assert code == 2  # retrain too: the user's folder, not a failed job
    message = "error: cannot use store: Not a directory (a part of the path is a file)"
    # no load report, no feature computation before it (retrain shows its progress line first)
    assert err == message + "\n" if command[0] == "features" else err.strip().splitlines()[-1] == message


def test_a_store_folder_that_is_a_link_to_nothing_is_named_so_before_the_load(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _raw_world(tmp_path, monkeypatch)
    (tmp_path / "store").symlink_to(tmp_path / "gone")  # a volume not mounted, a folder moved away
    code, err = _csat(["features", "build", "--as-of", "2024-03-01"], tmp_path, monkeypatch, capsys)
    assert code == 2
    assert err == "error: cannot use store: a symbolic link to something missing\n"
    assert not (tmp_path / "gone").exists()


def test_a_build_says_what_it_made_and_where_its_time_went(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    _raw_world(tmp_path, monkeypatch)
    code, err = _csat(["features", "build", "--as-of", "2024-03-01"], tmp_path, monkeypatch, capsys)
    assert code == 0, err
    lines = err.splitlines()
    assert any(line.startswith("offline csat: ") for line in lines)
    assert any(line.startswith("online: ") and "as of 2024-03-01" in line for line in lines)
    (took,) = [line for line in lines if line.startswith("took ")]
    seconds = [float(x) for x in re.findall(r"(\d+\.\d) s", took)]
    assert re.fullmatch(
        r"took \d+\.\d s: load \d+\.\d s, features \d+\.\d s, writing the stores \d+\.\d s", took
    )
    assert seconds[0] >= sum(seconds[1:]) - 0.15  # the parts fit in the whole (each rounded to 0.1 s)
