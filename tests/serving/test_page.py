"""The account-risk page's data and shell, in-process: the list's extras, the account view, the token rule."""

from __future__ import annotations

import dataclasses
import os
import re
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest

from serving import schemas as s

pytestmark = pytest.mark.slow
STATIC = Path(__file__).resolve().parents[2] / "serving" / "page" / "static"


def _page(service, **kw) -> s.AtRiskPage:  # noqa: ANN001
    args = {"segment": None, "region": None, "csm_id": None, "min_band": "low", "offset": 0, "limit": 200}
    return service.at_risk(**{**args, **kw})


def test_list_items_carry_name_team_and_two_plain_reasons(service) -> None:  # noqa: ANN001
    page = _page(service, with_facets=True)
    meta = service.runtime.accounts
    assert page.total + page.former_customers == len(service.runtime.store)
    for item in page.items:
        assert item.name == meta.at[item.account_id, "name"]
        assert len(item.reasons) <= 2 and all(": " in r for r in item.reasons)
    assert any(len(i.reasons) == 2 for i in page.items)
    assert page.facets.segments == sorted({i.segment for i in page.items})
    assert set(page.facets.csm_teams) >= {i.csm_team for i in page.items if i.csm_team}


def test_reasons_are_the_largest_pushes_towards_risk(service) -> None:  # noqa: ANN001
    item = _page(service, limit=1).items[0]
    exp = service.explain(account_id=item.account_id)
    both = [*exp.churn.contributions, *exp.satisfaction.contributions]
    pushes = [d for d in both if d.direction == "raises risk"]
    top = max(pushes, key=lambda d: abs(d.contribution))
    assert item.reasons[0].startswith(top.description + ": ")


def test_team_names_hide_small_teams(service) -> None:  # noqa: ANN001
    from serving.runtime import MIN_TEAM, OTHER_TEAM, _team_names

    teams = ["big"] * MIN_TEAM + ["tiny"] * 2
    emp = pd.DataFrame({"employee_id": [f"E{i}" for i in range(len(teams))], "team": teams})
    names = _team_names(emp)
    assert names["E0"] == "big" and names["E6"] == OTHER_TEAM
    staff = pd.read_parquet(Path(os.environ["CSAT_DATA_DIR"]) / "employees.parquet").set_index("employee_id")
    size = staff["team"].value_counts()
    accounts = service.runtime.accounts.dropna(subset=["csm_id"])
    assert len(accounts)
    for csm, shown in zip(accounts["csm_id"], accounts["csm_team"], strict=True):
        team = staff.at[csm, "team"]
        assert shown == (team if size[team] >= MIN_TEAM else OTHER_TEAM)


def test_search_sort_band_and_team_filters(service) -> None:  # noqa: ANN001
    everyone = _page(service).items
    word = everyone[0].name.split()[0].lower()
    found = _page(service, search=word.upper())
    assert found.items and all(word in i.name.lower() for i in found.items)
    assert found.total == sum(word in i.name.lower() for i in everyone)
    by_churn = [i.churn_probability for i in _page(service, sort="churn").items]
    assert by_churn == sorted(by_churn, reverse=True)
    by_name = [i.name.lower() for i in _page(service, sort="name", descending=False).items]
    assert by_name == sorted(by_name)
    high = _page(service, band="high")
    assert high.total == sum(i.risk_band == "high" for i in everyone)
    team = next(i.csm_team for i in everyone if i.csm_team)
    mine = _page(service, csm_team=team)
    assert mine.total == sum(i.csm_team == team for i in everyone)
    assert {i.csm_team for i in mine.items} == {team}
    ranked = _page(service, sort="satisfaction", limit=5).items
    assert {i.rank for i in ranked} <= set(range(1, len(everyone) + 1))


def test_change_since_last_week_from_the_stored_history(service, tmp_path: Path) -> None:  # noqa: ANN001
    from serving.scoring import score_all, scores_path

    rt = dataclasses.replace(service.runtime, store_dir=tmp_path, stored={}, table=None)
    assert rt.reload_stored() == 0 and rt.week_ago == {}
    score_all(rt, tmp_path)
    old = (datetime.now(UTC) - timedelta(days=8)).isoformat(timespec="seconds")
    with sqlite3.connect(scores_path(tmp_path)) as con:
        con.execute("UPDATE scores SET scored_at = ?, churn_probability = churn_probability + 0.1", (old,))
    rt.reload_stored()
    assert rt.week_ago == {}  # the only run is the reference itself: nothing a week older
    score_all(rt, tmp_path)
    rt.reload_stored()
    items = rt.at_risk(None, None, None, "low", 0, 50).items
    assert [i.churn_change_7d for i in items] == pytest.approx([-0.1] * len(items))
    with sqlite3.connect(scores_path(tmp_path)) as con:  # as if that run had scored later data
        con.execute("UPDATE scores SET as_of = '2999-01-01 00:00:00' WHERE scored_at = ?", (old,))
    rt.reload_stored()
    assert rt.week_ago == {}  # a run of later data is no "last week"


def test_account_view_holds_scores_history_drivers_and_collaboration(service) -> None:  # noqa: ANN001
    aid = str(service.runtime.store["account_id"].iloc[0])
    view = service.account_view(account_id=aid)
    assert view.explanation == service.explain(account_id=aid)
    assert view.account.name == service.runtime.accounts.at[aid, "name"]
    row = service.runtime.store.loc[aid]
    hours = [p.hours for p in view.collaboration.periods]
    assert sum(hours) == pytest.approx(row["customer_hours_180d"])
    assert hours[0] == pytest.approx(row["customer_hours_28d"])
    assert view.collaboration.contacts_reached["90d"] == pytest.approx(row["contacts_reached_90d"])
    assert [p.days_ago_to for p in view.collaboration.periods] == [28, 56, 90, 180]


def driver(feature: str, direction: str) -> s.Driver:
    return s.Driver(
        feature=feature,
        description=feature,
        group="g",
        feature_set="collaboration",
        value=1.0,
        contribution=0.5,
        direction=direction,
    )


def explanation(drivers: list[s.Driver]) -> s.Explanation:
    part = s.ModelExplanation(
        probability=0.5,
        band="high",
        base_value=0.0,
        raw_score=0.5,
        contributions=drivers,
        by_group=[],
        by_feature_set=[],
        collaboration_share=1.0,
    )
    return s.Explanation(account_id="A", as_of=None, risk_band="high", satisfaction=part, churn=part)


def _explanation_of(features: list[str], direction: str) -> s.Explanation:
    return explanation([driver(f, direction) for f in features])


def test_action_lines_follow_the_drivers() -> None:
    from serving.page.view import actions

    row = pd.Series(
        {
            "contacts_reached_90d": 1.0,
            "contact_coverage_90d": 0.1,
            "executives_reached_90d": 0.0,
            "executive_engaged_90d": 0.0,
            "reply_hours_avg_90d": 40.0,
            "replied_24h_share_90d": 0.3,
            "meeting_hours_trend_28d": -3.0,
            "days_since_last_meeting": 50.0,
        }
    )
    risky = [
        driver(f, "raises risk")
        for f in (
            "contacts_reached_90d",
            "executives_reached_90d",
            "reply_hours_avg_90d",
            "meeting_hours_trend_28d",
        )
    ]
    lines = actions(row, explanation(risky))
    assert [ln.split(":")[0] for ln in lines] == [
        "Few contacts reached",
        "No executive engaged",
        "Slow replies",
        "Less meeting time",
    ]
    assert "1 in 90 days" in lines[0] and "40 hours" in lines[2] and "-3.0 hours" in lines[3]
    calm = [driver(d.feature, "lowers risk") for d in risky]
    assert actions(row, explanation(calm)) == []
    healthy = row.copy()
    healthy[["contacts_reached_90d", "contact_coverage_90d"]] = [12.0, 0.8]
    assert not any(ln.startswith("Few contacts") for ln in actions(healthy, explanation(risky)))


def test_less_contact_overall_is_an_action_when_the_volume_drivers_raise_risk() -> None:
    from serving.page.view import actions

    quiet = pd.Series(
        {
            "customer_interactions_28d": 14.0,
            "customer_interactions_trend_28d": -15.0,
            "customer_hours_28d": 1.9,
            "customer_hours_90d": 60.0,
            "days_since_last_interaction": 3.0,
        }
    )
    lines = actions(quiet, _explanation_of(["customer_interactions_28d"], "raises risk"))
    assert lines == [
        "Less contact overall: 14 emails, meetings, calls and chats in the last 28 days (-15 against the 28"
        " before); last interaction 3 days ago. Check in on their goals and plans."
    ]
    steady = quiet.copy()
    steady[["customer_interactions_trend_28d", "customer_hours_28d"]] = [2.0, 20.0]
    assert actions(steady, _explanation_of(["customer_interactions_28d"], "raises risk")) == []
    gone = steady.copy()
    gone["days_since_last_interaction"] = None
    assert actions(gone, _explanation_of(["days_since_last_interaction"], "raises risk"))[0].endswith(
        "last interaction none in 180 days. Check in on their goals and plans."
    )
    assert actions(quiet, _explanation_of(["customer_interactions_28d"], "lowers risk")) == []
    today = quiet.copy()
    today["days_since_last_interaction"] = 0.4
    assert (
        "; last interaction less than a day ago."
        in actions(today, _explanation_of(["customer_interactions_28d"], "raises risk"))[0]
    )


def test_shell_opens_without_token_but_data_needs_it(http_client) -> None:  # noqa: ANN001
    bare = {"Authorization": ""}
    shell = http_client.get("/ui/", headers=bare)
    assert shell.status_code == 200 and "text/html" in shell.headers["content-type"]
    assert "default-src 'self'" in shell.headers["content-security-policy"]
    assert not re.search(r"A\d{6}", shell.text)  # the shell holds no account data
    assert http_client.get("/ui", headers=bare, follow_redirects=False).headers["location"] == "/ui/"
    assert http_client.get("/ui/app.js", headers=bare).status_code == 200
    assert http_client.get("/ui/missing.js", headers=bare).status_code == 404
    assert http_client.post("/ui/", headers=bare).status_code == 401
    for route in ("/at_risk", "/account_view", "/model_info"):
        assert http_client.post(route, json={}, headers=bare).status_code == 401
    ok = http_client.post("/at_risk", json={"min_band": "low", "limit": 1})
    assert ok.status_code == 200 and ok.json()["items"][0]["name"]


def test_account_view_over_http_and_unknown_account(http_client, service) -> None:  # noqa: ANN001
    aid = str(service.runtime.store["account_id"].iloc[1])
    r = http_client.post("/account_view", json={"account_id": aid})
    assert r.status_code == 200 and r.json()["account_id"] == aid
    missing = http_client.post("/account_view", json={"account_id": "ZZZ"})
    assert missing.status_code == 404 and missing.json() == {"error": "account_id: unknown account"}
    body = r.text + http_client.post("/at_risk", json={"min_band": "low", "limit": 200}).text
    assert all(e not in body for e in set(service.runtime.csm.values()))  # no employee id, CSM's included


def test_static_files_load_nothing_from_elsewhere() -> None:
    for path in STATIC.iterdir():
        text = path.read_text(encoding="utf-8")
        urls = set(re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"')]*", text))
        assert urls <= {"http://www.w3.org/2000/svg"}, (path.name, urls)
        assert "@import" not in text and "@font-face" not in text


def test_a_zero_contribution_neither_raises_nor_lowers_risk(service) -> None:  # noqa: ANN001
    from serving.page.view import RULES, actions

    exp = service.explain(account_id=str(service.runtime.store["account_id"].iloc[0]))
    both = [*exp.churn.contributions, *exp.satisfaction.contributions]
    zero = [d for d in both if d.contribution == 0.0]
    assert zero, "the world's models leave some features unused"
    assert {d.direction for d in zero} == {"no effect"}
    assert all(d.direction != "no effect" for d in both if d.contribution != 0.0)
    every_rule = sorted(set().union(*(r.features for r in RULES)))
    assert actions(pd.Series(dtype=float), _explanation_of(every_rule, "no effect")) == []


def test_action_lines_read_naturally_for_zero_and_one() -> None:
    from serving.page.view import actions

    row = pd.Series(
        {
            "reply_hours_avg_90d": 1.0,
            "replied_24h_share_90d": 0.5,
            "meeting_hours_trend_28d": -0.04,
            "days_since_last_meeting": 1.2,
            "customer_interactions_28d": 1.0,
            "customer_interactions_trend_28d": -0.2,
            "customer_hours_28d": 0.5,
            "customer_hours_90d": 60.0,
            "days_since_last_interaction": 1.0,
        }
    )
    features = ["reply_hours_avg_90d", "meeting_hours_trend_28d", "customer_interactions_28d"]
    slow, meetings, contact = actions(row, _explanation_of(features, "raises risk"))
    assert slow.startswith("Slow replies: 1 hour on average, 50% answered within a day")
    assert meetings.startswith("Less meeting time: 0.0 hours in the last 28 days against the 28 before; last"
                               " meeting 1 day ago.")  # fmt: skip
    assert contact.startswith(
        "Less contact overall: 1 email, meeting, call or chat in the last 28 days (0 against the 28 before);"
        " last interaction 1 day ago."
    )
    row[["meeting_hours_trend_28d", "days_since_last_meeting", "days_since_last_interaction"]] = [0.0, 50, 2]
    _, meetings, contact = actions(row, _explanation_of(features, "raises risk"))
    assert "0.0 hours in the last 28 days" in meetings and "last meeting 50 days ago" in meetings
    assert "last interaction 2 days ago" in contact
