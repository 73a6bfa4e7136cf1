"""Settings of a service that also serves an HTTP API to people with identity tokens.

Locally the stack signs tokens (``hub token``, the console's demo sign-in) and hands each
service the public key as <SERVICE>_TOKEN_PUBLIC_KEY_FILE in its env file. To accept a real
identity provider's tokens instead, set <SERVICE>_TOKEN_PUBLIC_KEY_FILE (or _PEM) to the
provider's signing key, _TOKEN_ISSUER to its issuer, _TOKEN_AUDIENCE to the audience it issues
for this API, and _TOKEN_ALGORITHMS to the algorithm it signs with (e.g. '["RS256"]').
_TOKEN_MAX_LIFETIME_S (default 43200, 12 h) is the longest validity (exp - iat) accepted.

<SERVICE>_MAX_BODY_BYTES (default 65536) bounds request bodies and <SERVICE>_API_DOCS
(default false) serves the interactive docs and the OpenAPI document; see
services.runtime.api_guard.
"""

from datetime import timedelta
from pathlib import Path

from pydantic import Field

from services.runtime.api_guard import DEFAULT_MAX_BODY_BYTES, ApiHardening
from services.runtime.auth import (
    AUDIENCE,
    DEFAULT_MAX_LIFETIME,
    LOCAL_ALGORITHMS,
    LOCAL_ISSUER,
    TokenVerifier,
)
from services.runtime.settings import ServiceSettings


class ApiServiceSettings(ServiceSettings):
    http_host: str = Field(default="127.0.0.1", description="Address the API listens on.")
    http_port: int = Field(default=8080, ge=0, le=65535, description="Port of the API.")
    token_public_key_file: Path | None = Field(
        default=None, description="PEM file of the public key that signs identity tokens."
    )
    token_public_key_pem: str | None = Field(
        default=None, description="The same key as PEM text (instead of a file)."
    )
    token_issuer: str = Field(default=LOCAL_ISSUER, description="Expected 'iss' of tokens.")
    token_audience: str = Field(default=AUDIENCE, description="Expected 'aud' of tokens.")
    token_algorithms: list[str] = Field(
        default=list(LOCAL_ALGORITHMS), description="Signature algorithms accepted (pinned)."
    )
    token_max_lifetime_s: int = Field(
        default=int(DEFAULT_MAX_LIFETIME.total_seconds()),
        ge=60,
        le=7 * 24 * 3600,
        description="Longest validity a token may have (exp - iat); longer ones are refused.",
    )

    max_body_bytes: int = Field(
        default=DEFAULT_MAX_BODY_BYTES,
        ge=1024,
        le=16 * 1024 * 1024,
        description="Largest request body read; a larger one is answered 413 unparsed.",
    )
    api_docs: bool = Field(
        default=False,
        description="Serve /docs, /redoc and /openapi.json (public when on). Off unless set: "
        "`hub up`, the local development stack, turns it on.",
    )

    def api_hardening(self) -> ApiHardening:
        """The API's body limit and docs switch (see services.runtime.api_guard)."""
        return ApiHardening(max_body_bytes=self.max_body_bytes, docs=self.api_docs)

    def public_key_pem(self) -> str | None:
        if self.token_public_key_pem:
            return self.token_public_key_pem
        if self.token_public_key_file is not None:
            return self.token_public_key_file.read_text(encoding="utf-8")
        return None

    def token_verifier(self) -> TokenVerifier:
        """The verifier of this API's tokens; refuses to start without the issuer's key."""
        key = self.public_key_pem()
        if key is None:
            prefix = str(self.model_config.get("env_prefix", ""))
            raise SystemExit(f"set {prefix}TOKEN_PUBLIC_KEY_FILE (or _PEM) to the issuer's key")
        return TokenVerifier(
            key,
            self.token_issuer,
            self.token_audience,
            self.token_algorithms,
            timedelta(seconds=self.token_max_lifetime_s),
        )
