"""A bounded property-based run against the service's own OpenAPI spec: no 5xx, no schema-breaking answer."""

from __future__ import annotations

import pytest

schemathesis = pytest.importorskip("schemathesis")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from schemathesis.checks import not_a_server_error  # noqa: E402
from schemathesis.specs.openapi.checks import response_schema_conformance  # noqa: E402

pytestmark = pytest.mark.slow
MAX_EXAMPLES = 25
SKIP = {"/metrics"}


def _operations(http_client):  # noqa: ANN001, ANN202
    spec = http_client.get("/docs.json").json()
    spec["paths"] = {p: v for p, v in spec["paths"].items() if p not in SKIP}
    return [r.ok() for r in schemathesis.openapi.from_dict(spec).get_all_operations()]


def test_api_never_fails_or_breaks_its_schema(http_client) -> None:  # noqa: ANN001
    ops = _operations(http_client)
    assert {"/score", "/score_features", "/explain", "/at_risk", "/model_info", "/history"} <= {
        o.path for o in ops
    }
    for op in ops:

        @given(case=op.as_strategy())
        @settings(
            max_examples=MAX_EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
        )
        def check(case) -> None:  # noqa: ANN001
            response = http_client.request(**case.as_transport_kwargs(base_url="http://testserver"))
            case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])

        check()
