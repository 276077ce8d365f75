"""Serving benchmark: in-process ceiling, HTTP batch throughput, live and stored latency, a load run.

Run in a working folder holding a built store and imported models (``csat serving import``), e.g.
``cd /tmp/srv && python -m bench.bench_serving --duration 60``. Figures go to ``bench/results/serving.json``.
Targets (issue #5): HTTP batch >= 70% of the in-process ceiling; live p50 <= 15 ms, p99 <= 50 ms;
stored p50 <= 5 ms; the load run has zero errors and a flat server RSS (growth <= 10%).
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import threading
import time
from typing import Any

import numpy as np

from bench.common import write_result
from scripts.check_mlflow_ui import free_port
from scripts.local_service import start_service, stop_service

BATCH = 100


class Client:
    """A persistent HTTP/1.1 connection posting JSON."""

    def __init__(self, port: int) -> None:
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)

    def post(self, path: str, body: dict[str, Any]) -> int:
        self.conn.request("POST", path, json.dumps(body), {"content-type": "application/json"})
        resp = self.conn.getresponse()
        resp.read()
        return int(resp.status)

    def get(self, path: str) -> int:
        self.conn.request("GET", path)
        resp = self.conn.getresponse()
        resp.read()
        return int(resp.status)


def _load_runtime() -> Any:
    import bentoml

    from csat.settings import load_settings
    from serving.models import MODEL_NAMES, load_stored
    from serving.runtime import Runtime

    settings = load_settings()
    models = {r: load_stored(r, bentoml.models.get(f"{n}:latest")) for r, n in MODEL_NAMES.items()}
    return Runtime.load(models, settings.store_dir, settings.data_dir), settings


def in_process_ceiling(runtime: Any, ids: list[str], seconds: float) -> float:
    """Accounts per second scoring live batches of 100 in this process (one thread), after a warm-up."""
    for _ in range(3):
        runtime.score_ids(ids, top_k=5, live=True)
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        runtime.score_ids(ids, top_k=5, live=True)
        n += len(ids)
    return n / (time.perf_counter() - start)


def latencies(client: Client, body: dict[str, Any], n: int) -> dict[str, float]:
    """p50/p99 in ms of ``n`` sequential POST /score calls."""
    out = []
    for _ in range(n):
        t = time.perf_counter()
        assert client.post("/score", body) == 200
        out.append((time.perf_counter() - t) * 1000)
    arr = np.asarray(out)
    return {"p50_ms": float(np.percentile(arr, 50)), "p99_ms": float(np.percentile(arr, 99))}


def http_batch(client: Client, ids: list[str], seconds: float) -> float:
    """Accounts per second through HTTP, live batches of 100, after a warm-up."""
    for _ in range(3):
        client.post("/score", {"account_ids": ids, "live": True})
    n, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        assert client.post("/score", {"account_ids": ids, "live": True}) == 200
        n += len(ids)
    return n / (time.perf_counter() - start)


def concurrent_singles(
    port: int, route: str, ids: list[str], seconds: float, threads: int = 8
) -> dict[str, Any]:
    """Accounts per second when ``threads`` callers each send one account at a time, live, to ``route``."""
    done, errors, stop = [0] * threads, [0] * threads, threading.Event()

    def body(i: int) -> dict[str, Any]:
        one = [ids[i % len(ids)]]
        return {"account_ids": one} if route == "/score_batch" else {"account_ids": one, "live": True}

    def worker(k: int) -> None:
        client, i = Client(port), k
        for _ in range(3):
            client.post(route, body(i))
        while not stop.is_set():
            ok = client.post(route, body(i)) == 200
            done[k] += 1
            errors[k] += 0 if ok else 1
            i += threads

    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    time.sleep(1.0)  # warm-up
    start, before = time.perf_counter(), sum(done)
    time.sleep(seconds)
    rate = (sum(done) - before) / (time.perf_counter() - start)
    stop.set()
    for t in pool:
        t.join()
    return {"accounts_per_s": rate, "errors": sum(errors), "threads": threads}


def _rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    return sum(p.memory_info().rss for p in [proc, *proc.children(recursive=True)]) / 2**20


def load_run(port: int, ids: list[str], seconds: float, pid: int, threads: int = 3) -> dict[str, Any]:
    """Mixed traffic from a few threads; counts errors and samples the server's RSS."""
    errors, done, stop = [0], [0], threading.Event()

    def worker(k: int) -> None:
        client, i = Client(port), k
        while not stop.is_set():
            body = {"account_ids": [ids[i % len(ids)]], "live": i % 2 == 0}
            try:
                ok = client.post("/score", body) == 200 and client.post("/at_risk", {"limit": 10}) == 200
            except OSError:
                ok, client = False, Client(port)
            errors[0] += 0 if ok else 1
            done[0] += 2
            i += threads

    rss = [_rss_mb(pid)]
    pool = [threading.Thread(target=worker, args=(k,)) for k in range(threads)]
    for t in pool:
        t.start()
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        time.sleep(min(5.0, seconds / 6))
        rss.append(_rss_mb(pid))
    stop.set()
    for t in pool:
        t.join()
    growth = (rss[-1] - rss[1]) / rss[1] if len(rss) > 2 else 0.0
    return {"requests": done[0], "errors": errors[0], "rss_mb": rss, "rss_growth": growth}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of the load run")
    parser.add_argument("--measure", type=float, default=5.0, help="seconds per throughput measurement")
    args = parser.parse_args(argv)
    os.environ.setdefault("BENTOML_DO_NOT_TRACK", "true")
    from serving.scoring import score_all

    runtime, settings = _load_runtime()
    ids = list(runtime.store["account_id"][:BATCH])
    figures: dict[str, Any] = {"accounts": len(runtime.store), "batch": len(ids)}
    figures["in_process_accounts_per_s"] = in_process_ceiling(runtime, ids, args.measure)
    score_all(runtime, settings.store_dir)
    port = free_port()
    proc = start_service(port)
    try:
        client = Client(port)
        figures["http_batch_accounts_per_s"] = http_batch(client, ids, args.measure)
        figures["http_vs_in_process"] = (
            figures["http_batch_accounts_per_s"] / figures["in_process_accounts_per_s"]
        )
        figures["live_single"] = latencies(client, {"account_ids": ids[:1], "live": True}, 300)
        figures["stored_single"] = latencies(client, {"account_ids": ids[:1]}, 300)
        figures["singles_unbatched"] = concurrent_singles(port, "/score", ids, args.measure)
        figures["singles_adaptive_batching"] = concurrent_singles(port, "/score_batch", ids, args.measure)
        batched, single = figures["singles_adaptive_batching"], figures["singles_unbatched"]
        figures["adaptive_batching_gain"] = batched["accounts_per_s"] / single["accounts_per_s"]
        figures["load"] = load_run(port, ids, args.duration, proc.pid)
    finally:
        stop_service(proc)
    figures["targets_met"] = {
        "http_batch_ge_70pct": figures["http_vs_in_process"] >= 0.7,
        "live_p50_le_15ms": figures["live_single"]["p50_ms"] <= 15,
        "live_p99_le_50ms": figures["live_single"]["p99_ms"] <= 50,
        "stored_p50_le_5ms": figures["stored_single"]["p50_ms"] <= 5,
        "load_zero_errors": figures["load"]["errors"] == 0,
        "batching_no_errors": figures["singles_adaptive_batching"]["errors"] == 0,
        "load_rss_flat": figures["load"]["rss_growth"] <= 0.10,
    }
    write_result("serving", figures)
    return 0


if __name__ == "__main__":
    sys.exit(main())
