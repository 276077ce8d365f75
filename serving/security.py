"""Access control: a bearer token (``CSAT_API_TOKEN``) on every route but the health probes."""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from serving.errors import log_client_error

TOKEN_ENV = "CSAT_API_TOKEN"
OPEN_PATHS = frozenset({"/livez", "/readyz", "/healthz"})

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


def configured_token() -> bytes | None:
    """The bearer token every route but the health probes requires (``CSAT_API_TOKEN``), or ``None``."""
    return os.environ.get(TOKEN_ENV, "").encode() or None


class TokenMiddleware:
    """Refuse requests without ``Authorization: Bearer <CSAT_API_TOKEN>`` when the variable is set."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app
        self.token = configured_token()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Check the token on HTTP requests, pass everything else through."""
        if self.token is None or scope.get("type") != "http" or scope.get("path") in OPEN_PATHS:
            await self.app(scope, receive, send)
            return
        if authorized(dict(scope.get("headers") or []).get(b"authorization", b""), self.token):
            await self.app(scope, receive, send)
            return
        log_client_error(scope, "401 (missing or invalid bearer token)")
        body = json.dumps({"error": "missing or invalid bearer token"}).encode()
        headers = [(b"content-type", b"application/json"), (b"www-authenticate", b"Bearer")]
        await send({"type": "http.response.start", "status": 401, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def authorized(header: bytes, token: bytes) -> bool:
    """Constant-time check of an ``Authorization`` header against the token."""
    scheme, _, value = header.partition(b" ")
    return scheme.lower() == b"bearer" and hmac.compare_digest(value.strip(), token)


def is_loopback(host: str) -> bool:
    """Whether a listen address stays on this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_listen(host: str, allow_open: bool) -> None:
    """Refuse a non-loopback listen address without a token, unless explicitly allowed.

    Args:
        host: the address to bind.
        allow_open: the operator's explicit consent to serve without a token.

    Raises:
        PermissionError: non-loopback, no token and no consent.

    """
    if not is_loopback(host) and not os.environ.get(TOKEN_ENV) and not allow_open:
        raise PermissionError(
            f"refusing to listen on {host} without {TOKEN_ENV}; "
            "set it, bind 127.0.0.1, or pass --insecure-open"
        )
