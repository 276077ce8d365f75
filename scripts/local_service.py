"""``bentoml serve`` of the risk service in a subprocess on a loopback port, waited on until ready.

One place for what the tier-3 tests, the browser tests and the benchmarks all do: start the real server, probe
``/readyz``, and stop it.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def http_status(url: str, timeout: float = 5.0) -> int:
    """Status of a GET on ``url``; 0 when nothing answers."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:  # noqa: S310 (loopback)
            return int(r.status)
    except urllib.error.HTTPError as err:
        return int(err.code)
    except OSError:
        return 0


def start_service(
    port: int,
    *,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    timeout: float = 120.0,
    capture: bool = False,
) -> subprocess.Popen[bytes]:
    """Start ``bentoml serve serving.service:CsatService`` on ``127.0.0.1:port`` and wait for ``/readyz``.

    Args:
        port: a free loopback port.
        env: the server's environment (default: this process's).
        cwd: the server's working folder (default: this one).
        timeout: seconds to wait for readiness.
        capture: keep the server's output (in a temporary file, so a long run never fills a pipe), to report
            it when the server dies before it is ready.

    Returns:
        The running server process.

    Raises:
        RuntimeError: the server exited, or was not ready in time (it is stopped then).

    """
    cmd = [sys.executable, "-m", "bentoml", "serve", "serving.service:CsatService", "--host", "127.0.0.1",
           "--port", str(port), "--working-dir", str(ROOT)]  # fmt: skip
    log = tempfile.TemporaryFile() if capture else subprocess.DEVNULL  # noqa: SIM115 (the server writes to it)
    proc = subprocess.Popen(cmd, cwd=cwd, env=None if env is None else dict(env), stdout=log,
                            stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + timeout
    while http_status(f"http://127.0.0.1:{port}/readyz") != 200:
        if proc.poll() is not None:
            tail = ""
            if not isinstance(log, int):
                log.seek(0)
                tail = log.read().decode(errors="replace")[-3000:]
            raise RuntimeError(f"the service exited before it was ready:\n{tail}")
        if time.monotonic() > deadline:
            stop_service(proc)
            raise RuntimeError(f"the service was not ready in {timeout:.0f} s")
        time.sleep(0.5)
    return proc


def stop_service(proc: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    """Stop the server: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
