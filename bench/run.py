"""``make bench``: run the benchmarks in turn, each in its own process; figures land in bench/results/.

The page benchmark (``bench.bench_page``) is not among them: it needs a built, served world and a browser.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCHES = [
    "bench.memory_touch",
    "bench.scatter_writes",
    "bench.bench_simulator",
    "bench.bench_features",
    "bench.explode_layout",
    "bench.bench_spark",
    "bench.bench_training",
    "bench.bench_serving",
]


def main() -> int:
    """Run the benchmarks that exist; return non-zero if any failed."""
    failed = []
    for module in BENCHES:
        if not (Path(__file__).parent / f"{module.split('.')[-1]}.py").exists():
            continue
        print(f"== {module}", flush=True)
        if subprocess.run([sys.executable, "-m", module]).returncode != 0:
            failed.append(module)
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
