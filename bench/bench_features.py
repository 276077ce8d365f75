"""Feature-store benchmark on the simulator's scale world (``make bench`` runs it; not a test).

Measures, in one run: (a) the floor - one DuckDB scan aggregating interaction duration by account (unnest
external participants, join contacts), the best of three; (b) the full build - what ``csat features build``
does: load and validate the raw files, then the CSAT and churn frames plus the online store, every feature -
in a process of its own, so that its peak RSS is the build's alone, four times: with the compiled passes,
without them (``duckdb_compiled_passes`` false: every feature by its SQL) twice, and with them again, for
the ratio of the two, after a process that compiles the passes (so that no build carries that one-off
cost). The faster of the two builds with the passes gives the bench's figures, as the fastest of the floor's
scans gives the floor; the first build's seconds and ratio are printed beside them, and the peak RSS is the
higher of the two builds'; (c) a straightforward pandas build of 20
features on a sample of accounts, scaled to all cutoffs. Targets: full build <= 10x the floor; >= 10x
faster than pandas per feature; peak RSS <= 6 GB.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from rich.console import Console

from bench.common import StepClock, own_peak_rss_mb, peak_rss_mb, timed, write_result
from csat.settings import load_settings
from features.build import build_store, label_frames

SCALE = {"accounts": 20_000, "months": 24}
PANDAS_FEATURES = 20


def ensure_world(data_dir: Path, accounts: int, months: int, seed: int) -> None:
    if (data_dir / "interactions.parquet").exists():
        return
    from features.simulator import SimulationConfig, simulate

    simulate(SimulationConfig(accounts=accounts, months=months, seed=seed), data_dir)


FLOOR_REPEATS = 3  # the floor is the best of this many scans: a single one varied 1.7-3.8 s between runs


def floor_scan(tables: dict[str, pd.DataFrame]) -> list[float]:
    """Seconds of each of :data:`FLOOR_REPEATS` runs of the floor scan (the bench takes the best)."""
    con = duckdb.connect()
    con.register(
        "interactions",
        pa.Table.from_pandas(tables["interactions"][["duration_minutes", "external_participants"]]),
    )
    con.register("contacts", pa.Table.from_pandas(tables["contacts"][["contact_id", "account_id"]]))
    runs = []
    for _ in range(FLOOR_REPEATS):
        start = time.perf_counter()
        con.sql(
            "SELECT c.account_id, SUM(i.duration_minutes) AS minutes FROM (SELECT duration_minutes,"
            " UNNEST(external_participants) AS person FROM interactions) AS i JOIN contacts AS c"
            " ON c.contact_id = i.person GROUP BY c.account_id"
        ).fetchall()
        runs.append(time.perf_counter() - start)
    con.close()
    return runs


def sample_world(tables: dict[str, pd.DataFrame], accounts: set[str]) -> dict[str, pd.DataFrame]:
    out = {n: df[df["account_id"].isin(accounts)] for n, df in tables.items() if "account_id" in df.columns}
    contacts = set(out["contacts"]["contact_id"])
    ix = pa.Table.from_pandas(
        tables["interactions"][["started_at", "kind", "duration_minutes", "external_participants"]]
    )
    flat = pc.list_flatten(ix["external_participants"])
    parent = pc.list_parent_indices(ix["external_participants"])
    hit = np.unique(
        parent.to_numpy()[pc.is_in(flat, pa.array(sorted(contacts))).to_numpy(zero_copy_only=False)]
    )
    out["interactions"] = ix.take(pa.array(hit)).to_pandas(types_mapper=pd.ArrowDtype)
    return out


def pandas_build(w: dict[str, pd.DataFrame], ents: pd.DataFrame) -> pd.DataFrame:
    """A straightforward pandas build of 20 features: merge events to cutoffs, filter windows, group."""
    ents = ents[["account_id", "as_of"]].reset_index(drop=True).rename_axis("eid").reset_index()
    out = ents.set_index("eid")
    ix = w["interactions"].copy()
    ix["person"] = ix["external_participants"].map(list)
    ix = ix.explode("person").merge(
        w["contacts"][["contact_id", "account_id"]], left_on="person", right_on="contact_id"
    )
    m = ents.merge(ix, on="account_id")
    m = m[m["started_at"] < m["as_of"]]
    age = (m["as_of"] - m["started_at"]).dt.days
    for win in (28, 90):
        sel = m[age < win]
        per_ix = sel.drop_duplicates(["eid", "account_id", "started_at", "kind", "duration_minutes"])
        for kind in ("email", "meeting", "call"):
            k = per_ix[per_ix["kind"] == kind].groupby("eid")["duration_minutes"].sum() / 60
            out[f"{kind}_hours_{win}d"] = k
        out[f"customer_hours_{win}d"] = per_ix.groupby("eid")["duration_minutes"].sum() / 60
        out[f"customer_interactions_{win}d"] = per_ix.groupby("eid").size()
        out[f"contacts_reached_{win}d"] = sel.groupby("eid")["contact_id"].nunique()
    tk = ents.merge(w["tickets"], on="account_id")
    tk = tk[tk["opened_at"] < tk["as_of"]]
    for win in (28, 90, 180):
        out[f"tickets_{win}d"] = tk[(tk["as_of"] - tk["opened_at"]).dt.days < win].groupby("eid").size()
    out["open_tickets"] = tk[tk["closed_at"].isna() | (tk["closed_at"] >= tk["as_of"])].groupby("eid").size()
    us = ents.merge(w["usage"], on="account_id")
    us = us[(us["date"] < us["as_of"]) & ((us["as_of"] - us["date"]).dt.days < 28)]
    out["active_users_avg_28d"] = us.groupby("eid")["active_users"].mean()
    out["key_feature_events_28d"] = us.groupby("eid")["key_feature_events"].sum()
    sv = ents.merge(w["surveys"], on="account_id")
    sv = sv[sv["responded_at"] < sv["as_of"]]
    out["prior_responses"] = sv.groupby("eid").size()
    out["prior_csat_mean"] = sv.groupby("eid")["csat"].mean()
    return out


def build_in_child(data: Path, out: Path, sql_only: bool = False) -> dict[str, Any]:
    """Run the full build (load included) in a fresh Python process; return its figures.

    ``sql_only`` builds without the compiled passes (setting ``duckdb_compiled_passes`` false).
    """
    cmd = [sys.executable, "-m", "bench.bench_features", "--data", str(data), "--build-only", str(out)]
    subprocess.run(cmd + (["--sql-only"] if sql_only else []), check=True)
    figures: dict[str, Any] = json.loads(out.read_text(encoding="utf-8"))
    return figures


TOP_STATEMENTS = 10  # the slowest statements the bench prints
#: What the bench keeps of the reference build without the compiled passes (the same run, after the build).
SQL_ONLY_FIGURES = (
    "build_s",
    "engine_features_s",
    "labels_prepare_copy_s",
    "slowest_statements",
    "peak_rss_mb",
)


def statement_figures(steps: dict[str, float], timings: dict[str, float]) -> dict[str, Any]:
    """Where a build's time went: the load, everything before the first statement, each statement, writing.

    Args:
        steps: seconds by statement, in order (:class:`bench.common.StepClock` as the build's ``on_step``);
            the first one's seconds run from the start of the build.
        timings: the build's own timings (``load``, ``write_offline``, ``write_online``).

    Returns:
        ``labels_prepare_copy_s`` (the first statement's seconds less the load: the data fingerprint, the
        label frames, the engine's preparation, its compiled passes, the copy into DuckDB and that first,
        small statement), ``statements_s`` (each other statement's seconds),
        ``slowest_statements`` (the :data:`TOP_STATEMENTS` slowest, as ``name seconds``) and ``write_s``.

    """
    rest = dict(steps)
    first = rest.pop(next(iter(rest))) if rest else 0.0
    slowest = sorted(rest.items(), key=lambda kv: -kv[1])[:TOP_STATEMENTS]
    return {
        "labels_prepare_copy_s": round(first - timings.get("load", 0.0), 3),
        "statements_s": {name: round(sec, 3) for name, sec in rest.items()},
        "slowest_statements": [f"{name} {sec:.2f}" for name, sec in slowest],
        "write_s": round(sum(v for k, v in timings.items() if k.startswith("write_")), 3),
    }


#: The builds' order, by whether each runs without the compiled passes: with, without, without, with, so
#: that neither kind always runs first or last (this machine's speed drifts by a tenth within minutes).
ABBA = (False, True, True, False)


def compare_builds(builds: list[dict[str, Any]]) -> dict[str, Any]:
    """The builds with and without the compiled passes side by side (``builds`` in :data:`ABBA`'s order).

    Returns:
        ``passes_build_s`` and ``sql_only_build_s`` (each build's seconds), ``sql_only_over_passes`` (the
        ratio of their means), and ``sql_only`` (the first build without the passes: its
        :data:`SQL_ONLY_FIGURES`).

    """
    swept = [b["build_s"] for b, sql_only in zip(builds, ABBA, strict=True) if not sql_only]
    sql = [b["build_s"] for b, sql_only in zip(builds, ABBA, strict=True) if sql_only]
    first_sql = builds[ABBA.index(True)]
    return {
        "passes_build_s": swept,
        "sql_only_build_s": sql,
        "sql_only_over_passes": (sum(sql) / len(sql)) / (sum(swept) / len(swept)),
        "sql_only": {k: first_sql[k] for k in SQL_ONLY_FIGURES},
    }


def passes_build_figures(builds: list[dict[str, Any]], floor_s: float) -> dict[str, Any]:
    """The bench's build figures, from the builds with the compiled passes.

    The floor is the fastest of its scans, so the build is the fastest of its runs: the same estimate on both
    sides of the ratio (what noise adds to a run's time is never negative). The first build is given too.

    Args:
        builds: every build's figures, in :data:`ABBA`'s order.
        floor_s: the floor scan's seconds.

    Returns:
        The fastest build's figures, with ``peak_rss_mb`` the highest of the builds' peaks, and
        ``build_over_floor``, ``first_build_s`` and ``first_build_over_floor``.

    """
    swept = [b for b, sql_only in zip(builds, ABBA, strict=True) if not sql_only]
    best = min(swept, key=lambda b: b["build_s"])
    return best | {
        "peak_rss_mb": max(b["peak_rss_mb"] for b in swept),
        "build_over_floor": best["build_s"] / floor_s,
        "first_build_s": swept[0]["build_s"],
        "first_build_over_floor": swept[0]["build_s"] / floor_s,
    }


def build_only(data: Path, out: Path, sql_only: bool = False) -> None:
    """The child's part: build the store from the raw files as ``csat features build`` does, then report."""
    with tempfile.TemporaryDirectory() as store:
        settings = load_settings(data_dir=data, store_dir=Path(store), duckdb_compiled_passes=not sql_only)
        start = time.perf_counter()
        clock = StepClock()
        result = build_store(settings, console=Console(stderr=True), on_step=clock)
        seconds = time.perf_counter() - start
    figures: dict[str, Any] = {
        "build_s": seconds,
        "load_s": result.timings["load"],
        "engine_features_s": result.timings["features"],
        **statement_figures(clock.seconds, result.timings),
        "cutoffs": sum(result.rows.values()) + result.online_rows,
        "online_rows": result.online_rows,
        "features": len(result.features["baseline"]) + len(result.features["collaboration"]),
        "peak_rss_mb": own_peak_rss_mb(),  # the build's own: not the bench's tables at the time of the spawn
    }
    out.write_text(json.dumps(figures), encoding="utf-8")


def warm_passes() -> None:
    """The child's part of :func:`compile_passes_in_child`: a tiny world's store, the passes forced."""
    from features.engine import passes
    from features.simulator import SimulationConfig, simulate

    passes.PASSES_FROM_ROWS = passes.COMPILE_FROM_ROWS = 0
    with tempfile.TemporaryDirectory() as tmp:
        simulate(SimulationConfig(accounts=12, months=4, seed=1), Path(tmp) / "raw")
        settings = load_settings(data_dir=Path(tmp) / "raw", store_dir=Path(tmp) / "store")
        build_store(settings, console=Console(stderr=True))


def compile_passes_in_child() -> float:
    """Seconds of a fresh process that builds a tiny world's store with the passes forced, before the builds.

    The first build after an install compiles the passes; without this, the bench's first build would carry
    that one-off cost and the others not. The seconds hold the process's start, the tiny world's simulation
    and build, and numba's compile (cold cache) or its load of the cached passes.
    """
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bench.bench_features", "--warm-passes"], check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", type=Path, default=Path(os.environ.get("CSAT_BENCH_DATA", "data/bench_scale")))
    ap.add_argument("--accounts", type=int, default=SCALE["accounts"])
    ap.add_argument("--months", type=int, default=SCALE["months"])
    ap.add_argument("--sample-accounts", type=int, default=300)
    ap.add_argument("--build-only", type=Path, help="(internal) only build, and write the figures here")
    ap.add_argument("--sql-only", action="store_true", help="(internal) build without the compiled passes")
    ap.add_argument("--warm-passes", action="store_true", help="(internal) compile the passes, then exit")
    args = ap.parse_args()
    if args.warm_passes:
        warm_passes()
        return
    if args.build_only is not None:
        build_only(args.data, args.build_only, args.sql_only)
        return
    figures: dict[str, Any] = {}
    with timed(figures, "simulate_s"):
        ensure_world(args.data, args.accounts, args.months, 42)
    settings = load_settings(data_dir=args.data)
    from features.contract import load_contract

    console = Console(stderr=True)
    with timed(figures, "bench_load_s"):
        tables = load_contract(
            args.data, settings, console=console, rejects_dir=Path(tempfile.mkdtemp())
        ).tables
    figures["interactions"] = len(tables["interactions"])
    with timed(figures, "floor_s"):
        runs = floor_scan(tables)
    figures["floor_scan_runs_s"] = ", ".join(f"{r:.3f}" for r in runs)
    figures["floor_scan_s"] = min(runs)
    rng = np.random.default_rng(0)
    sample = set(rng.choice(tables["accounts"]["account_id"].to_numpy(), args.sample_accounts, replace=False))
    frames = label_frames(tables, settings)
    ents = pd.concat([f[["account_id", "as_of"]] for f in frames.values()], ignore_index=True)
    s_ents = ents[ents["account_id"].isin(sample)]
    small = sample_world(tables, sample)
    n_ents = len(ents)
    del tables, frames, ents
    gc.collect()
    with timed(figures, "pandas_sample_s"):
        pandas_build(small, s_ents)
    figures["passes_warm_process_s"] = compile_passes_in_child()
    with tempfile.TemporaryDirectory() as tmp:
        builds = [build_in_child(args.data, Path(tmp) / f"{i}.json", sql) for i, sql in enumerate(ABBA)]
    build = passes_build_figures(builds, figures["floor_scan_s"])
    figures.update(build)
    figures.update(compare_builds(builds))
    scale = (n_ents + build["online_rows"]) / max(len(s_ents), 1)
    figures["pandas_full_est_s"] = figures["pandas_sample_s"] * scale
    figures["build_without_load_over_floor"] = (build["build_s"] - build["load_s"]) / figures["floor_scan_s"]
    per_feature_engine = build["engine_features_s"] / build["features"]
    per_feature_pandas = figures["pandas_full_est_s"] / PANDAS_FEATURES
    figures["pandas_over_engine_per_feature"] = per_feature_pandas / per_feature_engine
    figures["cutoffs_per_s"] = figures["cutoffs"] / figures["build_s"]
    figures["interactions_per_s"] = figures["interactions"] / figures["build_s"]
    figures["bench_process_peak_rss_mb"] = peak_rss_mb()
    figures["targets_met"] = str(
        figures["build_over_floor"] <= 10
        and figures["pandas_over_engine_per_feature"] >= 10
        and figures["peak_rss_mb"] <= 6 * 1024
    )
    write_result("bench_features", figures)


if __name__ == "__main__":
    main()
