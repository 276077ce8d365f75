"""Client errors: their bodies as the OpenAPI spec declares them, JSON bodies only, and one log line each.

BentoML 1.4 sends a client error raised as ``BentoMLException`` as a one-element JSON list
(``[{"error": ...}]``) while its OpenAPI spec declares an object; this middleware unwraps such bodies so every
4xx answer is ``{"error": ...}``; a validation error's structured ``detail`` (a list) becomes the JSON
string the spec declares, and its ``error`` names the fields and what is wrong with them (BentoML's names an
internal class, ``1 validation error for AtRiskRequestIODescriptor``).

BentoML also logs every client error at ERROR with its traceback, and a validation error's traceback quotes
the input (``input_value=...``): a CSM id sent as a filter would land in the log.
:class:`ClientErrorLogFilter` turns those records into one WARNING line naming the route and the kinds of
error, never the input.

A 503 the service raises on purpose (not ready, or the raw tables not there) says why and what to run
(:func:`unavailable` records the reason for the middleware, which BentoML would otherwise replace by "An
unexpected error has occurred"); it is logged once per change of reason, never a traceback per request.
Starlette's own 404 and 405 answers (plain text) become ``{"error": ...}`` like every other error, and get
their WARNING line too (:func:`log_plain_error`): BentoML never sees them. A logged path is cut to the route
it names (:func:`logged_route`).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any

Message = MutableMapping[str, Any]
#: The logger BentoML's HTTP app reports request exceptions on (``log_exception``).
BENTOML_HTTP_LOGGER = "bentoml._internal.server.http_app"
log = logging.getLogger("csat.serving")


#: At most this many characters of a path's first segment go into the log.
LOGGED_ROUTE_CHARS = 40


def log_client_error(scope: Message, what: str) -> None:
    """One WARNING line for a request a middleware refused, in the form of :class:`ClientErrorLogFilter`'s."""
    log.warning("client error on %s [%s]: %s", logged_route(scope.get("path")), scope.get("method"), what)


def logged_route(path: object) -> str:
    """The route a request path names, for the log: its first segment only, escaped and cut short.

    A path the service has no route for is whatever the client sent: the deeper segments (where an account,
    person or file name would go) become ``...``, and control characters are escaped so that no path can write
    a line of its own into the log. The service's routes (``/score``, ``/at_risk`` ...) come out unchanged.
    """
    first, sep, rest = str(path or "").lstrip("/").partition("/")
    shown = first[:LOGGED_ROUTE_CHARS].encode("unicode_escape").decode("ascii")
    cut = "..." if len(first) > LOGGED_ROUTE_CHARS else ""
    return f"/{shown}{cut}{sep}{'...' if rest else ''}"


class ErrorShapeMiddleware:
    """Every error answer as ``{"error": ...}``: 4xx bodies reshaped, a 503 says why (:data:`UNAVAILABLE`)."""

    def __init__(self, app: Callable[..., Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        """Buffer 4xx and 503 responses, fix their shape, pass everything else through untouched."""
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        start: Message | None = None
        chunks: list[bytes] = []

        async def wrapped(message: Message) -> None:
            nonlocal start
            if message["type"] == "http.response.start" and _rewritten(int(message["status"])):
                start = message
                return
            if start is None:
                await send(message)
                return
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                log_plain_error(scope, start)
                headers, body = reshape(str(scope.get("path")), start, b"".join(chunks))
                await send({**start, "headers": headers})
                await send({"type": "http.response.body", "body": body})

        await self.app(scope, receive, wrapped)


@dataclass(frozen=True)
class Unavailable:
    """Why a route answers 503, in words for its callers, and whether retrying soon may help."""

    reason: str
    retry_after_s: int | None


#: Why a route last answered 503, by path: the worker's state (not ready, raw tables loading or missing),
#: which BentoML replaces in the answer by "An unexpected error has occurred". Set by :func:`unavailable`.
UNAVAILABLE: dict[str, Unavailable] = {}
RETRY_AFTER_S = 10
#: BentoML's answer to every 5xx raised by an endpoint; only such an answer gets the reason (not, say, a 503
#: of the server's own, for too many requests at once).
GENERIC_ERROR = "An unexpected error has occurred"
_UNAVAILABLE_LOCK = threading.Lock()
_LOGGED: dict[str, str] = {}  # route -> its latest 503 reason (a reason is logged when no route holds it)


def unavailable(route: str, reason: str, retry_after_s: int | None = None) -> Exception:
    """The exception a route raises to answer 503 with ``reason``; the reason is logged once per change.

    Args:
        route: the route's path (``/score``): where the middleware finds the reason.
        reason: what is not available and what to run, in words for the caller (no server path).
        retry_after_s: the ``Retry-After`` to send when waiting helps (a load under way), else ``None``.

    Returns:
        A BentoML ``ServiceUnavailable`` to raise; its traceback is kept out of the log.

    """
    from bentoml.exceptions import ServiceUnavailable

    with _UNAVAILABLE_LOCK:  # API threads write, the event loop's log filter reads
        UNAVAILABLE[route] = Unavailable(reason, retry_after_s)
        first = reason not in _LOGGED.values()
        _LOGGED[route] = reason
    if first:
        log.warning("answering 503: %s", reason)
    return ServiceUnavailable(reason)


def reshape(path: str, start: Message, body: bytes) -> tuple[list[tuple[bytes, bytes]], bytes]:
    """The headers and body of a buffered error answer, in the service's ``{"error": ...}`` shape."""
    headers = [(k, v) for k, v in start.get("headers", []) if k.lower() != b"content-length"]
    status = int(start["status"])
    kind = dict(headers).get(b"content-type", b"").split(b";")[0].strip().lower()
    with _UNAVAILABLE_LOCK:
        known = UNAVAILABLE.get(path)
    if status == 503 and known is not None and GENERIC_ERROR.encode() in body:
        body = json.dumps({"error": known.reason}).encode()
        if known.retry_after_s is not None:
            headers.append((b"retry-after", str(known.retry_after_s).encode()))
    elif kind == b"text/plain" and 400 <= status < 500:
        body = json.dumps({"error": _plain_error(status, body, dict(headers).get(b"allow"))}).encode()
        headers = [(k, v) for k, v in headers if k.lower() != b"content-type"]
        headers.append((b"content-type", b"application/json"))
    else:
        body = unwrap(body)
    headers.append((b"content-length", str(len(body)).encode()))
    return headers, body


def log_plain_error(scope: Message, start: Message) -> None:
    """Log a plain-text client error (Starlette's 404 for an unknown route, 405 for a wrong method).

    BentoML logs only the errors its endpoints raise; these never reach one. Route and status only.
    """
    status = int(start["status"])
    kind = dict(start.get("headers", [])).get(b"content-type", b"").split(b";")[0].strip().lower()
    if kind == b"text/plain" and 400 <= status < 500:
        log_client_error(scope, f"{status} ({PLAIN_ERRORS.get(status, 'client error')})")


#: The kind of error of Starlette's plain-text answers, for the log.
PLAIN_ERRORS = {404: "not found", 405: "method not allowed"}


def _plain_error(status: int, body: bytes, allow: bytes | None) -> str:
    """The message of Starlette's plain-text 404 or 405 (or another plain 4xx) in words for the caller."""
    if status == 404:
        return "not found: no such route (the API's routes are listed at /docs.json)"
    if status == 405:
        allowed = f"; this route takes {allow.decode('latin-1')}" if allow else ""
        return f"method not allowed{allowed}"
    return body.decode("utf-8", "replace").strip() or f"HTTP {status}"


def _rewritten(status: int) -> bool:
    """Whether :class:`ErrorShapeMiddleware` rewrites an answer of this status (client errors, and 503)."""
    return 400 <= status < 500 or status == 503


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
        if isinstance(data["detail"], list) and data["detail"]:
            data["error"] = invalid_fields(data["detail"])
        data["detail"] = json.dumps(data["detail"])
    return json.dumps(data).encode()


def invalid_fields(errors: list[Any]) -> str:
    """``invalid request: <field>: <message>; ...`` from pydantic's error list (instead of its class name)."""
    parts = []
    for e in errors:
        loc = ".".join(str(x) for x in e.get("loc", ())) if isinstance(e, dict) else ""
        msg = e.get("msg", "invalid") if isinstance(e, dict) else str(e)
        parts.append(f"{loc}: {msg}" if loc else str(msg))
    return "invalid request: " + "; ".join(parts)


class JsonBodyMiddleware:
    """Answer 415 to a POST to an API route whose body is not JSON (a form or plain text).

    BentoML would parse a form body and answer "Extra inputs are not permitted" with the whole body as the
    field's name, echoing the input back; the client learns nothing about the real mistake.
    A POST to any other path passes through, so an unknown route is a 404 whatever its body.
    """

    def __init__(self, app: Callable[..., Awaitable[None]], routes: Iterable[str]) -> None:
        self.app = app
        self.routes = frozenset(routes)

    async def __call__(self, scope: Message, receive: Callable[[], Awaitable[Message]], send: Any) -> None:
        """Refuse a non-JSON content type on API POSTs; pass everything else through untouched."""
        if scope.get("type") == "http" and scope.get("method") == "POST" and self._api_route(scope):
            kind = dict(scope.get("headers") or []).get(b"content-type", b"").split(b";")[0].strip().lower()
            if kind and kind != b"application/json":
                log_client_error(scope, "415 (the body is not JSON)")
                body = json.dumps({"error": "the request body must be JSON (Content-Type: application/json)"})
                headers = [(b"content-type", b"application/json")]
                await send({"type": "http.response.start", "status": 415, "headers": headers})
                await send({"type": "http.response.body", "body": body.encode()})
                return
        await self.app(scope, receive, send)

    def _api_route(self, scope: Message) -> bool:
        """Whether the request is for an API route (the path after the mount's ``root_path``, if any)."""
        path, root = str(scope.get("path", "")), str(scope.get("root_path", "")).rstrip("/")
        if root and path.startswith(root + "/"):
            path = path[len(root) :]
        return path in self.routes


class ClientErrorLogFilter(logging.Filter):
    """Rewrite BentoML's record of a client error (4xx) as one WARNING line without the input or traceback.

    A 503 raised through :func:`unavailable` is dropped: its reason was logged once when it changed.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        """Keep every other record; a client error's loses its traceback and names only the kinds of error."""
        exc = record.exc_info[1] if record.exc_info else None
        if exc is not None and _recorded_unavailable(exc):
            return False
        what = client_error_summary(exc) if exc is not None else None
        if what is None:
            return True
        route = record.args if isinstance(record.args, tuple) else ()
        where = f"{route[0]} [{route[1]}]" if len(route) == 2 else "a request"
        record.msg, record.args = "client error on %s: %s", (where, what)
        record.exc_info, record.exc_text = None, None
        record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def client_error_summary(exc: BaseException) -> str | None:
    """What a client error was, without its input: ``None`` when ``exc`` is not a client error."""
    from bentoml.exceptions import BentoMLException
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        kinds = sorted({str(e["type"]) for e in exc.errors(include_input=False, include_context=False)})
        return f"{exc.error_count()} validation error(s) ({', '.join(kinds)})"
    if isinstance(exc, BentoMLException) and int(exc.error_code.value) < 500:
        return f"{type(exc).__name__} ({int(exc.error_code.value)})"
    return None


def _recorded_unavailable(exc: BaseException) -> bool:
    """Whether ``exc`` is a 503 raised with a reason :func:`unavailable` recorded (and logged)."""
    from bentoml.exceptions import ServiceUnavailable

    if not isinstance(exc, ServiceUnavailable):
        return False
    with _UNAVAILABLE_LOCK:
        return str(exc) in {u.reason for u in UNAVAILABLE.values()}


def quiet_client_errors() -> None:
    """Install :class:`ClientErrorLogFilter` on BentoML's HTTP logger, once per process."""
    logger = logging.getLogger(BENTOML_HTTP_LOGGER)
    if not any(isinstance(f, ClientErrorLogFilter) for f in logger.filters):
        logger.addFilter(ClientErrorLogFilter())
