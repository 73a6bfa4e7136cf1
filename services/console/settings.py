"""The console's settings: CONSOLE_* environment variables. Only this module reads them.

Sign-in is OpenID Connect (CONSOLE_OIDC_ISSUER, _CLIENT_ID, _CLIENT_SECRET and _REDIRECT_URL
set) in every real deployment. The demo sign-in (anyone picks a made-up user) runs only when
CONSOLE_DEMO_SIGN_IN=true, and never beside OpenID Connect: that combination is refused
here, so the process does not start. Cookies are Secure and HSTS is sent unless
CONSOLE_ALLOW_INSECURE_HTTP=true, which is refused unless the console listens on loopback.
"""

import ipaddress
from pathlib import Path
from typing import Self

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


def is_loopback(host: str) -> bool:
    """Whether only this machine can reach an address the console listens on."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False  # a name other than localhost may resolve anywhere


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    http_host: str = Field(default="127.0.0.1", description="Address the console listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="Port of the console.")
    log_level: str = Field(default="INFO", description="Minimum log level.")
    database_url: SecretStr | None = Field(
        default=None,
        description="DSN of the console's own role; its schema holds the sessions. Required "
        "to serve.",
    )
    casework_url: str = Field(
        default="http://127.0.0.1:8081", description="Base URL of casework's staff API."
    )
    insights_url: str = Field(
        default="http://127.0.0.1:8083", description="Base URL of insights' figures API."
    )
    audit_url: str = Field(
        default="http://127.0.0.1:8084", description="Base URL of audit's auditor API."
    )
    upstream_timeout_s: float = Field(
        default=15.0, gt=0, description="How long to wait for another service's answer."
    )
    session_secret: SecretStr | None = Field(
        default=None,
        description="Key that signs the session id in the cookie (32+ random characters), "
        "the same on every instance. Required to serve.",
    )
    session_max_age_s: int = Field(
        default=8 * 3600, ge=60, description="A session ends this long after sign-in."
    )
    session_idle_timeout_s: int = Field(
        default=30 * 60, ge=60, description="A session ends after this long without a request."
    )
    allow_insecure_http: bool = Field(
        default=False,
        description="Development only: cookies without Secure and no HSTS, so a browser can "
        "use http://127.0.0.1. Refused unless http_host is a loopback address.",
    )
    demo_sign_in: bool = Field(
        default=False,
        description="Development only: anyone at the sign-in page may pick a made-up user. "
        "Refused when OpenID Connect is configured.",
    )
    token_private_key_file: Path | None = Field(
        default=None,
        description="The stack's local token signing key (PEM); the demo sign-in signs with "
        "it. Read only when demo_sign_in is on.",
    )
    token_lifetime_s: int = Field(
        default=300, ge=30, description="Lifetime of the tokens the demo sign-in signs per call."
    )
    areas: list[str] = Field(
        default=["barrow", "kendal", "carlisle"], description="Area codes offered as filters."
    )
    oidc_issuer: str | None = Field(default=None, description="The identity provider's issuer.")
    oidc_client_id: str | None = Field(default=None, description="The console's client id.")
    oidc_client_secret: SecretStr | None = Field(default=None, description="Its client secret.")
    oidc_redirect_url: str | None = Field(
        default=None, description="This console's callback, e.g. https://console/auth/callback."
    )
    oidc_scopes: str = Field(default="openid profile", description="Scopes requested.")
    oidc_algorithms: list[str] = Field(
        default=["RS256"], description="Signature algorithms accepted for ID tokens (pinned)."
    )

    @model_validator(mode="after")
    def _refuse_unsafe_combinations(self) -> Self:
        problems = unsafe_combinations(self)
        if problems:
            raise ValueError("; ".join(problems))
        return self

    def oidc_enabled(self) -> bool:
        return bool(
            self.oidc_issuer
            and self.oidc_client_id
            and self.oidc_client_secret
            and self.oidc_redirect_url
        )

    def oidc_configured_at_all(self) -> bool:
        """Any OpenID Connect setting present: a real deployment, even if half-configured."""
        return any(
            bool(value)
            for value in (
                self.oidc_issuer,
                self.oidc_client_id,
                self.oidc_client_secret,
                self.oidc_redirect_url,
            )
        )

    def serving_problems(self) -> list[str]:
        """What is missing to serve pages (settings a test of the app alone need not set)."""
        problems = []
        if self.database_url is None:
            problems.append("CONSOLE_DATABASE_URL is not set: the sessions live in PostgreSQL")
        secret = self.session_secret.get_secret_value() if self.session_secret else ""
        if len(secret) < 32:
            problems.append(
                "CONSOLE_SESSION_SECRET must be set to 32+ random characters, the same on "
                "every instance (it signs the session id in the cookie)"
            )
        if self.demo_sign_in and self.token_private_key_file is None:
            problems.append("CONSOLE_DEMO_SIGN_IN needs CONSOLE_TOKEN_PRIVATE_KEY_FILE")
        return problems


def unsafe_combinations(settings: ConsoleSettings) -> list[str]:
    """Settings that would let someone in without a credential, or over plain HTTP."""
    problems = []
    if settings.demo_sign_in and settings.oidc_configured_at_all():
        problems.append(
            "CONSOLE_DEMO_SIGN_IN is on while OpenID Connect is configured: the demo sign-in "
            "lets anyone sign in as any made-up user, so it never runs beside a real sign-in"
        )
    if settings.allow_insecure_http and not is_loopback(settings.http_host):
        problems.append(
            f"CONSOLE_ALLOW_INSECURE_HTTP is only for a console on a loopback address, not "
            f"{settings.http_host}: serve it over HTTPS (cookies are Secure, HSTS is sent)"
        )
    return problems
