"""The JSON-body check on its own: which paths it guards, behind a proxy's ``root_path`` too."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from serving.errors import JsonBodyMiddleware


def _status(path: str, root_path: str = "") -> int:
    """The status a form POST to ``path`` gets: 415 from the check, or 200 from the app behind it."""
    sent: list[dict[str, Any]] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": []})

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"account_ids=A1"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": path,
        "root_path": root_path,
        "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
    }
    asyncio.run(JsonBodyMiddleware(app, routes=["/score", "/at_risk"])(scope, receive, send))
    return int(sent[0]["status"])


@pytest.mark.parametrize(
    ("path", "root_path", "status"),
    [
        ("/score", "", 415),
        ("/nope", "", 200),  # not an API route: the app answers (404 in the service)
        ("/ui/anything", "", 200),
        ("/csat/score", "/csat", 415),  # mounted under a prefix by a proxy
        ("/csat/nope", "/csat", 200),
        ("/score", "/s", 415),  # a root_path that is only a prefix of the route's text is not stripped
    ],
)
def test_only_api_routes_need_a_json_body(path: str, root_path: str, status: int) -> None:
    assert _status(path, root_path) == status
