"""A wrong Spark option or setting ends in one line and exit code 2, before the raw tables are loaded.

The data folder of the CLI tests does not exist: an error about Spark (not about the data) shows that the
check ran before the load. No test reaches the network: the unreachable master is a local port bound but not
listening, and the ``s3a://`` staging folder is refused by Spark's own filesystem table before pyarrow would
look for the bucket. Tests that start a JVM are marked slow; those whose JVM would keep a bad setting run in
a subprocess, so that the shared in-process JVM never sees it.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from csat.cli import main
from csat.settings import SettingsError, load_settings, spark_master_error
from csat.signals import raise_terminated
from features.engine import spark_backend

ROOT = Path(__file__).resolve().parents[2]
TEST_CONF = {  # the keys and values of test_spark_parity's session: the JVM both modules share agrees
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
}


@pytest.fixture
def needs_spark() -> None:
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on PATH: the spark engine needs Java 17")


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No CSAT_* variable from outside; a data folder that does not exist (the load would fail on it)."""
    for name in [k for k in os.environ if k.startswith("CSAT_")]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("CSAT_DATA_DIR", str(tmp_path / "no-data"))
    monkeypatch.setenv("CSAT_STORE_DIR", str(tmp_path / "store"))
    return tmp_path


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A local port bound but not listening: a connection to it is refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        yield sock.getsockname()[1]


def _csat(
    args: list[str], cwd: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> tuple[object, str]:
    monkeypatch.chdir(cwd)
    monkeypatch.setenv("COLUMNS", "300")
    monkeypatch.setattr(sys, "argv", ["csat", *args])
    with pytest.raises(SystemExit) as exit_:
        main()
    return exit_.value.code, capsys.readouterr().err


def _one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


# --- the master URL -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "master",
    [
        "local",
        "local[1]",
        "local[*]",
        "local[4,2]",
        "local[*, 3]",
        "local-cluster[2, 1, 1024]",
        "spark://head:7077",
        "spark://head1:7077,head2:7077",
        "spark://[::1]:7077",
        "yarn",
        "k8s://https://api.example:6443",
    ],
)
def test_master_urls_spark_accepts(master: str) -> None:
    assert spark_master_error(master) is None


@pytest.mark.parametrize(
    "master",
    ["foo://x", "local[0]", "local[x]", "LOCAL", "spark://head", "spark://head:99999", "yarn-client", ""],
)
def test_master_urls_spark_refuses(master: str) -> None:
    problem = spark_master_error(master)
    assert problem is not None and repr(master) in problem


def test_malformed_master_option_is_one_line_before_the_load(
    needs_spark, clean_env: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["features", "build", "--engine", "spark", "--spark-master", "foo://x"]
    code, err = _csat(args, clean_env, monkeypatch, capsys)
    assert code == 2
    line = _one_line(err)
    assert line.startswith("--spark-master 'foo://x' is not a Spark master URL")
    assert "spark://host:port" in line


def test_malformed_master_setting_is_a_settings_error(tmp_path: Path) -> None:
    config = tmp_path / "csat.toml"
    config.write_text('spark_master = "foo://x"\n')
    with pytest.raises(SettingsError, match=r"spark_master \(.*csat.toml.*\): .*'foo://x' is not a Spark"):
        load_settings(config)


def test_unreachable_standalone_master_is_reported_at_once(
    needs_spark,
    clean_env: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    master = f"spark://127.0.0.1:{closed_port}"
    start = time.monotonic()
    code, err = _csat(
        ["features", "build", "--engine", "spark", "--spark-master", master], clean_env, monkeypatch, capsys
    )
    assert time.monotonic() - start < 10  # Spark itself retries for about a minute
    assert code == 2
    line = _one_line(err)
    assert line.startswith(f"no Spark master answers at {master}") and "spark_master" in line


def test_mesos_and_yarn_without_its_folder_are_refused(needs_spark, monkeypatch: pytest.MonkeyPatch) -> None:
    if spark_backend._spark_major() >= 4:
        with pytest.raises(spark_backend.SparkSetupError, match="Spark 4 has no Mesos support"):
            spark_backend.check_master("mesos://head:5050")
    monkeypatch.delenv("HADOOP_CONF_DIR", raising=False)
    monkeypatch.delenv("YARN_CONF_DIR", raising=False)
    with pytest.raises(spark_backend.SparkSetupError, match="HADOOP_CONF_DIR or YARN_CONF_DIR"):
        spark_backend.check_master("yarn")


# --- --spark-master without the spark engine ----------------------------------------------------------


@pytest.mark.parametrize("engine_args", [[], ["--engine", "duckdb"]])
def test_spark_master_without_the_spark_engine_is_an_error(
    engine_args: list[str],
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    if engine_args:
        monkeypatch.setenv("CSAT_ENGINE", "spark")  # the option wins over the setting
    args = ["features", "build", *engine_args, "--spark-master", "local[1]"]
    code, err = _csat(args, clean_env, monkeypatch, capsys)
    assert code == 2
    assert _one_line(err) == "--spark-master applies only to --engine spark"


def test_spark_master_with_the_engine_from_settings_is_taken(
    needs_spark,
    clean_env: Path,
    closed_port: int,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("CSAT_ENGINE", "spark")
    master = f"spark://127.0.0.1:{closed_port}"
    code, err = _csat(["features", "build", "--spark-master", master], clean_env, monkeypatch, capsys)
    assert code == 2 and _one_line(err).startswith(f"no Spark master answers at {master}")


# --- spark_conf ---------------------------------------------------------------------------------------


def test_spark_conf_takes_numbers_and_booleans_as_spark_strings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from features.build import engine_options

    monkeypatch.delenv("CSAT_SPARK_CONF", raising=False)
    config = tmp_path / "csat.toml"
    config.write_text(
        "[spark_conf]\n"
        '"spark.executor.instances" = 4\n"spark.sql.adaptive.enabled" = true\n'
        '"spark.memory.fraction" = 0.6\n"spark.executor.memory" = "12g"\n'
    )
    settings = load_settings(config)
    assert settings.spark_conf == {
        "spark.executor.instances": "4",
        "spark.sql.adaptive.enabled": "true",
        "spark.memory.fraction": "0.6",
        "spark.executor.memory": "12g",
    }
    assert engine_options(settings, "spark")["conf"] == settings.spark_conf
    monkeypatch.setenv("CSAT_SPARK_CONF", '{"spark.executor.cores": 2, "spark.ui.enabled": false}')
    assert load_settings().spark_conf == {"spark.executor.cores": "2", "spark.ui.enabled": "false"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('"executor.memory" = "4g"', "key 'executor.memory' must start with 'spark.'"),
        ('"spark.jars" = ["a.jar"]', r"spark.jars: \['a.jar'\] is not a string, a number or a boolean"),
    ],
)
def test_spark_conf_names_the_wrong_key(tmp_path: Path, table: str, message: str) -> None:
    config = tmp_path / "csat.toml"
    config.write_text(f"[spark_conf]\n{table}\n")
    with pytest.raises(SettingsError, match=rf"spark_conf \(.*\): Value error, {message}"):
        load_settings(config)


# --- the staging folder -------------------------------------------------------------------------------


def test_s3a_is_written_through_pyarrows_s3() -> None:
    assert spark_backend.pyarrow_uri("s3a://bucket/tmp/csat") == "s3://bucket/tmp/csat"
    assert spark_backend.pyarrow_uri("hdfs://nn:8020/tmp") == "hdfs://nn:8020/tmp"


@pytest.mark.parametrize(
    ("staging", "message"),
    [
        (
            "ftp://host/tmp",
            "spark_staging_dir 'ftp://host/tmp': the staged tables cannot be written to ftp://",
        ),
        ("{file}/below", "cannot create or write the folder"),
    ],
)
def test_unusable_staging_folder_is_one_line_before_the_load(
    needs_spark,
    staging: str,
    message: str,
    clean_env: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a_file = clean_env / "a-file"
    a_file.write_text("")
    monkeypatch.setenv("CSAT_SPARK_STAGING_DIR", staging.format(file=a_file))
    code, err = _csat(["features", "build", "--engine", "spark"], clean_env, monkeypatch, capsys)
    assert code == 2
    line = _one_line(err)
    assert message in line and "spark_staging_dir" in line


@pytest.mark.slow
def test_staging_folder_uri_spark_cannot_read_is_refused(
    needs_spark, monkeypatch: pytest.MonkeyPatch
) -> None:
    from pyspark.sql import SparkSession

    def no_network(where: Any) -> Any:
        raise AssertionError(f"pyarrow would look for the bucket of {where}")

    monkeypatch.setattr(spark_backend, "staging_target", no_network)
    with pytest.raises(spark_backend.SparkSetupError, match=r"'s3a://bucket/tmp': Spark cannot read s3a://"):
        spark_backend.start_checked("local[2]", TEST_CONF, "s3a://bucket/tmp")
    assert SparkSession.getActiveSession() is None  # the session it started is stopped again


@pytest.mark.slow
def test_the_session_started_before_the_load_is_the_runs_and_it_stops_it(needs_spark, tmp_path: Path) -> None:
    import pandas as pd
    from pyspark.sql import SparkSession

    from features.engine.sql import Stmt

    spark_backend.start_checked("local[2]", TEST_CONF, str(tmp_path))
    assert SparkSession.getActiveSession() is not None
    stmts = [Stmt("a", "SELECT x FROM t", tables=("t",))]
    out = spark_backend.run(
        {"t": pd.DataFrame({"x": [1, 2, 3]})}, stmts, "SELECT * FROM a ORDER BY x", staging_dir=str(tmp_path)
    )
    assert out["x"].tolist() == [1, 2, 3]
    assert SparkSession.getActiveSession() is None
    assert list(tmp_path.iterdir()) == []


# --- Spark that does not start ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("conf", "reason"),
    [
        ('{"spark.task.cpus": "abc"}', "spark.task.cpus should be int, but was abc"),
        ('{"spark.sql.shuffle.partitions": "abc"}', "spark.sql.shuffle.partitions should be int"),
        ('{"spark.driver.memory": "lots"}', "the Java process exited at once"),
    ],
)
def test_spark_that_does_not_start_is_one_line_before_the_load(
    needs_spark, conf: str, reason: str, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAT_")}
    env.update(CSAT_SPARK_CONF=conf, CSAT_DATA_DIR=str(tmp_path / "no-data"), COLUMNS="300")
    done = subprocess.run(
        [sys.executable, "-c", "from csat.cli import main; main()", "features", "build", "--engine", "spark"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("Spark did not start on local[2]: ") and reason in last
    assert last.endswith("check --spark-master / spark_master and spark_conf")


# --- SIGTERM ------------------------------------------------------------------------------------------

SIGTERM_RUN = textwrap.dedent(
    """
    import os, signal, sys, time
    import pandas as pd
    from features.engine import spark_backend
    from features.engine.sql import Stmt

    staging = sys.argv[1]
    spark_backend.session("local[1]", {"spark.sql.shuffle.partitions": "1"})

    def step(name):
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(30)

    tables = {"t": pd.DataFrame({"x": [1, 2, 3]})}
    stmts = [Stmt("a", "SELECT x FROM t", tables=("t",))]
    spark_backend.run(tables, stmts, "SELECT * FROM a", step, staging_dir=staging)
    print("the run went on")
    """
)


@pytest.mark.slow
def test_sigterm_during_a_run_removes_the_staged_copies(needs_spark, tmp_path: Path) -> None:
    staging = tmp_path / "staging"
    done = subprocess.run(
        [sys.executable, "-c", SIGTERM_RUN, str(staging)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 128 + signal.SIGTERM, done.stderr
    assert "Traceback" not in done.stderr and "the run went on" not in done.stdout
    assert staging.is_dir() and list(staging.iterdir()) == []


def test_sigterm_handler_is_set_only_during_the_staging_and_only_over_the_default(tmp_path: Path) -> None:
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    with spark_backend._staging(str(tmp_path)):
        assert signal.getsignal(signal.SIGTERM) is raise_terminated
    assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL

    def theirs(signum: int, frame: object) -> None:
        pass

    previous = signal.signal(signal.SIGTERM, theirs)
    try:
        with spark_backend._staging(str(tmp_path)):
            assert signal.getsignal(signal.SIGTERM) is theirs
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert list(tmp_path.iterdir()) == []
