"""The MLflow UI in a real headless Chromium shows both child runs side by side and the parent's lift.

Trains a tiny synthetic comparison into a fresh tracking store, starts the UI with the same command as
``csat ui`` / ``make mlflow-ui``, and reads the rendered React pages (see ``scripts/check_mlflow_ui.py``).
Skipped only when no browser can run (the ``playwright`` package or a Chromium binary is missing).
"""

from __future__ import annotations

import pytest

from csat.settings import Settings
from scripts.check_mlflow_ui import browser_problem, check_pages, free_port, serve_ui
from tests.training.conftest import FAST
from tests.training.synthetic import make_data
from training.data import FeatureCatalog
from training.workflow import train_target

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_ui_shows_children_side_by_side_and_the_lift(settings: Settings, catalog: FeatureCatalog) -> None:
    problem = browser_problem()
    if problem:
        pytest.skip(f"no headless browser available: {problem}")
    _, record = train_target(settings, "csat", catalog, FAST, loader=lambda s, t: make_data(t, n_accounts=60))
    with serve_ui(settings, free_port()) as url:
        report = check_pages(url, record.experiment_id, record.parent_run_id, record.child_run_ids)
    assert report.ok, (report.checks, report.details)
    assert "lift_roc_auc" in report.details["parent_lift_excerpt"]
