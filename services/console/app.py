"""The console's FastAPI application: pages, the session cookie, CSRF on every form,
security headers, and the local stylesheet. No JavaScript, nothing from another site."""

from collections.abc import Awaitable, Callable
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException
from starlette.middleware.sessions import SessionMiddleware

from services.console.casework import NotSignedIn, UpstreamError
from services.console.routes import audit, police, programme, queue, referral, signin
from services.console.web import (
    ConsoleDeps,
    PageRefused,
    SignInRequired,
    csrf_guard,
    on_page_refused,
    on_sign_in_required,
    render,
    to_sign_in,
)

SESSION_COOKIE = "console_session"
# No inline script or style anywhere, so the policy can be strict.
_CSP = (
    "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'; object-src 'none'"
)
_HEADERS = {
    "Content-Security-Policy": _CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",  # page addresses carry referral ids
    "X-Frame-Options": "DENY",
}


async def _security_headers(
    request: Request, call_next: Callable[[Request], Awaitable[Response]]
) -> Response:
    response = await call_next(request)
    response.headers.update(_HEADERS)
    if not request.url.path.startswith("/static/"):
        response.headers["Cache-Control"] = "no-store"  # pages may show personal data
    return response


async def _on_not_signed_in(request: Request, exc: Exception) -> Response:
    request.session.clear()
    return to_sign_in(request.url.path if request.method == "GET" else "/")


async def _on_upstream(request: Request, exc: Exception) -> Response:
    text = f"{exc}. Try again in a minute; if it goes on, tell your system administrator."
    return render(request, "error.html", {"title": "Service unavailable", "text": text}, 503)


async def _on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        title, text = "Page not found", "There is no page at this address."
    elif exc.status_code == 405:
        title, text = "Not allowed", "This address does not take that kind of request."
    else:
        title, text = "Request refused", "The console could not handle this request."
    return render(request, "error.html", {"title": title, "text": text}, exc.status_code)


async def _on_invalid(request: Request, exc: Exception) -> Response:
    text = "Some of what was sent could not be read. Go back and try again."
    return render(request, "error.html", {"title": "Request refused", "text": text}, 400)


def create_app(deps: ConsoleDeps, session_secret: str) -> FastAPI:
    app = FastAPI(
        title="referral-hub console",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        dependencies=[Depends(csrf_guard)],
    )
    app.state.deps = deps
    app.middleware("http")(_security_headers)
    app.add_middleware(
        SessionMiddleware,
        secret_key=session_secret,
        session_cookie=SESSION_COOKIE,
        max_age=deps.settings.session_max_age_s,
        same_site="lax",
        https_only=deps.settings.cookie_secure,
    )
    static = Path(__file__).with_name("static")
    app.mount("/static", StaticFiles(directory=static), name="static")
    app.add_exception_handler(SignInRequired, on_sign_in_required)
    app.add_exception_handler(PageRefused, on_page_refused)
    app.add_exception_handler(NotSignedIn, _on_not_signed_in)
    app.add_exception_handler(UpstreamError, _on_upstream)
    app.add_exception_handler(HTTPException, _on_http)
    app.add_exception_handler(RequestValidationError, _on_invalid)
    for module in (signin, queue, referral, police, programme, audit):
        app.include_router(module.router)
    return app
