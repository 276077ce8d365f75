"""Live features at another date equal the feature store's own build over the whole world."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from csat.settings import Settings
from features.build import build_frames, online_cutoff
from features.simulator.config import SimulationConfig
from features.simulator.world import simulate
from serving.live import LiveFeatures


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> LiveFeatures:
    root = tmp_path_factory.mktemp("live-world")
    simulate(SimulationConfig(accounts=60, months=8, seed=5), root / "raw")
    return LiveFeatures(Settings(data_dir=root / "raw", store_dir=root / "store"))


@pytest.mark.parametrize("as_of", ["2024-05-01", "2024-08-17T13:30:00"])
def test_live_features_equal_a_full_build(live: LiveFeatures, as_of: str) -> None:
    tables = live.tables()
    ids = list(tables["accounts"]["account_id"].iloc[[0, 7, 31, 59]])
    entities = pd.DataFrame({"account_id": ids, "as_of": online_cutoff(as_of)})
    expected = build_frames(tables, {"all": entities}, live.settings)["all"]
    got = live.frame(ids, as_of)
    assert got.shape[1] > 100
    pd.testing.assert_frame_equal(got, expected)


def test_live_features_follow_the_date_asked(live: LiveFeatures) -> None:
    ids = list(live.tables()["accounts"]["account_id"].iloc[:3])
    early, late = live.frame(ids, "2024-03-01"), live.frame(ids, "2024-08-01")
    assert list(early["account_id"]) == ids
    assert (early["as_of"] == pd.Timestamp("2024-03-01")).all()
    assert not early.drop(columns="as_of").equals(late.drop(columns="as_of"))


def test_known_accounts(live: LiveFeatures) -> None:
    first = str(live.tables()["accounts"]["account_id"].iloc[0])
    assert live.known([first, "NOPE"]) == {first}
    assert LiveFeatures(Settings(data_dir=Path("/nonexistent/raw"))).available is False


def test_a_failed_load_says_why_and_is_tried_again(tmp_path: Path) -> None:
    raw = tmp_path / "raw"
    raw.mkdir()
    (raw / "accounts.csv").write_text("account_id\nA1\n", encoding="utf-8")  # no label table, few columns
    live = LiveFeatures(Settings(data_dir=raw, store_dir=tmp_path / "store"))
    assert not live.wait(30)
    assert live.last_error is not None and "accounts" in live.last_error
    (raw / "accounts.csv").unlink()
    simulate(SimulationConfig(accounts=10, months=4, seed=1), raw)  # the data is mended
    assert live.wait(60) and live.last_error is None
