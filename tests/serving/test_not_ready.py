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


#: A service started with an empty model store; the models arrive (as `csat serving import` leaves them) while
#: it runs. The answers as JSON on the last line of stdout.
IMPORT_WHILE_RUNNING = """
import json, shutil, sys
from serving import loading
loading.RETRY_INTERVAL_S = 0.0
from serving.service import CsatService
svc = CsatService()
before, problem = svc.__is_ready__(), svc.problem
shutil.copytree(sys.argv[1], sys.argv[2], dirs_exist_ok=True)
after = svc.__is_ready__()
print(json.dumps({"before": before, "problem": problem, "after": after, "now": svc.problem}))
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
        assert "without a restart" in body["error"]  # the service picks the models up once imported
        assert "retry-after" not in headers  # waiting will not help: someone has to run the import
    assert "Traceback" not in log
    assert log.count("answering 503: service not ready") == 1
    assert log.count("service not ready: the models are not in the BentoML model store") == 2  # start, 503


def test_models_imported_after_start_up_make_the_service_ready_without_a_restart(
    world: Path, tmp_path: Path
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CSAT_", "BENTOML_"))}
    home = tmp_path / "bentoml-home"
    env.update(
        BENTOML_HOME=str(home),
        CSAT_STORE_DIR=str(world / "store"),
        CSAT_DATA_DIR=str(world / "data" / "raw"),
        BENTOML_DO_NOT_TRACK="true",
        PYTHONPATH=str(ROOT),
    )
    command = [
        sys.executable,
        "-c",
        IMPORT_WHILE_RUNNING,
        str(world / "bentoml" / "models"),
        str(home / "models"),
    ]
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-3000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    assert got["before"] is False and got["problem"].startswith(
        "the models are not in the BentoML model store"
    )
    assert got["after"] is True and got["now"] == ""


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


def test_a_service_started_without_the_online_store_gets_ready_once_it_appears(
    serving_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    import logging
    import shutil

    from bentoml.exceptions import ServiceUnavailable

    from serving import errors, loading
    from serving.service import CsatService

    monkeypatch.setattr(errors, "UNAVAILABLE", {})
    monkeypatch.setattr(errors, "_LOGGED", {})
    monkeypatch.setenv("CSAT_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 0.0)
    attempts = []

    def counted(declared):  # noqa: ANN001, ANN202
        attempts.append(1)
        return real(declared)

    real = loading.load_runtime
    monkeypatch.setattr(loading, "load_runtime", counted)
    with caplog.at_level(logging.INFO, logger="csat.serving"):
        svc = CsatService()
        assert not svc.__is_ready__() and not svc.__is_ready__() and len(attempts) == 1  # nothing changed
        assert svc.problem == loading.STORE_MISSING and "without a restart" in svc.problem
        with pytest.raises(ServiceUnavailable, match="the online feature store is missing"):
            svc.model_info()
        monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 3600.0)
        shutil.copytree(serving_env / "store", tmp_path / "store", symlinks=True)
        assert not svc.__is_ready__() and len(attempts) == 1  # the interval has not passed: no new attempt
        monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 0.0)
        assert svc.__is_ready__() and svc.problem == "" and len(attempts) == 2
    ids = list(svc.runtime.store["account_id"][:3])
    assert [r.account_id for r in svc.score(account_ids=ids).results] == ids
    assert svc.__is_ready__() and len(attempts) == 2  # a ready service never reloads
    said = [r.getMessage() for r in caplog.records if r.name == "csat.serving"]
    assert sum(m.startswith("service not ready: the online feature store is missing") for m in said) == 1
    assert any(m.startswith("service ready") for m in said)


def test_concurrent_probes_start_one_load_and_do_not_wait_for_it(monkeypatch: pytest.MonkeyPatch) -> None:
    import threading
    import time
    from concurrent.futures import ThreadPoolExecutor

    from serving import loading
    from serving.service import CsatService

    calls: list[str] = []
    loading_now, release = threading.Event(), threading.Event()

    def missing(_declared: object) -> None:
        calls.append("missing")
        raise loading.NotReadyError(loading.STORE_MISSING, retry=True)

    def slow(_declared: object) -> object:
        calls.append("load")
        loading_now.set()
        assert release.wait(10)
        return object()

    inputs = ["no store"]
    monkeypatch.setattr(loading, "inputs_signature", lambda: inputs[0])
    monkeypatch.setattr(loading, "load_runtime", missing)
    svc = CsatService()
    assert not svc.__is_ready__() and calls == ["missing"]  # 15 s have not passed since start-up
    monkeypatch.setattr(loading, "load_runtime", slow)
    monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 0.0)
    inputs[0] = "a store"  # built meanwhile
    with ThreadPoolExecutor(max_workers=4) as pool:
        first = pool.submit(svc.__is_ready__)
        assert loading_now.wait(10)
        started = time.monotonic()
        assert [f.result(5) for f in [pool.submit(svc.__is_ready__) for _ in range(3)]] == [False] * 3
        assert time.monotonic() - started < 5  # they answered at once, not after the load
        release.set()
        assert first.result(10)
    assert calls == ["missing", "load"] and svc.__is_ready__() and calls == ["missing", "load"]


def test_retrying_stops_at_a_failure_only_a_restart_fixes_and_the_503_says_so(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from bentoml.exceptions import ServiceUnavailable

    from serving import errors, loading
    from serving.service import CsatService

    answers = [
        loading.NotReadyError(loading.STORE_MISSING, retry=True),
        loading.NotReadyError(loading.MODELS_UNLOADABLE),
    ]
    calls: list[str] = []

    def failing(_declared: object) -> None:
        calls.append(str(answers[0]))
        raise answers.pop(0) if len(answers) > 1 else answers[0]

    monkeypatch.setattr(errors, "UNAVAILABLE", {})
    monkeypatch.setattr(errors, "_LOGGED", {})
    monkeypatch.setattr(loading, "load_runtime", failing)
    monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 0.0)
    monkeypatch.setattr(loading, "inputs_signature", object)  # a change at every look
    svc = CsatService()
    assert not svc.__is_ready__() and not svc.__is_ready__()
    assert calls == [loading.STORE_MISSING, loading.MODELS_UNLOADABLE]  # retried once, then no more
    with pytest.raises(ServiceUnavailable, match="then restart the service"):
        svc.model_info()
    assert len(calls) == 2


def test_an_unreadable_store_is_loaded_again_only_once_a_rebuild_replaces_it(
    serving_env: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from features.store import online_path
    from serving import errors, loading
    from serving.service import CsatService

    monkeypatch.setattr(errors, "UNAVAILABLE", {})
    monkeypatch.setattr(errors, "_LOGGED", {})
    shutil.copytree(serving_env / "store", tmp_path / "store", symlinks=True)
    monkeypatch.setenv("CSAT_STORE_DIR", str(tmp_path / "store"))
    monkeypatch.setattr(loading, "RETRY_INTERVAL_S", 0.0)
    live = online_path(tmp_path / "store")
    good = live.read_bytes()
    live.write_bytes(b"\x00half a file")  # a copy that stopped short
    attempts = []
    real = loading.load_runtime
    monkeypatch.setattr(loading, "load_runtime", lambda d: attempts.append(1) or real(d))
    svc = CsatService()
    assert svc.problem == loading.STORE_UNREADABLE
    assert not any(svc.__is_ready__() for _ in range(5)) and len(attempts) == 1  # no reload per probe
    fresh = live.with_name("rebuilt.sqlite")
    fresh.write_bytes(good)
    fresh.replace(live)  # what a rebuild does
    assert svc.__is_ready__() and len(attempts) == 2
