"""The page's static shell, mounted into the BentoML service at ``/ui`` (same origin, same port).

The shell (HTML, CSS, JavaScript; no build step, no CDN, no web font) holds no data: every account figure
comes from the service's JSON routes, which need the bearer token like any other route when
``CSAT_API_TOKEN`` is set. A browser cannot put a bearer header on a page navigation, so
:class:`OpenShellMiddleware` answers ``GET``/``HEAD`` for the shell's files before the token check; the page
then asks for the token once and sends it with each data call.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

PREFIX = "/ui"
STATIC_DIR = Path(__file__).parent / "static"
#: Everything the page loads comes from this origin; inline scripts and styles are refused.
HEADERS = [
    (b"content-security-policy", b"default-src 'self'; img-src 'self' data:; frame-ancestors 'none'"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-cache"),
]

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


class PageApp:
    """The shell's files (``index.html`` for the folder), with the page's security headers."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._files: ASGIApp | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve one file; ``/ui`` itself redirects to ``/ui/`` so relative links resolve."""
        path = str(scope.get("path", ""))
        if scope["type"] == "http" and path == scope.get("root_path") and not path.endswith("/"):
            await _redirect(send, path + "/")
            return
        if self._files is None:  # built on first use, not at import time
            from starlette.staticfiles import StaticFiles

            self._files = StaticFiles(directory=self.directory, html=True)

        async def with_headers(message: MutableMapping[str, Any]) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []), *HEADERS]
            await send(message)

        from starlette.exceptions import HTTPException
        from starlette.responses import PlainTextResponse

        try:
            await self._files(scope, receive, with_headers)
        except HTTPException as err:  # outside any Starlette app here: answer it ourselves (404, 405)
            await PlainTextResponse(str(err.detail), status_code=err.status_code)(scope, receive, send)


async def _redirect(send: Send, location: str) -> None:
    await send({"type": "http.response.start", "status": 307, "headers": [(b"location", location.encode())]})
    await send({"type": "http.response.body", "body": b""})


#: The one instance the service mounts (``@bentoml.asgi_app(PAGE, path=PREFIX)``).
PAGE = PageApp()


def is_shell_request(scope: Scope) -> bool:
    """A ``GET``/``HEAD`` for one of the shell's files (under ``/ui``)."""
    path = str(scope.get("path", ""))
    return (
        scope.get("type") == "http"
        and scope.get("method") in {"GET", "HEAD"}
        and (path == PREFIX or path.startswith(PREFIX + "/"))
    )


class OpenShellMiddleware:
    """Answer the shell's static files without the token; pass everything else on (to the token check).

    Added to the service before :class:`serving.security.TokenMiddleware`, so it sits outside it. The files
    hold no account data; the data routes stay protected.
    """

    def __init__(self, app: ASGIApp, page: ASGIApp = PAGE) -> None:
        self.app = app
        self.page = page

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve the shell directly, or hand the request to the protected app."""
        if is_shell_request(scope):
            await self.page({**scope, "root_path": scope.get("root_path", "") + PREFIX}, receive, send)
            return
        await self.app(scope, receive, send)
