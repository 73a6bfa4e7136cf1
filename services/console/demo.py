"""The demo sign-in: a short list of made-up users of the Cumbria demo deployment.

Anyone at the sign-in page may pick any of them, so it is for local development only: it
is on only with CONSOLE_DEMO_SIGN_IN=true, never beside OpenID Connect (settings.py). The
console signs a short-lived token for the chosen user with the
stack's local signing key (the same one ``hub token`` uses) for every call it makes.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from services.runtime.auth import mint_token


@dataclass(frozen=True)
class DemoUser:
    key: str
    user: str
    role: str
    name: str
    agency: str | None = None
    force: str | None = None

    @property
    def description(self) -> str:
        where = self.agency or self.force or "all areas"
        return f"{self.role.replace('_', ' ')} · {where}"


DEMO_USERS: tuple[DemoUser, ...] = (
    DemoUser("barrow-worker", "twc-b-0487", "support_worker", "Alex Morgan", agency="twc-barrow"),
    DemoUser("barrow-lead", "twc-b-0101", "agency_lead", "Jo Patel", agency="twc-barrow"),
    DemoUser("carlisle-worker", "twc-c-0233", "support_worker", "Sam Reid", agency="twc-carlisle"),
    DemoUser(
        "south-worker",
        "crs-0342",
        "support_worker",
        "Chris Lowe",
        agency="cumbria-recovery-south",
    ),
    DemoUser("police", "cumb-spoc-17", "police_coordinator", "DS Kim Hughes", force="cumbria"),
    DemoUser("auditor", "cumb-imu-03", "auditor", "Pat Quinn", force="cumbria"),
    DemoUser("programme", "opcc-pm-02", "programme_manager", "Robin Ellis", force="cumbria"),
)


class DemoTokens:
    """Signs a fresh token per call for a demo user; the key never leaves the console."""

    def __init__(self, private_key_pem: str, lifetime: timedelta) -> None:
        self._key = private_key_pem
        self._lifetime = lifetime

    def token(
        self, *, user: str, role: str, agency: str | None, force: str | None, now: datetime
    ) -> str:
        return mint_token(
            self._key,
            user=user,
            role=role,
            agency=agency,
            force=force,
            now=now,
            lifetime=self._lifetime,
        )
