"""The serving commands through a local Typer app (the lead mounts them on ``csat``)."""

from __future__ import annotations

import os
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


def test_the_server_gets_every_setting_of_the_command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from csat.settings import load_settings
    from serving.cli import worker_env

    for name in [k for k in os.environ if k.startswith("CSAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    config = tmp_path / "mine.toml"
    config.write_text(
        'data_dir = "raw"\nrejects_threshold = 0.05\nexclude_account_columns = ["crm_x"]\n'
        'churn_horizon_days = 90\nduckdb_memory_limit = "2GB"\nspark_conf = {"spark.a" = "1"}\n'
    )
    monkeypatch.setenv("CSAT_SEED", "7")
    monkeypatch.setenv("CSAT_API_TOKEN", "t0ken")
    command = load_settings(config)
    env = worker_env(command, os.environ)
    elsewhere = tmp_path / "worker"  # the workers run in another folder, without the file
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    worker = load_settings()
    assert worker.data_dir == tmp_path / "raw" and worker.store_dir == tmp_path / "store"
    assert worker.rejects_threshold == 0.05 and worker.exclude_account_columns == ["crm_x"]
    assert (worker.churn_horizon_days, worker.duckdb_memory_limit, worker.seed) == (90, "2GB", 7)
    assert worker.spark_conf == {"spark.a": "1"}
    assert worker.api_token is not None and worker.api_token.get_secret_value() == "t0ken"
    assert "t0ken" not in {v for k, v in env.items() if k != "CSAT_API_TOKEN"}
