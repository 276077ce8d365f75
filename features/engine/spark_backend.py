"""The Apache Spark backend: run the engine-neutral statements on a Spark session (PySpark, optional extra).

Same contract as :mod:`features.engine.duckdb_backend`: the prepared tables go in, every statement is
materialised in order, the final query's result comes back as pandas. Each statement is translated once
by sqlglot (``read="duckdb", write="spark"``) plus :func:`to_spark`, the one place where a construct whose
meaning differs between the engines is rewritten; no feature is written twice.

Data path: the prepared pandas tables are written to a staging folder as Parquet and read back by Spark, so
the rows never travel through the Python-JVM bridge and Spark splits them across its tasks. Statements that
DuckDB materialises as tables are persisted (memory, spilling to disk) and unpersisted after their last
reader. PySpark is imported inside the functions: importing this module never starts a JVM.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import sqlglot
from sqlglot import exp

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


class SparkUnavailableError(RuntimeError):
    """The Spark engine cannot run: PySpark or Java is missing, or a cluster has no staging folder."""


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

    """
    require_pyspark()
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is None:
        builder = SparkSession.builder.appName("csat-features")
        if master is not None or not _under_spark_submit():
            master = master or DEFAULT_MASTER
            builder = builder.master(master)
        local = master is not None and master.startswith("local")
        for key, value in {**(LOCAL_DEFAULTS if local else {}), **dict(conf or {})}.items():
            builder = builder.config(key, value)
        active = builder.getOrCreate()
        active.sparkContext.setLogLevel("ERROR")
    for key, value in REQUIRED_CONF.items():
        active.conf.set(key, value)
    return active


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


@contextmanager
def _staging(where: str | None) -> Iterator[tuple[Any, str, str]]:
    """A fresh staging folder, removed afterwards: (pyarrow filesystem, path on it, URI Spark reads)."""
    from pyarrow import fs as pafs

    name = f"csat-spark-{uuid.uuid4().hex}"
    if where is not None and "://" in where:
        filesystem, base = pafs.FileSystem.from_uri(where)
        path, uri = f"{base.rstrip('/')}/{name}", f"{where.rstrip('/')}/{name}"
    else:
        filesystem = pafs.LocalFileSystem()
        path = uri = str(Path(where or tempfile.gettempdir()).resolve() / name)
    filesystem.create_dir(path)
    try:
        yield filesystem, path, uri
    finally:
        with suppress(OSError):
            filesystem.delete_dir(path)


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
        SparkUnavailableError: a cluster master without a staging folder the executors can read.

    """
    from pyspark import StorageLevel
    from pyspark.sql import SparkSession

    started_here = SparkSession.getActiveSession() is None
    spark = session(master, conf)
    by_name = {s.name: s for s in stmts}
    read, last = last_uses(stmts)
    kept: dict[str, Any] = {}
    try:
        if staging_dir is None and not spark.sparkContext.master.startswith("local"):
            raise SparkUnavailableError(
                "a Spark cluster needs a staging folder its executors can read: set spark_staging_dir"
            )
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
    finally:
        for df in kept.values():
            df.unpersist()
        for name in [*tables, *by_name]:
            spark.catalog.dropTempView(name)
        if started_here:
            spark.stop()
