"""The serving commands through a local Typer app (the lead mounts them on ``csat``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from csat.settings import Settings
from serving.cli import score_all_command, serve_command, serving_app
from tests.serving.conftest import world_env


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


def _csat(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    """``csat <args>`` in a fresh process (its own BentoML home, as a user's shell would give it)."""
    code = "from csat.cli import app; app()"
    command = [sys.executable, "-c", code, *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=180)


def _env(world: Path, bentoml_home: Path, registry: Path | None = None) -> dict[str, str]:
    env = {k: v for k, v in world_env(world).items() if not k.startswith("BENTOML_")}
    env.update(BENTOML_HOME=str(bentoml_home), BENTOML_DO_NOT_TRACK="true")
    if registry is not None:
        env["CSAT_MLFLOW_TRACKING_URI"] = f"sqlite:///{registry}"
    return env


def _registry_copy(world: Path, dest: Path) -> tuple[Path, Any]:
    """A copy of the world's MLflow database (the artifacts stay shared, read only) and a client on it."""
    import mlflow

    shutil.copy(world / "mlruns" / "mlflow.db", dest)
    uri = f"sqlite:///{dest}"
    return dest, mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)


def _stored(bentoml_home: Path) -> list[str]:
    models = bentoml_home / "models"
    return sorted(p.name for p in models.iterdir()) if models.is_dir() else []


@pytest.mark.slow
def test_import_with_a_model_missing_imports_nothing_and_says_what_to_train(
    world: Path, tmp_path: Path
) -> None:
    db, client = _registry_copy(world, tmp_path / "csat-only.db")
    client.delete_registered_model("csat-churn")  # a team that trained `--target csat` only
    home = tmp_path / "bentoml"
    done = _csat(["serving", "import"], _env(world, home, db), tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    said = done.stderr.strip()
    assert "\n" not in said and said.startswith("import failed: no registered model csat-churn")
    assert "`csat train --target churn`" in said and "21 months of history" in said
    assert "both models" in said and "nothing was imported" in said and "csat-satisfaction" not in said
    assert _stored(home) == []  # not csat-satisfaction alone


@pytest.mark.slow
def test_import_of_an_alias_one_model_lacks_imports_nothing(world: Path, tmp_path: Path) -> None:
    db, client = _registry_copy(world, tmp_path / "one-challenger.db")
    client.delete_registered_model_alias("csat-churn", "challenger")  # only satisfaction has a challenger
    home = tmp_path / "bentoml"
    done = _csat(["serving", "import", "--alias", "challenger"], _env(world, home, db), tmp_path)
    assert done.returncode == 2, done.stderr[-2000:]
    said = done.stderr.strip()
    assert "\n" not in said and "csat-churn has no version with alias 'challenger'" in said
    assert "`csat retrain --target churn`" in said and "nothing was imported" in said
    assert _stored(home) == []  # the next start cannot mix a new satisfaction model with an old churn model


def test_a_failed_write_removes_the_models_written_before_it(tmp_path: Path) -> None:
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models.model import ModelStore

    from serving import models

    class Booster:
        def __init__(self, fails: bool) -> None:
            self.fails = fails

        def save_model(self, path: str, num_iteration: int | None = None) -> None:
            if self.fails:
                raise OSError("No space left on device")
            Path(path).write_text("tree\n")

    fetched = [
        models._Fetched("csat-satisfaction", "satisfaction", "champion", Booster(False), {}, {}),
        models._Fetched("csat-churn", "churn", "champion", Booster(True), {}, {}),
    ]
    store = ModelStore(str(tmp_path / "models"))
    saved = BentoMLContainer.model_store.get()
    BentoMLContainer.model_store.set(store)
    try:
        with pytest.raises(OSError, match="No space left"):
            models._store_all(fetched)
        assert store.list() == []
    finally:
        BentoMLContainer.model_store.set(saved)


@pytest.mark.slow
def test_serve_and_score_all_without_a_model_in_the_store_say_what_to_run(
    world: Path, tmp_path: Path
) -> None:
    from scripts.check_mlflow_ui import free_port

    home = tmp_path / "bentoml"
    shutil.copytree(world / "bentoml" / "models" / "csat-satisfaction", home / "models" / "csat-satisfaction")
    env = _env(world, home)
    for args in (["serve", "--port", str(free_port())], ["score-all"]):
        done = _csat(args, env, tmp_path)
        assert done.returncode == 2, done.stderr[-2000:]
        said = done.stderr.strip()
        assert "\n" not in said
        assert said.startswith(f"{args[0]} failed: csat-churn is not in the BentoML model store")
        assert f"at {home} ($BENTOML_HOME)" in said and "`csat serving import`" in said
        assert "csat-satisfaction" not in said and "NotFound" not in said and "cloud" not in said


@pytest.mark.slow
def test_serve_with_the_models_in_the_store_becomes_bentoml_serve(
    serving_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = []
    monkeypatch.setattr("serving.cli.os.execve", lambda path, cmd, env: calls.append(cmd))
    out = CliRunner().invoke(_app(), ["serve", "--port", "3999"], obj=_settings(serving_env))
    assert out.exit_code == 0, out.output
    assert calls and calls[0][1:5] == ["-m", "bentoml", "serve", "serving.service:CsatService"]
