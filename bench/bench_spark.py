"""Spark vs DuckDB feature build on one simulated world (``make bench``: the scale world; not a test).

Builds the whole store (CSAT and churn frames plus the online store, every feature) twice in one run: with
the embedded DuckDB engine, then with the Spark engine on a local master (``local[2]``, driver memory 10g
and 32 shuffle partitions by default). Reports each build's wall time and peak resident memory of the whole
process tree (the JVM that PySpark starts included), the Spark / DuckDB ratio, Spark's session start-up,
and where each engine's time goes statement by statement (a statement's time includes the views it reads;
Spark's first statement also stages the prepared tables as Parquet). Both builds' offline frames are
compared as a check.

Smaller worlds: ``--accounts 2000 --months 6`` (or the environment variables ``CSAT_BENCH_SPARK_ACCOUNTS``
and ``CSAT_BENCH_SPARK_MONTHS``).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import psutil
from rich.console import Console

from bench.bench_features import SCALE, ensure_world
from bench.common import timed, write_result
from csat.settings import Settings, load_settings
from features.build import build_store

TOP_STATEMENTS = 12


class TreeRss:
    """Sample the resident memory of this process and all its children (the JVM) in a background thread."""

    def __init__(self, interval: float = 0.2) -> None:
        self.interval = interval
        self.peak = 0
        self.peak_children = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> None:
        me = psutil.Process()
        children = 0
        for child in me.children(recursive=True):
            try:
                children += child.memory_info().rss
            except psutil.Error:
                continue
        self.peak = max(self.peak, me.memory_info().rss + children)
        self.peak_children = max(self.peak_children, children)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.sample()
            self._stop.wait(self.interval)

    def __enter__(self) -> TreeRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.sample()


def step_timer(into: dict[str, float], label: str = "") -> Callable[[str], None]:
    """An ``on_step`` callback storing each statement's seconds since the previous one finished.

    With a ``label`` it also prints each statement's time to stderr as it finishes (long runs).
    """
    last = [time.perf_counter()]
    console = Console(stderr=True) if label else None

    def on_step(name: str) -> None:
        now = time.perf_counter()
        into[name] = round(now - last[0], 3)
        last[0] = now
        if console is not None:
            console.print(f"{label} {name}: {into[name]:.1f} s", highlight=False)

    return on_step


@contextmanager
def store_dir() -> Iterator[Path]:
    with tempfile.TemporaryDirectory(prefix="csat-bench-store-") as d:
        yield Path(d)


def one_build(
    settings: Settings, tables: dict[str, pd.DataFrame], engine: str, store: Path
) -> dict[str, Any]:
    """Build the store with one engine; wall time, peak tree RSS, per-statement and phase timings."""
    steps: dict[str, float] = {}
    local = settings.model_copy(update={"store_dir": store / engine})
    out: dict[str, Any] = {}
    with TreeRss() as rss, timed(out, "build_s"):
        result = build_store(
            local,
            engine=engine,
            console=Console(quiet=True),
            tables=tables,
            on_step=step_timer(steps, engine),
        )
    out["peak_tree_rss_mb"] = rss.peak / 2**20
    out["peak_children_rss_mb"] = rss.peak_children / 2**20
    out["features_s"] = result.timings["features"]
    out["statements_s"] = round(sum(steps.values()), 3)
    out["final_join_and_collect_s"] = round(max(0.0, result.timings["features"] - sum(steps.values())), 3)
    out["writes_s"] = round(sum(v for k, v in result.timings.items() if k.startswith("write")), 3)
    out["top_statements_s"] = dict(sorted(steps.items(), key=lambda kv: -kv[1])[:TOP_STATEMENTS])
    out["rows"] = dict(result.rows) | {"online": result.online_rows}
    return out


def compare_stores(store: Path) -> dict[str, float]:
    """Compare the two builds' offline features as the parity test does (1e-9 relative, 1e-9 near zero)."""
    from features.store import read_offline

    values = outside = 0
    worst_abs = 0.0
    for target in ("csat", "churn"):
        duck, manifest = read_offline(store / "duckdb", target)
        spark, _ = read_offline(store / "spark", target)
        cols = [c for c in manifest["features"]["baseline"] + manifest["features"]["collaboration"]]
        cols = [c for c in cols if c not in manifest["categorical"]]
        a, b = duck[cols].to_numpy(float), spark[cols].to_numpy(float)
        same_nan = np.isnan(a) == np.isnan(b)
        close = np.isclose(a, b, rtol=1e-9, atol=1e-9, equal_nan=True)
        values += a.size
        outside += int((~(same_nan & close)).sum())
        both = ~np.isnan(a) & ~np.isnan(b)
        worst_abs = max(worst_abs, float(np.abs(a - b)[both].max(initial=0.0)))
    return {"values": values, "outside_1e-9": outside, "max_abs_diff": worst_abs}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument(
        "--accounts", type=int, default=int(os.environ.get("CSAT_BENCH_SPARK_ACCOUNTS", SCALE["accounts"]))
    )
    ap.add_argument(
        "--months", type=int, default=int(os.environ.get("CSAT_BENCH_SPARK_MONTHS", SCALE["months"]))
    )
    ap.add_argument("--data", type=Path, default=None, help="world folder (made when missing)")
    ap.add_argument("--master", default="local[2]")
    ap.add_argument("--driver-memory", default="10g", help="JVM heap of the local Spark driver")
    ap.add_argument(
        "--shuffle-partitions",
        type=int,
        default=32,
        help="spark.sql.shuffle.partitions (the engine's local default is 8; more suits big worlds)",
    )
    args = ap.parse_args()
    scale = args.accounts == SCALE["accounts"] and args.months == SCALE["months"]
    default_data = (
        os.environ.get("CSAT_BENCH_DATA", "data/bench_scale")
        if scale
        else f"data/bench_{args.accounts}x{args.months}"
    )
    data = args.data or Path(default_data)
    figures: dict[str, Any] = {"accounts": args.accounts, "months": args.months, "master": args.master}
    with timed(figures, "simulate_s"):
        ensure_world(data, args.accounts, args.months, 42)
    conf = {"spark.driver.memory": args.driver_memory}
    if args.shuffle_partitions:
        conf["spark.sql.shuffle.partitions"] = str(args.shuffle_partitions)
    figures["spark_conf"] = conf
    settings = load_settings(data_dir=data, spark_master=args.master, spark_conf=conf)
    from features.contract import load_contract
    from features.engine.spark_backend import session

    with timed(figures, "load_s"):
        tables = load_contract(
            data, settings, console=Console(stderr=True), rejects_dir=Path(tempfile.mkdtemp())
        ).tables
    figures["interactions"] = len(tables["interactions"])
    with store_dir() as store:
        figures["duckdb"] = one_build(settings, tables, "duckdb", store)
        with timed(figures, "spark_startup_s"):
            spark = session(args.master, settings.spark_conf)
        figures["spark"] = one_build(settings, tables, "spark", store)
        figures["spark_version"] = spark.version
        spark.stop()
        figures["offline_parity"] = compare_stores(store)
    figures["cutoffs"] = sum(figures["duckdb"]["rows"].values())
    figures["spark_over_duckdb"] = figures["spark"]["build_s"] / figures["duckdb"]["build_s"]
    figures["spark_with_startup_over_duckdb"] = (
        figures["spark"]["build_s"] + figures["spark_startup_s"]
    ) / figures["duckdb"]["build_s"]
    figures["spark_cutoffs_per_s"] = figures["cutoffs"] / figures["spark"]["features_s"]
    figures["spark_interactions_per_s"] = figures["interactions"] / figures["spark"]["features_s"]
    figures["cpu_count"] = os.cpu_count()
    write_result("bench_spark", figures)


if __name__ == "__main__":
    main()
