"""Signing for tests: a record a test publishes is signed as the producer the contract names
for it (referral_schemas.producers), with that producer's key from the stack's env file, as
the real producer would sign it. Forgery tests publish unsigned or sign with keys of their
own instead."""

import json
from pathlib import Path
from typing import Any

from referral_schemas.producers import OPERATOR, PRODUCERS, force_producer
from referral_schemas.topics import (
    ACCESS_EVENTS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra import stack
from infra.event_keys import env_name
from infra.settings import InfraSettings
from services.audit.entries import RecordFacts, parse_record, provenance_of
from services.replay.folds import CaseworkReplay, LedgerReplay
from services.runtime.provenance import EventSigner, TrustStore

_FALLBACK = {
    REFERRAL_EVENTS: "intake",
    POLICE_OUTCOMES: "feedback",
    DIRECTORY: OPERATOR,
    ACCESS_EVENTS: "casework",
    DEAD_LETTER: "intake",
}
"""Who signs a record a test sends that names no event type (malformed on purpose)."""

_SIGNERS: dict[tuple[str, str], EventSigner] = {}


def signer(env: dict[str, str], producer: str) -> EventSigner:
    """``producer``'s signer with its key from the stack's env file."""
    path = env[env_name(producer)]
    if (path, producer) not in _SIGNERS:
        _SIGNERS[(path, producer)] = EventSigner(producer, Path(path))
    return _SIGNERS[(path, producer)]


def rightful_producer(topic: str, key: bytes | None, value: bytes) -> str:
    """The producer that would publish ``value`` on ``topic``."""
    try:
        body: Any = json.loads(value)
    except ValueError:
        body = None
    kind = body.get("type") if isinstance(body, dict) else None
    data = body.get("data") if isinstance(body, dict) else None
    if topic == POLICE_INTELLIGENCE:
        force = data.get("force") if isinstance(data, dict) else None
        if not isinstance(force, str) or not force:
            force = (key or b"cumbria:").decode("utf-8", "replace").split(":", 1)[0]
        return force_producer(force or "cumbria")
    allowed = PRODUCERS.get(topic, {}).get(kind if isinstance(kind, str) else "", frozenset())
    return min(allowed) if allowed else _FALLBACK.get(topic, "intake")


def signed(
    env: dict[str, str],
    topic: str,
    key: bytes | None,
    value: bytes,
    headers: list[tuple[str, bytes]] | None = None,
) -> list[tuple[str, bytes]]:
    """``headers`` plus the rightful producer's signature of the record."""
    who = rightful_producer(topic, key, value)
    return signer(env, who).sign(topic, key, value, headers or [])


def trust_of(env: dict[str, str]) -> TrustStore:
    """The trust store of the stack of ``env``."""
    return TrustStore(Path(env["HUB_TRUST_STORE"]))


def this_runs_trust() -> TrustStore:
    """The trust store of the stack this test run brought up (HUB_STATE_DIR)."""
    return trust_of(stack.load_env(InfraSettings().root))


def fed(replay: "CaseworkReplay | LedgerReplay", record: RecordFacts, trust: TrustStore) -> None:
    """Feed one record to a replay as ``run_replay`` does: parsed, its provenance checked."""
    parsed = parse_record(record.value)
    replay.feed(record, parsed, provenance_of(record, parsed, trust))
