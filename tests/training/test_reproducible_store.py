"""The same raw data always gives the same store, bit for bit, so a comparison can be run again and agree."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from rich.console import Console

from features.build import build_store
from tests.training.honest_world import World
from training.data import TARGETS, load_offline

pytestmark = [pytest.mark.slow, pytest.mark.calibration]


def _shuffled_copy(raw: Path, out: Path, seed: int = 3) -> None:
    """Every raw table of ``raw`` written to ``out`` with its rows in another order."""
    out.mkdir(parents=True)
    rng = np.random.default_rng(seed)
    for path in sorted(raw.glob("*.parquet")):
        table = pq.read_table(path)
        pq.write_table(table.take(rng.permutation(table.num_rows)), out / path.name)


def _by_example(frame: pd.DataFrame) -> pd.DataFrame:
    return frame.sort_values(["account_id", "as_of"]).reset_index(drop=True)


def test_the_store_does_not_depend_on_the_order_of_the_raw_rows(default_world: World, tmp_path: Path) -> None:
    """The default test world's store, built again from its raw rows in another order, is identical.

    Engines add rows in whatever order they arrive (threads, files, partitions); sums of fractional hours or
    dollars would then differ in their last bits, and the models trained on them with it.
    """
    _shuffled_copy(Path(default_world.settings.data_dir), tmp_path / "raw")
    again = default_world.settings.model_copy(
        update={"data_dir": tmp_path / "raw", "store_dir": tmp_path / "store"}
    )
    build_store(again, console=Console(quiet=True))
    for target in TARGETS:
        first = _by_example(load_offline(default_world.settings, target).frame)
        second = _by_example(load_offline(again, target).frame)
        pd.testing.assert_frame_equal(second, first, check_exact=True, obj=f"{target} frame")
