"""Who is signed in, and the CSRF token, kept in the signed session cookie.

The cookie (Starlette's SessionMiddleware: signed with the session secret, HttpOnly,
SameSite=Lax) holds only what a request needs: the user's id, role, agency or force, how
they signed in, when the session ends, and for OpenID Connect the access token that is
forwarded to the services. Never a referral's data.
"""

import hmac
import secrets
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from starlette.requests import Request

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


def sign_in(request: Request, user: SessionUser) -> None:
    """A new session for the user: everything before is dropped (no session fixation),
    and a new CSRF token is made."""
    request.session.clear()
    request.session[_USER] = asdict(user)
    request.session[_CSRF] = secrets.token_urlsafe(32)


def sign_out(request: Request) -> None:
    request.session.clear()


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
