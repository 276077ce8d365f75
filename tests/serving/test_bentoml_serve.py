"""Tier 3: ``bentoml serve`` in a subprocess on a free loopback port: probed until ready, used, stopped."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.serving.conftest import world_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=5) as r:
            return int(r.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def _post(url: str, body: dict) -> tuple[int, dict]:
    req = urllib.request.Request(url, json.dumps(body).encode(), {"content-type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return int(r.status), json.loads(r.read())
    except urllib.error.HTTPError as err:
        return int(err.code), {}


def test_bentoml_serve_subprocess(world: Path) -> None:
    port = _free_port()
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:CsatService", "--host", "127.0.0.1",
           "--port", str(port), "--working-dir", str(ROOT)]  # fmt: skip
    proc = subprocess.Popen(
        cmd, cwd=world, env=world_env(world), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while _get(f"{base}/readyz") != 200:
            assert proc.poll() is None, proc.stdout.read().decode()[-3000:] if proc.stdout else ""
            assert time.monotonic() < deadline, "service not ready in 90 s"
            time.sleep(0.5)
        status, page = _post(f"{base}/at_risk", {"min_band": "low", "limit": 3})
        assert status == 200 and len(page["items"]) == 3
        ids = [i["account_id"] for i in page["items"]]
        status, body = _post(f"{base}/score", {"account_ids": [*ids, "ZZZ"]})
        assert status == 200 and len(body["results"]) == 3 and body["errors"][0]["account_id"] == "ZZZ"
        assert _post(f"{base}/score", {"account_ids": []})[0] == 400
        assert _get(f"{base}/metrics") == 200
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
