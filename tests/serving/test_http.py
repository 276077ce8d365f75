"""Tier 2: HTTP in-process through the service's ASGI app (starlette TestClient)."""

from __future__ import annotations

import pytest

from tests.serving.conftest import API_TOKEN

pytestmark = pytest.mark.slow


TOKEN = API_TOKEN


@pytest.fixture(scope="module")
def client(http_client):  # noqa: ANN001, ANN201
    return http_client


@pytest.fixture(scope="module")
def ids(client) -> list[str]:  # noqa: ANN001
    page = client.post("/at_risk", json={"min_band": "low", "limit": 5}).json()
    return [i["account_id"] for i in page["items"]]


def test_probes_and_docs(client) -> None:  # noqa: ANN001
    assert client.get("/livez").status_code == 200
    assert client.get("/readyz").status_code == 200
    spec = client.get("/docs.json").json()
    assert {"/score", "/score_features", "/explain", "/at_risk", "/model_info"} <= set(spec["paths"])


def test_batch_with_unknown_account_answers_the_rest(client, ids) -> None:  # noqa: ANN001
    r = client.post("/score", json={"account_ids": [ids[0], "ZZZ", ids[1]]})
    assert r.status_code == 200
    body = r.json()
    assert [x["account_id"] for x in body["results"]] == [ids[0], ids[1]]
    assert body["errors"] == [{"index": 1, "account_id": "ZZZ", "error": "unknown account_id"}]


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/score", b"{not json", ""),
        ("/score", b'{"account_ids": "A1"}', "account_ids"),
        ("/score", b'{"account_ids": []}', "account_ids"),
        ("/score", b'{"account_ids": ["A1"], "top_k": "many"}', "top_k"),
        ("/score", b'{"account_ids": ["A1"], "colour": 1}', "colour"),
        ("/score", b'{"account_ids": ["A1"], "as_of": "yesterday"}', "as_of"),
        ("/score", b'{"account_ids": ["A1"], "as_of": "0001-01-01"}', "as_of"),
        ("/score", b'{"account_ids": ["A1"], "as_of": "2100-01-01"}', "as_of"),
        ("/score_features", b'{"rows": [{"features": {"arr_usd": NaN}}]}', "arr_usd"),
        ("/score_features", b'{"rows": [{"features": {"arr_usd": Infinity}}]}', "arr_usd"),
        ("/score_features", b'{"rows": [{"features": {"no_such_feature": 1}}]}', "no_such_feature"),
        ("/score_features", b'{"rows": [{"features": {"arr_usd": "lots"}}]}', "arr_usd"),
        ("/explain", b'{"account_id": 5}', "account_id"),
        ("/at_risk", b'{"limit": 100000}', "limit"),
        ("/score", b"{}", "account_ids"),
        ("/score", b"", "account_ids"),
        ("/score_batch", b'{"account_ids": ["A1"], "top_k": 3}', "top_k"),
        ("/score_features", b"{}", "rows"),
        ("/score_features", b'{"rows": [{"account_id": "A1"}]}', "features"),
        ("/explain", b"{}", "account_id"),
        ("/history", b"{}", "account_id"),
        ("/account_view", b"{}", "account_id"),
    ],
)
def test_bad_input_is_4xx_naming_the_field(client, route: str, body: bytes, field: str) -> None:  # noqa: ANN001
    r = client.post(route, content=body, headers={"content-type": "application/json"})
    assert 400 <= r.status_code < 500, r.text
    assert field in r.text


def test_a_validation_error_names_each_field_and_its_problem(client) -> None:  # noqa: ANN001
    r = client.post("/at_risk", json={"limit": 0, "sort": "colour"})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith("invalid request: ") and "IODescriptor" not in error
    assert "limit: Input should be greater than or equal to 1" in error and "sort: Input should be" in error


def test_a_body_that_is_not_json_is_415_and_not_echoed(client, caplog) -> None:  # noqa: ANN001
    import logging

    form = {"content-type": "application/x-www-form-urlencoded"}
    with caplog.at_level(logging.INFO):
        r = client.post("/at_risk", content=b'{"csm_id":"E00111"}', headers=form)
    assert r.status_code == 415 and "application/json" in r.json()["error"]
    assert "E00111" not in r.text and "E00111" not in caplog.text
    assert "client error on /at_risk [POST]: 415 (the body is not JSON)" in caplog.text


def test_an_unknown_route_is_404_whatever_its_body(client) -> None:  # noqa: ANN001
    form = {"content-type": "application/x-www-form-urlencoded"}
    r = client.post("/scores", content=b"account_ids=A1", headers=form)
    assert r.status_code == 404 and "no such route" in r.json()["error"]


def test_a_client_error_is_one_log_line_without_its_input(client, caplog) -> None:  # noqa: ANN001
    import logging

    with caplog.at_level(logging.INFO):
        assert client.post("/at_risk", json={"csm_id": ["E00111"]}).status_code == 400
        assert client.post("/at_risk", json={"csm_id": "E00111" * 20}).status_code == 400
        assert client.post("/explain", json={"account_id": "E00111"}).status_code == 404
    assert "E00111" not in caplog.text and "Traceback" not in caplog.text
    lines = [r for r in caplog.records if r.getMessage().startswith("client error on ")]
    assert [r.levelname for r in lines] == ["WARNING"] * 3
    assert "/at_risk [POST]: 1 validation error(s) (string_type)" in lines[0].getMessage()
    assert "/explain [POST]: NotFound (404)" in lines[2].getMessage()


def test_too_many_items(client) -> None:  # noqa: ANN001
    r = client.post("/score", json={"account_ids": ["A1"] * 101})
    assert r.status_code == 400 and "account_ids" in r.text


def test_unknown_account_explain_is_404(client) -> None:  # noqa: ANN001
    r = client.post("/explain", json={"account_id": "ZZZ"})
    assert r.status_code == 404 and r.json() == {"error": "account_id: unknown account"}


def test_token_required_on_every_route_but_probes(client, ids, caplog) -> None:  # noqa: ANN001
    bare = {"Authorization": ""}
    assert client.get("/livez", headers=bare).status_code == 200
    assert client.get("/readyz", headers=bare).status_code == 200
    for route in ("/model_info", "/score", "/docs.json", "/metrics"):
        assert client.post(route, json={}, headers=bare).status_code == 401
    wrong = client.post("/score", json={"account_ids": ids[:1]}, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 401
    ok = client.post("/score", json={"account_ids": ids[:1]})
    assert ok.status_code == 200 and TOKEN not in ok.text
    assert TOKEN not in caplog.text and "nope" not in caplog.text
    assert "client error on /score [POST]: 401 (missing or invalid bearer token)" in caplog.text


def test_no_employee_identity_in_answers(client, ids, service) -> None:  # noqa: ANN001
    csm = next(iter(service.runtime.csm.values()))
    body = client.post("/at_risk", json={"min_band": "low", "limit": 200, "csm_id": csm}).text
    body += client.post("/explain", json={"account_id": ids[0]}).text
    body += client.post("/score", json={"account_ids": ids}).text
    assert all(e not in body for e in set(service.runtime.csm.values()))


def test_listen_guard() -> None:
    from serving.security import check_listen

    check_listen("127.0.0.1", allow_open=False)
    check_listen("0.0.0.0", allow_open=True)
    with pytest.raises(PermissionError):
        check_listen("0.0.0.0", allow_open=False)


def test_adaptive_batching_route_answers_each_caller_its_own_items(client, ids) -> None:  # noqa: ANN001
    from concurrent.futures import ThreadPoolExecutor

    r = client.post("/score_batch", json={"account_ids": [ids[0], "ZZZ"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [b["account_id"] for b in body] == [ids[0], "ZZZ"]
    assert body[0]["result"]["account_id"] == ids[0] and body[1]["error"] == "unknown account_id"
    expected = client.post("/score", json={"account_ids": ids, "live": True}).json()["results"]

    def one(i: int) -> tuple[int, dict]:
        got = client.post("/score_batch", json={"account_ids": [ids[i % len(ids)]]})
        assert got.status_code == 200, got.text
        return i, got.json()[0]

    with ThreadPoolExecutor(max_workers=8) as pool:
        for i, item in pool.map(one, range(40)):
            want = expected[i % len(ids)]
            assert item["account_id"] == want["account_id"]
            assert item["result"]["churn_probability"] == pytest.approx(want["churn_probability"], abs=1e-12)


def test_a_503_says_why_and_when_to_retry(client, ids, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    from serving.runtime import LiveUnavailableError, Runtime

    def loading(*_args: object) -> None:
        raise LiveUnavailableError(
            "the raw tables for scoring at another date are loading; retry soon", transient=True
        )

    monkeypatch.setattr(Runtime, "score_at", loading)
    r = client.post("/score", json={"account_ids": ids[:1], "as_of": "2024-06-01"})
    assert r.status_code == 503
    assert r.json() == {"error": "the raw tables for scoring at another date are loading; retry soon"}
    assert int(r.headers["retry-after"]) > 0


def test_scoring_at_a_date_without_raw_tables_says_what_to_do_without_paths_or_tracebacks(
    client,
    ids,
    caplog,
    monkeypatch: pytest.MonkeyPatch,  # noqa: ANN001
) -> None:
    import logging

    from serving import errors
    from serving.live import LiveFeatures

    secret = "/srv/secret/raw"
    monkeypatch.setattr(errors, "_LOGGED", {})
    body = {"account_ids": ids[:1], "as_of": "2024-06-01"}
    with caplog.at_level(logging.INFO):
        monkeypatch.setattr(LiveFeatures, "available", property(lambda _self: False))
        missing = [client.post("/score", json=body) for _ in range(2)]

        def broken(self: LiveFeatures, _seconds: float) -> bool:
            self.last_error = f"required table not found: expected accounts.csv in {secret}"
            return False

        monkeypatch.setattr(LiveFeatures, "available", property(lambda _self: True))
        monkeypatch.setattr(LiveFeatures, "wait", broken)
        unloadable = [client.post("/score", json=body) for _ in range(2)]
    for r in missing:
        assert r.status_code == 503 and "retry-after" not in r.headers
        assert "raw data folder (CSAT_DATA_DIR) is missing" in r.json()["error"]
    for r in unloadable:
        assert r.status_code == 503 and secret not in r.text and "`csat validate`" in r.json()["error"]
    assert "Traceback" not in caplog.text and "Exception on /score" not in caplog.text
    said = [r.getMessage() for r in caplog.records if r.getMessage().startswith("answering 503: ")]
    assert len(said) == 2  # once per reason, not once per request


def test_authentication_comes_before_the_content_type_check(client) -> None:  # noqa: ANN001
    form = {"content-type": "application/x-www-form-urlencoded", "Authorization": ""}
    r = client.post("/at_risk", content=b"min_band=low", headers=form)
    assert r.status_code == 401 and r.json() == {"error": "missing or invalid bearer token"}


def test_unknown_routes_and_methods_answer_json(client) -> None:  # noqa: ANN001
    r = client.post("/no_such_route", json={})
    assert r.status_code == 404 and r.headers["content-type"] == "application/json"
    assert "no such route" in r.json()["error"] and "/docs.json" in r.json()["error"]
    r = client.get("/score")
    assert r.status_code == 405 and r.headers["content-type"] == "application/json"
    assert r.json() == {"error": "method not allowed; this route takes POST"} and r.headers["allow"] == "POST"
    assert client.get("/ui/no-such-file.js").json()["error"].startswith("not found")


def test_unknown_routes_and_methods_are_one_log_line_with_route_and_status_only(client, caplog) -> None:  # noqa: ANN001
    import logging

    with caplog.at_level(logging.INFO):
        assert client.post("/nope", json={"csm_id": "E00111"}).status_code == 404
        assert client.get("/score").status_code == 405
        assert client.get("/accounts/jane.doe@example.com").status_code == 404
        assert client.get("/nope%0Aclient error on /score [POST]: forged").status_code == 404
    lines = [r for r in caplog.records if r.getMessage().startswith("client error on ")]
    assert [r.levelname for r in lines] == ["WARNING"] * 4 and all("\n" not in r.getMessage() for r in lines)
    assert [r.getMessage() for r in lines[:3]] == [
        "client error on /nope [POST]: 404 (not found)",
        "client error on /score [GET]: 405 (method not allowed)",
        "client error on /accounts/... [GET]: 404 (not found)",  # the route, not who was asked for
    ]
    access = "bentoml.access"  # BentoML's access log, not the service's: it has the raw path of every request
    server = [r for r in caplog.records if r.name.startswith(("csat", "bentoml")) and r.name != access]
    ours = "\n".join(r.getMessage() for r in server)  # the service's log, not the test client's
    assert "E00111" not in ours and "jane.doe" not in ours and "Traceback" not in caplog.text


@pytest.mark.parametrize(
    ("route", "body", "field"),
    [
        ("/score", {"top_k": True}, "top_k"),
        ("/score", {"top_k": "5"}, "top_k"),
        ("/score", {"top_k": 5.0}, "top_k"),
        ("/score", {"live": "yes"}, "live"),
        ("/score", {"live": 1}, "live"),
        ("/score_features", {"rows": [{"features": {}}], "top_k": True}, "top_k"),
        ("/at_risk", {"limit": True}, "limit"),
        ("/at_risk", {"offset": "0"}, "offset"),
        ("/at_risk", {"descending": "false"}, "descending"),
        ("/at_risk", {"with_facets": 1}, "with_facets"),
        ("/history", {"account_id": "A1", "limit": False}, "limit"),
    ],
)
def test_counts_and_flags_must_be_json_integers_and_booleans(client, ids, route, body, field) -> None:  # noqa: ANN001
    if route == "/score":
        body = {"account_ids": ids[:1], **body}
    r = client.post(route, json=body)
    assert r.status_code == 400, r.text
    assert r.json()["error"].startswith(f"invalid request: {field}: Input should be a valid")


def test_an_unknown_category_is_a_client_error_naming_it_and_the_known_ones(client, service) -> None:  # noqa: ANN001
    name, known = next(iter(sorted(service.runtime.scorer.levels.items())))
    r = client.post("/score_features", json={"rows": [{"features": {name: "No Such Kind"}}]})
    assert r.status_code == 400
    error = r.json()["error"]
    assert error.startswith(f"rows[0].features.{name}: unknown category 'No Such Kind'; known: ")
    assert all(repr(k) in error for k in known) and "send null" in error
    ok = client.post("/score_features", json={"rows": [{"features": {name: None}}]})
    assert ok.status_code == 200 and name in ok.json()["results"][0]["missing_features"]


def test_band_alone_lists_exactly_that_band(client) -> None:  # noqa: ANN001
    everyone = client.post("/at_risk", json={"min_band": "low", "limit": 200}).json()["items"]
    for band in ("low", "medium", "high"):
        page = client.post("/at_risk", json={"band": band, "limit": 200}).json()
        assert page["total"] == sum(i["risk_band"] == band for i in everyone)
        assert {i["risk_band"] for i in page["items"]} <= {band}
    assert client.post("/at_risk", json={"band": "low"}).json()["total"] > 0
    assert client.post("/at_risk", json={"band": "high", "min_band": "medium"}).status_code == 200
    default = client.post("/at_risk", json={"limit": 200}).json()["items"]
    assert {i["risk_band"] for i in default} <= {"medium", "high"}
    r = client.post("/at_risk", json={"band": "low", "min_band": "medium"})
    assert r.status_code == 400 and r.json()["error"].startswith("band: 'low' is below min_band 'medium'")


def test_the_openapi_document_states_the_version_the_token_and_the_error_answers(
    client,  # noqa: ANN001
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from importlib.metadata import version

    import yaml

    from serving.security import TOKEN_ENV
    from serving.service import CsatService

    monkeypatch.setenv(
        TOKEN_ENV, TOKEN
    )  # as the server saw it at start-up (the fixture unsets it afterwards)
    spec = client.get("/docs.json").json()
    assert spec["info"]["version"] == version("csat-collab")
    assert spec["info"]["description"].startswith("Satisfaction and churn risk per account")
    assert "contact" not in spec["info"] and "https://" not in spec["info"]["description"]
    assert spec["components"]["securitySchemes"] == {"bearerAuth": {"type": "http", "scheme": "bearer"}}
    api = {path: item["post"] for path, item in spec["paths"].items() if "post" in item}
    assert {"/score", "/score_batch", "/score_features", "/explain", "/at_risk", "/model_info"} <= set(api)
    for operation in [*api.values(), spec["paths"]["/metrics"]["get"]]:
        assert operation["security"] == [{"bearerAuth": []}]
        assert "401" in operation["responses"]
    for probe in ("/livez", "/readyz", "/healthz"):
        assert (
            "security" not in spec["paths"][probe]["get"]
            and client.get(probe, headers={"Authorization": ""}).is_success
        )
    schemas = spec["components"]["schemas"]
    answers = {
        "401": client.post("/score", json={}, headers={"Authorization": ""}),
        "415": client.post("/score", content=b"account_ids=A1", headers={"content-type": "text/plain"}),
    }
    for status in ("401", "415", "503"):
        for operation in api.values():
            ref = operation["responses"][status]["content"]["application/json"]["schema"]["$ref"]
            schema = schemas[ref.removeprefix("#/components/schemas/")]
            assert schema["required"] == ["error"] and set(schema["properties"]) == {"error"}
        if status in answers:
            assert answers[status].status_code == int(status) and set(answers[status].json()) == {"error"}
    built = yaml.safe_load(yaml.dump(CsatService.openapi_spec))  # what `bentoml build` writes into the bento
    assert built["info"]["version"] == version("csat-collab") and "securitySchemes" in built["components"]
    monkeypatch.delenv(TOKEN_ENV)
    open_spec = client.get("/docs.json").json()
    assert "securitySchemes" not in open_spec["components"]
    assert all(
        "security" not in op and "401" not in op["responses"] for op in open_spec["paths"]["/score"].values()
    )
