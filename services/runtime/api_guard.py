"""What every HTTP API of the hub does before and after a route runs.

- The request body is counted as it is read, BEFORE anything parses it, whether it comes
  with a ``Content-Length`` or chunked: past ``max_body_bytes`` reading stops and the
  request is answered 413 with the hub's error body (``request_too_large``); the route
  never runs. An API's bodies are a few hundred bytes; a 50 MB body would otherwise be
  buffered and parsed in full.
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

from fastapi import Depends, FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException
from starlette.requests import HTTPConnection

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
        """Keyword arguments for ``FastAPI(...)``: the docs' URLs (or none at all), and the
        declared-length check on every route."""
        urls: dict[str, Any] = {"docs_url": None, "redoc_url": None, "openapi_url": None}
        if self.docs:
            urls = {"docs_url": "/docs", "redoc_url": "/redoc", "openapi_url": "/openapi.json"}
        return {**urls, "dependencies": [Depends(self.refuse_declared_oversize)]}

    def refuse_declared_oversize(self, request: Request) -> None:
        """A declared body over the limit is refused on routes that read no body too (an
        action without a body is not run with 50 MB behind it)."""
        declared = _declared_length(request.scope)
        if declared is not None and declared > self.max_body_bytes:
            raise BodyTooLarge(self.max_body_bytes, declared=declared)


DEFAULT_HARDENING = ApiHardening()
"""64 KiB bodies, no docs: what an API gets unless its settings say otherwise."""


class BodyTooLarge(HTTPException):
    """Raised from ``receive`` once a body passes the limit (FastAPI lets an HTTPException
    from reading the body through, so the route's handler never runs)."""

    def __init__(self, limit: int, **counts: int) -> None:
        super().__init__(413, "request_too_large")
        self.limit = limit
        self.counts = counts


class ApiGuard:
    """ASGI middleware: the body limit and the response headers (see the module doc).

    The body is counted as the app reads it, chunk by chunk, so a chunked body is stopped at
    the limit too; a declared ``Content-Length`` over the limit is refused at the first read,
    before a byte of it is taken. Raised inside the app, the refusal is answered by
    ``_on_body_too_large`` once the route is known (the log names it).
    """

    def __init__(self, app: ASGIApp, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in RESPONSE_HEADERS if n not in present]
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, self._counting(scope, receive), send_with_headers)
        except BodyTooLarge as refused:
            if started:
                raise
            # Read outside a route (no handler was reached): answer here.
            await _answer(HTTPConnection(scope), refused)(scope, receive, send_with_headers)

    def _counting(self, scope: Scope, receive: Receive) -> Receive:
        limit = self.max_body_bytes
        declared = _declared_length(scope)
        received = 0

        async def counted() -> Message:
            nonlocal received
            if declared is not None and declared > limit:
                raise BodyTooLarge(limit, declared=declared)
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit, received=received)
            return message

        return counted


def _answer(request: HTTPConnection, refused: BodyTooLarge) -> JSONResponse:
    security_log.request_refused(request, status=413, reason="body_too_large", **refused.counts)
    # No "Connection: close": the server reads whatever of the body is still coming and
    # drops it unbuffered, so a client still sending reads this answer instead of a reset.
    return error_response(
        413, "request_too_large", f"the request body may be at most {refused.limit} bytes"
    )


async def _on_body_too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, BodyTooLarge)
    return _answer(request, exc)


def _declared_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name.lower() == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else None
    return None


def install_guard(app: FastAPI, hardening: ApiHardening) -> None:
    """Put the guard around ``app``, and answer its refusals with the hub's error body."""
    app.add_middleware(ApiGuard, max_body_bytes=hardening.max_body_bytes)
    app.add_exception_handler(BodyTooLarge, _on_body_too_large)
