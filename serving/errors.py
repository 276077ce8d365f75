"""Error bodies as the OpenAPI spec declares them.

BentoML 1.4 sends a client error raised as ``BentoMLException`` as a one-element JSON list
(``[{"error": ...}]``) while its OpenAPI spec declares an object; this middleware unwraps such bodies so every
4xx answer is ``{"error": ...}``; a validation error's structured ``detail`` (a list) becomes the JSON
string the spec declares.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Message = MutableMapping[str, Any]


class ErrorShapeMiddleware:
    """Rewrite ``[{"error": ...}]`` 4xx JSON bodies to ``{"error": ...}``."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        """Buffer 4xx JSON responses, fix their shape, pass everything else through untouched."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and 400 <= int(message["status"]) < 500:
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                body = unwrap(b"".join(chunks))
                headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
                headers.append((b"content-length", str(len(body)).encode()))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)


def unwrap(body: bytes) -> bytes:
    """``[{...}]`` -> ``{...}``; a structured ``detail`` -> the string the spec declares; else unchanged."""
    try:
        data = json.loads(body)
    except ValueError:
        return body
    if isinstance(data, list) and len(data) == 1 and isinstance(data[0], dict):
        data = data[0]
    elif not isinstance(data, dict):
        return body
    if "detail" in data and not isinstance(data["detail"], str):
        data["detail"] = json.dumps(data["detail"])
    return json.dumps(data).encode()
