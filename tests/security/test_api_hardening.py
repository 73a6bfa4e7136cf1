"""The staff API under attack (casework's app in-process on the real PostgreSQL): tokens
that live too long, oversized bodies, out-of-range numbers, cacheable personal data,
idempotency keys shared across agencies, look-alike worker ids, and refusals nobody hears
of. Every refusal changes nothing and answers the hub's error body."""

import uuid
from collections.abc import AsyncIterator, MutableMapping, Sequence
from datetime import UTC, datetime
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from structlog.testing import capture_logs

from services.casework.api.app import create_app
from services.casework.personal import DetailsOpener
from services.runtime.api_guard import ApiHardening
from services.runtime.auth import AUDIENCE, LOCAL_ISSUER, TokenVerifier
from tests.integration.test_casework_harness import (
    Casework,
    casework,
    casework_pool,
    signing_keys,
)
from tests.support.clock import FixedClock
from tests.support.sealing import READER, find_key
from tests.unit.test_casework_helpers import AGENCY, OTHER_AGENCY

pytestmark = pytest.mark.security
__all__ = ["casework", "casework_pool", "signing_keys"]
LIMIT = 64 * 1024


def _token(private_pem: str, **overrides: Any) -> str:
    now = int(datetime.now(UTC).timestamp())
    claims: dict[str, Any] = {
        "sub": "worker-1",
        "role": "support_worker",
        "agency": AGENCY,
        "iss": LOCAL_ISSUER,
        "aud": AUDIENCE,
        "iat": now,
        "exp": now + 3600,
    }
    claims.update(overrides)
    key = serialization.load_pem_private_key(private_pem.encode(), password=None)
    kept = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(kept, key, algorithm="EdDSA")  # type: ignore[arg-type]


def _security(logs: Sequence[MutableMapping[str, Any]]) -> list[MutableMapping[str, Any]]:
    return [line for line in logs if line.get("category") == "security"]


async def test_a_ten_year_token_or_one_without_iat_is_refused_and_logged_without_the_token(
    casework: Casework,
) -> None:
    now = int(datetime.now(UTC).timestamp())
    tokens = {
        "lifetime_too_long": _token(casework.private_key, exp=now + 10 * 365 * 24 * 3600),
        "missing_claim": _token(casework.private_key, iat=None),
        "expired": _token(casework.private_key, iat=now - 7200, exp=now - 3600),
        "bad_subject": _token(casework.private_key, sub="worker\u202e1"),
    }
    with capture_logs() as logs:
        for token in tokens.values():
            response = await casework.client.get(
                "/referrals", headers={"Authorization": f"Bearer {token}"}
            )
            assert response.status_code == 401
            assert response.json()["error"] == "invalid_token"
            assert response.headers["www-authenticate"].startswith('Bearer realm="referral-hub"')
        missing = await casework.client.get("/referrals")
        assert (missing.status_code, missing.json()["error"]) == (401, "not_authenticated")
    refused = _security(logs)
    assert [(e["event"], e["reason"]) for e in refused] == [
        *(("api_authentication_refused", reason) for reason in tokens),
        ("api_authentication_refused", "no_token"),
    ]
    assert all((e["method"], e["route"]) == ("GET", "/referrals") for e in refused)
    for token in tokens.values():
        assert token not in str(logs)
        assert token.split(".")[1] not in str(logs), "not even the claims"


async def test_another_agencys_referral_is_not_found_and_the_probe_is_logged(
    casework: Casework,
) -> None:
    rid = await casework.routed_referral(agency=OTHER_AGENCY)
    unknown = uuid.uuid4()
    with capture_logs() as logs:
        theirs = await casework.client.get(f"/referrals/{rid}", headers=casework.headers())
        acted = await casework.act(rid, "accept")
        nothing = await casework.client.get(f"/referrals/{unknown}", headers=casework.headers())
    assert theirs.json() == nothing.json() == acted.json()
    assert {theirs.status_code, acted.status_code, nothing.status_code} == {404}
    denials = _security(logs)
    assert [(e["event"], e["code"], e["referral_id"], e["route"]) for e in denials] == [
        ("api_access_denied", "out_of_scope", str(rid), "/referrals/{referral_id}"),
        ("api_access_denied", "out_of_scope", str(rid), "/referrals/{referral_id}/accept"),
    ]
    assert (denials[0]["user"], denials[0]["role"], denials[0]["status"]) == (
        "worker-1",
        "support_worker",
        404,
    )


async def test_a_refusal_by_the_referrals_state_is_not_a_security_event(
    casework: Casework,
) -> None:
    rid = await casework.routed_referral()
    with capture_logs() as logs:
        early = await casework.act(rid, "visits")
    assert (early.status_code, early.json()["error"]) == (409, "not_accepted")
    assert _security(logs) == []


async def _chunks(total: int, size: int, sent: list[int]) -> AsyncIterator[bytes]:
    """A body produced on demand; ``sent`` counts what the server actually pulled."""
    chunk = b'{"level": "' + b"x" * (size - 11)
    while sent[0] < total:
        sent[0] += len(chunk)
        yield chunk


async def test_an_oversized_body_is_refused_before_it_is_read_in_full(casework: Casework) -> None:
    rid = await casework.accepted_referral()
    snapshot = await casework.snapshot(rid)
    url = f"/referrals/{rid}/engagement"
    fifty_mb = 50 * 1024 * 1024
    with capture_logs() as logs:
        declared, streamed = [0], [0]
        big = await casework.client.post(
            url,
            content=_chunks(fifty_mb, 16 * 1024, declared),
            headers={**casework.headers(key="big-1"), "Content-Length": str(fifty_mb)},
        )
        chunked = await casework.client.post(
            url,
            content=_chunks(fifty_mb, 16 * 1024, streamed),
            headers=casework.headers(key="big-2"),
        )
    for response in (big, chunked):
        assert response.status_code == 413
        assert response.json() == {
            "error": "request_too_large",
            "detail": f"the request body may be at most {LIMIT} bytes",
        }
        assert response.headers["cache-control"] == "no-store"
    assert declared[0] <= 16 * 1024, "a declared 50 MB is refused before reading it"
    assert streamed[0] <= LIMIT + 16 * 1024, "a chunked body is counted, not read to its end"
    assert await casework.snapshot(rid) == snapshot
    events = _security(logs)
    assert [(e["event"], e["reason"], e["route"]) for e in events] == [
        ("api_request_refused", "body_too_large", "/referrals/{referral_id}/engagement")
    ] * 2
    assert events[0]["referral_id"] == str(rid)
    no_body_route = await casework.client.post(
        f"/referrals/{rid}/visits",
        content=_chunks(fifty_mb, 16 * 1024, [0]),
        headers={**casework.headers(key="big-3"), "Content-Length": str(fifty_mb)},
    )
    assert no_body_route.status_code == 413, "an action without a body is not run either"
    assert await casework.snapshot(rid) == snapshot
    small = await casework.act(rid, "engagement", {"level": "engaged"})
    assert small.status_code == 200, "an ordinary body still passes"


@pytest.mark.parametrize(
    "query",
    [
        "offset=9223372036854775808",
        "offset=100001",
        "offset=-1",
        "limit=0",
        "limit=201",
        "limit=99999999999999999999",
    ],
)
async def test_numbers_out_of_range_are_refused_with_the_error_body(
    casework: Casework, query: str
) -> None:
    response = await casework.client.get(f"/referrals?{query}", headers=casework.headers())
    assert response.status_code == 422
    body = response.json()
    assert body["error"] == "invalid_request"
    assert body["problems"][0]["field"] == f"query.{query.split('=')[0]}"
    assert query.split("=")[1] not in body["detail"], "the value sent is not echoed"


async def test_no_response_may_be_cached(casework: Casework) -> None:
    rid = await casework.routed_referral()
    headers = casework.headers()
    responses = [
        await casework.client.get("/referrals", headers=headers),
        await casework.client.get(f"/referrals/{rid}", headers=headers),
        await casework.act(rid, "accept"),
        await casework.client.get("/referrals"),
        await casework.client.get(f"/referrals/{uuid.uuid4()}", headers=headers),
        await casework.client.get("/referrals?offset=-1", headers=headers),
    ]
    assert [r.status_code for r in responses] == [200, 200, 200, 401, 404, 422]
    for response in responses:
        assert response.headers["cache-control"] == "no-store"
        assert response.headers["pragma"] == "no-cache"
        assert response.headers["x-content-type-options"] == "nosniff"


@pytest.fixture
async def docs_client(
    casework_pool: Any, signing_keys: tuple[str, str]
) -> AsyncIterator[httpx.AsyncClient]:
    """casework's app with CASEWORK_API_DOCS=true."""
    verifier = TokenVerifier(signing_keys[1], LOCAL_ISSUER, AUDIENCE)
    app = create_app(
        casework_pool,
        verifier,
        FixedClock(datetime.now(UTC)),
        DetailsOpener(READER, find_key),
        ApiHardening(docs=True),
    )
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://casework") as client:
        yield client


async def test_docs_are_off_unless_enabled(
    casework: Casework, docs_client: httpx.AsyncClient
) -> None:
    for path in ("/docs", "/redoc", "/openapi.json"):
        assert (await casework.client.get(path)).status_code == 404, path
    spec = (await docs_client.get("/openapi.json")).json()
    assert (await docs_client.get("/docs")).status_code == 200
    assert {
        "/referrals",
        "/referrals/{referral_id}",
        "/referrals/{referral_id}/holds",
        "/referrals/{referral_id}/direct",
        "/agencies",
    } <= set(spec["paths"])
    offset = next(
        p for p in spec["paths"]["/referrals"]["get"]["parameters"] if p["name"] == "offset"
    )
    assert offset["schema"]["maximum"] == 100_000


async def test_the_same_key_from_the_same_user_id_at_two_agencies_does_not_collide(
    casework: Casework,
) -> None:
    ours = await casework.routed_referral(agency=AGENCY)
    theirs = await casework.routed_referral(agency=OTHER_AGENCY)
    first = await casework.act(ours, "accept", key="shared-key", agency=AGENCY)
    second = await casework.act(theirs, "accept", key="shared-key", agency=OTHER_AGENCY)
    assert (first.status_code, second.status_code) == (200, 200), second.text
    assert second.json()["referral_id"] == str(theirs), "its own answer, not a replay"
    assert not set(first.json()["event_ids"]) & set(second.json()["event_ids"])
    replay = await casework.act(theirs, "accept", key="shared-key", agency=OTHER_AGENCY)
    assert replay.json() == second.json(), "a retry at the same agency is still a replay"


@pytest.mark.parametrize(
    "worker",
    ["worker\u202e2", "worker\u200b2", "w\u0430rker-2", " worker-2", "worker 2", "-worker", ""],
    ids=["rtl-override", "zero-width", "cyrillic-a", "leading-space", "space", "dash", "empty"],
)
async def test_worker_ids_with_invisible_or_look_alike_characters_are_refused(
    casework: Casework, worker: str
) -> None:
    rid = await casework.routed_referral()
    assert (await casework.act(rid, "accept", role="agency_lead", user="lead-1")).status_code == 200
    snapshot = await casework.snapshot(rid)
    response = await casework.act(
        rid, "assign", {"worker": worker}, role="agency_lead", user="lead-1"
    )
    assert response.status_code == 422
    assert response.json()["problems"][0]["field"] == "body.worker"
    assert await casework.snapshot(rid) == snapshot
