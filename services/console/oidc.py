"""OpenID Connect sign-in: authorisation code flow with PKCE (S256), state and nonce.

The pure parts (PKCE pair, the authorisation URL, ID token validation) are functions; the
provider's endpoints are called by ``OidcClient`` over httpx. The ID token is checked for
signature (by ``kid`` from the provider's JWKS, algorithms pinned by settings), issuer,
audience (this client), expiry, issue time and nonce; the user's role, agency and force
come from its claims. The access token is forwarded to the services, which check it
themselves.
"""

import base64
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

import httpx
import jwt

_LEEWAY = timedelta(seconds=30)
_REQUIRED = ["iss", "aud", "exp", "iat", "sub", "nonce"]


class OidcError(Exception):
    """Sign-in failed; the message is safe to show (never a token)."""


@dataclass(frozen=True)
class LoginRequest:
    """What the console keeps in the session between the redirect and the callback."""

    state: str
    nonce: str
    verifier: str
    next: str

    def as_dict(self) -> dict[str, str]:
        return {
            "state": self.state,
            "nonce": self.nonce,
            "verifier": self.verifier,
            "next": self.next,
        }


def pkce_challenge(verifier: str) -> str:
    """RFC 7636 S256: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def new_login(next_path: str) -> LoginRequest:
    # 64 random bytes -> 86 characters of [A-Za-z0-9_-], within RFC 7636's 43..128.
    return LoginRequest(
        state=secrets.token_urlsafe(32),
        nonce=secrets.token_urlsafe(32),
        verifier=secrets.token_urlsafe(64),
        next=next_path,
    )


def authorization_url(
    endpoint: str, *, client_id: str, redirect_url: str, scopes: str, login: LoginRequest
) -> str:
    query = urlencode(
        {
            "response_type": "code",
            "client_id": client_id,
            "redirect_uri": redirect_url,
            "scope": scopes,
            "state": login.state,
            "nonce": login.nonce,
            "code_challenge": pkce_challenge(login.verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in endpoint else "?"
    return f"{endpoint}{separator}{query}"


def state_matches(expected: str, received: str | None) -> bool:
    return received is not None and hmac.compare_digest(expected.encode(), received.encode())


def validate_id_token(
    token: str,
    keys: jwt.PyJWKSet,
    *,
    issuer: str,
    client_id: str,
    algorithms: list[str],
    nonce: str,
) -> dict[str, Any]:
    """The ID token's claims if it is genuine and meant for this sign-in; else OidcError."""
    try:
        header = jwt.get_unverified_header(token)
    except jwt.InvalidTokenError:
        raise OidcError("the identity provider's ID token is malformed") from None
    if header.get("alg") not in algorithms:
        raise OidcError("the ID token is signed with an algorithm this console does not accept")
    key = _key_for(keys, header.get("kid"))
    try:
        claims: dict[str, Any] = jwt.decode(
            token,
            key.key,
            algorithms=algorithms,
            audience=client_id,
            issuer=issuer,
            leeway=_LEEWAY,
            options={"require": _REQUIRED},
        )
    except jwt.ExpiredSignatureError:
        raise OidcError("the ID token has expired") from None
    except jwt.InvalidTokenError as exc:
        raise OidcError(f"the ID token is not valid ({type(exc).__name__})") from None
    if not hmac.compare_digest(str(claims["nonce"]).encode(), nonce.encode()):
        raise OidcError("the ID token was not issued for this sign-in (nonce)")
    return claims


def _key_for(keys: jwt.PyJWKSet, kid: object) -> jwt.PyJWK:
    candidates = [key for key in keys.keys if kid is None or key.key_id == kid]
    if len(candidates) != 1:
        raise OidcError("the ID token's signing key is not among the provider's keys")
    return candidates[0]


@dataclass(frozen=True)
class TokenSet:
    access_token: str
    id_token: str
    expires_in: int


class OidcClient:
    """The provider's discovery document, keys and token endpoint (cached per process)."""

    def __init__(
        self, http: httpx.AsyncClient, *, issuer: str, client_id: str, client_secret: str
    ) -> None:
        self._http = http
        self.issuer = issuer
        self.client_id = client_id
        self._secret = client_secret
        self._metadata: dict[str, Any] | None = None
        self._keys: jwt.PyJWKSet | None = None

    async def metadata(self) -> dict[str, Any]:
        if self._metadata is None:
            url = f"{self.issuer.rstrip('/')}/.well-known/openid-configuration"
            document = await self._get_json(url)
            if document.get("issuer") != self.issuer:
                raise OidcError("the provider's discovery document names another issuer")
            self._metadata = document
        return self._metadata

    async def keys(self, *, refresh: bool = False) -> jwt.PyJWKSet:
        if self._keys is None or refresh:
            document = await self._get_json(str((await self.metadata())["jwks_uri"]))
            try:
                self._keys = jwt.PyJWKSet.from_dict(document)
            except jwt.PyJWTError:
                raise OidcError("the provider's key set could not be read") from None
        return self._keys

    async def exchange(self, code: str, redirect_url: str, verifier: str) -> TokenSet:
        endpoint = str((await self.metadata())["token_endpoint"])
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": redirect_url,
            "code_verifier": verifier,
        }
        try:
            response = await self._http.post(
                endpoint, data=form, auth=(self.client_id, self._secret)
            )
        except httpx.HTTPError:
            raise OidcError("the identity provider could not be reached") from None
        if response.status_code != 200:
            raise OidcError(f"the identity provider refused the sign-in ({response.status_code})")
        body = response.json()
        if not isinstance(body.get("access_token"), str) or not isinstance(
            body.get("id_token"), str
        ):
            raise OidcError("the identity provider's answer lacks an access or ID token")
        return TokenSet(body["access_token"], body["id_token"], int(body.get("expires_in", 300)))

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            response = await self._http.get(url)
            response.raise_for_status()
            document: dict[str, Any] = response.json()
        except (httpx.HTTPError, ValueError):
            raise OidcError("the identity provider could not be reached") from None
        return document
