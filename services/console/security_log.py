"""Security events of the console, as structlog JSON lines with ``category: security``.

Each line names the event, the user id and role when known, and the session's reference
(``session_cookie.session_ref``). Never a token, a cookie value, a password or a name:
callers pass only those fields, so nothing else can reach the log from here.
"""

from typing import Any

from services.runtime.logs import get_logger

_log = get_logger(category="security")


def signed_in(*, user: str, role: str, via: str, session: str) -> None:
    _log.info("sign_in", user=user, role=role, via=via, session=session)


def sign_in_refused(*, via: str, reason: str, user: str | None = None) -> None:
    _log.warning("sign_in_refused", via=via, reason=reason, user=user)


def signed_out(*, user: str | None, role: str | None, session: str) -> None:
    _log.info("sign_out", user=user, role=role, session=session)


def session_expired(*, user: str | None, role: str | None, reason: str, session: str) -> None:
    """``reason``: idle, lifetime (absolute lifetime or the access token's end), or
    token_refused (a service no longer accepts the user's token)."""
    _log.info("session_expired", user=user, role=role, reason=reason, session=session)


def csrf_refused(*, user: str | None, role: str | None, route: str, session: str | None) -> None:
    _log.warning("csrf_refused", user=user, role=role, route=route, session=session)


def identity(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """The user id and role stored in a session's data, if someone is signed in."""
    stored = data.get("user")
    if not isinstance(stored, dict):
        return None, None
    user, role = stored.get("user"), stored.get("role")
    return (user if isinstance(user, str) else None, role if isinstance(role, str) else None)
