"""Issue #3's prototype sweep (``bench/prototype_sweep.py``) agrees with the SQL it would replace.

The sweep runs here as plain Python (numba compiles the same function in ``make bench-prototype``), on tiny
worlds whose rows are known on their own day (``default``) or recorded days later (``late``), with CSAT
cutoffs that are not at midnight, so that every path it takes is used.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from bench import prototype_sweep
from features.simulator import SimulationConfig, simulate


@pytest.fixture(scope="module", params=["default", "late"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp(request.param)
    simulate(SimulationConfig(accounts=12, months=12, scenario=request.param, seed=3), root)
    return root


def test_the_sweep_gives_every_value_of_the_sql_block(world: Path) -> None:
    figures = prototype_sweep.compare(world, prototype_sweep.sweep)
    assert figures["cutoffs"] > 100
    assert figures["same_day_rows"] > 0, "the world should have rows known earlier on a cutoff's own day"
    if world.name.startswith("late"):
        assert figures["day_rows_known_later"] > 0, "rows recorded after their day"
    else:
        assert figures["day_rows_known_later"] < figures["day_rows"], "rows known on their own day"
    assert figures["mismatches"] == dict.fromkeys(prototype_sweep.COLUMNS, 0)


def test_the_comparison_notices_a_wrong_sweep(world: Path) -> None:
    def one_contact_too_many(a: tuple, n_contacts: int, n_cut: int) -> tuple:
        (reached, *rest), last = prototype_sweep.sweep(a, n_contacts, n_cut)
        reached[np.argmax(reached[:, 0]), 0] += 1
        return (reached, *rest), last

    wrong = prototype_sweep.compare(world, one_contact_too_many)["mismatches"]
    assert wrong == {**dict.fromkeys(prototype_sweep.COLUMNS, 0), "contacts_reached_28d": 1}
