"""Identity tokens (services/runtime/auth.py): what the API trusts and what it refuses."""

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
import typer
from cryptography.hazmat.primitives import serialization
from typer.testing import CliRunner

from services.casework.settings import CaseworkSettings
from services.hub.token_commands import token
from services.runtime.auth import (
    AUDIENCE,
    LOCAL_ISSUER,
    InvalidToken,
    TokenVerifier,
    ensure_signing_keys,
    mint_token,
)

pytestmark = pytest.mark.unit
NOW = datetime.now(UTC)


@pytest.fixture
def keys(tmp_path: Path) -> tuple[str, str]:
    private_path, public_path = ensure_signing_keys(tmp_path)
    return private_path.read_text(), public_path.read_text()


def _mint(private: str, **overrides: object) -> str:
    claims: dict[str, object] = {
        "user": "worker-1",
        "role": "support_worker",
        "agency": "twc-barrow",
        "force": None,
        "now": NOW,
        "lifetime": timedelta(hours=1),
    }
    claims.update(overrides)
    return mint_token(private, **claims)  # type: ignore[arg-type]


def test_a_minted_token_verifies_to_its_identity(keys: tuple[str, str]) -> None:
    private, public = keys
    identity = TokenVerifier(public, LOCAL_ISSUER, AUDIENCE).verify(_mint(private))
    assert (identity.user, identity.role, identity.agency, identity.force) == (
        "worker-1",
        "support_worker",
        "twc-barrow",
        None,
    )


def test_keys_are_made_once_and_the_private_key_is_private(tmp_path: Path) -> None:
    first = ensure_signing_keys(tmp_path)
    pem = first[0].read_text()
    assert ensure_signing_keys(tmp_path) == first
    assert first[0].read_text() == pem
    assert first[0].stat().st_mode & 0o777 == 0o600


@pytest.mark.parametrize(
    ("overrides", "verifier_args"),
    [
        ({"lifetime": timedelta(hours=-1)}, (LOCAL_ISSUER, AUDIENCE)),
        ({"issuer": "someone-else"}, (LOCAL_ISSUER, AUDIENCE)),
        ({"audience": "another-api"}, (LOCAL_ISSUER, AUDIENCE)),
        ({}, ("https://idp.example", AUDIENCE)),
    ],
    ids=["expired", "wrong-issuer", "wrong-audience", "verifier-expects-other-issuer"],
)
def test_tokens_for_someone_else_or_out_of_date_are_refused(
    keys: tuple[str, str], overrides: dict[str, object], verifier_args: tuple[str, str]
) -> None:
    private, public = keys
    with pytest.raises(InvalidToken):
        TokenVerifier(public, *verifier_args).verify(_mint(private, **overrides))


def test_a_token_signed_with_another_key_is_refused(keys: tuple[str, str], tmp_path: Path) -> None:
    other_private = ensure_signing_keys(tmp_path / "other")[0].read_text()
    with pytest.raises(InvalidToken):
        TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE).verify(_mint(other_private))


def _b64(data: dict[str, object]) -> str:
    return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()


def test_unsigned_and_symmetric_tokens_are_refused(keys: tuple[str, str]) -> None:
    """Algorithms are pinned: unsigned ('none') and shared-secret (HS256) tokens fail."""
    claims: dict[str, object] = {"sub": "x", "role": "lead", "iss": LOCAL_ISSUER, "aud": AUDIENCE}
    claims["exp"] = int((NOW + timedelta(hours=1)).timestamp())
    unsigned = f"{_b64({'alg': 'none', 'typ': 'JWT'})}.{_b64(claims)}."
    hmac_token = jwt.encode(claims, "a-shared-secret-that-is-not-the-key!", algorithm="HS256")
    verifier = TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE)
    for bad in (unsigned, hmac_token, "garbage", ""):
        with pytest.raises(InvalidToken):
            verifier.verify(bad)


def test_a_token_without_a_role_is_refused(keys: tuple[str, str]) -> None:
    claims: dict[str, object] = {"sub": "worker-1", "iss": LOCAL_ISSUER, "aud": AUDIENCE}
    claims["exp"] = int((NOW + timedelta(hours=1)).timestamp())
    private = serialization.load_pem_private_key(keys[0].encode(), password=None)
    token = jwt.encode(claims, private, algorithm="EdDSA")  # type: ignore[arg-type]
    with pytest.raises(InvalidToken):
        TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE).verify(token)


def test_hub_token_prints_a_token_casework_accepts_with_the_stacks_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hub token` signs with the stack's key; casework trusts the public half, which the
    stack's env file hands it as CASEWORK_TOKEN_PUBLIC_KEY_FILE."""
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path))
    cli = typer.Typer()
    cli.command()(token)
    result = CliRunner().invoke(
        cli, ["--user", "lead-7", "--role", "agency_lead", "--agency", "twc-barrow", "--hours", "2"]
    )
    assert result.exit_code == 0, result.output
    _, public_path = ensure_signing_keys(tmp_path)
    settings = CaseworkSettings(
        database_url="postgresql://unused", token_public_key_file=public_path
    )
    verifier = settings.token_verifier()
    identity = verifier.verify(result.output.strip())
    assert (identity.user, identity.role, identity.agency) == (
        "lead-7",
        "agency_lead",
        "twc-barrow",
    )


def test_casework_refuses_to_start_without_the_issuers_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = CaseworkSettings(
        database_url="postgresql://unused",
        token_issuer="https://idp.example",
    )
    with pytest.raises(SystemExit):
        settings.token_verifier()


def _signed(private_pem: str, claims: dict[str, object]) -> str:
    private = serialization.load_pem_private_key(private_pem.encode(), password=None)
    return jwt.encode(claims, private, algorithm="EdDSA")  # type: ignore[arg-type]


def _claims(**overrides: object) -> dict[str, object]:
    claims: dict[str, object] = {
        "sub": "worker-1",
        "role": "support_worker",
        "agency": "twc-barrow",
        "iss": LOCAL_ISSUER,
        "aud": AUDIENCE,
        "iat": int(NOW.timestamp()),
        "exp": int((NOW + timedelta(hours=1)).timestamp()),
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"exp": int((NOW + timedelta(days=3650)).timestamp())}, "lifetime_too_long"),
        ({"iat": None}, "missing_claim"),
        (
            {
                "iat": int((NOW + timedelta(hours=1)).timestamp()),
                "exp": int((NOW + timedelta(hours=2)).timestamp()),
            },
            "not_yet_valid",
        ),
        ({"sub": "worker\u202e1-"}, "bad_subject"),
        ({"sub": "worker\u200b1"}, "bad_subject"),
        ({"sub": "-leading-dash"}, "bad_subject"),
    ],
    ids=["ten-year-expiry", "no-iat", "issued-in-future", "rtl-override", "zero-width", "dash"],
)
def test_long_lived_undated_or_oddly_named_tokens_are_refused(
    keys: tuple[str, str], overrides: dict[str, object], reason: str
) -> None:
    verifier = TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE)
    with pytest.raises(InvalidToken) as refused:
        verifier.verify(_signed(keys[0], _claims(**overrides)))
    assert refused.value.reason == reason
    assert "worker" not in str(refused.value), "the message never repeats the token's content"


def test_a_token_as_long_as_the_maximum_is_accepted_and_the_maximum_is_a_setting(
    keys: tuple[str, str],
) -> None:
    twelve_hours = _signed(keys[0], _claims(exp=int((NOW + timedelta(hours=12)).timestamp())))
    assert TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE).verify(twelve_hours).user == "worker-1"
    settings = CaseworkSettings(
        database_url="postgresql://unused", token_public_key_pem=keys[1], token_max_lifetime_s=3600
    )
    with pytest.raises(InvalidToken):
        settings.token_verifier().verify(twelve_hours)


@pytest.mark.parametrize("user", ["worker-1", "a.b@agency.example", "auth0|5f1c", "7c9e6679"])
def test_ordinary_user_ids_are_accepted(keys: tuple[str, str], user: str) -> None:
    token = _signed(keys[0], _claims(sub=user))
    assert TokenVerifier(keys[1], LOCAL_ISSUER, AUDIENCE).verify(token).user == user


def test_hub_token_will_not_mint_a_token_the_services_refuse(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path))
    cli = typer.Typer()
    cli.command()(token)
    args = ["--user", "lead-7", "--role", "agency_lead", "--agency", "twc-barrow"]
    result = CliRunner().invoke(cli, [*args, "--hours", "24"])
    assert result.exit_code != 0
    assert "--hours" in result.output
