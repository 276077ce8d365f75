"""Tier 3: the account-risk page in a real headless Chromium, against ``bentoml serve`` on a loopback port.

The service runs with ``CSAT_API_TOKEN`` set, so the page must ask for the token and send it. It serves the
test world's models over a copy of the world's online store (built as of the world's end), with
five synthetic weekly score runs before today's (probabilities shifted a little each week) so the trend chart
and the change since last week have something to show. Screenshots of both views go to ``.tmp/screenshots/``
(or ``CSAT_SCREENSHOTS``); ``python -m scripts.page_screenshots`` copies them to ``docs/images/``. Needs the
``playwright`` package and Debian's ``chromium`` (``make test`` runs ``scripts/ensure_browser.sh``); without
them the tests skip and say why.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from features.store import online_path
from scripts.local_service import start_service, stop_service
from tests.serving.conftest import world_env

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[2]
TOKEN = "page-test-token"
WEEKS = 5
#: The list is drawn (the page sets these attributes; selectors, as the page's CSP forbids eval'd predicates)
READY = "#list-view[data-ready='true'][data-total='{total}']"


def screenshot_dir() -> Path:
    """Where the browser tests leave their screenshots."""
    return Path(os.environ.get("CSAT_SCREENSHOTS") or ROOT / ".tmp" / "screenshots")


def seed_weekly_history(runtime: Any, store: Path, weeks: int = WEEKS) -> None:
    """Score every account ``weeks + 1`` times, dating all runs but the last one week apart into the past."""
    from serving.scoring import score_all, scores_path

    for k in range(weeks, 0, -1):
        score_all(runtime, store)
        when = (datetime.now(UTC) - timedelta(days=7 * k)).isoformat(timespec="seconds")
        with sqlite3.connect(scores_path(store)) as con:
            con.execute(
                "UPDATE scores SET scored_at = ?, churn_probability = churn_probability * ?, "
                "satisfaction_probability = MIN(1.0, satisfaction_probability * ?) "
                "WHERE scored_at = (SELECT MAX(scored_at) FROM scores)",
                (when, 1.0 - 0.08 * k, 1.0 + 0.03 * k),
            )
    score_all(runtime, store)


@pytest.fixture(scope="module")
def chromium() -> str:
    from scripts.check_mlflow_ui import browser_problem, find_chromium

    problem = browser_problem()
    if problem:
        pytest.skip(f"no headless browser for the page tests: {problem}")
    return str(find_chromium())


@pytest.fixture(scope="module")
def page_runtime(world: Path, service, tmp_path_factory: pytest.TempPathFactory) -> Any:  # noqa: ANN001
    """The served store, loaded in-process with the served models: what the page must show."""
    from serving.runtime import Runtime

    store = tmp_path_factory.mktemp("page-store")  # its own score history, apart from the session's store
    shutil.copytree(online_path(world / "store").parent, online_path(store).parent)
    runtime = Runtime.load(service.runtime.scorer.models, store, world / "data" / "raw")
    seed_weekly_history(runtime, store)
    runtime.reload_stored()
    return runtime


@pytest.fixture(scope="module")
def base_url(world: Path, page_runtime, chromium: str) -> Iterator[str]:  # noqa: ANN001
    from scripts.check_mlflow_ui import free_port

    port = free_port()
    env = {**world_env(world), "CSAT_STORE_DIR": str(page_runtime.store_dir), "CSAT_API_TOKEN": TOKEN}
    proc = start_service(port, env=env, cwd=world, capture=True)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        stop_service(proc)


@pytest.fixture(scope="module")
def browser(chromium: str) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    from scripts.check_mlflow_ui import CHROMIUM_ARGS

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS, headless=True)
        yield b
        b.close()


@pytest.fixture
def page(browser, base_url: str) -> Iterator[Any]:  # noqa: ANN001
    """A fresh tab: opens the page, gives the token when asked, records every URL it requests."""
    tab = browser.new_page(viewport={"width": 1440, "height": 900})
    tab.set_default_timeout(30_000)
    tab.requested = []
    tab.on("request", lambda req: tab.requested.append(req.url))
    tab.goto(f"{base_url}/ui/")
    tab.wait_for_selector("#token-view:not([hidden])")
    tab.fill("#token-input", TOKEN)
    tab.click("#token-form button")
    yield tab
    assert all(u.startswith(base_url) for u in tab.requested), "the page requested something off this origin"
    tab.close()


def _wait_list(tab: Any, total: int) -> int:
    tab.wait_for_selector(READY.format(total=total), state="attached")
    return tab.locator("#accounts tbody tr").count()


def _shot(tab: Any, name: str, full: bool) -> None:
    out = screenshot_dir()
    out.mkdir(parents=True, exist_ok=True)
    tab.screenshot(path=str(out / name), full_page=full)
    print(f"screenshot: {out / name}")


def _at_risk(rt: Any, min_band: str = "medium", segment: str | None = None, **kw: Any) -> Any:
    return rt.at_risk(segment, None, None, min_band, 0, 200, **kw)


def test_list_loads_filters_and_searches(page, page_runtime) -> None:  # noqa: ANN001
    rt = page_runtime
    at_risk = _at_risk(rt)
    assert _wait_list(page, at_risk.total) == min(50, at_risk.total)
    first = page.locator("#accounts tbody tr").first
    assert first.get_attribute("data-account") == at_risk.items[0].account_id
    assert at_risk.items[0].name in first.inner_text()
    _shot(page, "page-list.png", full=False)
    print(f"list timings (ms): {page.evaluate('window.csatPage.timings')}")

    listed = _at_risk(rt, "low")
    everyone, former = listed.total, listed.former_customers
    assert former > 0 and everyone + former == len(rt.store)  # accounts that have left are not listed
    page.select_option("#f-band", "all")
    assert _wait_list(page, everyone) == min(50, everyone)
    assert f"{everyone:,} accounts match ({former:,} former customers not listed)" in page.inner_text(
        "#list-summary"
    )
    segment = at_risk.items[0].segment
    page.select_option("#f-segment", segment)
    narrowed = _at_risk(rt, "low", segment=segment).total
    assert 0 < narrowed < everyone
    assert _wait_list(page, narrowed) == min(50, narrowed)
    assert set(page.locator("#accounts tbody tr td:nth-child(3)").all_inner_texts()) == {segment}
    word = at_risk.items[0].name.split()[-1]
    page.fill("#f-search", word)
    found = _at_risk(rt, "low", segment=segment, search=word).total
    assert _wait_list(page, found) == min(50, found)
    names = page.locator("#accounts tbody tr td:nth-child(2) a").all_inner_texts()
    assert names and all(word.lower() in n.lower() for n in names)


def test_account_view_draws_trend_drivers_and_collaboration(page, page_runtime) -> None:  # noqa: ANN001
    from serving.page.view import build_view

    rt = page_runtime
    top = _at_risk(rt).items[0]
    _wait_list(page, _at_risk(rt).total)
    page.locator("#accounts tbody tr").first.locator("a").click()
    page.wait_for_selector(f"#account-view[data-ready='true'][data-account='{top.account_id}']")
    view = build_view(rt, top.account_id)
    assert top.name in page.inner_text("#acc-title")
    points = page.get_attribute("#trend-svg polyline.line-churn", "points").split()
    assert len(points) == WEEKS + 1
    n_feats = len(rt.scorer.models["churn"].spec["features"])
    drawn = page.locator("#drivers-svg g.driver")
    assert drawn.count() == min(15, n_feats)
    assert drawn.first.get_attribute("data-feature") == view.explanation.churn.contributions[0].feature
    labels = page.locator("#hours-svg text").all_text_contents()[::2]
    shown = [float(x.removesuffix(" h").replace(",", "")) for x in labels]
    assert shown == pytest.approx([round(p.hours_per_30d, 1) for p in view.collaboration.periods], abs=0.051)
    quiet = ["Nothing actionable stands out among the collaboration drivers."]
    assert page.locator("#actions li").all_inner_texts() == (view.actions or quiet)
    assert "comes from collaboration" in page.inner_text("#collab-share")
    assert "since last week: +" in page.inner_text("#acc-tiles")  # earlier synthetic runs scored lower
    _shot(page, "page-account.png", full=True)
    page.click("#drivers-all")
    assert page.locator("#drivers-svg g.driver").count() == n_feats
    page.click(".switch button[data-model='satisfaction']")
    assert page.locator("#drivers-svg g.driver").count() == len(
        rt.scorer.models["satisfaction"].spec["features"]
    )


def test_model_panel_lists_served_models(page, page_runtime) -> None:  # noqa: ANN001
    _wait_list(page, _at_risk(page_runtime).total)
    page.click("#nav-models")
    page.wait_for_selector("#models-view[data-ready='true']")
    text = page.inner_text("#model-cards")
    for role, card in page_runtime.info().models.items():
        assert f"{role}: {card.name} v{card.version}" in text
    assert "roc_auc" in text
    assert page.get_attribute("#mlflow-link", "href").endswith(":5000/")
