"""A service that cannot answer says what is not ready and what to run: no path, no traceback per request.

The HTTP checks run the service in a subprocess (its own BentoML home without models, no online store), so the
session's ready app and its settings stay untouched; no world is built.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
#: Three requests to a service that is not ready, then the answers as JSON on the last line of stdout.
PROBE = """
import json, logging
logging.basicConfig(level=logging.INFO)
from starlette.testclient import TestClient
from serving.service import CsatService
with TestClient(CsatService.to_asgi(), raise_server_exceptions=False) as client:
    answers = [client.post(route, json=body) for route, body in (
        ("/score", {"account_ids": ["A1"]}), ("/score", {"account_ids": ["A2"]}), ("/at_risk", {}))]
    ready = client.get("/readyz").status_code
print(json.dumps({"ready": ready, "answers": [[r.status_code, r.json(), dict(r.headers)] for r in answers]}))
"""


def _probe(tmp_path: Path, bentoml_home: Path) -> tuple[dict, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSAT_", "BENTOML_"))}
    env.update(
        BENTOML_HOME=str(bentoml_home),
        CSAT_STORE_DIR=str(tmp_path / "secret-store"),
        CSAT_DATA_DIR=str(tmp_path / "secret-raw"),
        BENTOML_DO_NOT_TRACK="true",
        PYTHONPATH=str(ROOT),
    )
    command = [sys.executable, "-c", PROBE]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1]), done.stderr


def test_without_models_every_route_says_to_import_them_once_in_the_log(tmp_path: Path) -> None:
    got, log = _probe(tmp_path, tmp_path / "empty-bentoml-home")
    assert got["ready"] == 503
    for status, body, headers in got["answers"]:
        assert status == 503
        assert body["error"].startswith("service not ready: the models are not in the BentoML model store")
        assert "`csat serving import`" in body["error"] and str(tmp_path) not in body["error"]
        assert "retry-after" not in headers  # waiting will not help: someone has to run the import
    assert "Traceback" not in log
    assert log.count("answering 503: service not ready") == 1
    assert log.count("service not ready: the models are not in the BentoML model store") == 2  # start, 503


def test_load_runtime_names_the_failed_step(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bentoml.exceptions import NotFound

    from serving.loading import MODELS_MISSING, MODELS_UNLOADABLE, STORE_MISSING, NotReadyError, load_runtime

    monkeypatch.chdir(tmp_path)  # no csat.toml of the repository's
    monkeypatch.setenv("CSAT_STORE_DIR", str(tmp_path / "no-store"))
    monkeypatch.setenv("CSAT_DATA_DIR", str(tmp_path / "no-raw"))

    def no_models() -> dict:
        raise NotFound(f"Model csat-satisfaction:latest not found in {tmp_path}")

    def broken_models() -> dict:
        raise ValueError("Model file is not a LightGBM booster")

    with pytest.raises(NotReadyError) as err:
        load_runtime(no_models)
    assert str(err.value) == MODELS_MISSING and isinstance(err.value.__cause__, NotFound)
    monkeypatch.setattr("serving.loading.models_absent", lambda: False)  # the store has them
    with pytest.raises(NotReadyError) as err:  # there, but not loadable: not "run import" as if absent
        load_runtime(broken_models)
    assert str(err.value) == MODELS_UNLOADABLE and "could not be loaded" in MODELS_UNLOADABLE
    with pytest.raises(NotReadyError) as err:
        load_runtime(dict)
    assert str(err.value) == STORE_MISSING and str(tmp_path) not in str(err.value)
    assert "`csat features build`" in STORE_MISSING and "`csat serving import`" in MODELS_MISSING
