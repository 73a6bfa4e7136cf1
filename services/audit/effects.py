"""Which of a referral's events had an effect: a derived view for timelines. Pure.

The log's order per referral is the arbiter, and an event the shared lifecycle
(``referral_schemas.lifecycle.evolve``) refuses where it landed has no effect anywhere. The
ledger stays what it is (append-only metadata and hashes, no payloads); to say which events
had no effect, a timeline reads the referral's records back from Kafka at the positions the
ledger names, checks each against the ledger's sha256 of its bytes, and folds them in log
order. Each referral event gets one of:

- ``applied``: the lifecycle took it;
- ``no effect: <code>``: the lifecycle refused it (``referral_cancelled``, ``wrong_status``,
  ``referral_held``, ...), so no service acted on it;
- ``unknown``: its record could not be read back as ledgered (past the topic's retention,
  or not the bytes the ledger hashed); the fold cannot go on past it, so every later event
  of the referral is ``unknown`` too.

Entries that are not referral lifecycle events (consultations, disclosures to police,
intelligence) have no effect to show (None).
"""

from collections.abc import Mapping, Sequence

from referral_schemas import EventData, EventRejected, parse_event
from referral_schemas.lifecycle import Lifecycle, Refusal, evolve
from referral_schemas.lifecycle_rules import LIFECYCLE_EVENT_TYPES
from referral_schemas.topics import REFERRAL_EVENTS

from services.audit.chain import LedgerEntry
from services.audit.entries import sha256_hex

APPLIED = "applied"
UNKNOWN = "unknown"
NO_EFFECT = "no effect: "

RecordKey = tuple[str, int, int]
"""(topic, partition, offset) of a Kafka record."""


def record_key(entry: LedgerEntry) -> RecordKey:
    c = entry.content
    return (c.topic, c.partition, c.offset)


def lifecycle_entries(entries: Sequence[LedgerEntry]) -> list[LedgerEntry]:
    """The referral's lifecycle events among its timeline's entries, in log order (their
    partition's offsets: the referral's events share one partition, keyed by its id)."""
    found = [
        e
        for e in entries
        if e.content.topic == REFERRAL_EVENTS
        and e.content.type in LIFECYCLE_EVENT_TYPES
        and e.content.referral_id is not None
    ]
    return sorted(found, key=lambda e: (e.content.partition, e.content.offset))


def effects(entries: Sequence[LedgerEntry], records: Mapping[RecordKey, bytes]) -> dict[int, str]:
    """Position -> effect of each referral lifecycle event among ``entries`` (one
    referral's timeline), given the record bytes read back (missing ones: not readable)."""
    result: dict[int, str] = {}
    state: Lifecycle | None = None
    readable = True
    for entry in lifecycle_entries(entries):
        value = records.get(record_key(entry))
        readable = (
            readable and value is not None and sha256_hex(value) == entry.content.value_sha256
        )
        data = _payload(value) if readable and value is not None else None
        if data is None:
            readable = False
            result[entry.position] = UNKNOWN
            continue
        folded = evolve(state, data)
        if isinstance(folded, Refusal):
            result[entry.position] = NO_EFFECT + folded.code
        else:
            state = folded
            result[entry.position] = APPLIED
    return result


def _payload(value: bytes) -> EventData | None:
    try:
        data: EventData = parse_event(value).data
        return data
    except EventRejected:
        return None
