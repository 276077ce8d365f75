"""The same raw data always gives the same store, bit for bit, so a comparison can be run again and agree."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from rich.console import Console

from features.build import build_store
from tests.training.honest_world import World
from training.data import TARGETS, load_offline

pytestmark = [pytest.mark.slow, pytest.mark.calibration]


def test_a_second_build_of_the_default_world_is_identical(default_world: World, tmp_path: Path) -> None:
    """Parallel sums in the engine must not depend on the order rows arrive in (hours and dollars included).

    The default world has enough interactions for the engine to aggregate them on several threads.
    """
    again = default_world.settings.model_copy(update={"store_dir": tmp_path / "store"})
    build_store(again, console=Console(quiet=True))
    for target in TARGETS:
        first = load_offline(default_world.settings, target).frame
        second = load_offline(again, target).frame
        pd.testing.assert_frame_equal(second, first, check_exact=True, obj=f"{target} frame")
