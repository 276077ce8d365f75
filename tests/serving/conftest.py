"""A small seeded world, trained and imported once per session; serving fixtures on top of it."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

#: The online store's date: the world's end, so that the windows hold its data.
STORE_DATE = "2026-01-01"
#: The whole world in one Python process (one import of the heavy stack): simulate, build, train, import.
BUILD = f"""
from csat.cli import app
for args in (
    ["simulate", "--accounts", "100", "--months", "24", "--seed", "11", "--out", "data/raw"],
    ["features", "build", "--as-of", "{STORE_DATE}"],
    ["train", "--target", "all", "--candidates", "1", "--n-boot", "20", "--threads", "2"],
):
    app(args, standalone_mode=False)
from serving.models import import_champions
print(import_champions("sqlite:///mlruns/mlflow.db"))
"""


def world_env(root: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        BENTOML_HOME=str(root / "bentoml"),
        CSAT_STORE_DIR=str(root / "store"),
        CSAT_DATA_DIR=str(root / "data" / "raw"),
        MLFLOW_DISABLE_TELEMETRY="true",
        BENTOML_DO_NOT_TRACK="true",
        PYTHONPATH=str(Path(__file__).resolve().parents[2]),
    )
    env.pop("CSAT_API_TOKEN", None)
    return env


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("serving-world")
    env = world_env(root)
    done = subprocess.run([sys.executable, "-c", BUILD], cwd=root, env=env, capture_output=True, text=True,
                          timeout=400)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    return root


@pytest.fixture(scope="session")
def serving_env(world: Path) -> Iterator[Path]:
    """Point this process at the world (BentoML home and store) for in-process tiers."""
    saved = dict(os.environ)
    os.environ.update({k: v for k, v in world_env(world).items() if k != "PYTHONPATH"})
    os.environ.pop("CSAT_API_TOKEN", None)
    from bentoml._internal.configuration.containers import BentoMLContainer
    from bentoml._internal.models.model import ModelStore

    BentoMLContainer.bentoml_home.set(str(world / "bentoml"))
    BentoMLContainer.model_store.set(ModelStore(str(world / "bentoml" / "models")))
    yield world
    os.environ.clear()
    os.environ.update(saved)


@pytest.fixture(scope="session")
def service(serving_env: Path):  # noqa: ANN201
    from serving.service import CsatService

    inst = CsatService()
    assert inst.__is_ready__(), inst.problem
    return inst


@pytest.fixture(scope="session")
def account_ids(service) -> list[str]:  # noqa: ANN001
    return list(service.runtime.store["account_id"][:20])


API_TOKEN = "s3cret-token"


@pytest.fixture(scope="session")
def http_client(serving_env: Path) -> Iterator:
    """The session's one in-process app (BentoML registers Prometheus metrics per app), token set."""
    from starlette.testclient import TestClient

    from serving.service import CsatService

    headers = {"Authorization": f"Bearer {API_TOKEN}"}
    client = TestClient(CsatService.to_asgi(), raise_server_exceptions=False, headers=headers)
    os.environ["CSAT_API_TOKEN"] = API_TOKEN  # read when the app builds its middleware stack (at start-up)
    try:
        client.__enter__()
    finally:
        del os.environ["CSAT_API_TOKEN"]
    yield client
    client.__exit__(None, None, None)
