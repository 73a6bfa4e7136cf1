"""OpenID Connect sign-in: PKCE, state, nonce, ID token validation, and the whole flow
against a fake identity provider (keys generated here, endpoints on httpx MockTransport)."""

import base64
import hashlib
import json
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from services.console import oidc
from services.console.settings import ConsoleSettings
from services.runtime.auth import mint_token
from tests.unit.test_console_harness import (
    CONSOLE_URL,
    FakeCasework,
    build_app,
    console_keys,
    fake_casework,
)

pytestmark = pytest.mark.unit
__all__ = ["console_keys", "fake_casework"]
ISSUER = "https://idp.example/realms/cumbria"
CLIENT = "referral-hub-console"
REDIRECT = "https://console/auth/callback"


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def jwks(key: rsa.RSAPrivateKey, kid: str = "k1") -> dict[str, Any]:
    public = json.loads(jwt.algorithms.RSAAlgorithm.to_jwk(key.public_key()))
    return {"keys": [{**public, "kid": kid, "alg": "RS256", "use": "sig"}]}


def id_token(key: rsa.RSAPrivateKey, nonce: str = "n-1", kid: str = "k1", **claims: Any) -> str:
    now = int(time.time())
    body = {
        "iss": ISSUER,
        "aud": CLIENT,
        "sub": "user-42",
        "iat": now,
        "exp": now + 300,
        "nonce": nonce,
        "role": "support_worker",
        "agency": "twc-barrow",
        "name": "Jo Example",
        **claims,
    }
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": kid})


def validate(token: str, key: rsa.RSAPrivateKey, nonce: str = "n-1") -> dict[str, Any]:
    return oidc.validate_id_token(
        token,
        jwt.PyJWKSet.from_dict(jwks(key)),
        issuer=ISSUER,
        client_id=CLIENT,
        algorithms=["RS256"],
        nonce=nonce,
    )


def test_pkce_challenge_is_rfc_7636_s256() -> None:
    # The example of RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert oidc.pkce_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


def test_each_sign_in_gets_fresh_unguessable_state_nonce_and_verifier() -> None:
    first, second = oidc.new_login("/queue"), oidc.new_login("/queue")
    assert len({first.state, second.state, first.nonce, second.nonce}) == 4
    assert first.verifier != second.verifier
    assert 43 <= len(first.verifier) <= 128
    assert set(first.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    )


def test_the_authorisation_url_asks_for_a_code_with_pkce() -> None:
    login = oidc.new_login("/")
    url = oidc.authorization_url(
        f"{ISSUER}/auth", client_id=CLIENT, redirect_url=REDIRECT, scopes="openid", login=login
    )
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    assert query == {
        "response_type": "code",
        "client_id": CLIENT,
        "redirect_uri": REDIRECT,
        "scope": "openid",
        "state": login.state,
        "nonce": login.nonce,
        "code_challenge": oidc.pkce_challenge(login.verifier),
        "code_challenge_method": "S256",
    }


def test_state_must_match_exactly() -> None:
    assert oidc.state_matches("abc", "abc")
    assert not oidc.state_matches("abc", "abd")
    assert not oidc.state_matches("abc", None)


def test_a_genuine_id_token_gives_its_claims(rsa_key: rsa.RSAPrivateKey) -> None:
    claims = validate(id_token(rsa_key), rsa_key)
    assert (claims["sub"], claims["role"], claims["agency"]) == (
        "user-42",
        "support_worker",
        "twc-barrow",
    )


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"iss": "https://other.example"}, "InvalidIssuerError"),
        ({"aud": "another-client"}, "InvalidAudienceError"),
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"nonce": "replayed"}, "nonce"),
        ({"iat": None}, "MissingRequiredClaimError"),
    ],
)
def test_an_id_token_not_meant_for_this_sign_in_is_refused(
    rsa_key: rsa.RSAPrivateKey, claims: dict[str, Any], why: str
) -> None:
    token = id_token(rsa_key, **{k: v for k, v in claims.items() if v is not None})
    if claims.get("iat", 0) is None:
        token = _without(rsa_key, "iat")
    with pytest.raises(oidc.OidcError, match=why):
        validate(token, rsa_key)


def _without(key: rsa.RSAPrivateKey, claim: str) -> str:
    body = jwt.decode(id_token(key), options={"verify_signature": False})
    del body[claim]
    return jwt.encode(body, key, algorithm="RS256", headers={"kid": "k1"})


def test_other_keys_and_algorithms_are_refused(rsa_key: rsa.RSAPrivateKey) -> None:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    with pytest.raises(oidc.OidcError, match="InvalidSignatureError"):
        validate(id_token(stranger), rsa_key)
    with pytest.raises(oidc.OidcError, match="not among the provider's keys"):
        validate(id_token(rsa_key, kid="unknown"), rsa_key)
    body = jwt.decode(id_token(rsa_key), options={"verify_signature": False})
    unsigned = jwt.encode(body, None, algorithm="none")  # type: ignore[arg-type]
    with pytest.raises(oidc.OidcError, match="algorithm"):
        validate(unsigned, rsa_key)
    forged = jwt.encode(body, "shared-secret-guess-of-32-bytes!!", algorithm="HS256")
    with pytest.raises(oidc.OidcError, match="algorithm"):
        validate(forged, rsa_key)


@dataclass
class FakeIdp:
    key: rsa.RSAPrivateKey
    access_token: str
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    exchanges: list[dict[str, str]] = field(default_factory=list)

    def authorise(self, url: str) -> str:
        """The user signs in at the provider: returns the callback URL with a code."""
        query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
        code = uuid.uuid4().hex
        self.codes[code] = query
        return f"{query['redirect_uri']}?code={code}&state={query['state']}"

    def handle(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if path.endswith("/.well-known/openid-configuration"):
            return httpx.Response(
                200,
                json={
                    "issuer": ISSUER,
                    "authorization_endpoint": f"{ISSUER}/auth",
                    "token_endpoint": f"{ISSUER}/token",
                    "jwks_uri": f"{ISSUER}/certs",
                },
            )
        if path.endswith("/certs"):
            return httpx.Response(200, json=jwks(self.key))
        form = {k: v[0] for k, v in parse_qs(request.content.decode()).items()}
        self.exchanges.append(form)
        asked = self.codes.pop(form.get("code", ""), None)
        digest = hashlib.sha256(form.get("code_verifier", "").encode()).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
        if asked is None or asked["code_challenge"] != challenge:
            return httpx.Response(400, json={"error": "invalid_grant"})
        token = id_token(self.key, nonce=asked["nonce"])
        return httpx.Response(
            200, json={"access_token": self.access_token, "id_token": token, "expires_in": 600}
        )


@pytest.fixture
async def sso(
    rsa_key: rsa.RSAPrivateKey, console_keys: tuple[str, str], fake_casework: FakeCasework
) -> AsyncIterator[tuple[httpx.AsyncClient, FakeIdp]]:
    access = mint_token(
        console_keys[0],
        user="user-42",
        role="support_worker",
        agency="twc-barrow",
        force=None,
        now=datetime.now(UTC),
        lifetime=timedelta(minutes=10),
    )
    idp = FakeIdp(rsa_key, access)
    settings = ConsoleSettings(
        oidc_issuer=ISSUER,
        oidc_client_id=CLIENT,
        oidc_client_secret="s3cret",
        oidc_redirect_url=REDIRECT,
    )
    idp_http = httpx.AsyncClient(transport=httpx.MockTransport(idp.handle))
    client = oidc.OidcClient(idp_http, issuer=ISSUER, client_id=CLIENT, client_secret="s3cret")
    casework = httpx.AsyncClient(
        transport=httpx.MockTransport(fake_casework.handle), base_url="http://casework"
    )
    app = build_app(console_keys, casework, oidc=client, settings=settings)
    transport = httpx.ASGITransport(app=app)
    async with (
        idp_http,
        casework,
        httpx.AsyncClient(transport=transport, base_url=CONSOLE_URL) as browser,
    ):
        yield browser, idp


async def test_single_sign_on_signs_the_user_in_with_the_providers_identity(
    sso: tuple[httpx.AsyncClient, FakeIdp], fake_casework: FakeCasework
) -> None:
    browser, idp = sso
    start = await browser.get("/sign-in/oidc?next=/queue")
    assert start.status_code == 303
    callback = await browser.get(idp.authorise(start.headers["location"]))
    assert callback.status_code == 303, callback.text
    assert callback.headers["location"] == "/queue"
    assert idp.exchanges[-1]["grant_type"] == "authorization_code"
    queue = await browser.get("/queue")
    assert queue.status_code == 200
    assert "Jo Example" in queue.text
    forwarded = fake_casework.requests[-1].headers["Authorization"]
    assert forwarded == f"Bearer {idp.access_token}", "the provider's access token is forwarded"


async def test_a_callback_with_another_state_is_refused(
    sso: tuple[httpx.AsyncClient, FakeIdp],
) -> None:
    browser, idp = sso
    start = await browser.get("/sign-in/oidc")
    forged = idp.authorise(start.headers["location"]).replace("state=", "state=x")
    response = await browser.get(forged)
    assert response.status_code == 400
    assert "did not belong to this sign-in" in response.text
    assert idp.exchanges == [], "the code was never exchanged"
    assert (await browser.get("/queue")).status_code == 303


async def test_a_callback_without_a_sign_in_in_progress_is_refused(
    sso: tuple[httpx.AsyncClient, FakeIdp],
) -> None:
    browser, _ = sso
    response = await browser.get("/auth/callback?code=abc&state=def")
    assert response.status_code == 400
    assert "no sign-in was in progress" in response.text
