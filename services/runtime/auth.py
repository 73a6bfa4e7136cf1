"""Who is calling: signed identity tokens (JWT) for the services' HTTP APIs.

Locally the project is its own identity provider: ``ensure_signing_keys`` makes an Ed25519
key pair once per stack in ``<state_dir>/secrets/``, ``hub token`` signs tokens with the
private key (``mint_token``) and services verify them with the public key
(``TokenVerifier``). Claims: ``sub`` (user id), ``agency``, ``role``, ``force`` (police
only), ``iss``, ``aud``, ``iat``, ``exp``. Every one but ``agency`` and ``force`` is
required; a token may be valid for at most ``max_lifetime`` (``exp - iat``, 12 h unless set)
and its ``sub`` must be a user id of a safe shape (``USER_ID_PATTERN``).

A real identity provider replaces the local one by configuration, not code: give the
service the provider's public key (PEM, or one key taken from its JWKS document), its
issuer and the audience it writes for this API, and pin the algorithm it signs with (e.g.
RS256 or ES256). The provider must put ``agency``, ``role`` and, for police, ``force``
claims in the tokens it issues for referral-hub, and ``iat`` with a lifetime no longer
than the API accepts (``<SERVICE>_TOKEN_MAX_LIFETIME_S``). Nothing else changes: the
signature, issuer, audience, expiry and lifetime are checked the same way.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization

from services.runtime.key_files import TOKEN_KEY, stack_key_pair

LOCAL_ISSUER = "referral-hub-local"
AUDIENCE = "referral-hub"
LOCAL_ALGORITHMS = ("EdDSA",)
_REQUIRED_CLAIMS = ["sub", "role", "iss", "aud", "iat", "exp"]
CLOCK_SKEW = timedelta(seconds=30)
"""How far the issuer's clock may be from ours (``exp``, ``iat`` and ``nbf`` checks)."""
DEFAULT_MAX_LIFETIME = timedelta(hours=12)
"""The longest a token may be valid (``exp - iat``): a working day. A stolen token with a
long expiry would otherwise stay useful for years."""
USER_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@|+-]{0,127}$"
"""What a user id (a token's ``sub``, a worker named in a request) may look like: ASCII
letters, digits and ``. _ @ | + -``, starting with a letter or digit, at most 128
characters. This covers e-mail-like ids, UUIDs and common identity providers' subjects
(e.g. ``auth0|123``) and keeps invisible, right-to-left and look-alike characters out of
events, timelines and logs."""
_USER_ID = re.compile(USER_ID_PATTERN)

# Why a token was refused, as a short code for the security log (never the token itself).
_REASONS: tuple[tuple[type[Exception], str], ...] = (
    (jwt.ExpiredSignatureError, "expired"),
    (jwt.ImmatureSignatureError, "not_yet_valid"),
    (jwt.InvalidSignatureError, "bad_signature"),
    (jwt.InvalidAlgorithmError, "algorithm_not_allowed"),
    (jwt.InvalidAudienceError, "wrong_audience"),
    (jwt.InvalidIssuerError, "wrong_issuer"),
    (jwt.InvalidIssuedAtError, "bad_issued_at"),
    (jwt.MissingRequiredClaimError, "missing_claim"),
    (jwt.DecodeError, "malformed"),
)


@dataclass(frozen=True)
class Identity:
    """A verified caller. ``role`` is checked by each service against the roles it knows."""

    user: str
    role: str
    agency: str | None
    force: str | None


class InvalidToken(Exception):
    """The token is missing, malformed, expired, or not signed by the trusted key.

    The message is safe to show to the caller: it never repeats the token. ``reason`` is a
    short code for the security log (e.g. ``expired``, ``bad_signature``)."""

    def __init__(self, message: str, reason: str = "invalid") -> None:
        super().__init__(message)
        self.reason = reason


def is_user_id(value: str) -> bool:
    """Whether ``value`` is a user id of the safe shape (``USER_ID_PATTERN``)."""
    return _USER_ID.fullmatch(value) is not None


class TokenVerifier:
    """Checks signature, issuer, audience, expiry and lifetime with pinned algorithms."""

    def __init__(
        self,
        public_key_pem: str,
        issuer: str,
        audience: str,
        algorithms: Sequence[str] = LOCAL_ALGORITHMS,
        max_lifetime: timedelta = DEFAULT_MAX_LIFETIME,
    ) -> None:
        self._key = serialization.load_pem_public_key(public_key_pem.encode())
        self._issuer = issuer
        self._audience = audience
        self._algorithms = list(algorithms)
        self._max_lifetime = max_lifetime

    def verify(self, token: str) -> Identity:
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                self._key,  # type: ignore[arg-type]
                algorithms=self._algorithms,
                audience=self._audience,
                issuer=self._issuer,
                leeway=CLOCK_SKEW,
                options={"require": _REQUIRED_CLAIMS},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidToken("the token has expired", "expired") from None
        except jwt.InvalidTokenError as exc:
            reason = next((r for kind, r in _REASONS if isinstance(exc, kind)), "invalid")
            raise InvalidToken(f"the token is not valid ({type(exc).__name__})", reason) from None
        self._check_lifetime(claims)
        user = _text_claim(claims, "sub", required=True) or ""
        if not is_user_id(user):
            raise InvalidToken("the token's 'sub' claim is not a valid user id", "bad_subject")
        return Identity(
            user=user,
            role=_text_claim(claims, "role", required=True) or "",
            agency=_text_claim(claims, "agency", required=False),
            force=_text_claim(claims, "force", required=False),
        )

    def _check_lifetime(self, claims: dict[str, Any]) -> None:
        """A token may be valid for at most ``max_lifetime`` from when it was issued, so an
        issuer (or someone holding its key for a while) cannot mint near-permanent tokens."""
        lifetime = timedelta(seconds=int(claims["exp"]) - int(claims["iat"]))
        if lifetime > self._max_lifetime:
            raise InvalidToken(
                "the token is valid for longer than this API accepts "
                f"({int(self._max_lifetime.total_seconds())} s)",
                "lifetime_too_long",
            )


def _text_claim(claims: dict[str, Any], name: str, *, required: bool) -> str | None:
    value = claims.get(name)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value.strip() or len(value) > 200:
        raise InvalidToken(
            f"the token's '{name}' claim is missing or not a short text", "bad_claim"
        )
    return value


def mint_token(
    private_key_pem: str,
    *,
    user: str,
    role: str,
    agency: str | None,
    force: str | None,
    now: datetime,
    lifetime: timedelta,
    issuer: str = LOCAL_ISSUER,
    audience: str = AUDIENCE,
) -> str:
    """A signed token (EdDSA) for local use and tests; ``now`` is passed in."""
    key = serialization.load_pem_private_key(private_key_pem.encode(), password=None)
    claims: dict[str, Any] = {
        "sub": user,
        "role": role,
        "iss": issuer,
        "aud": audience,
        "iat": int(now.timestamp()),
        "exp": int((now + lifetime).timestamp()),
    }
    if agency is not None:
        claims["agency"] = agency
    if force is not None:
        claims["force"] = force
    return jwt.encode(claims, key, algorithm="EdDSA")  # type: ignore[arg-type]


def ensure_signing_keys(state_dir: Path) -> tuple[Path, Path]:
    """The local token key pair in ``<state_dir>/secrets/``, made once (private key 0600)."""
    return stack_key_pair(state_dir, TOKEN_KEY)
