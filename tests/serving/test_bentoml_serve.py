"""Tier 3: ``bentoml serve`` in a subprocess on a free loopback port: probed until ready, used, stopped."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from scripts.check_mlflow_ui import free_port
from scripts.local_service import http_status, start_service, stop_service
from tests.serving.conftest import world_env

pytestmark = pytest.mark.slow


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as err:
        return int(err.code), {}


def test_bentoml_serve_subprocess(world: Path) -> None:
    port = free_port()
    proc = start_service(port, env=world_env(world), cwd=world, timeout=90, capture=True)
    base = f"http://127.0.0.1:{port}"
    try:
        status, page = _post(f"{base}/at_risk", {"min_band": "low", "limit": 3})
        assert status == 200 and len(page["items"]) == 3
        ids = [i["account_id"] for i in page["items"]]
        status, body = _post(f"{base}/score", {"account_ids": [*ids, "ZZZ"]})
        assert status == 200 and len(body["results"]) == 3 and body["errors"][0]["account_id"] == "ZZZ"
        assert _post(f"{base}/score", {"account_ids": []})[0] == 400
        assert http_status(f"{base}/metrics") == 200
    finally:
        stop_service(proc)
