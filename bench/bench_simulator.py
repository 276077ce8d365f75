"""Simulator speed: the demo world (2,000 accounts x 24 months) and the scale world (20,000 x 24).

Targets (issue #2): demo world written in under 60 s; scale world in under 5 minutes with peak memory under
8 GB on 2 cores. Each world is written by a child process so that its peak RSS is its own. Prints rows per
second per table and writes ``bench/results/simulator.json``.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from bench.common import write_result

WORLDS = {"demo": (2000, 24, 60.0, None), "scale": (20000, 24, 300.0, 8192.0)}


def _child(accounts: int, months: int, out: Path) -> None:
    from features.simulator import SimulationConfig, simulate

    start = time.perf_counter()
    result = simulate(SimulationConfig(accounts=accounts, months=months), out)
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(json.dumps({"seconds": seconds, "rows": result.rows, "peak_rss_mb": peak}))


def run_world(name: str, keep: Path | None) -> dict[str, object]:
    """Simulate one world in a child process and return its figures against the targets."""
    accounts, months, limit_s, limit_mb = WORLDS[name]
    with tempfile.TemporaryDirectory() as tmp:
        out = (keep / name) if keep else Path(tmp) / name
        proc = subprocess.run(
            [sys.executable, "-m", "bench.bench_simulator", "--child", str(accounts), str(months), str(out)],
            capture_output=True,
            text=True,
            check=True,
        )
    figures = json.loads(proc.stdout.strip().splitlines()[-1])
    seconds = figures["seconds"]
    figures["rows_per_second"] = {t: round(r / seconds) for t, r in figures["rows"].items()}
    figures.update(accounts=accounts, months=months, target_seconds=limit_s, meets_time=seconds < limit_s)
    if limit_mb is not None:
        figures.update(target_peak_rss_mb=limit_mb, meets_memory=figures["peak_rss_mb"] < limit_mb)
    return figures


def main() -> None:
    """Run the demo and scale worlds and write the figures."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", nargs=3, metavar=("ACCOUNTS", "MONTHS", "OUT"))
    parser.add_argument("--worlds", default="demo,scale")
    parser.add_argument("--keep", type=Path, help="Keep the generated worlds in this folder.")
    args = parser.parse_args()
    if args.child:
        _child(int(args.child[0]), int(args.child[1]), Path(args.child[2]))
        return
    write_result("simulator", {name: run_world(name, args.keep) for name in args.worlds.split(",")})


if __name__ == "__main__":
    main()
