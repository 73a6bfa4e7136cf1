"""Who is signed in, and the CSRF token, kept in the server-side session.

The session (``session_middleware``: a row in the console's schema, named by a signed random
id in an HttpOnly, SameSite=Lax, Secure cookie) holds only what a request needs: the user's
id, role, agency or force, how they signed in, when the session ends, and for OpenID Connect
the access token that is forwarded to the services. Never a referral's data.
"""

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request

from services.console.session_middleware import ServerSession

STAFF_ROLES = frozenset({"support_worker", "agency_lead"})
POLICE_ROLES = frozenset({"police_coordinator"})
AUDITOR_ROLES = frozenset({"auditor"})
PROGRAMME_ROLES = frozenset({"programme_manager"})

_USER = "user"
_CSRF = "csrf"
_FLASH = "flash"


@dataclass(frozen=True)
class SessionUser:
    user: str
    role: str
    agency: str | None
    force: str | None
    name: str
    via: str
    """'demo' or 'oidc'."""
    expires_at: int
    """Unix time the session ends (for OpenID Connect: when the access token expires)."""
    access_token: str | None = None

    @property
    def is_staff(self) -> bool:
        return self.role in STAFF_ROLES

    @property
    def is_lead(self) -> bool:
        return self.role == "agency_lead"

    @property
    def is_police(self) -> bool:
        return self.role in POLICE_ROLES

    def home(self) -> str:
        """The first page of this role."""
        if self.is_staff:
            return "/queue"
        if self.is_police:
            return "/police"
        if self.role in AUDITOR_ROLES:
            return "/audit"
        if self.role in PROGRAMME_ROLES:
            return "/programme"
        return "/no-access"


def signed_in_user(request: Request, now: datetime) -> SessionUser | None:
    """The session's user, or None when signed out or the session has ended."""
    stored = request.session.get(_USER)
    if not isinstance(stored, dict):
        return None
    try:
        user = SessionUser(**stored)
    except TypeError:
        return None
    if user.expires_at <= now.timestamp():
        return None
    return user


def server_session(request: Request) -> ServerSession:
    session = request.session
    assert isinstance(session, ServerSession), "the console's session middleware is missing"
    return session


def sign_in(request: Request, user: SessionUser) -> None:
    """A new session, under a new id, for the user: everything before is dropped and the
    old id is dead (no session fixation); a new CSRF token is made. The session ends when
    the user's does (for OpenID Connect: when the access token expires)."""
    session = server_session(request)
    session.renew(ends_at=datetime.fromtimestamp(user.expires_at, UTC))
    session[_USER] = asdict(user)
    session[_CSRF] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    """End the session server-side: its id stops working at once, wherever the cookie is."""
    server_session(request).renew()


def csrf_token(request: Request) -> str:
    """The session's CSRF token, made on first use (signed-out visitors get one too)."""
    token = request.session.get(_CSRF)
    if not isinstance(token, str) or not token:
        token = secrets.token_urlsafe(32)
        request.session[_CSRF] = token
    return token


def csrf_valid(request: Request, sent: object) -> bool:
    expected = request.session.get(_CSRF)
    if not isinstance(expected, str) or not expected or not isinstance(sent, str):
        return False
    return hmac.compare_digest(expected.encode(), sent.encode())


def flash(request: Request, text: str) -> None:
    """A one-time confirmation shown on the next page."""
    request.session[_FLASH] = text


def take_flash(request: Request) -> str | None:
    text: Any = request.session.pop(_FLASH, None)
    return text if isinstance(text, str) else None


def stash(request: Request, key: str, value: dict[str, str]) -> None:
    request.session[key] = value


def unstash(request: Request, key: str) -> dict[str, str] | None:
    value: Any = request.session.pop(key, None)
    return value if isinstance(value, dict) else None
