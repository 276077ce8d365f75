"""Time ``csat train --target all`` on an existing feature store (target: < 3 minutes, 2000-account world).

The store must exist (``csat simulate`` then ``csat features build``, or ``make demo``). MLflow writes to a
throw-away folder unless ``--keep-mlflow`` is given, so the benchmark never touches the real registry.
Figures go to ``bench/results/training.json``.

Run: ``python -m bench.bench_training [--store store] [--data data/raw] [--candidates 8] [--threads 1]``.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.common import peak_rss_mb, timed, write_result
from csat.settings import load_settings

TARGET_SECONDS = 180.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=None, help="feature store folder (default: settings)")
    parser.add_argument(
        "--data", type=Path, default=None, help="raw data folder, for the oracle's ground truth"
    )
    parser.add_argument("--candidates", type=int, default=8)
    parser.add_argument("--n-boot", type=int, default=1000)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--keep-mlflow", action="store_true", help="log to the configured MLflow store")
    args = parser.parse_args(argv)

    overrides: dict[str, Any] = {}
    if args.store is not None:
        overrides["store_dir"] = args.store
    if args.data is not None:
        overrides["data_dir"] = args.data
    tmp = tempfile.TemporaryDirectory(prefix="bench-mlflow-")
    if not args.keep_mlflow:
        overrides["mlflow_tracking_uri"] = f"sqlite:///{Path(tmp.name) / 'mlflow.db'}"
        overrides["mlflow_artifact_root"] = Path(tmp.name) / "artifacts"
    settings = load_settings(**overrides)
    from features.store import read_offline
    from training.cli import app

    manifests = {}
    try:
        for target in ("csat", "churn"):
            manifests[target] = read_offline(Path(settings.store_dir), target)[1]  # type: ignore[arg-type]
    except FileNotFoundError as exc:
        print(f"{exc}; build the store first (make demo, csat features build)", file=sys.stderr)
        return 2

    figures: dict[str, object] = {
        "candidates": args.candidates,
        "n_boot": args.n_boot,
        "threads": args.threads,
    }
    times: dict[str, float] = {}
    cmd = ["train", "--target", "all", "--candidates", str(args.candidates), "--n-boot", str(args.n_boot)]
    cmd += ["--threads", str(args.threads)]
    with timed(times, "train_all_seconds"):
        app(cmd, obj=settings, standalone_mode=False)
    figures.update(times)
    figures["peak_rss_mb"] = round(peak_rss_mb(), 1)
    figures["target_seconds"] = TARGET_SECONDS
    figures["within_target"] = times["train_all_seconds"] < TARGET_SECONDS
    for target, manifest in manifests.items():
        figures[f"{target}_rows"] = manifest.get("rows")
        figures[f"{target}_features"] = json.dumps({k: len(v) for k, v in manifest["features"].items()})
    write_result("training", figures)
    tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
