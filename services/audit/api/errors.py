"""audit's API errors: the hub's error body (services/runtime/api_errors.py), plus a
referral the ledger holds nothing about answered 404 (not a security event)."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from services.audit.usecases import NothingLedgered
from services.runtime.api_errors import error_response, install_error_handlers


async def _on_nothing_ledgered(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NothingLedgered)
    return error_response(404, "not_found", "the ledger holds nothing about this referral")


def install(app: FastAPI) -> None:
    install_error_handlers(app)
    app.add_exception_handler(NothingLedgered, _on_nothing_ledgered)
