"""The house rules of shared/architecture.md, checked on the source: data flows one way."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FORBIDDEN = {
    "features": {"training", "serving"},
    "training": {"serving"},
    "serving": {"training"},
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_stages_never_reach_back(package: str) -> None:
    offenders = {
        str(path.relative_to(ROOT)): sorted(_imports(path) & FORBIDDEN[package])
        for path in (ROOT / package).rglob("*.py")
        if _imports(path) & FORBIDDEN[package]
    }
    assert offenders == {}


def test_mlflow_only_in_tracking_and_the_serving_import_step() -> None:
    tracking = ROOT / "training" / "tracking"  # a package: its models-from-code file is MLflow's too
    users = {
        path
        for package in ("features", "training", "csat")
        for path in (ROOT / package).rglob("*.py")
        if "mlflow" in _imports(path) and tracking not in path.parents
    }
    assert users == set(), sorted(str(p.relative_to(ROOT)) for p in users)
