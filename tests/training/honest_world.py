"""Small simulated worlds run through the real pipeline: simulate, build the feature store, compare sets.

Shared by the honesty, leakage and behaviour tests (marked ``slow`` and ``calibration``). The world is sized
so that everything (two worlds, both targets) stays within about four minutes on two cores.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from csat.settings import Settings
from features.build import build_store
from features.simulator.config import SimulationConfig
from features.simulator.world import simulate
from training.data import TARGETS, FeatureCatalog, OfflineData, Target, load_offline, load_truth
from training.pipeline import Comparison, compare
from training.train import TrainConfig

ACCOUNTS, MONTHS, SEED = 900, 24, 42
CONFIG = TrainConfig(n_candidates=3, num_threads=1, seed=SEED, shap_rows=300)  # one thread: deterministic
N_BOOT = 300


@dataclass
class World:
    """A simulated world with its feature store and both targets' comparisons."""

    scenario: str
    settings: Settings
    data: dict[Target, OfflineData]
    comparisons: dict[Target, Comparison]


def world_settings(root: Path) -> Settings:
    return Settings(
        data_dir=root / "raw",
        store_dir=root / "store",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=root / "artifacts",
        seed=SEED,
    )


def build_world(root: Path, scenario: str, catalog: FeatureCatalog) -> World:
    """Simulate, build the store with the real builder, and compare baseline vs enriched per target."""
    settings = world_settings(root)
    config = SimulationConfig(accounts=ACCOUNTS, months=MONTHS, scenario=scenario, seed=SEED)
    simulate(config, settings.data_dir)
    build_store(settings, console=Console(quiet=True))
    data = {t: load_offline(settings, t) for t in TARGETS}
    truth = load_truth(settings.data_dir, data["csat"].manifest)
    comparisons = {t: compare(data[t], catalog, CONFIG, truth=truth, n_boot=N_BOOT) for t in TARGETS}
    return World(scenario, settings, data, comparisons)
