"""Batch scores: written with history, answered from storage, and a risk trend."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def runtime(service, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN001, ANN201
    store = tmp_path_factory.mktemp("scores-store")
    return dataclasses.replace(service.runtime, store_dir=store, stored={})


def test_score_all_then_stored_answers_match_live(runtime) -> None:  # noqa: ANN001
    from serving.scoring import score_all, scores_path

    ids = list(runtime.store["account_id"][:5])
    live = runtime.score_ids(ids, top_k=3)
    assert score_all(runtime, runtime.store_dir) == len(runtime.store)
    assert runtime.reload_stored() == len(runtime.store)
    stored = runtime.score_ids([*ids, "ZZZ"], top_k=3)
    assert [r.source for r in stored.results] == ["stored_scores"] * 5
    assert stored.errors[0].account_id == "ZZZ"
    for a, b in zip(live.results, stored.results, strict=True):
        assert a.account_id == b.account_id and a.churn_probability == pytest.approx(b.churn_probability)
        assert [d.feature for d in a.churn.drivers] == [d.feature for d in b.churn.drivers]
    assert {r.source for r in runtime.score_ids(ids, top_k=3, live=True).results} == {"store"}
    assert {r.source for r in runtime.score_ids(ids, top_k=10).results} == {"store"}
    with sqlite3.connect(scores_path(Path(runtime.store_dir))) as con:
        assert con.execute("SELECT COUNT(*) FROM scores").fetchone()[0] == len(runtime.store)


def test_stored_scores_for_other_model_versions_are_ignored(runtime) -> None:  # noqa: ANN001
    from serving.scoring import load_latest

    as_of = {str(a): str(d) for a, d in zip(runtime.store["account_id"], runtime.store["as_of"], strict=True)}
    assert load_latest(runtime.store_dir, {"satisfaction": "99", "churn": "99"}, as_of) == {}


def test_history_and_trend(runtime) -> None:  # noqa: ANN001
    import time

    from serving.scoring import score_all, trend

    time.sleep(1.1)
    score_all(runtime, runtime.store_dir)
    hist = runtime.history(str(runtime.store["account_id"].iloc[0]), limit=10)
    assert len(hist.points) >= 2 and hist.churn_trend == "flat"
    assert (
        trend([0.1, 0.2, 0.4]) == "rising" and trend([0.5, 0.3, 0.1]) == "falling" and trend([0.2]) == "flat"
    )
    with pytest.raises(LookupError):
        runtime.history("ZZZ", limit=10)
