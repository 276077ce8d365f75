"""Issue #3's prototype (``bench/prototype_sweep.py``) agrees with the SQL it would replace.

The kernels run here as plain Python (numba compiles the same functions in ``make bench-prototype``), on
tiny worlds whose rows are known on their own day (``default``), recorded days later (``late``), or whose
contacts were entered in the CRM late (``late-contacts``), with CSAT cutoffs that are not at midnight, so that
every path they take is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench import prototype_kernels, prototype_sweep
from features.simulator import SimulationConfig, simulate


@pytest.fixture(scope="module", params=["default", "late", "late-contacts"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    scenario = request.param.removesuffix("-contacts")
    simulate(SimulationConfig(accounts=12, months=12, scenario=scenario, seed=3), root)
    if request.param.endswith("-contacts"):  # every third contact entered in the CRM half-way through
        contacts = pd.read_parquet(root / "contacts.parquet")
        entered = pd.Series(pd.NaT, index=contacts.index, dtype="datetime64[us]")
        entered.iloc[::3] = pd.Timestamp("2024-07-01 09:30")
        contacts["recorded_at"] = entered
        contacts.to_parquet(root / "contacts.parquet", index=False)
    return root


def test_the_kernels_give_every_value_of_the_sql_block(world: Path) -> None:
    figures = prototype_sweep.compare(world, prototype_kernels.plain())
    assert figures["cutoffs"] > 100
    assert figures["files_rows"] > 1000
    assert figures["mismatches"] == dict.fromkeys(prototype_sweep.COLUMNS, 0)


def test_the_comparison_notices_a_wrong_kernel(world: Path) -> None:
    def one_contact_too_many(*args: object) -> tuple:
        (reached, *rest), before, last = prototype_kernels.sweep_rows(*args)  # type: ignore[arg-type]
        reached[np.argmax(reached[:, 0]), 0] += 1
        return (reached, *rest), before, last

    wrong = prototype_sweep.compare(world, {**prototype_kernels.plain(), "sweep_rows": one_contact_too_many})
    assert wrong["mismatches"] == {**dict.fromkeys(prototype_sweep.COLUMNS, 0), "contacts_reached_28d": 1}


def test_an_account_with_more_contacts_than_the_sweep_holds_is_an_error(
    world: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(prototype_kernels, "MAX_CONTACTS", 1)
    with pytest.raises(ValueError, match="MAX_CONTACTS"):
        prototype_sweep.compare(world, prototype_kernels.plain())
