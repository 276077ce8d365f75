"""Open the MLflow UI on a tracking store in a real headless Chromium and check what a reviewer must see.

Checks, on the rendered React pages (not the REST API): the target's experiment lists the comparison's parent
run; expanding it shows the two child runs (``baseline`` and ``enriched``); the compare view shows both
children side by side with their test metrics; the parent run's page shows the paired lift metric
(``lift_roc_auc``). The UI is started with the same command as ``make mlflow-ui`` / ``csat ui``.

Run: ``python -m scripts.check_mlflow_ui [--target csat] [--port 5061] [--screenshots DIR]`` (settings from
``csat.toml`` / ``CSAT_*``). Exit code 0 when every check passed, 1 when one failed, 2 when no browser runs.
Needs the ``playwright`` Python package and a Chromium binary (Debian: ``apt-get install chromium``); the
package's own browser download (``playwright install``) is not needed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from csat.settings import Settings, load_settings

CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
RENDER_TIMEOUT_MS = 60_000


class BrowserUnavailableError(RuntimeError):
    """Raised when neither Playwright nor a Chromium binary is available."""


@dataclass
class UiReport:
    """What the checks found on the rendered pages."""

    url: str
    checks: dict[str, bool] = field(default_factory=dict)
    details: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """Every check passed."""
        return bool(self.checks) and all(self.checks.values())


def find_chromium() -> str | None:
    """Path of a Chromium binary (``CSAT_CHROMIUM`` wins), or ``None``."""
    explicit = os.environ.get("CSAT_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for path in CHROMIUM_CANDIDATES:
        if Path(path).is_file():
            return path
    found = shutil.which("chromium")
    return found


def browser_problem() -> str | None:
    """Why no headless browser can run here, or ``None`` when one can."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "the playwright Python package is not installed (pip install playwright)"
    if find_chromium() is None:
        return "no Chromium binary found (apt-get install chromium, or set CSAT_CHROMIUM)"
    return None


def free_port() -> int:
    """A TCP port free on localhost right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"the MLflow UI exited early with code {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (local URL)
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise TimeoutError(f"the MLflow UI did not answer at {url} within {timeout:.0f} s")


@contextmanager
def serve_ui(settings: Settings, port: int, timeout: float = 240.0) -> Iterator[str]:
    """Start the MLflow UI exactly as ``csat ui`` does, yield its URL, and stop it afterwards.

    Args:
        settings: the project settings (tracking store and artifact root).
        port: port to bind on 127.0.0.1.
        timeout: seconds to wait for the first answer.

    Yields:
        The base URL.

    """
    from training.tracking import ui_command

    env = {**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}
    proc = subprocess.Popen(  # noqa: S603 (our own argv)
        ui_command(settings, "127.0.0.1", port),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_http(url + "/health", proc, timeout)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


def _text(page: Any) -> str:
    return str(page.inner_text("body"))


def _wait_for_text(page: Any, needles: list[str], timeout_ms: int = RENDER_TIMEOUT_MS) -> bool:
    """Wait until the rendered body shows every needle; False when the time runs out."""
    deadline = time.monotonic() + timeout_ms / 1000
    while time.monotonic() < deadline:
        body = _text(page)
        if all(n in body for n in needles):
            return True
        page.wait_for_timeout(500)
    missing = [n for n in needles if n not in _text(page)]
    print(f"not rendered within {timeout_ms / 1000:.0f} s: {missing}", file=sys.stderr)
    return False


def _expand_parent(page: Any, parent_name: str) -> None:
    """Click the expander in the parent run's name cell so its nested child runs show."""
    for selector in ("[data-component-id*='runnamecellrenderer']", "[aria-label='Expand child runs']"):
        buttons = page.locator(selector)
        if buttons.count():
            buttons.first.click()
            return
    cell = page.locator(".ag-cell", has=page.get_by_text(parent_name, exact=True)).locator("button")
    if cell.count():
        cell.first.click()


def check_pages(
    base_url: str,
    experiment_id: str,
    parent_run_id: str,
    child_run_ids: dict[str, str],
    screenshots: Path | None = None,
    target: str = "csat",
) -> UiReport:
    """Drive a headless Chromium through the experiment, compare and parent-run pages.

    Args:
        base_url: the running MLflow UI.
        experiment_id: the target's experiment.
        parent_run_id: the comparison's parent run.
        child_run_ids: feature-set name -> child run id (``baseline``, ``enriched``).
        screenshots: folder for one PNG per page, or ``None``.
        target: the comparison's target (its parent run is named ``<target>-comparison``).

    Returns:
        The report.

    Raises:
        BrowserUnavailableError: no browser can run here.

    """
    problem = browser_problem()
    if problem:
        raise BrowserUnavailableError(problem)
    from playwright.sync_api import sync_playwright

    report = UiReport(base_url)
    names = sorted(child_run_ids)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=find_chromium(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1000})
            page.set_default_timeout(RENDER_TIMEOUT_MS)

            def shot(name: str) -> None:
                if screenshots is not None:
                    screenshots.mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(screenshots / f"{name}.png"), full_page=True)

            page.goto(f"{base_url}/#/experiments/{experiment_id}/runs", wait_until="domcontentloaded")
            parent_name = f"{target}-comparison"
            report.checks["experiment_lists_parent_run"] = _wait_for_text(page, [parent_name])
            _expand_parent(page, parent_name)
            report.checks["parent_expands_to_both_children"] = _wait_for_text(page, names)
            shot("experiment")

            runs = json.dumps([child_run_ids[n] for n in names])
            page.goto(
                f"{base_url}/#/compare-runs?runs={runs}&experiments={json.dumps([experiment_id])}",
                wait_until="domcontentloaded",
            )
            side_by_side = ["Comparing 2 Runs", "Run Name", "test_accuracy", *names]
            report.checks["children_compared_side_by_side"] = _wait_for_text(page, side_by_side)
            report.details["compare_excerpt"] = _text(page)[:600]
            shot("compare")

            page.goto(
                f"{base_url}/#/experiments/{experiment_id}/runs/{parent_run_id}",
                wait_until="domcontentloaded",
            )
            report.checks["parent_shows_lift"] = _wait_for_text(page, ["lift_roc_auc"])
            body = _text(page)
            at = body.find("lift_roc_auc")
            report.details["parent_lift_excerpt"] = body[max(0, at - 40) : at + 120] if at >= 0 else ""
            shot("parent")
        finally:
            browser.close()
    return report


def latest_comparison(settings: Settings, target: str) -> tuple[str, str, dict[str, str]]:
    """Experiment id, parent run id and child run ids of the latest comparison of a target.

    Args:
        settings: the project settings.
        target: ``csat`` or ``churn``.

    Returns:
        The ids (read through ``training.tracking``, the one module that talks to MLflow).

    """
    from training.tracking import latest_comparison_runs

    return latest_comparison_runs(settings, target)


def main(argv: list[str] | None = None) -> int:
    """Serve the UI on the configured store and check the latest comparison of a target."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default="csat", choices=["csat", "churn"])
    parser.add_argument("--port", type=int, default=0, help="port (default: a free one)")
    parser.add_argument("--screenshots", type=Path, default=None, help="write page screenshots here")
    args = parser.parse_args(argv)
    problem = browser_problem()
    if problem:
        print(f"cannot check the MLflow UI: {problem}", file=sys.stderr)
        return 2
    settings = load_settings()
    experiment_id, parent, children = latest_comparison(settings, args.target)
    with serve_ui(settings, args.port or free_port()) as url:
        report = check_pages(url, experiment_id, parent, children, args.screenshots, args.target)
    print(json.dumps({"url": report.url, "checks": report.checks, "details": report.details}, indent=2))
    return 0 if report.ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
