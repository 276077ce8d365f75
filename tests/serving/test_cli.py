"""The serving commands through a local Typer app (the lead mounts them on ``csat``)."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer
from typer.testing import CliRunner

from csat.settings import Settings
from serving.cli import score_all_command, serve_command, serving_app


def _app() -> typer.Typer:
    app = typer.Typer()
    app.add_typer(serving_app, name="serving")
    app.command("serve")(serve_command)
    app.command("score-all")(score_all_command)
    return app


def _settings(root: Path) -> Settings:
    return Settings(
        data_dir=root / "data" / "raw",
        store_dir=root / "store",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlruns' / 'mlflow.db'}",
        mlflow_artifact_root=root / "mlruns" / "artifacts",
    )


def test_serve_refuses_open_address_without_token(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CSAT_API_TOKEN", raising=False)
    out = CliRunner().invoke(_app(), ["serve", "--host", "0.0.0.0"], obj=_settings(tmp_path))
    assert out.exit_code == 2 and "CSAT_API_TOKEN" in out.output


@pytest.mark.slow
def test_import_without_registry_exits_2(tmp_path: Path) -> None:
    out = CliRunner().invoke(_app(), ["serving", "import"], obj=_settings(tmp_path))
    assert out.exit_code == 2 and "import failed" in out.output


@pytest.mark.slow
def test_score_all_command_writes_history(serving_env: Path) -> None:
    out = CliRunner().invoke(_app(), ["score-all"], obj=_settings(serving_env))
    assert out.exit_code == 0, out.output
    assert "scored 100 accounts" in out.output
    assert (serving_env / "store" / "scores" / "scores.sqlite").is_file()
