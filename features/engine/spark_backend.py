"""The Apache Spark backend: run the engine-neutral statements on a Spark session (PySpark, optional extra).

Same contract as :mod:`features.engine.duckdb_backend`: the prepared tables go in, every statement is
materialised in order, the final query's result comes back as pandas. Each statement is translated once
by sqlglot (``read="duckdb", write="spark"``) plus :func:`to_spark`, the one place where a construct whose
meaning differs between the engines is rewritten; no feature is written twice.

Data path: the prepared pandas tables are written to a staging folder as Parquet and read back by Spark, so
the rows never travel through the Python-JVM bridge and Spark splits them across its tasks. Statements that
DuckDB materialises as tables are persisted (memory, spilling to disk) and unpersisted after their last
reader. PySpark is imported inside the functions: importing this module never starts a JVM.

:func:`start_checked` checks the options (master URL, staging folder) and starts the session before the
raw tables are loaded, so that a wrong option costs seconds, not the load; every failure it finds is a
:class:`SparkSetupError` with a one-line message.
"""

from __future__ import annotations

import os
import shutil
import socket
import tempfile
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

from csat.settings import spark_master_error
from csat.signals import Terminated, sigterm_unwinds
from features.engine.sql import Stmt, last_uses

INSTALL_HINT = "install the spark extra: pip install '.[spark]'"
DEFAULT_MASTER = "local[2]"
#: Session settings the definitions assume; a caller's ``conf`` may add to them but not change these.
REQUIRED_CONF: dict[str, str] = {
    "spark.sql.session.timeZone": "UTC",  # naive timestamps are UTC, as in DuckDB's session
    "spark.sql.ansi.enabled": "true",  # overflow and bad casts fail loudly instead of turning into NULL
    "spark.sql.parquet.inferTimestampNTZ.enabled": "true",
}
#: Defaults for a local run on a small machine; any of them can be overridden through ``conf``.
LOCAL_DEFAULTS: dict[str, str] = {
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "8",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}


#: Staging URI schemes pyarrow writes (``s3a://`` is written as ``s3://``, the same bucket and key).
STAGING_SCHEMES = ("file", "hdfs", "viewfs", "s3", "s3a", "gs", "gcs", "abfs", "abfss")
_PYARROW_SCHEME = {"s3a": "s3"}
#: Seconds to wait for a standalone master's port to answer (Spark itself retries for a minute).
CONNECT_TIMEOUT_S = 5.0
#: Application id of the session :func:`start_checked` started; the next :func:`run` stops that session.
_STARTED_BEFORE_LOAD: dict[str, str] = {}
_ORIGIN = "check --spark-master / spark_master"


class SparkUnavailableError(RuntimeError):
    """The Spark engine cannot run: PySpark or Java is missing, or a cluster has no staging folder."""


class SparkSetupError(SparkUnavailableError):
    """A Spark option or setting is unusable (master URL, spark_conf, staging folder) or Spark won't start."""


def require_pyspark() -> None:
    """Check that PySpark can be imported and that a Java runtime is on the path.

    Raises:
        SparkUnavailableError: with the install hint when PySpark is missing, or when no ``java`` is found.

    """
    try:
        import pyspark  # noqa: F401
    except ImportError as exc:
        raise SparkUnavailableError(f"the spark engine needs PySpark: {INSTALL_HINT}") from exc
    java_home = os.environ.get("JAVA_HOME")
    if shutil.which("java") is None and not (java_home and (Path(java_home) / "bin" / "java").exists()):
        raise SparkUnavailableError("the spark engine needs a Java runtime (Java 17): none found on PATH")


def _under_spark_submit() -> bool:
    return "PYSPARK_GATEWAY_PORT" in os.environ  # spark-submit started the JVM and handed us its gateway


def session(master: str | None = None, conf: Mapping[str, str] | None = None) -> Any:
    """Return the active Spark session, or start one with the settings the definitions assume.

    Under ``spark-submit`` the master and settings given there are kept unless ``master`` names one. A local
    master gets :data:`LOCAL_DEFAULTS` (small shuffles, 4g driver) unless ``conf`` says otherwise.

    Args:
        master: Spark master URL (``local[2]`` by default, or e.g. ``spark://host:7077``, ``yarn``).
        conf: extra Spark settings (``spark.executor.memory`` ...); they win over the local defaults.

    Returns:
        A ``pyspark.sql.SparkSession`` with the required settings applied.

    Raises:
        SparkSetupError: the master URL is malformed, unsupported or does not answer, or Spark did not start
            (a bad ``conf`` value, for instance); the message is one line.

    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        _apply_required(active)
        return active
    if master is not None or not _under_spark_submit():
        master = master or DEFAULT_MASTER
        check_master(master)
    return _start(master, dict(conf or {}))


def _apply_required(spark: Any) -> None:
    for key, value in REQUIRED_CONF.items():
        spark.conf.set(key, value)


def _start(master: str | None, conf: dict[str, str]) -> Any:
    """Start a session (``master`` None: the one spark-submit gave); a failure becomes one line."""
    from py4j.protocol import Py4JError
    from pyspark.errors import PySparkException
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("csat-features")
    if master is not None:
        builder = builder.master(master)
    local = master is not None and master.startswith("local")
    for key, value in {**(LOCAL_DEFAULTS if local else {}), **conf}.items():
        builder = builder.config(key, value)
    started = None
    try:
        started = builder.getOrCreate()
        started.sparkContext.setLogLevel("ERROR")
        _apply_required(started)  # also where a bad spark.sql.* value shows
    except (Py4JError, PySparkException) as exc:
        if started is not None:
            with suppress(Py4JError, PySparkException):
                started.stop()
        where = master or "the spark-submit master"
        raise SparkSetupError(
            f"Spark did not start on {where}: {start_failure(exc)}; {_ORIGIN} and spark_conf"
        ) from exc
    return started


def start_failure(exc: BaseException) -> str:
    """The reason a session start failed, in one line: the innermost Java exception's message.

    Args:
        exc: what PySpark raised (``Py4JJavaError``, a captured Spark exception, ``PySparkRuntimeError``).

    Returns:
        One line of at most 300 characters.

    """
    if "JAVA_GATEWAY_EXITED" in str(exc):
        return "the Java process exited at once (Spark's reason is printed above)"
    java = getattr(exc, "java_exception", None) or getattr(exc, "_origin", None)
    text = str(exc)
    with suppress(Exception):  # the JVM may be gone: keep Python's text then
        for _ in range(20):
            cause = java.getCause() if java is not None else None
            if cause is None:
                break
            java = cause
        if java is not None:
            text = str(java.getMessage() or java.toString())
    if "stopped SparkContext" in text:
        return "no master accepted the application (Spark gave up after its connection retries)"
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return (lines[0] if lines else type(exc).__name__)[:300]


def _spark_major() -> int:
    import pyspark

    return int(pyspark.__version__.split(".")[0])


def check_master(master: str) -> None:
    """Check a master URL before a session is started on it: its form, this Spark's support, reachability.

    Standalone masters (``spark://host:port``) are asked for a TCP connection: Spark itself would retry for
    about a minute before giving up. YARN needs ``HADOOP_CONF_DIR`` or ``YARN_CONF_DIR``.

    Args:
        master: the master URL.

    Raises:
        SparkSetupError: malformed, Mesos on Spark 4 (removed there), YARN without its configuration
            folder, or no standalone master answers.

    """
    problem = spark_master_error(master)
    if problem is None and master.startswith("mesos://") and _spark_major() >= 4:
        problem = f"master {master!r}: Spark 4 has no Mesos support (removed in Spark 4.0)"
    if problem is None and master == "yarn" and not _yarn_configured():
        problem = "master yarn needs HADOOP_CONF_DIR or YARN_CONF_DIR set in the environment"
    if problem is None and master.startswith("spark://"):
        problem = _unreachable(master)
    if problem is not None:
        raise SparkSetupError(f"{problem}; {_ORIGIN}")


def _yarn_configured() -> bool:
    return bool(os.environ.get("HADOOP_CONF_DIR") or os.environ.get("YARN_CONF_DIR"))


def _unreachable(master: str) -> str | None:
    """None when one of a standalone URL's masters accepts a TCP connection, else why none did."""
    reasons = []
    for host_port in master.removeprefix("spark://").split(","):
        host, _, port = host_port.rpartition(":")
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=CONNECT_TIMEOUT_S):
                return None
        except OSError as exc:
            reasons.append(f"{host_port}: {exc.strerror or exc}")
    return f"no Spark master answers at {master} ({'; '.join(reasons)})"


def _unix_seconds(e: exp.Expression) -> exp.Expression:
    return exp.Anonymous(
        this="UNIX_SECONDS", expressions=[exp.Cast(this=e, to=exp.DataType.build("TIMESTAMP"))]
    )


def _rewrite(node: exp.Expression) -> exp.Expression:
    """Rewrite one node whose meaning differs between DuckDB and Spark (see :func:`to_spark`)."""
    if isinstance(node, exp.Literal) and node.is_number and any(ch in node.this for ch in ".eE"):
        # a literal such as 1.0 is a DECIMAL on both engines, but DuckDB averages and divides decimals as
        # doubles while Spark keeps a decimal of limited scale: make it a double, as DuckDB computes it
        return exp.Cast(this=node.copy(), to=exp.DataType.build("DOUBLE"))
    if isinstance(node, exp.DateDiff | exp.TimestampDiff):
        unit = node.args.get("unit")
        if unit is not None and unit.name.lower() == "second":
            # DuckDB counts second boundaries crossed; Spark's DATEDIFF(SECOND) truncates the elapsed time.
            return exp.Paren(
                this=exp.Sub(this=_unix_seconds(node.this), expression=_unix_seconds(node.expression))
            )
    return node


def to_spark(sql: str) -> str:
    """Translate one DuckDB-dialect statement of the definitions to Spark SQL.

    Besides sqlglot's dialect translation, ``DATE_DIFF('second', a, b)`` becomes the difference of whole
    seconds since the epoch (DuckDB counts boundaries crossed, Spark whole elapsed seconds; they differ when a
    stamp has a fraction of a second), and a decimal literal such as ``1.0`` becomes a double (DuckDB turns
    decimal averages and quotients into doubles, Spark keeps a decimal of limited scale). Every other
    construct the definitions use means the same on both engines (day differences are taken between dates;
    ``GREATEST`` skips NULLs on both; ``/`` is a double division on both; ``NULLS LAST`` is made explicit by
    sqlglot).

    Args:
        sql: a statement in DuckDB dialect.

    Returns:
        The statement in Spark SQL.

    """
    tree = sqlglot.parse_one(sql, read="duckdb").transform(_rewrite)
    return tree.sql(dialect="spark")


def check_staging_scheme(where: str | None) -> None:
    """Refuse a staging URI whose scheme pyarrow cannot write (no filesystem is opened, nothing contacted).

    Args:
        where: the ``spark_staging_dir`` setting: a local folder, a URI, or None.

    Raises:
        SparkSetupError: the scheme is not one of :data:`STAGING_SCHEMES`.

    """
    if where is None or "://" not in where:
        return
    scheme = where.split("://", 1)[0]
    if scheme.lower() not in STAGING_SCHEMES:
        raise SparkSetupError(
            f"spark_staging_dir {where!r}: the staged tables cannot be written to {scheme}://; use a local"
            f" folder or one of {', '.join(s + '://' for s in STAGING_SCHEMES)}"
        )


def staging_target(where: str | None) -> tuple[Any, str, str]:
    """Where staged tables go: (pyarrow filesystem, base path on it, base URI Spark reads).

    A local folder (or none: the system's temporary folder) is used as is; a URI must have a scheme
    pyarrow writes (:data:`STAGING_SCHEMES`). ``s3a://`` (Hadoop's S3 client, what Spark reads) is written
    through pyarrow's ``s3://``: the same bucket and key.

    Args:
        where: the ``spark_staging_dir`` setting.

    Returns:
        The filesystem, the base path on it and the base URI for Spark.

    Raises:
        SparkSetupError: an unknown scheme, or a filesystem pyarrow cannot open (libhdfs missing ...).

    """
    from pyarrow import fs as pafs

    if where is None or "://" not in where:
        base = str(Path(where or tempfile.gettempdir()).resolve())
        return pafs.LocalFileSystem(), base, base
    check_staging_scheme(where)
    try:
        filesystem, base = pafs.FileSystem.from_uri(pyarrow_uri(where))
    except (OSError, ValueError) as exc:
        raise SparkSetupError(
            f"spark_staging_dir {where!r}: pyarrow cannot open it ({_first_line(exc)})"
        ) from exc
    return filesystem, base.rstrip("/"), where.rstrip("/")


def pyarrow_uri(uri: str) -> str:
    """The URI pyarrow writes for one Spark reads: ``s3a://b/k`` is ``s3://b/k``, others are unchanged.

    Args:
        uri: a staging URI.

    Returns:
        The same place, in a scheme pyarrow knows.

    """
    scheme, rest = uri.split("://", 1)
    return f"{_PYARROW_SCHEME.get(scheme.lower(), scheme)}://{rest}"


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0]


def check_local_staging(where: str | None) -> None:
    """Create a local staging folder if needed and check that a file can be written there.

    Args:
        where: the ``spark_staging_dir`` setting; URIs and None (the temporary folder) are not checked.

    Raises:
        SparkSetupError: the folder cannot be created or written.

    """
    if where is None or ("://" in where and not where.lower().startswith("file://")):
        return
    _, base, _ = staging_target(where)
    try:
        Path(base).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=base):
            pass
    except OSError as exc:
        raise SparkSetupError(
            f"spark_staging_dir {where!r}: cannot create or write the folder ({exc.strerror or exc})"
        ) from exc


@contextmanager
def _staging(where: str | None) -> Iterator[tuple[Any, str, str]]:
    """A fresh staging folder, removed afterwards, also on SIGTERM: (pyarrow filesystem, path, Spark URI)."""
    filesystem, base, base_uri = staging_target(where)
    name = f"csat-spark-{uuid.uuid4().hex}"
    path, uri = f"{base}/{name}", f"{base_uri}/{name}"
    with sigterm_unwinds():
        filesystem.create_dir(path)
        try:
            yield filesystem, path, uri
        finally:
            with suppress(OSError):
                filesystem.delete_dir(path)


def _check_cluster_staging(spark: Any, staging_dir: str | None) -> None:
    if staging_dir is None and not spark.sparkContext.master.startswith("local"):
        raise SparkSetupError(
            "a Spark cluster needs a staging folder its executors can read: set spark_staging_dir"
        )


def _check_spark_reads(spark: Any, staging_dir: str | None) -> None:
    """Spark (Hadoop) must have a filesystem for the staging URI's scheme (s3a:// needs hadoop-aws ...)."""
    if staging_dir is None or "://" not in staging_dir:
        return
    from py4j.protocol import Py4JError

    scheme = staging_dir.split("://", 1)[0]
    hadoop_fs = spark.sparkContext._jvm.org.apache.hadoop.fs.FileSystem
    try:
        hadoop_fs.getFileSystemClass(scheme, spark.sparkContext._jsc.hadoopConfiguration())
    except Py4JError as exc:
        raise SparkSetupError(
            f"spark_staging_dir {staging_dir!r}: Spark cannot read {scheme}:// ({start_failure(exc)})"
        ) from exc


def start_checked(
    master: str | None = None, conf: Mapping[str, str] | None = None, staging_dir: str | None = None
) -> Any:
    """Check the options and start the session, before any data is read; the next :func:`run` stops it.

    Checks, cheapest first: PySpark and Java, the staging folder (a local one is created and written to; a
    URI's scheme must be one pyarrow writes), the master URL (:func:`check_master`), the session start, a
    staging folder for a cluster, a Spark filesystem for the staging URI's scheme, and pyarrow's.

    Args:
        master: Spark master URL (see :func:`session`).
        conf: extra Spark settings.
        staging_dir: the ``spark_staging_dir`` setting.

    Returns:
        The session (an active one is reused and left to whoever started it).

    Raises:
        SparkUnavailableError: PySpark or Java is missing.
        SparkSetupError: any other check failed; the message is one line.

    """
    require_pyspark()
    from py4j.protocol import Py4JError
    from pyspark.sql import SparkSession

    check_staging_scheme(staging_dir)
    check_local_staging(staging_dir)
    fresh = SparkSession.getActiveSession() is None
    spark = session(master, conf)
    try:
        _check_cluster_staging(spark, staging_dir)
        _check_spark_reads(spark, staging_dir)
        staging_target(staging_dir)  # opens a remote filesystem (pyarrow): libhdfs, bucket region ...
    except SparkSetupError:
        if fresh:
            with suppress(Py4JError):
                spark.stop()
        raise
    if fresh:
        _STARTED_BEFORE_LOAD["app_id"] = spark.sparkContext.applicationId
    return spark


def register_tables(spark: Any, tables: Mapping[str, pd.DataFrame], staging: tuple[Any, str, str]) -> None:
    """Write each prepared table to Parquet in the staging folder and register it as a Spark temp view."""
    filesystem, path, uri = staging
    for name, df in tables.items():
        pq.write_table(
            pa.Table.from_pandas(df, preserve_index=False), f"{path}/{name}.parquet", filesystem=filesystem
        )
        spark.read.parquet(f"{uri}/{name}.parquet").createOrReplaceTempView(name)


def run(
    tables: Mapping[str, pd.DataFrame],
    stmts: list[Stmt],
    final_sql: str,
    on_step: Callable[[str], None] | None = None,
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    staging_dir: str | None = None,
) -> pd.DataFrame:
    """Register the tables, materialise the statements in order, and return the final query's result.

    Args:
        tables: the prepared tables (see :func:`features.engine.prepare.prepare_tables`).
        stmts: the statements to run, each after the ones it depends on.
        final_sql: the query joining the outputs (DuckDB dialect, translated like the statements).
        on_step: called with each statement's name once it is materialised.
        master: Spark master URL when a session has to be started (``local[2]`` by default).
        conf: extra Spark settings when a session has to be started.
        staging_dir: folder or URI (``hdfs://``, ``s3://``, ``gs://``) for the staged Parquet copies of the
            tables; it must be readable by every executor, so a non-local master needs one. Default: the
            system's temporary folder.

    Returns:
        The final query's rows as a pandas frame.

    Raises:
        SparkSetupError: a cluster master without a staging folder the executors can read, an unusable
            staging folder, or a session that would not start.

    """
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession

    before_load = _STARTED_BEFORE_LOAD.pop("app_id", None)  # started by start_checked: stopped here too
    started_here = SparkSession.getActiveSession() is None
    spark = session(master, conf)
    started_here = started_here or spark.sparkContext.applicationId == before_load
    by_name = {s.name: s for s in stmts}
    read, last = last_uses(stmts)
    kept: dict[str, Any] = {}
    terminated = False
    try:
        _check_cluster_staging(spark, staging_dir)
        with _staging(staging_dir) as staging:
            register_tables(spark, tables, staging)
            for i, st in enumerate(stmts):
                df = spark.sql(to_spark(st.sql))
                if not st.view:
                    df = df.persist(StorageLevel.MEMORY_AND_DISK)
                    df.count()  # materialise now, like DuckDB's CREATE TABLE
                    kept[st.name] = df
                df.createOrReplaceTempView(st.name)
                for d in read[st.name]:
                    dep = by_name.get(d)
                    if last.get(d) == i and d != "cut" and not d.startswith("out_") and dep and not dep.view:
                        kept.pop(d).unpersist()
                if on_step is not None:
                    on_step(st.name)
            return spark.sql(to_spark(final_sql)).toPandas()
    except Terminated:
        terminated = True  # the bridge to Java may hold half an answer: no more calls; the JVM ends with us
        raise
    finally:
        if not terminated:
            _release(spark, kept.values(), [*tables, *by_name], stop=started_here)


def _release(spark: Any, kept: Iterable[Any], views: list[str], *, stop: bool) -> None:
    """Unpersist the kept frames, drop the views, and stop the session when the run started it."""
    for df in kept:
        df.unpersist()
    for name in views:
        spark.catalog.dropTempView(name)
    if stop:
        spark.stop()
