"""The settings object: TOML file, CSAT_* environment, overrides; unknown keys and file secrets refused."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from csat.settings import SettingsError, load_settings


def test_defaults_put_mlflow_in_sqlite_inside_mlruns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings()
    assert settings.mlflow_tracking_uri == "sqlite:///mlruns/mlflow.db"
    assert settings.mlflow_artifact_root == Path("mlruns/artifacts")
    assert settings.seed == 42


def test_file_then_environment_then_overrides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "csat.toml"
    config.write_text('seed = 7\nstore_dir = "from-file"\ndata_dir = "raw-from-file"\n')
    monkeypatch.setenv("CSAT_STORE_DIR", "from-env")
    settings = load_settings(config, data_dir=Path("override"))
    assert settings.seed == 7
    assert settings.store_dir == Path("from-env")
    assert settings.data_dir == Path("override")


def test_csat_toml_in_working_folder_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "csat.toml").write_text("seed = 11\n")
    monkeypatch.chdir(tmp_path)
    assert load_settings().seed == 11


def test_unknown_key_is_an_error(tmp_path: Path) -> None:
    config = tmp_path / "csat.toml"
    config.write_text("seed = 1\nsede = 2\n")
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    assert str(err.value) == f"{config}: unknown setting 'sede' (did you mean seed?)"


def test_a_misspelt_key_in_the_file_is_named_with_the_setting_it_resembles(tmp_path: Path) -> None:
    config = tmp_path / "csat.toml"
    config.write_text('data_dirr = "raw"\nshoe_size = 44\napi_tokn = "x"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    assert str(err.value).split("; ") == [
        f"{config}: unknown setting 'data_dirr' (did you mean data_dir?)",
        f"{config}: unknown setting 'shoe_size'",
        f"{config}: unknown setting 'api_tokn'",  # the file may not hold the secret: never suggested
    ]


def test_wrong_type_names_the_field(tmp_path: Path) -> None:
    config = tmp_path / "csat.toml"
    config.write_text('rejects_threshold = "lots"\n')
    with pytest.raises(SettingsError) as err:
        load_settings(config)
    assert str(err.value).startswith(f"rejects_threshold ({config} or CSAT_REJECTS_THRESHOLD): Input should")


def test_a_file_that_is_not_toml_is_named(tmp_path: Path) -> None:
    config = tmp_path / "csat.toml"
    config.write_text("seed = = 1\n")
    with pytest.raises(SettingsError, match=f"{config}: not a valid TOML file"):
        load_settings(config)


def test_duckdb_memory_limit_reaches_the_engine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from features.build import engine_options

    monkeypatch.setenv("CSAT_DUCKDB_MEMORY_LIMIT", "3GB")
    monkeypatch.chdir(tmp_path)
    assert engine_options(load_settings(), "duckdb") == {"memory_limit": "3GB", "compiled_passes": True}
    monkeypatch.setenv("CSAT_DUCKDB_COMPILED_PASSES", "false")
    assert engine_options(load_settings(), "duckdb")["compiled_passes"] is False
    monkeypatch.delenv("CSAT_DUCKDB_COMPILED_PASSES")
    config = tmp_path / "csat.toml"
    config.write_text('duckdb_memory_limit = "lots"\n')
    monkeypatch.delenv("CSAT_DUCKDB_MEMORY_LIMIT")
    with pytest.raises(SettingsError, match="duckdb_memory_limit"):
        load_settings(config)


@pytest.mark.parametrize(("ram_gib", "limit"), [(24, "4GB"), (64, "4GB"), (9, "3GB"), (4, "1GB"), (2, "1GB")])
def test_duckdb_default_limit_is_a_third_of_memory_at_most_4gb(
    ram_gib: int, limit: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.engine import duckdb_backend

    sizes = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": ram_gib * 2**30 // 4096}
    monkeypatch.setattr(duckdb_backend.os, "sysconf", lambda name: sizes[name])
    assert duckdb_backend.default_memory_limit() == limit
    engine, plain = duckdb_backend.connect(threads=1), duckdb.connect()
    plain.execute(f"SET memory_limit = '{limit}'")
    query = "SELECT current_setting('memory_limit')"
    try:
        assert engine.execute(query).fetchone() == plain.execute(query).fetchone()
    finally:
        engine.close()
        plain.close()


def test_secret_in_file_is_refused_and_env_secret_is_hidden(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "csat.toml"
    for line in ('api_token = "s3cret"', 'API_TOKEN = "s3cret"', 'Api_Token = "s3cret"'):
        config.write_text(line + "\n")  # the file's keys are read in any case
        with pytest.raises(SettingsError, match="CSAT_API_TOKEN"):
            load_settings(config)
    config.write_text("# api_token comes from the environment\nseed = 3\n")
    assert load_settings(config).seed == 3  # a mention in a comment is no secret
    monkeypatch.setenv("CSAT_API_TOKEN", "s3cret")
    monkeypatch.chdir(tmp_path)
    config.unlink()
    settings = load_settings()
    assert settings.api_token is not None and settings.api_token.get_secret_value() == "s3cret"
    assert "s3cret" not in repr(settings)


def test_missing_named_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="not found"):
        load_settings(tmp_path / "nope.toml")


def test_a_misspelt_variable_is_named_with_the_setting_it_resembles() -> None:
    from csat.settings import unknown_variables

    environ = {
        "CSAT_DATA_DIRR": "x",
        "CSAT_DATA_DIR": "ok",
        "CSAT_BENCH_RESULTS": "tooling",
        "CSAT_NONSENSE": "1",
        "HOME": "/root",
        # Kubernetes, for a Service named csat
        "CSAT_SERVICE_HOST": "10.0.0.1",
        "CSAT_SERVICE_PORT": "3000",
        "CSAT_SERVICE_PORT_HTTP": "3000",
        "CSAT_PORT": "tcp://10.0.0.1:3000",
        "CSAT_PORT_3000_TCP": "tcp://10.0.0.1:3000",
        "CSAT_PORT_3000_TCP_ADDR": "10.0.0.1",
    }
    assert unknown_variables(environ) == [
        "CSAT_DATA_DIRR is not a setting and is ignored (did you mean CSAT_DATA_DIR?)",
        "CSAT_NONSENSE is not a setting and is ignored",
    ]


def test_the_cli_warns_of_a_misspelt_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from typer.testing import CliRunner

    from csat.cli import app

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CSAT_STORE_DRI", "elsewhere")
    result = CliRunner().invoke(app, ["features", "list"])
    assert result.exit_code == 0
    assert "warning: CSAT_STORE_DRI is not a setting and is ignored (did you mean CSAT_STORE_DIR?)" in (
        result.stderr
    )


def test_an_empty_spark_master_variable_means_the_default(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CSAT_SPARK_MASTER", "")
    assert load_settings().spark_master is None
    monkeypatch.setenv("CSAT_SPARK_MASTER", "local[x]")
    with pytest.raises(SettingsError, match="not a Spark master URL"):
        load_settings()
