"""Event provenance on the real broker, against the services as separate processes: a record
nobody trusted signed, signed with a key the hub never trusted, or signed by a producer the
contract does not allow for it is dead-lettered (``dlq.reason``) and changes nothing; keys
rotate and are revoked while everything runs; and the audit ledger says who signed each
record (docs/security.md, "Event provenance").

One system (intake, routing, casework, feedback, audit) serves the whole module. Key changes
happen on the stack's own trust store: a rotation leaves the replaced key retired (it still
verifies), and the key revoked here is one this module registered for itself.
"""

import asyncio
import json
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas import (
    EventData,
    ReferralClosed,
    ReferralRouted,
    make_envelope,
    serialize_event,
)
from referral_schemas.topics import (
    DEAD_LETTER,
    DIRECTORY,
    DIRECTORY_KEY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra import event_keys
from infra.settings import InfraSettings
from services.audit.signing import ensure_checkpoint_key
from services.runtime.auth import ensure_signing_keys
from services.runtime.db import connect
from services.runtime.provenance import KID_HEADER, EventSigner
from tests.e2e.conftest import bootstrap, service_logs
from tests.e2e.helpers import event_about
from tests.e2e.lifecycle_support import free_port
from tests.support.directory import cumbria_directory, directory_envelope, next_directory_version
from tests.support.intelligence import encode, key_of, submitted
from tests.support.kafka import Record, Sent, TopicWatch, send, wait_committed, watch
from tests.support.provenance import signer
from tests.support.services import ServiceProcess
from tests.support.waiting import eventually

pytestmark = pytest.mark.security
__all__ = ["bootstrap", "service_logs"]

CUMBRIA = "force:cumbria"
TRUST_RECHECK_S = 1.5
"""Consumers re-read the trust store at most once a second: wait this long after a change."""


@pytest.fixture(scope="module")
def system(
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    service_logs: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[dict[str, ServiceProcess]]:
    """Every consumer of the hub's topics, once for the module."""
    _, token_public = ensure_signing_keys(tmp_path_factory.mktemp("provenance-tokens"))
    extra: dict[str, dict[str, str]] = {
        "intake": {},
        "routing": {},
        "casework": {
            "CASEWORK_HTTP_PORT": str(free_port()),
            "CASEWORK_TOKEN_PUBLIC_KEY_FILE": str(token_public),
        },
        "feedback": {},
        "audit": {
            "AUDIT_CHECKPOINT_KEY_FILE": str(ensure_checkpoint_key(infra_settings.root)),
            "AUDIT_TOKEN_PUBLIC_KEY_FILE": str(token_public),
            "AUDIT_HTTP_PORT": str(free_port()),
        },
    }
    started: dict[str, ServiceProcess] = {}
    try:
        for name, env in extra.items():
            process = ServiceProcess(
                name, {**stack_env, **env}, service_logs / f"provenance-{name}.log"
            )
            started[name] = process.start()
        started["casework"].wait_for_log('"http_listening"')
        started["audit"].wait_for_log('"http_listening"')
        yield started
    finally:
        for process in started.values():
            process.stop()


@dataclass
class OwnKey:
    """An Ed25519 key this test made: its signer, and its public half as PEM."""

    signer: EventSigner
    public_pem: bytes


def own_key(folder: Path, producer: str) -> OwnKey:
    key = Ed25519PrivateKey.generate()
    path = folder / f"{producer.replace(':', '-')}-{uuid.uuid4().hex[:8]}.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    path.chmod(0o600)
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return OwnKey(EventSigner(producer, path), public)


def kept_copy(key_file: Path, folder: Path) -> EventSigner:
    """A signer with a copy of the key in ``key_file`` (which a rotation will replace)."""
    kept = folder / f"kept-{key_file.name}"
    kept.write_bytes(key_file.read_bytes())
    kept.chmod(0o600)
    return EventSigner(CUMBRIA, kept)


def envelope_of(event: EventData, service: str) -> bytes:
    """``event`` as ``service`` would have put it on the log."""
    envelope = make_envelope(
        event,
        id=uuid.uuid4(),
        source=f"referral-hub/{service}",
        time=datetime.now(UTC),
        subject=event.kafka_key(),
        correlation_id=uuid.uuid4(),
        causation_id=None,
        actor=f"system:{service}",
    )
    return serialize_event(envelope)


async def send_as(
    bootstrap: str, who: EventSigner | None, topic: str, key: str, value: bytes
) -> Sent:
    """Publish one record signed by ``who`` (None: unsigned)."""
    headers = None if who is None else who.headers(topic, key.encode(), value)
    return (await send(bootstrap, topic, key, [value], headers, sign=False))[0]


def refusal_of(sent: Sent) -> Callable[[Record], bool]:
    """Matches the dead letters of the record at ``sent``."""

    def match(record: Record) -> bool:
        h = record.headers
        return (
            h.get("dlq.source.topic") == sent.topic.encode()
            and h.get("dlq.source.partition") == str(sent.partition).encode()
            and h.get("dlq.source.offset") == str(sent.offset).encode()
        )

    return match


async def refused(dead: TopicWatch, sent: Sent, reason: str, by: tuple[str, ...]) -> list[Record]:
    """Wait until each consumer of ``by`` dead-lettered ``sent``; every refusal of it gives
    ``reason``."""
    match = refusal_of(sent)

    def from_all(record: Record) -> bool:
        consumer = record.headers.get("dlq.consumer", b"").decode()  # "casework/<topic>"
        return match(record) and consumer.split("/", 1)[0] in by

    await dead.wait_for(from_all, count=len(by), timeout_s=60)
    letters = [r for r in dead.records if match(r)]
    assert {r.headers["dlq.reason"].decode() for r in letters} == {reason}, [
        (r.headers.get("dlq.consumer"), r.headers.get("dlq.reason"), r.headers.get("dlq.detail"))
        for r in letters
    ]
    return letters


async def ledgered(env: dict[str, str], sent: Sent) -> asyncpg.Record:
    """The audit ledger's entry of the record at ``sent`` (waiting until it is there)."""
    conn = await connect(env["AUDIT_DATABASE_URL"])
    try:

        async def row() -> asyncpg.Record | None:
            found: asyncpg.Record | None = await conn.fetchrow(
                """SELECT type, producer, provenance FROM ledger
                   WHERE topic = $1 AND partition = $2 AND "offset" = $3""",
                sent.topic,
                sent.partition,
                sent.offset,
            )
            return found

        entry: asyncpg.Record = await eventually(row, f"audit ledgers {sent}", timeout_s=60)
        return entry
    finally:
        await conn.close()


async def open_referral(
    bootstrap: str, events: TopicWatch, who: EventSigner | None = None
) -> tuple[str, Sent, Record]:
    """Send fresh Cumbria intelligence (signed by ``who``, else by the stack's Cumbria key);
    returns the referral it opened, where the intelligence landed and the ReferralOpened."""
    message = submitted()
    value = encode(message)
    if who is None:
        sent = (await send(bootstrap, POLICE_INTELLIGENCE, key_of(message), [value]))[0]
    else:
        sent = await send_as(bootstrap, who, POLICE_INTELLIGENCE, key_of(message), value)
    ref = message["data"]["intelligence_ref"]
    opened = (await events.wait_for(event_about("ReferralOpened", ref), timeout_s=60))[0]
    return str(opened.json()["data"]["referral_id"]), sent, opened


async def casework_row(env: dict[str, str], rid: str) -> asyncpg.Record:
    conn = await connect(env["CASEWORK_DATABASE_URL"])
    try:

        async def row() -> asyncpg.Record | None:
            found: asyncpg.Record | None = await conn.fetchrow(
                "SELECT status, agency FROM referrals WHERE referral_id = $1", uuid.UUID(rid)
            )
            return found

        entry: asyncpg.Record = await eventually(row, f"casework has {rid}", timeout_s=60)
        return entry
    finally:
        await conn.close()


async def in_timeline(env: dict[str, str], event_ids: list[uuid.UUID]) -> int:
    conn = await connect(env["CASEWORK_DATABASE_URL"])
    try:
        count: int = await conn.fetchval(
            "SELECT count(*) FROM timeline WHERE event_id = ANY($1::uuid[])", event_ids
        )
        return count
    finally:
        await conn.close()


def event_id_of(value: bytes) -> uuid.UUID:
    return uuid.UUID(json.loads(value)["id"])


async def test_unsigned_forged_referral_events_are_dead_lettered_and_change_nothing(
    system: dict[str, ServiceProcess], stack_env: dict[str, str], bootstrap: str
) -> None:
    async with (
        watch(bootstrap, REFERRAL_EVENTS) as events,
        watch(bootstrap, DEAD_LETTER) as dead,
        watch(bootstrap, POLICE_OUTCOMES) as outcomes,
    ):
        rid, intelligence, _ = await open_referral(bootstrap, events)
        before = await casework_row(stack_env, rid)
        now = datetime.now(UTC)
        routed = envelope_of(
            ReferralRouted(
                referral_id=uuid.UUID(rid),
                agency="forged-agency",
                area="barrow",
                due_by=now + timedelta(days=2),
                routed_at=now,
                directory_version=1,
                isa_version="forged-isa/1",
            ),
            "routing",
        )
        closed = envelope_of(
            ReferralClosed(
                referral_id=uuid.UUID(rid),
                agency="forged-agency",
                outcome="engaged_with_support",
                closed_at=now,
                by="forger-1",
            ),
            "casework",
        )
        forged = [await send_as(bootstrap, None, REFERRAL_EVENTS, rid, v) for v in (routed, closed)]

        consumers = ("intake", "routing", "casework", "feedback")
        for sent in forged:
            letters = await refused(dead, sent, "bad_signature", consumers)
            assert all(b"not signed" in r.headers["dlq.detail"] for r in letters)
            for consumer in consumers:
                await wait_committed(bootstrap, consumer, sent, timeout_s=60)

        after = await casework_row(stack_env, rid)
        assert (after["status"], after["agency"]) == (before["status"], before["agency"])
        assert after["agency"] != "forged-agency"
        assert await in_timeline(stack_env, [event_id_of(routed), event_id_of(closed)]) == 0
        await outcomes.drain(quiet_s=2)
        assert not [r for r in outcomes.records if r.key == rid.encode()]

        # The ledger records every record, with who signed it.
        verified = await ledgered(stack_env, intelligence)
        assert (verified["producer"], verified["provenance"]) == (CUMBRIA, "verified")
        for sent in forged:
            entry = await ledgered(stack_env, sent)
            assert (entry["producer"], entry["provenance"]) == (None, "bad_signature")


async def test_a_referral_event_signed_with_a_key_the_hub_never_trusted_is_refused(
    system: dict[str, ServiceProcess],
    stack_env: dict[str, str],
    bootstrap: str,
    tmp_path: Path,
) -> None:
    impostor = own_key(tmp_path, "casework")  # claims to be casework; no store knows it
    async with watch(bootstrap, REFERRAL_EVENTS) as events, watch(bootstrap, DEAD_LETTER) as dead:
        rid, _, _ = await open_referral(bootstrap, events)
        closed = envelope_of(
            ReferralClosed(
                referral_id=uuid.UUID(rid),
                agency="twc-barrow",
                outcome="engaged_with_support",
                closed_at=datetime.now(UTC),
                by="forger-2",
            ),
            "casework",
        )
        sent = await send_as(bootstrap, impostor.signer, REFERRAL_EVENTS, rid, closed)
        await refused(dead, sent, "untrusted_producer", ("routing", "casework", "feedback"))
        await wait_committed(bootstrap, "casework", sent, timeout_s=60)
        assert await in_timeline(stack_env, [event_id_of(closed)]) == 0
        entry = await ledgered(stack_env, sent)
        assert (entry["producer"], entry["provenance"]) == (None, "untrusted_producer")


async def test_a_service_may_not_submit_a_forces_intelligence(
    system: dict[str, ServiceProcess], stack_env: dict[str, str], bootstrap: str
) -> None:
    """intake's own key is trusted, but only Cumbria's system may say what Cumbria knows."""
    message = submitted()
    ref = message["data"]["intelligence_ref"]
    async with watch(bootstrap, REFERRAL_EVENTS) as events, watch(bootstrap, DEAD_LETTER) as dead:
        sent = await send_as(
            bootstrap,
            signer(stack_env, "intake"),
            POLICE_INTELLIGENCE,
            key_of(message),
            encode(message),
        )
        letters = await refused(dead, sent, "untrusted_producer", ("intake",))
        assert b"intake may not publish IntelligenceSubmitted" in letters[0].headers["dlq.detail"]
        await wait_committed(bootstrap, "intake", sent, timeout_s=60)
        await events.drain(quiet_s=2)
        assert not [r for r in events.records if event_about("ReferralOpened", ref)(r)]
        entry = await ledgered(stack_env, sent)
        assert (entry["producer"], entry["provenance"]) == ("intake", "untrusted_producer")


async def test_only_the_operator_publishes_the_directory(
    system: dict[str, ServiceProcess], stack_env: dict[str, str], bootstrap: str
) -> None:
    value = directory_envelope(cumbria_directory(await next_directory_version(bootstrap)))
    async with watch(bootstrap, DEAD_LETTER) as dead:
        sent = await send_as(
            bootstrap, signer(stack_env, "routing"), DIRECTORY, DIRECTORY_KEY, value
        )
        letters = await refused(dead, sent, "untrusted_producer", ("routing", "casework"))
        assert b"routing may not publish DirectoryPublished" in letters[0].headers["dlq.detail"]
        entry = await ledgered(stack_env, sent)
        assert (entry["producer"], entry["provenance"]) == ("routing", "untrusted_producer")


async def test_keys_rotate_and_are_revoked_while_everything_runs(
    system: dict[str, ServiceProcess],
    stack_env: dict[str, str],
    infra_settings: InfraSettings,
    bootstrap: str,
    tmp_path: Path,
) -> None:
    root = infra_settings.root
    before = kept_copy(Path(stack_env[event_keys.env_name(CUMBRIA)]), tmp_path)
    assert signer(stack_env, CUMBRIA).key_id == before.key_id

    async with watch(bootstrap, REFERRAL_EVENTS) as events, watch(bootstrap, DEAD_LETTER) as dead:
        # Rotation: Cumbria's signer re-reads its key file and signs with the new key.
        new_kid = event_keys.rotate(root, CUMBRIA)
        assert new_kid != before.key_id
        statuses = {k.kid: k.status for k in event_keys.list_keys(root)}
        assert (statuses[before.key_id], statuses[new_kid]) == ("retired", "active")
        await asyncio.sleep(TRUST_RECHECK_S)
        _, sent, _ = await open_referral(bootstrap, events)
        assert signer(stack_env, CUMBRIA).key_id == new_kid
        assert (await ledgered(stack_env, sent))["provenance"] == "verified"
        # What the retired key signs still verifies (records in flight at the rotation).
        await open_referral(bootstrap, events, who=before)

        # Revocation, of a key of the module's own (the stack's keys stay usable).
        own = own_key(tmp_path, CUMBRIA)
        own_kid = event_keys.register(root, CUMBRIA, own.public_pem)
        assert own_kid == own.signer.key_id
        await asyncio.sleep(TRUST_RECHECK_S)
        _, accepted, opened = await open_referral(bootstrap, events, who=own.signer)
        assert (await ledgered(stack_env, accepted))["provenance"] == "verified"
        assert opened.headers[KID_HEADER] == signer(stack_env, "intake").key_id.encode()

        assert event_keys.revoke(root, own_kid).status == "revoked"
        await asyncio.sleep(TRUST_RECHECK_S)
        message = submitted()
        sent = await send_as(
            bootstrap, own.signer, POLICE_INTELLIGENCE, key_of(message), encode(message)
        )
        letters = await refused(dead, sent, "untrusted_producer", ("intake",))
        assert b"revoked" in letters[0].headers["dlq.detail"]
        await wait_committed(bootstrap, "intake", sent, timeout_s=60)
        ref = message["data"]["intelligence_ref"]
        await events.drain(quiet_s=2)
        assert not [r for r in events.records if event_about("ReferralOpened", ref)(r)]
        entry = await ledgered(stack_env, sent)
        assert (entry["producer"], entry["provenance"]) == (None, "untrusted_producer")

        # The stack's own Cumbria keys (retired by the registration) still verify.
        await open_referral(bootstrap, events)
