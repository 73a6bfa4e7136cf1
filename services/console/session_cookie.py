"""The session cookie: a random id, signed, and nothing else.

The id is 256 random bits. The signature (HMAC-SHA256 with the session secret) lets the
console drop a forged or guessed cookie without asking the database. The store only ever
sees the id's SHA-256, and logs only a short reference derived from that hash, so neither a
database read nor a log line yields a usable cookie.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass

COOKIE_NAME = "console_session"


def new_session_id() -> str:
    return secrets.token_urlsafe(32)


def store_key(session_id: str) -> bytes:
    """The key of the session's row: the id's SHA-256."""
    return hashlib.sha256(session_id.encode("ascii")).digest()


def session_ref(session_id: str) -> str:
    """A reference for log lines that ties sign-in, sign-out and expiry of one session
    together; it cannot be turned back into the id."""
    return hashlib.sha256(store_key(session_id)).hexdigest()[:16]


@dataclass(frozen=True)
class CookiePolicy:
    secret: bytes
    secure: bool
    """Send the cookie over HTTPS only (off only for a development console on loopback)."""

    def sign(self, session_id: str) -> str:
        return f"{session_id}.{self._signature(session_id)}"

    def unsign(self, value: str | None) -> str | None:
        """The session id a cookie carries, or None if it is missing or not ours."""
        if not value or value.count(".") != 1:
            return None
        session_id, signature = value.split(".")
        if not session_id or not hmac.compare_digest(
            signature.encode("ascii", "replace"), self._signature(session_id).encode("ascii")
        ):
            return None
        return session_id

    def set_cookie(self, session_id: str, max_age_s: int) -> str:
        return self._header(self.sign(session_id), max(max_age_s, 0))

    def clear_cookie(self) -> str:
        return self._header("", 0)

    def _header(self, value: str, max_age_s: int) -> str:
        # HttpOnly: no script reads it. SameSite=Lax: other sites' forms do not carry it
        # (CSRF tokens guard every POST besides). Path=/ and no Domain: this host only.
        attributes = [f"{COOKIE_NAME}={value}", "Path=/", f"Max-Age={max_age_s}", "HttpOnly"]
        attributes.append("SameSite=Lax")
        if self.secure:
            attributes.append("Secure")
        return "; ".join(attributes)

    def _signature(self, session_id: str) -> str:
        mac = hmac.new(self.secret, b"console-session:" + session_id.encode(), hashlib.sha256)
        return base64.urlsafe_b64encode(mac.digest()).rstrip(b"=").decode("ascii")
