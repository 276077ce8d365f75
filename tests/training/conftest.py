from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from csat.settings import Settings
from tests.training.honest_world import World, build_world
from tests.training.synthetic import catalog as synthetic_catalog
from training.data import FeatureCatalog, load_catalog
from training.train import TrainConfig
from training.workflow import TrainOptions

FAST = TrainOptions(TrainConfig(n_candidates=2, num_threads=1, seed=7), n_boot=100, sample_rows=50)


def tmp_settings(root: Path) -> Settings:
    return Settings(
        data_dir=root / "data",
        store_dir=root / "store",
        mlflow_tracking_uri=f"sqlite:///{root / 'mlflow.db'}",
        mlflow_artifact_root=root / "artifacts",
        seed=7,
    )


@pytest.fixture(autouse=True)
def _no_mlflow_telemetry(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")


@pytest.fixture(scope="session")
def mlflow_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An empty, fully migrated MLflow SQLite database (creating one takes ~10 s; copying it is instant)."""
    from training import tracking

    root = tmp_path_factory.mktemp("mlflow-template")
    tracking.connect(tmp_settings(root)).search_experiments()
    return root / "mlflow.db"


def settings_with_store(root: Path, template: Path) -> Settings:
    shutil.copyfile(template, root / "mlflow.db")
    return tmp_settings(root)


@pytest.fixture
def settings(tmp_path: Path, mlflow_template: Path) -> Settings:
    return settings_with_store(tmp_path, mlflow_template)


@pytest.fixture
def catalog() -> FeatureCatalog:
    return synthetic_catalog()


@pytest.fixture(scope="session")
def default_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """A small ``default`` world through the real simulator, store builder and comparison (built once)."""
    return build_world(tmp_path_factory.mktemp("world-default"), "default", load_catalog())


@pytest.fixture(scope="session")
def null_world(tmp_path_factory: pytest.TempPathFactory) -> World:
    """The same world where collaboration has no effect on outcomes."""
    return build_world(tmp_path_factory.mktemp("world-null"), "null", load_catalog())
