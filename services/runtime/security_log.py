"""Security events of the services' HTTP APIs, as structlog JSON lines with
``category: security`` (the shape of the console's ``services/console/security_log.py``).

Each line names the event, why, the method and the route's path template (e.g.
``/referrals/{referral_id}/accept``), and when known the caller's user id and role and the
referral id the request was about. Never a token, a header value, a body or a name: callers
pass only these fields, so nothing else can reach the log from here.

Logged: refused authentication (401: no token, expired, bad signature, too long-lived...),
refused authorisation (403, and a 404 answered because the referral is outside the
caller's scope), and requests refused before parsing (413). A 409 (the referral's state
does not allow an action) or a 422 (a malformed request) is ordinary use, not a security
event.
"""

from typing import Any

from starlette.requests import HTTPConnection

from services.runtime.logs import get_logger

_log = get_logger(category="security")
_CALLER = "security_caller"


def note_caller(request: HTTPConnection, *, user: str, role: str) -> None:
    """Remember who the verified caller is, for any refusal logged later in the request."""
    setattr(request.state, _CALLER, (user, role))


def _caller(request: HTTPConnection) -> tuple[str | None, str | None]:
    found = getattr(request.state, _CALLER, None)
    return found if isinstance(found, tuple) else (None, None)


def route_of(request: HTTPConnection) -> str | None:
    """The matched route's path template: ids are not in it (the referral id is logged on
    its own, and only where a refusal is about one referral)."""
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else None


def _request_fields(request: HTTPConnection) -> dict[str, Any]:
    user, role = _caller(request)
    fields: dict[str, Any] = {
        "method": request.scope.get("method"),
        "route": route_of(request),
        "user": user,
        "role": role,
    }
    referral_id = request.path_params.get("referral_id")
    if referral_id is not None:
        fields["referral_id"] = str(referral_id)
    return fields


def authentication_refused(request: HTTPConnection, *, reason: str) -> None:
    """401. ``reason``: a short code (``no_token``, ``expired``, ``bad_signature``,
    ``lifetime_too_long``, ``bad_subject``...), never the token."""
    _log.warning("api_authentication_refused", reason=reason, **_request_fields(request))


def access_denied(request: HTTPConnection, *, status: int, code: str) -> None:
    """403, or 404 for a referral outside the caller's agency or force; ``code`` is the
    error code answered (e.g. ``not_assigned_to_you``, ``out_of_scope``)."""
    _log.warning("api_access_denied", status=status, code=code, **_request_fields(request))


def request_refused(request: HTTPConnection, *, status: int, reason: str, **counts: int) -> None:
    """A request refused before it was parsed (e.g. a body over the limit); ``counts`` are
    sizes, never content."""
    _log.warning(
        "api_request_refused", status=status, reason=reason, **counts, **_request_fields(request)
    )
