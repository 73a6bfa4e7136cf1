"""The error body every HTTP API of the hub gives: ``{"error": code, "detail": human text}``.

Validation errors name the field and the rule broken, never the value sent (they may be
personal data).
"""

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from services.runtime import security_log


class ApiError(Exception):
    """An answer other than success, raised anywhere in a request's handling.

    A 401 or 403 is logged as a security event (``security_log``); ``reason`` is the short
    code logged for a 401 (default: ``code``), e.g. why a token was refused.
    """

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        headers: dict[str, str] | None = None,
        *,
        reason: str | None = None,
    ) -> None:
        super().__init__(code)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers
        self.reason = reason or code


def error_response(
    status: int, code: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail, **extra}, status, headers=headers)


async def _on_api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    if exc.status == 401:
        security_log.authentication_refused(request, reason=exc.reason)
    elif exc.status == 403:
        security_log.access_denied(request, status=exc.status, code=exc.code)
    return error_response(exc.status, exc.code, exc.detail, exc.headers)


async def _on_invalid(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {"field": ".".join(str(part) for part in error["loc"]), "problem": error["msg"]}
        for error in exc.errors()
    ]
    text = "; ".join(f"{p['field']}: {p['problem']}" for p in problems)
    return error_response(422, "invalid_request", text, problems=problems)


def install_error_handlers(app: FastAPI) -> None:
    """Answer ``ApiError`` and request validation errors with the hub's error body."""
    app.add_exception_handler(ApiError, _on_api_error)
    app.add_exception_handler(RequestValidationError, _on_invalid)
