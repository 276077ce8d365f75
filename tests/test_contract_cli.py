"""``csat validate`` through a tiny Typer app wrapping ``validate_command``."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from csat.settings import Settings
from features.contract.cli import validate_command
from tests.contract_fixtures import csv_frame, make_world, write_csv, write_world


def make_app(settings: Settings | None) -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def main(ctx: typer.Context) -> None:
        ctx.obj = settings

    app.command("validate")(validate_command)
    return app


@pytest.fixture()
def settings(tmp_path: Path) -> Settings:
    return Settings(store_dir=tmp_path / "store", rejects_threshold=0.3)


def test_valid_folder_exits_zero(tmp_path: Path, settings: Settings) -> None:
    folder = write_world(tmp_path / "raw", make_world())
    result = CliRunner().invoke(make_app(settings), ["validate", str(folder)])
    assert result.exit_code == 0, result.output
    assert "rows per table" in result.output and "OK" in result.output


def test_few_rejects_exit_zero_and_write_rejects_dir(tmp_path: Path, settings: Settings) -> None:
    world = make_world()
    folder = write_world(tmp_path / "raw", world)
    cells = csv_frame("contacts", world["contacts"])
    cells.loc[0, "seniority"] = "boss"
    write_csv(folder, "contacts", cells)
    result = CliRunner().invoke(
        make_app(settings), ["validate", str(folder), "--rejects-dir", str(tmp_path / "out")]
    )
    assert result.exit_code == 0, result.output
    assert (tmp_path / "out" / "rejects" / "contacts.csv").exists()
    assert "1 row(s) rejected" in result.output


def test_contract_error_exits_two_with_message(tmp_path: Path, settings: Settings) -> None:
    world = make_world()
    folder = write_world(tmp_path / "raw", world)
    write_csv(folder, "accounts", csv_frame("accounts", world["accounts"].drop(columns=["plan"])))
    result = CliRunner().invoke(make_app(settings), ["validate", str(folder)])
    assert result.exit_code == 2
    assert "Contract error" in result.output
    assert "accounts.plan [missing_column]: required column 'plan' not found in accounts" in result.output


def test_a_missing_accounts_table_is_the_error_alone(tmp_path: Path, settings: Settings) -> None:
    folder = write_world(tmp_path / "raw", make_world())
    next(folder.glob("accounts.*")).unlink()
    result = CliRunner().invoke(make_app(settings), ["validate", str(folder)])
    assert result.exit_code == 2
    assert "accounts [missing_table]: required table not found" in result.output
    assert "Tables absent" not in result.output and "not checked" not in result.output


def test_a_data_folder_that_is_a_file_is_named_so(tmp_path: Path, settings: Settings) -> None:
    (tmp_path / "raw").write_text("not a folder")
    result = CliRunner().invoke(make_app(settings), ["validate", str(tmp_path / "raw")])
    assert result.exit_code == 2
    assert "data folder is a file, not a folder" in result.output


def test_settings_fall_back_to_defaults(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(make_app(None), ["validate", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "data folder not found" in result.output


def test_validating_another_folder_leaves_the_stores_rejects_alone(tmp_path: Path) -> None:
    world = make_world()
    settings = Settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store", rejects_threshold=0.5)
    cells = csv_frame("contacts", world["contacts"])
    cells.loc[0, "seniority"] = "boss"
    for name in ("raw", "trial"):
        write_csv(write_world(tmp_path / name, world), "contacts", cells)
    assert CliRunner().invoke(make_app(settings), ["validate"]).exit_code == 0  # default: data_dir
    own = tmp_path / "store" / "rejects" / "contacts.csv"
    before = own.read_bytes()
    cells.loc[1, "seniority"] = "chief"
    write_csv(tmp_path / "trial", "contacts", cells)  # other rejects
    result = CliRunner().invoke(make_app(settings), ["validate", str(tmp_path / "trial")])
    assert result.exit_code == 0, result.output
    assert own.read_bytes() == before  # the rejects of the store's data are untouched
    (trial,) = (tmp_path / "store" / "validate").iterdir()
    assert trial.name.startswith("trial-")
    assert (trial / "rejects" / "contacts.csv").is_file()


def test_two_exports_in_folders_of_the_same_name_keep_their_own_rejects(tmp_path: Path) -> None:
    from features.contract.cli import default_rejects_dir

    settings = Settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    november = default_rejects_dir(tmp_path / "2026-11" / "raw", settings)
    december = default_rejects_dir(tmp_path / "2026-12" / "raw", settings)
    assert november != december
    assert november.parent == december.parent == tmp_path / "store" / "validate"


def test_the_help_names_the_default_rejects_folder_as_it_is_made(tmp_path: Path) -> None:
    from features.contract.cli import default_rejects_dir

    settings = Settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    result = CliRunner().invoke(make_app(settings), ["validate", "--help"], env={"COLUMNS": "1000"})
    assert result.exit_code == 0, result.output
    assert "<store_dir>/validate/<folder name>-<hash8> for another folder" in " ".join(result.output.split())
    made = default_rejects_dir(tmp_path / "export", settings)
    assert made.parent == tmp_path / "store" / "validate"
    assert made.name[: -len("-01234567")] == "export" and len(made.name.rsplit("-", 1)[1]) == 8
