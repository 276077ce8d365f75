"""Tier 1: the service class called directly."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.serving.conftest import STORE_DATE

pytestmark = pytest.mark.slow


def _matrix(service, role: str, ids: list[str]) -> pd.DataFrame:
    rt = service.runtime
    frame = rt.store.loc[ids].reset_index(drop=True)
    return rt.scorer.matrix(rt.scorer.models[role], frame)


def test_score_answers_every_known_account_and_reports_unknown(service, account_ids) -> None:
    out = service.score(account_ids=[*account_ids[:3], "NOPE-1"], top_k=4)
    assert [r.account_id for r in out.results] == account_ids[:3]
    assert [(e.index, e.account_id) for e in out.errors] == [(3, "NOPE-1")]
    for r in out.results:
        assert 0 < r.churn_probability < 1 and 0 < r.satisfaction_probability < 1
        assert r.risk_band in {"low", "medium", "high"}
        assert len(r.churn.drivers) == 4
        assert all(d.description and d.description != d.feature for d in r.churn.drivers)


def test_contributions_plus_base_equal_raw_score_for_every_answer(service, account_ids) -> None:
    out = service.score(account_ids=account_ids, top_k=20)
    for r in out.results:
        full = service.explain(account_id=r.account_id)
        for role in ("satisfaction", "churn"):
            exp = getattr(full, role)
            total = exp.base_value + sum(d.contribution for d in exp.contributions)
            assert total == pytest.approx(exp.raw_score, abs=1e-9)
            assert exp.raw_score == pytest.approx(getattr(r, role).raw_score, abs=1e-9)
            assert len(exp.contributions) == len(service.runtime.scorer.models[role].spec["features"])


def test_raw_score_matches_booster_and_probability_is_calibrated(service, account_ids) -> None:
    rt = service.runtime
    for role, model in rt.scorer.models.items():
        x = _matrix(service, role, account_ids)
        raw = model.booster.predict(x, raw_score=True)
        res = rt.scorer.predict(role, rt.store.loc[account_ids].reset_index(drop=True))
        np.testing.assert_allclose(res.raw_score, raw, atol=1e-9)
        assert np.all((res.probability > 0) & (res.probability < 1))


def test_contributions_equal_shap_tree_explainer_on_a_sample(service, account_ids) -> None:
    shap = pytest.importorskip("shap")
    rt = service.runtime
    model = rt.scorer.models["churn"]
    x = _matrix(service, "churn", account_ids[:5])
    ours = rt.scorer.predict("churn", rt.store.loc[account_ids[:5]].reset_index(drop=True))
    explainer = shap.TreeExplainer(model.booster)
    theirs = np.asarray(explainer.shap_values(x))
    theirs = theirs[1] if theirs.ndim == 3 and theirs.shape[0] == 2 else theirs
    np.testing.assert_allclose(ours.contributions, theirs, atol=1e-6)
    np.testing.assert_allclose(ours.base_value, np.ravel(explainer.expected_value)[-1], atol=1e-6)


def test_explain_sums_by_group_and_set(service, account_ids) -> None:
    exp = service.explain(account_id=account_ids[0]).churn
    total = sum(abs(d.contribution) for d in exp.contributions)
    assert sum(g.abs_contribution for g in exp.by_group) == pytest.approx(total)
    assert sum(g.share for g in exp.by_feature_set) == pytest.approx(1.0)
    assert {g.name for g in exp.by_feature_set} <= {"baseline", "collaboration"}
    collab = next((g.share for g in exp.by_feature_set if g.name == "collaboration"), 0.0)
    assert exp.collaboration_share == pytest.approx(collab)


def test_supplied_features_match_store_answer_and_flag_missing(service, account_ids) -> None:
    from serving.schemas import FeatureRow

    rt = service.runtime
    row = rt.store.loc[account_ids[0]]
    feats = {f: (None if pd.isna(row[f]) else (str(row[f]) if f in rt.scorer.categorical else float(row[f])))
             for f in rt.scorer.features}  # fmt: skip
    stored = service.score(account_ids=[account_ids[0]], top_k=3).results[0]
    supplied = service.score_features(rows=[FeatureRow(account_id=account_ids[0], features=feats)], top_k=3)
    assert supplied.results[0].churn_probability == pytest.approx(stored.churn_probability)
    partial = dict(list(feats.items())[:5])
    flagged = service.score_features(rows=[FeatureRow(features=partial)], top_k=3).results[0]
    assert set(flagged.missing_features) >= set(rt.scorer.features) - set(partial)


def test_unknown_feature_name_is_a_client_error_naming_it(service) -> None:
    from bentoml.exceptions import InvalidArgument

    from serving.schemas import FeatureRow

    with pytest.raises(InvalidArgument, match="not_a_feature"):
        service.score_features(rows=[FeatureRow(features={"not_a_feature": 1.0})], top_k=3)


def test_an_unknown_category_is_refused_not_scored_as_missing(service) -> None:
    from bentoml.exceptions import InvalidArgument

    from serving.schemas import FeatureRow

    levels = service.runtime.scorer.levels
    assert levels and set(levels) <= service.runtime.scorer.categorical
    name = sorted(levels)[0]
    expected = rf"rows\[1\]\.features\.{name}: unknown category 'nope'; known: "
    with pytest.raises(InvalidArgument, match=expected):
        service.score_features(rows=[FeatureRow(features={}), FeatureRow(features={name: "nope"})], top_k=3)
    known = service.score_features(rows=[FeatureRow(features={name: levels[name][0]})], top_k=3).results[0]
    assert name not in known.missing_features


def test_band_takes_precedence_over_the_default_min_band(service) -> None:
    from bentoml.exceptions import InvalidArgument

    def page(**kw: object):  # noqa: ANN202
        return service.at_risk(segment=None, region=None, csm_id=None, offset=0, limit=200, **kw)

    everyone = page(min_band="low").items
    low = page(band="low")
    assert low.total == sum(i.risk_band == "low" for i in everyone) > 0
    assert {i.risk_band for i in low.items} == {"low"}
    assert page(band="medium", min_band="low").total == sum(i.risk_band == "medium" for i in everyone)
    assert {i.risk_band for i in page().items} <= {"medium", "high"}
    with pytest.raises(InvalidArgument, match="band: 'medium' is below min_band 'high'"):
        page(band="medium", min_band="high")


def test_at_risk_is_ranked_filtered_and_paged(service) -> None:
    page = service.at_risk(segment=None, region=None, csm_id=None, min_band="low", offset=0, limit=10)
    assert page.total + page.former_customers == len(service.runtime.store)
    assert [i.rank for i in page.items] == list(range(1, 11))
    order = {"low": 0, "medium": 1, "high": 2}
    bands = [order[i.risk_band] for i in page.items]
    assert bands == sorted(bands, reverse=True)
    nxt = service.at_risk(segment=None, region=None, csm_id=None, min_band="low", offset=10, limit=10)
    assert not {i.account_id for i in page.items} & {i.account_id for i in nxt.items}
    seg = page.items[0].segment
    only = service.at_risk(segment=seg, region=None, csm_id=None, min_band="low", offset=0, limit=200)
    assert only.items and all(i.segment == seg for i in only.items)
    csm = next(iter(service.runtime.csm.values()))
    mine = service.at_risk(segment=None, region=None, csm_id=csm, min_band="low", offset=0, limit=200)
    store = service.runtime.store
    current = set(store.index[~(store["renewals_churned_prior"] > 0)])
    expected = {a for a, c in service.runtime.csm.items() if c == csm and a in current}
    assert {i.account_id for i in mine.items} == expected
    assert csm not in mine.model_dump_json()


def test_at_risk_leaves_out_the_accounts_that_have_already_left(service) -> None:
    store = service.runtime.store
    renewals = pd.read_parquet(Path(os.environ["CSAT_DATA_DIR"]) / "renewals.parquet")
    cutoff = pd.Timestamp(STORE_DATE)
    known = pd.to_datetime(renewals["renewal_date"]) < cutoff
    if "recorded_at" in renewals:
        known &= ~(pd.to_datetime(renewals["recorded_at"]) >= cutoff)
    left = renewals[(renewals["outcome"] == "churned") & known]
    gone = set(left["account_id"]) & set(store.index)
    assert gone, "the serving world should hold accounts that churned before the store's date"
    page = service.at_risk(segment=None, region=None, csm_id=None, min_band="low", offset=0, limit=200)
    assert page.former_customers == len(gone)
    assert page.total == len(store) - len(gone) == len(page.items)
    assert not {i.account_id for i in page.items} & gone
    one = next(iter(gone))
    assert service.explain(account_id=one).account_id == one  # still explained when asked for by id


def test_model_info_names_versions_and_metrics(service) -> None:
    info = service.model_info()
    assert set(info.models) == {"satisfaction", "churn"}
    for card in info.models.values():
        assert card.version == "1" and card.trained_at and "roc_auc" in card.metrics
        assert card.feature_set_version == info.store_feature_set_version


def _wait_for_raw_tables(service, seconds: float = 180.0) -> None:  # noqa: ANN001
    assert service.runtime.live.wait(seconds), "raw tables not loaded in time"


def test_scoring_at_the_online_store_date_equals_live_scoring(service, account_ids) -> None:
    from datetime import date

    _wait_for_raw_tables(service)
    ids = account_ids[:5]
    stored_date = pd.Timestamp(service.runtime.store["as_of"].iloc[0]).date()
    assert stored_date == date(2026, 1, 1)
    at = service.score(account_ids=[*ids, "NOPE-9"], top_k=3, as_of=stored_date)
    now = service.score(account_ids=ids, top_k=3, live=True)
    assert [(e.index, e.account_id) for e in at.errors] == [(5, "NOPE-9")]
    assert {r.source for r in at.results} == {"raw_at_date"}
    for a, b in zip(at.results, now.results, strict=True):
        assert a.account_id == b.account_id
        assert a.churn_probability == pytest.approx(b.churn_probability, abs=1e-12)
        assert a.satisfaction_probability == pytest.approx(b.satisfaction_probability, abs=1e-12)


def test_scoring_at_an_earlier_date_uses_that_date(service, account_ids) -> None:
    from datetime import date

    _wait_for_raw_tables(service)
    ids = account_ids[:5]
    early = service.score(account_ids=ids, top_k=3, as_of=date(2025, 3, 1))
    late = service.score(account_ids=ids, top_k=3, as_of=date(2026, 1, 1))
    assert all(r.as_of and r.as_of.startswith("2025-03-01") for r in early.results)
    assert [r.churn_probability for r in early.results] != [r.churn_probability for r in late.results]


def test_scoring_after_the_online_store_date_is_refused(service, account_ids) -> None:  # noqa: ANN001
    from datetime import date

    from bentoml.exceptions import InvalidArgument

    with pytest.raises(InvalidArgument, match="as_of: 2026-01-02 is after the newest data"):
        service.score(account_ids=account_ids[:1], top_k=3, as_of=date(2026, 1, 2))


def test_an_account_is_not_scored_before_it_became_a_customer(service, account_ids, monkeypatch) -> None:  # noqa: ANN001
    from datetime import timedelta

    _wait_for_raw_tables(service)
    # every simulated account was a customer before the data begins, and no date before the data's first
    # event can be scored (below): as if the data reached further back, as a real export's might
    monkeypatch.setattr(service.runtime.live, "first_event", pd.Timestamp("1990-01-01"))
    accounts = service.runtime.live.tables()["accounts"].set_index("account_id")
    a, b = account_ids[:2]
    since = pd.Timestamp(accounts.loc[a, "customer_since"]).date()
    day_before = since - timedelta(days=1)
    got = service.score(account_ids=[a, b, "NOPE-9"], top_k=3, as_of=day_before)
    b_was_customer = pd.Timestamp(accounts.loc[b, "customer_since"]).date() <= day_before
    assert [r.account_id for r in got.results] == ([b] if b_was_customer else [])
    assert got.errors[0].model_dump() == {
        "index": 0,
        "account_id": a,
        "error": f"not yet a customer on {day_before}",
    }
    assert got.errors[-1].error == "unknown account_id"
    on_the_day = service.score(account_ids=[a], top_k=3, as_of=since)
    assert [r.account_id for r in on_the_day.results] == [a] and not on_the_day.errors


def test_scoring_before_the_raw_data_begins_is_refused(service, account_ids) -> None:  # noqa: ANN001
    from bentoml.exceptions import InvalidArgument

    _wait_for_raw_tables(service)
    first = service.runtime.live.first_event
    assert first is not None
    with pytest.raises(InvalidArgument, match=r"as_of: .* is on or before the raw data's first event"):
        service.score(account_ids=account_ids[:1], top_k=3, as_of=first.date())
    after = (first + pd.Timedelta(days=1)).date()
    assert service.score(account_ids=account_ids[:1], top_k=3, as_of=after).results is not None
