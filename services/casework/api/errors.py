"""casework's API errors: the hub's error body (services/runtime/api_errors.py), plus a
refused action answered with the status its kind of refusal calls for."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.casework.decisions import RefusalKind
from services.casework.usecases import Refused
from services.runtime.api_errors import error_response, install_error_handlers

STATUS_OF = {
    RefusalKind.NOT_FOUND: 404,
    RefusalKind.FORBIDDEN: 403,
    RefusalKind.CONFLICT: 409,
    RefusalKind.INVALID: 422,
}


async def _on_refused(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, Refused)
    refusal = exc.refusal
    return error_response(STATUS_OF[refusal.kind], refusal.code, refusal.message)


def install(app: FastAPI) -> None:
    install_error_handlers(app)
    app.add_exception_handler(Refused, _on_refused)
