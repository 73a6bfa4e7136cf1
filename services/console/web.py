"""What every page needs: the wiring (``ConsoleDeps``), the signed-in user, the token for
the services, rendering with the CSRF token, and the pages shown when something is refused.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from services.console import labels, security_log
from services.console.audit import AuditClient
from services.console.casework import CaseworkClient
from services.console.demo import DEMO_USERS, DemoTokens, DemoUser
from services.console.figures import InsightsClient
from services.console.oidc import OidcClient
from services.console.session import (
    SessionUser,
    csrf_token,
    csrf_valid,
    server_session,
    signed_in_user,
    take_flash,
)
from services.console.session_store import SessionStore
from services.console.settings import ConsoleSettings
from services.runtime.clock import Clock

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
TEMPLATES.env.filters.update(
    word=labels.word,
    when=labels.when,
    when_exact=labels.when_exact,
    party=labels.party,
    day=labels.day,
    short_id=labels.short_id,
    duration=labels.duration,
)
TEMPLATES.env.globals.update(relative=labels.relative, summary_value=labels.summary_value)


@dataclass(frozen=True)
class ConsoleDeps:
    settings: ConsoleSettings
    casework: CaseworkClient
    insights: InsightsClient
    audit: AuditClient
    clock: Clock
    demo: DemoTokens | None
    """Present only when the demo sign-in is on (CONSOLE_DEMO_SIGN_IN)."""
    oidc: OidcClient | None
    sessions: SessionStore
    demo_users: tuple[DemoUser, ...] = DEMO_USERS


def get_deps(request: Request) -> ConsoleDeps:
    deps: ConsoleDeps = request.app.state.deps
    return deps


Deps = Annotated[ConsoleDeps, Depends(get_deps)]


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__("sign in")
        self.next_path = next_path


class PageRefused(Exception):
    """Show the error page with this status, title and explanation."""

    def __init__(self, status: int, title: str, text: str) -> None:
        super().__init__(title)
        self.status = status
        self.title = title
        self.text = text


def local_path(candidate: str | None) -> str:
    """Only a path on this site may be a redirect target (no open redirect)."""
    if not candidate or not candidate.startswith("/") or candidate.startswith("//"):
        return "/"
    if "\\" in candidate or any(ord(ch) < 32 for ch in candidate):
        return "/"
    return candidate


def current_user(request: Request, deps: Deps) -> SessionUser:
    user = signed_in_user(request, deps.clock.now())
    if user is None:
        path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        raise SignInRequired(path if request.method == "GET" else "/")
    return user


CurrentUser = Annotated[SessionUser, Depends(current_user)]


def staff_user(user: CurrentUser) -> SessionUser:
    if not user.is_staff:
        raise PageRefused(403, "Not available to your role", "This page is for agency staff.")
    return user


def police_user(user: CurrentUser) -> SessionUser:
    if not user.is_police:
        raise PageRefused(
            403, "Not available to your role", "This page is for police referral coordinators."
        )
    return user


StaffUser = Annotated[SessionUser, Depends(staff_user)]
PoliceUser = Annotated[SessionUser, Depends(police_user)]


def service_token(deps: ConsoleDeps, user: SessionUser) -> str:
    """The token the services get for this user: the IdP's access token, or for the demo
    sign-in a short-lived one the console signs."""
    if user.via == "oidc" and user.access_token:
        return user.access_token
    if user.via == "demo" and deps.demo is not None:
        return deps.demo.token(
            user=user.user,
            role=user.role,
            agency=user.agency,
            force=user.force,
            now=deps.clock.now(),
        )
    raise SignInRequired("/")


async def csrf_guard(request: Request) -> None:
    """Every POST must carry the session's CSRF token in the ``csrf_token`` field."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    form = await request.form()
    if not csrf_valid(request, form.get("csrf_token")):
        user, role = security_log.identity(request.session)
        session = server_session(request)
        security_log.csrf_refused(
            user=user,
            role=role,
            route=_route_of(request),
            session=session.ref if session.stored else None,
        )
        raise PageRefused(
            403,
            "This form was refused",
            "The form did not carry a valid security token, so nothing was changed. It may "
            "have expired or come from another site. Go back, reload the page and try again.",
        )


def _route_of(request: Request) -> str:
    """The route's template (``/referrals/{referral_id}/...``), not the address: addresses
    carry referral ids, which stay out of the logs."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"


def render(
    request: Request, template: str, context: dict[str, Any] | None = None, status: int = 200
) -> HTMLResponse:
    deps = get_deps(request)
    now = deps.clock.now()
    page = {
        "user": signed_in_user(request, now),
        "csrf_token": csrf_token(request),
        "flash": take_flash(request),
        "now": now,
        **(context or {}),
    }
    return TEMPLATES.TemplateResponse(request, template, page, status_code=status)


def to_sign_in(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/sign-in?next={quote(local_path(next_path), safe='/')}", 303)


async def on_sign_in_required(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, SignInRequired)
    return to_sign_in(exc.next_path)


async def on_page_refused(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, PageRefused)
    return render(request, "error.html", {"title": exc.title, "text": exc.text}, exc.status)
