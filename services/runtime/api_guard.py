"""What every HTTP API of the hub does before and after a route runs.

- The request body is read and counted BEFORE anything parses it, whether it comes with a
  ``Content-Length`` or chunked: over ``max_body_bytes`` the request is answered 413 with
  the hub's error body (``request_too_large``) and the route never runs. An API's bodies
  are a few hundred bytes; a 50 MB body would otherwise be buffered and parsed in full.
- Every response says ``Cache-Control: no-store`` and ``Pragma: no-cache`` (queues, details
  and timelines hold personal data: no browser, proxy or disk cache may keep them) and
  ``X-Content-Type-Options: nosniff``.
- The interactive docs (``/docs``, ``/redoc``) and the OpenAPI document are served only when
  the service is told to (``docs=True``, e.g. ``CASEWORK_API_DOCS=true``); otherwise those
  paths do not exist. When on they are public: they describe the API's shape, which is in
  this repository, and hold no data; every route they describe still needs a token.
"""

from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from starlette.requests import HTTPConnection
from starlette.routing import Match

from services.runtime import security_log
from services.runtime.api_errors import error_response

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

DEFAULT_MAX_BODY_BYTES = 64 * 1024
RESPONSE_HEADERS = (
    (b"cache-control", b"no-store"),
    (b"pragma", b"no-cache"),
    (b"x-content-type-options", b"nosniff"),
)


@dataclass(frozen=True)
class ApiHardening:
    """The limits and switches of one API (from its settings: ``<SERVICE>_MAX_BODY_BYTES``,
    ``<SERVICE>_API_DOCS``)."""

    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES
    docs: bool = False

    def fastapi_options(self) -> dict[str, Any]:
        """Keyword arguments for ``FastAPI(...)``: the docs' URLs, or none at all."""
        if self.docs:
            return {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
        return {"docs_url": None, "redoc_url": None, "openapi_url": None}


DEFAULT_HARDENING = ApiHardening()
"""64 KiB bodies, no docs: what an API gets unless its settings say otherwise."""


class ApiGuard:
    """ASGI middleware: the body limit and the response headers (see the module doc)."""

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in RESPONSE_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        declared = _declared_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(scope, receive, send_with_headers, declared=declared)
            return
        messages, size = await self._read_body(receive)
        if size > self.max_body_bytes:
            await self._refuse(scope, receive, send_with_headers, received=size)
            return
        await self.app(scope, _replay(messages, receive), send_with_headers)

    async def _read_body(self, receive: Receive) -> tuple[list[Message], int]:
        """The request's messages up to the end of its body, or until one byte more than
        the limit was counted (the rest is never read)."""
        messages: list[Message] = []
        size = 0
        while True:
            message = await receive()
            messages.append(message)
            if message["type"] != "http.request":
                return messages, size  # the client went away: let the app see it
            size += len(message.get("body", b""))
            if size > self.max_body_bytes or not message.get("more_body", False):
                return messages, size

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, **counts: int) -> None:
        security_log.request_refused(
            HTTPConnection(_with_route(scope)), status=413, reason="body_too_large", **counts
        )
        response = error_response(
            413,
            "request_too_large",
            f"the request body may be at most {self.max_body_bytes} bytes",
            {"Connection": "close"},
        )
        await response(scope, receive, send)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def _with_route(scope: Scope) -> Scope:
    """``scope`` with the route it would reach (for the log's path template and referral
    id), found the way the router will find it; the request itself is not routed."""
    app = scope.get("app")
    for route in getattr(getattr(app, "router", None), "routes", []):
        match, child = route.matches(scope)
        if match is Match.FULL:
            return {**scope, **child, "route": route}
    return scope


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A ``receive`` that gives the messages already read, then the real one's."""
    pending = list(messages)

    async def replayed() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replayed


def install_guard(app: Any, hardening: ApiHardening) -> None:
    """Put the guard around ``app`` (a FastAPI or Starlette application)."""
    app.add_middleware(ApiGuard, max_body_bytes=hardening.max_body_bytes)
