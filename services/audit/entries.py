"""What the ledger keeps of one Kafka record, and its canonical bytes. Pure.

An entry is metadata plus a sha256 of the record's bytes: never the payload. Identifiers
the hub defines (event and referral ids, agency and force codes, user ids of actors) are
kept in clear; anything else a record carries (names, addresses, narrative, the record's
key when it is not a known identifier) is only hashed. The same record always gives the
same entry, so a replay of the topics rebuilds the ledger byte for byte.
"""

import hashlib
import json
import re
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from referral_schemas import Envelope, EventRejected, parse_event
from referral_schemas.producers import may_publish
from referral_schemas.topics import DEAD_LETTER, POLICE_INTELLIGENCE, intelligence_key

from services.audit.categories import category_of, disclosure_of
from services.runtime.provenance import TrustStore

_SAFE_TEXT = re.compile(r"^[A-Za-z0-9_.:/-]{1,100}$")
_DIGITS = re.compile(r"^[0-9]{1,19}$")
_DLQ_HEADERS = {
    "dlq.reason": "reason",
    "dlq.consumer": "consumer",
    "dlq.source.topic": "source_topic",
    "dlq.source.partition": "source_partition",
    "dlq.source.offset": "source_offset",
}


@dataclass(frozen=True)
class RecordFacts:
    """A Kafka record as read from the broker (consumer or replay)."""

    topic: str
    partition: int
    offset: int
    timestamp_ms: int | None
    key: bytes | None
    value: bytes
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass(frozen=True)
class EntryContent:
    """Every field of a ledger entry that its hash covers, except its position."""

    topic: str
    partition: int
    offset: int
    record_timestamp_ms: int | None
    key_sha256: str | None
    value_sha256: str
    value_bytes: int
    event_id: uuid.UUID | None = None
    type: str | None = None
    event_time: datetime | None = None
    actor: str | None = None
    agency: str | None = None
    subject: str | None = None
    correlation_id: uuid.UUID | None = None
    referral_id: uuid.UUID | None = None
    category: str | None = None
    recipients: tuple[str, ...] = ()
    purpose: str | None = None
    intelligence: str | None = None
    parse_error: str | None = None
    dead_letter: dict[str, Any] | None = field(default=None, hash=False)
    producer: str | None = None
    """Who signed the record, verified against the trust store (None: not verified)."""
    provenance: str | None = None
    """``verified``, or why not: ``bad_signature``, ``untrusted_producer``."""

    def identity(self) -> str:
        """What makes two records the same thing: a resend of an event (same id on the same
        topic) or a refusal dead-lettered twice is one entry, not two."""
        if self.dead_letter is not None and len(self.dead_letter) == len(_DLQ_HEADERS):
            dl = self.dead_letter
            where = f"{dl['source_topic']}:{dl['source_partition']}:{dl['source_offset']}"
            return f"dlq:{dl['consumer']}:{where}"
        if self.event_id is not None and self.topic != DEAD_LETTER:
            return f"event:{self.topic}:{self.event_id}"
        return f"record:{self.topic}:{self.partition}:{self.offset}"

    def canonical(self, position: int) -> bytes:
        """The bytes the chain hashes: sorted-key compact ASCII JSON."""
        body = {
            "position": position,
            "topic": self.topic,
            "partition": self.partition,
            "offset": self.offset,
            "record_timestamp_ms": self.record_timestamp_ms,
            "key_sha256": self.key_sha256,
            "value_sha256": self.value_sha256,
            "value_bytes": self.value_bytes,
            "event_id": _text(self.event_id),
            "type": self.type,
            "event_time": time_text(self.event_time),
            "actor": self.actor,
            "agency": self.agency,
            "subject": self.subject,
            "correlation_id": _text(self.correlation_id),
            "referral_id": _text(self.referral_id),
            "category": self.category,
            "recipients": list(self.recipients),
            "purpose": self.purpose,
            "intelligence": self.intelligence,
            "parse_error": self.parse_error,
            "dead_letter": self.dead_letter,
        }
        # Entries ledgered before provenance was recorded keep the hash they were given.
        if self.producer is not None or self.provenance is not None:
            body |= {"producer": self.producer, "provenance": self.provenance}
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def same_canonical(a: EntryContent, b: EntryContent, position: int) -> bool:
    """``a.canonical(position) == b.canonical(position)``, without serialising both when
    they are equal field by field (a replay compares every entry of the ledger). Equal
    fields render alike (strings, integers, UUIDs, aware times as the same instant, tuples
    of strings), except inside ``dead_letter`` (JSON from the database, where 1, 1.0 and
    true are equal in Python): entries with one are always rendered and compared."""
    if a == b and a.dead_letter is None:
        return True
    return a.canonical(position) == b.canonical(position)


def _text(value: uuid.UUID | None) -> str | None:
    return None if value is None else str(value)


def time_text(value: datetime | None) -> str | None:
    """UTC, microseconds: what PostgreSQL's timestamptz keeps, so it survives the database."""
    return None if value is None else value.astimezone(UTC).isoformat(timespec="microseconds")


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Provenance:
    """Who signed a record and whether they may publish it (``provenance_of``)."""

    producer: str | None
    status: str

    @property
    def trusted(self) -> bool:
        return self.status == VERIFIED


VERIFIED = "verified"


def provenance_of(record: RecordFacts, parsed: "Parsed", trust: TrustStore) -> Provenance:
    """The verified producer of a record, or why it is not trusted: the same checks every
    consumer makes (a valid signature by a trusted key, a producer the contract allows)."""
    verdict = trust.verify(record.topic, record.key, record.value, record.headers)
    if verdict.refusal is not None or verdict.producer is None:
        return Provenance(None, verdict.refusal or "bad_signature")
    envelope = parsed[0]
    if record.topic == DEAD_LETTER or envelope is not None:
        kind = "" if envelope is None else envelope.type
        data = None if envelope is None else envelope.data
        if not may_publish(verdict.producer, record.topic, kind, data):
            return Provenance(verdict.producer, "untrusted_producer")
    return Provenance(verdict.producer, VERIFIED)


def entry_content(record: RecordFacts, trust: TrustStore) -> EntryContent:
    """The entry the ledger appends for ``record``, with its producer as verified by
    ``trust`` (every ledger store describes a record with this)."""
    parsed = parse_record(record.value)
    return describe_parsed(record, *parsed, provenance=provenance_of(record, parsed, trust))


def describe(record: RecordFacts, provenance: Provenance | None = None) -> EntryContent:
    """The entry of one record. Never raises: unreadable bytes are recorded as such."""
    return describe_parsed(record, *parse_record(record.value), provenance=provenance)


def describe_parsed(
    record: RecordFacts,
    envelope: Envelope[Any] | None,
    error: str | None,
    *,
    provenance: Provenance | None = None,
) -> EntryContent:
    """``describe`` for a record already parsed with ``parse_record`` (a replay parses each
    record once, for the ledger and for casework's fold)."""
    base: dict[str, Any] = {
        "producer": None if provenance is None else provenance.producer,
        "provenance": None if provenance is None else provenance.status,
        "topic": record.topic,
        "partition": record.partition,
        "offset": record.offset,
        "record_timestamp_ms": record.timestamp_ms,
        "key_sha256": None if record.key is None else sha256_hex(record.key),
        "value_sha256": sha256_hex(record.value),
        "value_bytes": len(record.value),
        "dead_letter": _dead_letter(record) if record.topic == DEAD_LETTER else None,
    }
    if envelope is None:
        fallback = "collection" if record.topic == POLICE_INTELLIGENCE else None
        return EntryContent(**base, parse_error=error, category=fallback)
    return _from_envelope(base, envelope)


Parsed = tuple[Envelope[Any] | None, str | None]
"""A record's envelope, or why it has none (``parse_record``)."""


def parse_record(value: bytes) -> Parsed:
    """The envelope of a record, or why it has none (a rejection reason code)."""
    try:
        return parse_event(value), None
    except EventRejected as rejected:
        return None, rejected.reason.value


def _from_envelope(base: dict[str, Any], envelope: Envelope[Any]) -> EntryContent:
    data = envelope.data
    referral_id = getattr(data, "referral_id", None)
    intelligence = _intelligence(data)
    refused = base["topic"] == DEAD_LETTER
    recipients, purpose = disclosure_of(data)
    return EntryContent(
        **base,
        event_id=envelope.id,
        type=envelope.type,
        event_time=envelope.time,
        actor=envelope.actor,
        agency=envelope.agency,
        subject=_subject(envelope.subject, referral_id, intelligence),
        correlation_id=envelope.correlationid,
        referral_id=referral_id if isinstance(referral_id, uuid.UUID) else None,
        category=None if refused else category_of(envelope.type),
        recipients=() if refused else recipients,
        purpose=None if refused else purpose,
        intelligence=intelligence,
    )


def _intelligence(data: Any) -> str | None:
    force, ref = getattr(data, "force", None), getattr(data, "intelligence_ref", None)
    if isinstance(force, str) and isinstance(ref, str):
        return intelligence_key(force, ref)
    return None


def _subject(subject: str, referral_id: Any, intelligence: str | None) -> str | None:
    """The envelope's subject only when it is the identifier it should be, never free text."""
    known = {"directory", "audit", intelligence, None if referral_id is None else str(referral_id)}
    return subject if subject in known else None


def _dead_letter(record: RecordFacts) -> dict[str, Any] | None:
    """Why and where from, from the dlq.* headers; dlq.detail is left out (free text)."""
    found: dict[str, Any] = {}
    for name, value in record.headers:
        field_name = _DLQ_HEADERS.get(name)
        if field_name is None or field_name in found:
            continue
        text = value.decode("ascii", errors="replace")
        if field_name in ("source_partition", "source_offset"):
            if _DIGITS.fullmatch(text):
                found[field_name] = int(text)
        elif _SAFE_TEXT.fullmatch(text):
            found[field_name] = text
    return found or None
