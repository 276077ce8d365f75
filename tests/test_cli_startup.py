"""``csat`` starts at once: its help, and every command's, loads none of the stages' heavy libraries.

Checked on the modules a fresh interpreter has loaded, not on a clock: a command imports what it runs.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

#: Libraries that take from a tenth of a second to seconds to import; no help needs any of them.
HEAVY = (
    "bentoml",
    "duckdb",
    "lightgbm",
    "matplotlib",
    "mlflow",
    "numpy",
    "pandas",
    "pandera",
    "pyarrow",
    "pyspark",
    "scipy",
    "shap",
    "sklearn",
    "sqlglot",
)

HELPS = [
    [],
    ["--help"],
    ["simulate", "--help"],
    ["validate", "--help"],
    ["features", "--help"],
    ["features", "list", "--help"],
    ["features", "build", "--help"],
    ["features", "show", "--help"],
    ["train", "--help"],
    ["retrain", "--help"],
    ["ui", "--help"],
    ["serving", "--help"],
    ["serving", "import", "--help"],
    ["serve", "--help"],
    ["score-all", "--help"],
]

#: Runs ``csat`` with each argument list in one fresh interpreter; its last line: the heavy modules loaded.
SCRIPT = """
import json, sys
from csat.cli import app
loaded = {}
for args in json.loads(sys.argv[1]):
    try:
        app(args)
    except SystemExit:
        pass
    loaded[" ".join(args)] = sorted(m for m in json.loads(sys.argv[2]) if m in sys.modules)
print(json.dumps(loaded))
"""


def _run(code: str, *args: str, cwd: Path) -> str:
    """Run ``python -c code args`` in ``cwd`` without the user's ``CSAT_*`` settings: its standard output."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CSAT_")}
    done = subprocess.run(
        [sys.executable, "-c", code, *args], cwd=cwd, env=env, capture_output=True, text=True, check=True
    )
    return done.stdout


def test_importing_the_command_loads_no_heavy_library(tmp_path: Path) -> None:
    code = "import csat.cli, json, sys; print(json.dumps([m for m in sys.argv[1:] if m in sys.modules]))"
    assert json.loads(_run(code, *HEAVY, cwd=tmp_path)) == []


def test_no_help_loads_a_heavy_library(tmp_path: Path) -> None:
    out = _run(SCRIPT, json.dumps(HELPS), json.dumps(HEAVY), cwd=tmp_path)
    loaded = json.loads(out.splitlines()[-1])  # after the help texts
    assert loaded == {" ".join(args): [] for args in HELPS}


@pytest.mark.parametrize(
    ("old", "new", "name"),
    [
        ("features.build", "features.errors", "AsOfError"),
        ("features.store", "features.errors", "StoreCorruptError"),
        ("training.split", "training.errors", "SplitError"),
        ("training.pipeline", "training.errors", "LeakageError"),
        ("training.tracking", "training.errors", "TrackingStoreError"),
        ("training.workflow", "training.errors", "LeakageError"),
        ("features.contract", "features.contract.report", "ContractError"),
    ],
)
def test_a_moved_error_is_still_importable_from_where_it_was(old: str, new: str, name: str) -> None:
    import importlib

    assert getattr(importlib.import_module(old), name) is getattr(importlib.import_module(new), name)


def test_the_lazy_package_names_are_those_of_their_modules(tmp_path: Path) -> None:
    import features.contract as contract
    import features.simulator as simulator
    from features.contract.loader import load_contract
    from features.simulator.world import GROUND_TRUTH_DIR, simulate

    assert contract.load_contract is load_contract
    assert simulator.simulate is simulate
    assert simulator.GROUND_TRUTH_DIR == GROUND_TRUTH_DIR
    code = "import json, sys, importlib; p = importlib.import_module(sys.argv[1]); print(json.dumps(dir(p)))"
    for package in (contract, simulator):
        listed = json.loads(_run(code, package.__name__, cwd=tmp_path))  # a fresh process: nothing used yet
        assert set(package.__all__) <= set(listed)
        assert all(getattr(package, name) is not None for name in package.__all__)
        with pytest.raises(AttributeError, match="no_such_name"):
            _ = package.no_such_name
