"""The oracle's ground truth must be that of the world the store was built from."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from csat.settings import load_settings
from features.build import build_store
from features.simulator import SimulationConfig, simulate
from training.data import load_offline, load_truth


def test_ground_truth_of_another_world_gives_no_oracle(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path / "raw", store_dir=tmp_path / "store")
    simulate(SimulationConfig(accounts=20, months=6, seed=1), settings.data_dir)
    build_store(settings, console=Console(quiet=True))
    manifest = load_offline(settings, "csat").manifest
    truth = load_truth(settings.data_dir, manifest)
    assert truth is not None and truth.csat is not None and truth.renewals is not None and not truth.notes
    # a new world replaces the raw folder and its ground truth; the store still holds the first world
    simulate(SimulationConfig(accounts=20, months=6, seed=2), settings.data_dir)
    stale = load_truth(settings.data_dir, manifest)
    assert stale is not None and stale.csat is None and stale.renewals is None
    assert "not that of the data the store was built from" in stale.notes[0]
    build_store(settings, console=Console(quiet=True))
    again = load_truth(settings.data_dir, load_offline(settings, "churn").manifest)
    assert again is not None and again.renewals is not None and not again.notes
