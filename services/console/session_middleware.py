"""Server-side sessions: an ASGI middleware that loads the session the cookie names, gives
the request its data as ``request.session``, and writes it back before the response starts.

A session ends (its row deleted, the user sent to sign in) when its absolute lifetime is
over or it went unused longer than the idle timeout. ``ServerSession.renew`` gives the
request a new id and deletes the old row: sign-in uses it (no session fixation) and so does
sign-out (a cookie captured before sign-out names a row that no longer exists).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from starlette.datastructures import MutableHeaders
from starlette.requests import HTTPConnection
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.console import security_log
from services.console.session_cookie import (
    COOKIE_NAME,
    CookiePolicy,
    new_session_id,
    session_ref,
    store_key,
)
from services.console.session_store import SessionStore, StoredSession
from services.runtime.clock import Clock


class ServerSession(dict[str, Any]):
    """The session's data (what ``request.session`` returns) and its id."""

    def __init__(self, data: dict[str, Any], session_id: str, *, stored: bool) -> None:
        super().__init__(data)
        self.session_id = session_id
        self.stored = stored
        """Whether a row exists under ``session_id`` (else one is made if data is added)."""
        self.ends_at: datetime | None = None
        """For a new session: its absolute end (None: the configured maximum age)."""
        self.discarded: str | None = None

    @property
    def ref(self) -> str:
        return session_ref(self.session_id)

    def renew(self, ends_at: datetime | None = None) -> None:
        """Empty, under a new id; the old session's row is deleted with the response."""
        if self.stored:
            self.discarded = self.session_id
        self.clear()
        self.session_id = new_session_id()
        self.stored = False
        self.ends_at = ends_at


@dataclass(frozen=True)
class SessionPolicy:
    store: SessionStore
    clock: Clock
    cookie: CookiePolicy
    max_age: timedelta
    idle_timeout: timedelta


def ended(stored: StoredSession, now: datetime, idle_timeout: timedelta) -> str | None:
    """Why a stored session is over at ``now`` (idle or lifetime), or None if it is not."""
    if now >= stored.expires_at:
        return "lifetime"
    if now - stored.last_seen_at >= idle_timeout:
        return "idle"
    return None


class ServerSessionMiddleware:
    def __init__(self, app: ASGIApp, policy: SessionPolicy) -> None:
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if scope["path"].startswith("/static/"):  # no session needed; never stored
            scope["session"] = ServerSession({}, new_session_id(), stored=False)
            await self.app(scope, receive, send)
            return
        cookie = HTTPConnection(scope).cookies.get(COOKIE_NAME)
        session = await self._load(self.policy.cookie.unsign(cookie))
        scope["session"] = session

        async def send_with_cookie(message: Message) -> None:
            if message["type"] == "http.response.start":
                header = await self._save(session, cookie_sent=cookie is not None)
                if header is not None:
                    MutableHeaders(scope=message).append("set-cookie", header)
            await send(message)

        await self.app(scope, receive, send_with_cookie)

    async def _load(self, session_id: str | None) -> ServerSession:
        """The session the cookie names if it has not ended; else a new, empty one."""
        if session_id is not None:
            stored = await self.policy.store.load(store_key(session_id))
            if stored is not None:
                why = ended(stored, self.policy.clock.now(), self.policy.idle_timeout)
                if why is None:
                    return ServerSession(stored.data, session_id, stored=True)
                await self.policy.store.delete(store_key(session_id))
                user, role = security_log.identity(stored.data)
                if user is not None:
                    security_log.session_expired(
                        user=user, role=role, reason=why, session=session_ref(session_id)
                    )
        return ServerSession({}, new_session_id(), stored=False)

    async def _save(self, session: ServerSession, *, cookie_sent: bool) -> str | None:
        """Write the session back; the Set-Cookie header to send, if any."""
        store, now = self.policy.store, self.policy.clock.now()
        if session.discarded is not None:
            await store.delete(store_key(session.discarded))
        if session.stored:
            # Saved even when unchanged: it records the activity the idle timeout counts from.
            if await store.save(store_key(session.session_id), dict(session), now):
                return None
            return self.policy.cookie.clear_cookie()  # ended meanwhile (signed out elsewhere)
        if session:
            ends_at = session.ends_at or now + self.policy.max_age
            await store.create(store_key(session.session_id), dict(session), now, ends_at)
            max_age_s = int((ends_at - now).total_seconds())
            return self.policy.cookie.set_cookie(session.session_id, max_age_s)
        if cookie_sent or session.discarded is not None:
            return self.policy.cookie.clear_cookie()
        return None
