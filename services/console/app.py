"""The console's FastAPI application: pages, server-side sessions, CSRF on every form,
security headers, and the local stylesheet. No JavaScript, nothing from another site."""

from collections.abc import Awaitable, Callable
from datetime import timedelta
from pathlib import Path

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException

from services.console import security_log
from services.console.casework import NotSignedIn, UpstreamError
from services.console.routes import audit, police, programme, queue, referral, signin
from services.console.session import server_session
from services.console.session_cookie import CookiePolicy
from services.console.session_middleware import ServerSessionMiddleware, SessionPolicy
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
# Browsers that once reached the console over HTTPS refuse plain HTTP to it for a year.
_HSTS = {"Strict-Transport-Security": "max-age=31536000"}


Next = Callable[[Request], Awaitable[Response]]


def _security_headers(insecure_http: bool) -> Callable[[Request, Next], Awaitable[Response]]:
    headers = _HEADERS if insecure_http else {**_HEADERS, **_HSTS}

    async def add(request: Request, call_next: Next) -> Response:
        response = await call_next(request)
        response.headers.update(headers)
        if not request.url.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-store"  # pages may show personal data
        return response

    return add


async def _on_not_signed_in(request: Request, exc: Exception) -> Response:
    """A service refused the user's token (expired or revoked): the session ends."""
    session = server_session(request)
    user, role = security_log.identity(session)
    if user is not None:
        security_log.session_expired(
            user=user, role=role, reason="token_refused", session=session.ref
        )
    session.renew()
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
    settings = deps.settings
    app.middleware("http")(_security_headers(settings.allow_insecure_http))
    policy = SessionPolicy(
        store=deps.sessions,
        clock=deps.clock,
        cookie=CookiePolicy(session_secret.encode(), secure=not settings.allow_insecure_http),
        max_age=timedelta(seconds=settings.session_max_age_s),
        idle_timeout=timedelta(seconds=settings.session_idle_timeout_s),
    )
    app.add_middleware(ServerSessionMiddleware, policy=policy)
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
