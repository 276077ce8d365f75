"""The same definitions on Spark and on DuckDB give the same features, and training reads a Spark store.

One local Spark session (two cores) serves the whole module. Two worlds: the hand-made fixture with
``recorded_at`` (rows known late, weeks late, or before their stamp) and a few stamps with fractions of a
second, and a tiny simulated ``late`` world built into two complete stores (CSAT, churn, online).
Every value must be exactly equal: sums are of whole numbers (milliseconds, cents, seconds, counts), which
both engines add exactly in any order, and the rest is the same IEEE arithmetic on the same operands.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from csat.settings import Settings
from features.build import build_store
from features.engine import compute_features
from tests.features.compare import is_missing
from tests.features.fixtures import STAMPS, entities_for, make_world

TEST_CONF = {
    "spark.driver.memory": "2g",
    "spark.sql.shuffle.partitions": "1",
    "spark.sql.adaptive.enabled": "false",
}
ONLINE_AS_OF = pd.Timestamp("2024-08-01").date()


@pytest.fixture(scope="module")
def spark() -> Any:
    """One local Spark session (two cores) for the module; skipped only when PySpark or Java is missing."""
    pytest.importorskip("pyspark", reason="PySpark is not installed (pip install '.[spark]')")
    if shutil.which("java") is None:
        pytest.skip("no Java runtime on PATH: the spark engine needs Java 17")
    from features.engine.spark_backend import session

    s = session("local[2]", TEST_CONF)
    yield s
    s.stop()


def assert_same_frames(duck: pd.DataFrame, spark: pd.DataFrame, features: list[str]) -> None:
    """Equal row for row, exactly: numbers, categories and NULLs alike."""
    assert list(duck.columns) == list(spark.columns)
    pd.testing.assert_frame_equal(duck.drop(columns=features), spark.drop(columns=features))
    wrong: dict[str, list] = {}
    for name in features:
        d, s = duck[name].tolist(), spark[name].tolist()
        for i, (a, b) in enumerate(zip(d, s, strict=True)):
            ok = (is_missing(a) and is_missing(b)) or a == b
            if not ok:
                wrong.setdefault(name, []).append((i, a, b))
    assert not wrong, {k: v[:3] for k, v in wrong.items()}


def hand_made_world() -> dict[str, pd.DataFrame]:
    """The recorded fixture world, with fractions of a second on some stamps (DuckDB counts boundaries)."""
    world = make_world(seed=1, recorded=True, interactions=250)
    rng = np.random.default_rng(5)
    for table, col in (("interactions", "started_at"), ("tickets", "opened_at"), ("surveys", "responded_at")):
        df = world[table]
        frac = pd.to_timedelta(rng.choice([0, 0, 250_000, 999_999], len(df)), unit="us")
        df[col] = (df[col] + frac).astype("datetime64[us]")
    world["tickets"]["closed_at"] = (
        world["tickets"]["closed_at"] + pd.Timedelta(microseconds=400_000)
    ).astype("datetime64[us]")
    return world


@pytest.mark.slow
def test_hand_made_world_features_equal(spark):
    world = hand_made_world()
    late = sum(int((df["recorded_at"] > df[STAMPS[n]]).sum()) for n, df in world.items() if n in STAMPS)
    early = sum(int((df["recorded_at"] < df[STAMPS[n]]).sum()) for n, df in world.items() if n in STAMPS)
    assert late > 0 and early > 0  # the fixture exercises both sides of the recorded_at rule
    ents = entities_for(world, n=24, seed=1)
    duck = compute_features(world, ents)
    sp = compute_features(world, ents, "spark")
    features = [c for c in duck.columns if c not in ents.columns]
    assert len(features) > 140
    assert_same_frames(duck, sp, features)


@pytest.fixture(scope="module")
def stores(spark, tmp_path_factory) -> dict[str, Settings]:
    """A tiny simulated ``late`` world, built into one store per engine."""
    from features.contract import load_contract
    from features.simulator import SimulationConfig, simulate

    root = tmp_path_factory.mktemp("spark-world")
    simulate(SimulationConfig(accounts=12, months=12, scenario="late", seed=3), root / "raw")
    out = {}
    for engine in ("duckdb", "spark"):
        settings = Settings(data_dir=root / "raw", store_dir=root / engine, churn_horizon_days=60)
        tables = load_contract(
            settings.data_dir, settings, console=Console(quiet=True), rejects_dir=root / "rej"
        )
        build_store(settings, ONLINE_AS_OF, engine, Console(quiet=True), tables.tables)
        out[engine] = settings
    return out


@pytest.mark.slow
def test_simulated_world_stores_equal(stores):
    from features.store import read_offline, read_online

    raw = stores["duckdb"].data_dir
    ix = pd.read_parquet(Path(raw) / "interactions.parquet", columns=["started_at", "recorded_at"])
    assert (ix["recorded_at"] > ix["started_at"]).any()
    for target in ("csat", "churn"):
        duck, d_manifest = read_offline(stores["duckdb"].store_dir, target)
        sp, s_manifest = read_offline(stores["spark"].store_dir, target)
        assert len(duck) > 0
        features = d_manifest["features"]["baseline"] + d_manifest["features"]["collaboration"]
        assert len(features) > 140
        assert {k: v for k, v in d_manifest.items() if k != "built_at"} == {
            k: v for k, v in s_manifest.items() if k != "built_at"
        }
        assert_same_frames(duck, sp, features)
    duck_on, sp_on = read_online(stores["duckdb"].store_dir), read_online(stores["spark"].store_dir)
    assert_same_frames(duck_on, sp_on, [c for c in duck_on.columns if c not in ("account_id", "as_of")])


@pytest.mark.slow
def test_training_reads_a_spark_built_store(stores):
    from training.data import load_catalog, load_offline, model_feature_sets
    from training.split import time_split

    settings = stores["spark"]
    catalog = load_catalog()
    for target in ("csat", "churn"):
        data = load_offline(settings, target)
        sets = model_feature_sets(data.manifest, catalog)
        assert set(sets) == {"baseline", "enriched"} and len(sets["enriched"]) > len(sets["baseline"]) > 60
        frame = data.frame
        assert set(sets["enriched"]) <= set(frame.columns)
        numeric = [f for f in sets["enriched"] if f not in data.manifest["categorical"]]
        assert all(frame[f].dtype == "float64" for f in numeric)
        assert frame["label"].isin([0, 1]).all() and frame[numeric].notna().to_numpy().any()
        split = time_split(frame["as_of"], horizon_days=data.manifest["horizon_days"] or 0)
        assert len(split.train) and len(split.test)


def test_cli_without_pyspark_says_how_to_install(monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from csat.cli import app

    monkeypatch.setitem(sys.modules, "pyspark", None)  # import pyspark now raises ImportError
    monkeypatch.setenv("CSAT_STORE_DIR", str(tmp_path / "store"))
    result = CliRunner().invoke(app, ["features", "build", "--engine", "spark", "--spark-master", "local[1]"])
    assert result.exit_code == 2, result.output
    assert "pip install '.[spark]'" in result.output


def test_translation_rewrites_only_what_differs():
    import sqlglot

    from features.engine.spark_backend import to_spark
    from features.engine.sql import statements

    out = to_spark("SELECT DATE_DIFF('second', a, b) / 86400.0, AVG(CASE WHEN x THEN 1.0 ELSE 0 END) FROM t")
    assert "UNIX_SECONDS(CAST(b AS TIMESTAMP)) - UNIX_SECONDS(CAST(a AS TIMESTAMP))" in out
    assert "CAST(1.0 AS DOUBLE)" in out and "ELSE 0 END" in out
    assert "DATEDIFF(DAY" in to_spark("SELECT DATE_DIFF('day', DATE '1970-01-01', CAST(t AS DATE)) FROM x")
    for st in statements({"Contract Type": "text"}):
        assert sqlglot.parse_one(to_spark(st.sql), read="spark") is not None, st.name


def test_importing_the_spark_backend_starts_nothing():
    code = "import sys, features.engine.spark_backend, features.build; assert 'pyspark' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)
