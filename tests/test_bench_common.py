"""Benchmark helpers: a child's peak memory is its own; the memory-touch bench times each mode apart."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
CHILD = (
    "import json; from bench.common import own_peak_rss_mb, peak_rss_mb;"
    " print(json.dumps([own_peak_rss_mb(), peak_rss_mb()]))"
)


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs Linux /proc")
def test_a_child_reports_its_own_peak_not_the_memory_its_parent_held() -> None:
    held = bytearray(512 * 2**20)  # the parent holds 512 MiB when it starts the child
    held[::4096] = b"x" * len(held[::4096])  # touched: resident
    out = subprocess.run([sys.executable, "-c", CHILD], cwd=ROOT, capture_output=True, text=True, check=True)
    own, inherited = json.loads(out.stdout)
    del held
    assert own < 400, f"the child's own peak should not count the parent's 512 MiB (got {own:.0f} MiB)"
    assert inherited >= 512, "getrusage inherits the parent's peak (what the bench used to report)"


def test_the_memory_touch_bench_times_every_mode_in_its_own_process_and_writes_its_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bench import common, memory_touch

    monkeypatch.setattr(common, "RESULTS_DIR", tmp_path)
    monkeypatch.chdir(ROOT)  # the children run ``-m bench.memory_touch``
    monkeypatch.setattr(sys, "argv", ["memory_touch", "--bytes", "4000000", "--trials", "2"])
    assert memory_touch.main() == 0
    figures = json.loads((tmp_path / "memory_touch.json").read_text(encoding="utf-8"))
    assert figures["bytes"] == 4_000_000 and figures["trials"] == 2
    ran = {m: figures[m] for m in memory_touch.MODES if figures[m] != "numba not installed"}
    for mode, times in ran.items():
        assert len(times["first_s"]) == len(times["again_s"]) == 2
        assert times["first_over_again_best"] == min(times["first_s"]) / min(times["again_s"])
        assert times["numpy_madvise_hugepage"] in (memory_touch.MODES[mode] == "1", None)  # as numpy read it
    assert len({t["pid"] for t in ran.values()} | {os.getpid()}) == len(ran) + 1  # a process of its own each


def test_the_scatter_writes_bench_writes_each_accounts_rows_in_arrival_order_in_both_layouts() -> None:
    from bench import scatter_writes as sw

    acc, first, vals = sw.scattered_rows(300, 7, seed=1)
    matrix = sw.write_matrix(acc, first, vals)
    for a in range(7):
        arrived = np.flatnonzero(acc == a)  # the rows of account a, in the order they came
        assert matrix[first[a] : first[a + 1], 1].tolist() == arrived.tolist()
        assert matrix[first[a] : first[a + 1], 0].tolist() == vals[arrived].tolist()
    figures = sw.measure(300, 7, trials=2, compiled=False)
    assert len(figures["columns_s"]) == len(figures["matrix_s"]) == 2
    assert figures["columns_over_matrix"] == min(figures["columns_s"]) / min(figures["matrix_s"])


def test_the_scatter_writes_bench_stops_when_the_layouts_disagree(monkeypatch: pytest.MonkeyPatch) -> None:
    from bench import scatter_writes as sw

    right = sw.write_matrix

    def shifted(acc: np.ndarray, first: np.ndarray, vals: np.ndarray) -> np.ndarray:
        return right(acc, first, vals + 1)  # every row's first value off by one

    monkeypatch.setattr(sw, "write_matrix", shifted)
    with pytest.raises(SystemExit, match="the two layouts hold different rows"):
        sw.measure(50, 3, trials=1, compiled=False)


def test_the_step_clock_gives_each_statement_the_time_since_the_one_before(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bench import common

    now = iter([100.0, 130.0, 131.5, 136.5, 137.0])  # the clock's creation, then each call
    monkeypatch.setattr(common.time, "perf_counter", lambda: next(now))
    clock = common.StepClock()
    for name in ("cut", "acc_ct_per", "reply_min", "acc_ct_per"):
        clock(name)
    assert clock.seconds == {"cut": 30.0, "acc_ct_per": 2.0, "reply_min": 5.0}
    assert list(clock.seconds) == ["cut", "acc_ct_per", "reply_min"]  # in the order they first ran


def test_the_feature_bench_says_where_the_builds_time_went() -> None:
    from bench.bench_features import statement_figures

    steps = {"cut": 30.0, "ix_contact": 1.0, "acc_ct_per": 5.0, "out_usage": 0.25}
    timings = {"load": 20.0, "features": 36.0, "write_offline": 2.5, "write_online": 0.5}
    figures = statement_figures(steps, timings)
    assert figures["labels_prepare_copy_s"] == 10.0  # the first statement's time, less the load
    assert figures["statements_s"] == {"ix_contact": 1.0, "acc_ct_per": 5.0, "out_usage": 0.25}
    assert figures["slowest_statements"] == ["acc_ct_per 5.00", "ix_contact 1.00", "out_usage 0.25"]
    assert figures["write_s"] == 3.0


def test_the_feature_bench_compares_the_builds_with_and_without_the_passes_in_alternating_order() -> None:
    from bench.bench_features import ABBA, SQL_ONLY_FIGURES, compare_builds

    assert ABBA == (False, True, True, False)  # with the passes first and last, without them in between
    seconds = [10, 13, 11, 12]
    builds = [{k: f"{k} {i}" for k in SQL_ONLY_FIGURES} | {"build_s": s} for i, s in enumerate(seconds)]
    figures = compare_builds(builds)
    assert figures["passes_build_s"] == [10, 12] and figures["sql_only_build_s"] == [13, 11]
    assert figures["sql_only_over_passes"] == 12 / 11
    assert figures["sql_only"]["engine_features_s"] == "engine_features_s 1"  # the first build without them


def test_the_feature_bench_takes_the_fastest_build_with_the_passes_as_the_floor_takes_its_fastest_scan() -> (
    None
):
    from bench.bench_features import passes_build_figures

    seconds, peaks = [30.0, 90.0, 80.0, 20.0], [5000.0, 5900.0, 5800.0, 5100.0]
    builds = [{"build_s": s, "load_s": s / 10, "peak_rss_mb": p} for s, p in zip(seconds, peaks, strict=True)]
    figures = passes_build_figures(builds, 2.0)
    assert figures["build_s"] == 20.0 and figures["load_s"] == 2.0  # the last build (with the passes)
    assert figures["build_over_floor"] == 10.0
    assert figures["first_build_s"] == 30.0 and figures["first_build_over_floor"] == 15.0
    assert figures["peak_rss_mb"] == 5100.0  # the higher of the two builds with the passes
