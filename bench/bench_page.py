"""Page benchmark: how fast the account-risk page shows the list, in a real headless Chromium on loopback.

Starts ``bentoml serve`` over a built world (store, imported models, scored history) and opens ``/ui/``:
the figure is the page's own ``performance.now()`` from navigation start to the list's rows in the DOM (the
shell, ``/model_info`` and ``/at_risk`` included), over fresh loads, then the time for a filter change and for
a 200-row page. Target (issue #6): the list for 2,000 accounts renders in under one second on loopback.

Run: ``python -m bench.bench_page --world DIR`` where DIR holds ``store/``, ``data/raw/`` and ``bentoml/``
(as ``make demo`` leaves them, with ``BENTOML_HOME=DIR/bentoml``), or with ``CSAT_*``/``BENTOML_HOME`` set.
Figures go to ``bench/results/page.json``.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

from bench.common import write_result
from scripts.local_service import ROOT, start_service, stop_service

READY = "#list-view[data-ready='true']"


def _env(world: Path | None) -> dict[str, str]:
    env = {**os.environ, "BENTOML_DO_NOT_TRACK": "true", "PYTHONPATH": str(ROOT)}
    env.pop("CSAT_API_TOKEN", None)
    if world is not None:
        env.update(CSAT_STORE_DIR=str(world / "store"), CSAT_DATA_DIR=str(world / "data" / "raw"))
        if (world / "bentoml").is_dir():
            env["BENTOML_HOME"] = str(world / "bentoml")
    return env


def _screenshots(page: Any, out: Path, account: str | None) -> None:
    """The list as first shown, then one account's view (``account``, else the list's first row)."""
    out.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out / "page-list.png"))
    target = account or page.locator("#accounts tbody tr").first.get_attribute("data-account")
    page.goto(page.url.split("#")[0] + f"#/account/{target}")
    page.wait_for_selector(f"#account-view[data-ready='true'][data-account='{target}']", state="attached")
    page.screenshot(path=str(out / "page-account.png"), full_page=True)
    print(f"screenshots: {out}")


def _measure(base: str, loads: int, shots: Path | None = None, account: str | None = None) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    from scripts.check_mlflow_ui import CHROMIUM_ARGS, find_chromium

    first, fetch, render = [], [], []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        for _ in range(loads):
            page.goto(f"{base}/ui/", wait_until="commit")
            page.wait_for_selector(READY, state="attached")
            t = page.evaluate("window.csatPage.timings")
            first.append(t["firstList"])
            fetch.append(t["listFetch"])
            render.append(t["listRender"])
        if shots is not None:
            _screenshots(page, shots, account)
            page.goto(f"{base}/ui/#/", wait_until="commit")
            page.wait_for_selector(READY, state="attached")
        out: dict[str, Any] = {
            "accounts": int(page.get_attribute("#list-view", "data-total") or 0),
            "navigation_to_rows_ms": {"median": statistics.median(first), "max": max(first), "all": first},
            "at_risk_fetch_ms_median": statistics.median(fetch),
            "render_50_rows_ms_median": statistics.median(render),
        }
        page.select_option("#f-band", "all")
        page.wait_for_selector(READY, state="attached")
        out["accounts_all_bands"] = int(page.get_attribute("#list-view", "data-total") or 0)
        page.select_option("#f-limit", "200")
        page.wait_for_selector(READY, state="attached")
        t = page.evaluate("window.csatPage.timings")
        out["page_of_200_rows_ms"] = {"fetch": t["listFetch"], "render": t["listRender"]}
        started = time.perf_counter()
        page.select_option("#f-segment", index=1)
        page.wait_for_selector(READY, state="attached")
        out["filter_change_ms"] = 1000 * (time.perf_counter() - started)
        browser.close()
    return out


def main(argv: list[str] | None = None) -> int:
    """Serve the world, measure the page, write ``bench/results/page.json``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--world", type=Path, default=None, help="folder with store/, data/raw/, bentoml/")
    parser.add_argument("--loads", type=int, default=5, help="fresh page loads measured")
    parser.add_argument("--screenshots", type=Path, default=None, help="also save both views here")
    parser.add_argument("--account", default=None, help="account for the screenshot (default: the top one)")
    args = parser.parse_args(argv)
    from scripts.check_mlflow_ui import browser_problem, free_port

    problem = browser_problem()
    if problem:
        print(f"cannot measure the page: {problem}", file=sys.stderr)
        return 2
    port = free_port()
    proc = start_service(port, env=_env(args.world.resolve() if args.world else None), timeout=180)
    try:
        figures = _measure(f"http://127.0.0.1:{port}", args.loads, args.screenshots, args.account)
    finally:
        stop_service(proc)
    figures["target_ms"] = 1000
    figures["met"] = figures["navigation_to_rows_ms"]["max"] < 1000
    write_result("page", figures)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
