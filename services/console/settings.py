"""The console's settings: CONSOLE_* environment variables. Only this module reads them.

Sign-in is either the demo sign-in (CONSOLE_TOKEN_PRIVATE_KEY_FILE set: the console signs
tokens for demo users with the stack's local key) or OpenID Connect (CONSOLE_OIDC_ISSUER,
_CLIENT_ID, _CLIENT_SECRET and _REDIRECT_URL set), or both.
"""

from pathlib import Path

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class ConsoleSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CONSOLE_", extra="ignore", frozen=True)

    http_host: str = Field(default="127.0.0.1", description="Address the console listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="Port of the console.")
    log_level: str = Field(default="INFO", description="Minimum log level.")
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
        description="Key that signs the session cookie (32+ random characters). Without it a "
        "random key is made at start, so sessions end when the console restarts.",
    )
    session_max_age_s: int = Field(
        default=8 * 3600, ge=60, description="A session ends this long after sign-in."
    )
    cookie_secure: bool = Field(
        default=False, description="Send the session cookie over HTTPS only (set in production)."
    )
    token_private_key_file: Path | None = Field(
        default=None,
        description="The stack's local token signing key (PEM). Enables the demo sign-in.",
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

    def oidc_enabled(self) -> bool:
        return bool(
            self.oidc_issuer
            and self.oidc_client_id
            and self.oidc_client_secret
            and self.oidc_redirect_url
        )
