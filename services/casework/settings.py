"""casework's settings: CASEWORK_* environment variables (plus HUB_KAFKA_BOOTSTRAP).

Tokens: locally the project signs them (``hub token``) and casework trusts the public key in
``<state_dir>/secrets/``. To accept a real identity provider's tokens instead, set
CASEWORK_TOKEN_PUBLIC_KEY_FILE (or _PEM) to the provider's signing key, CASEWORK_TOKEN_ISSUER
to its issuer, CASEWORK_TOKEN_AUDIENCE to the audience it issues for this API, and
CASEWORK_TOKEN_ALGORITHMS to the algorithm it signs with (e.g. '["RS256"]').
"""

from pathlib import Path

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from services.runtime.auth import AUDIENCE, LOCAL_ALGORITHMS, LOCAL_ISSUER
from services.runtime.settings import ServiceSettings


class CaseworkSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="CASEWORK_", extra="ignore", frozen=True)

    http_host: str = Field(default="127.0.0.1", description="Address the staff API listens on.")
    http_port: int = Field(default=8081, ge=0, le=65535, description="Port of the staff API.")
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

    def public_key_pem(self) -> str | None:
        if self.token_public_key_pem:
            return self.token_public_key_pem
        if self.token_public_key_file is not None:
            return self.token_public_key_file.read_text(encoding="utf-8")
        return None
