"""Print the measured baseline / enriched / oracle / lift table of the latest comparisons, read from MLflow.

One row per (world, target), from the latest ``csat train`` comparison (not retrain challengers); each world
is a settings file (its own data, store and MLflow).
Run: ``python -m scripts.world_table --world default= --world null=worlds/null.toml [--metric accuracy]``
(an empty path means the current settings).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from csat.settings import load_settings
from training.data import TARGETS
from training.tracking import comparison_metrics


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.1f}%"


def _pts(point: float | None, low: float | None, high: float | None) -> str:
    if point is None or low is None or high is None:
        return "-"
    return f"{100 * point:+.1f} [{100 * low:+.1f}, {100 * high:+.1f}]"


def row(world: str, target: str, metrics: dict[str, dict[str, Any]], metric: str) -> str:
    """One Markdown table row for a world and target."""
    parent = metrics["parent"]
    base = metrics.get("baseline", {}).get(f"test_{metric}")
    enr = metrics.get("enriched", {}).get(f"test_{metric}")
    oracle = parent.get(f"oracle_{metric}")
    lift = _pts(*(parent.get(f"lift_{metric}{s}") for s in ("", "_low", "_high")))
    auc = [metrics.get(s, {}).get("test_roc_auc") for s in ("baseline", "enriched")]
    auc.append(parent.get("oracle_roc_auc"))
    auc_lift = _pts(*(parent.get(f"lift_roc_auc{s}") for s in ("", "_low", "_high")))
    aucs = " / ".join("-" if a is None else f"{a:.3f}" for a in auc)
    version = metrics["params"]["feature_set_version"]
    return (
        f"| `{world}` | {target} | `{version}` | {_pct(base)} | {_pct(enr)} | "
        f"{_pct(oracle)} | {lift} | {aucs} | "
        f"{auc_lift.replace('%', '')} |"
    )


def main(argv: list[str] | None = None) -> int:
    """Print the table for the given worlds."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", action="append", default=[], help="name=settings.toml (empty: current)")
    parser.add_argument("--metric", default="accuracy")
    args = parser.parse_args(argv)
    worlds = args.world or ["default="]
    print(
        f"| world | target | feature-set version | baseline {args.metric} | enriched | oracle | "
        "lift, points [95% CI] | "
        "ROC AUC base / enriched / oracle | ROC AUC lift x100 [95% CI] |"
    )
    print("| --- | --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for spec in worlds:
        name, _, path = spec.partition("=")
        settings = load_settings(Path(path) if path else None)
        for target in TARGETS:
            print(row(name, target, comparison_metrics(settings, target, trained_only=True), args.metric))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
