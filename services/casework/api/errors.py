"""casework's API errors: the hub's error body (services/runtime/api_errors.py), plus a
refused action answered with the status its kind of refusal calls for. A refusal of who
may act (403, or 404 for a referral outside the caller's scope) is logged as a security
event; a 409 (the referral's state) or 422 is not."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.casework.decisions import RefusalKind
from services.casework.usecases import Refused
from services.runtime import security_log
from services.runtime.api_errors import error_response, install_error_handlers

STATUS_OF = {
    RefusalKind.NOT_FOUND: 404,
    RefusalKind.OUT_OF_SCOPE: 404,
    RefusalKind.FORBIDDEN: 403,
    RefusalKind.CONFLICT: 409,
    RefusalKind.INVALID: 422,
}


async def _on_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    refusal = exc.refusal
    status = STATUS_OF[refusal.kind]
    if refusal.kind is RefusalKind.OUT_OF_SCOPE:
        security_log.access_denied(request, status=status, code="out_of_scope")
    elif refusal.kind is RefusalKind.FORBIDDEN:
        security_log.access_denied(request, status=status, code=refusal.code)
    return error_response(status, refusal.code, refusal.message)


def install(app: FastAPI) -> None:
    install_error_handlers(app)
    app.add_exception_handler(Refused, _on_refused)
