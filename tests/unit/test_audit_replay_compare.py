"""The shortcuts replay takes to compare and write a whole log give the answers of the long
way: an entry equal field by field renders the same canonical bytes (and one that differs,
even only in a dead letter's JSON type, does not), and statements batched from a store
function reach the database in the order they were issued."""

import dataclasses
import uuid
from datetime import timedelta, timezone
from typing import Any

import pytest
from referral_schemas import load_sample
from referral_schemas.topics import DEAD_LETTER, REFERRAL_EVENTS

from services.audit.entries import EntryContent, RecordFacts, describe, same_canonical
from services.audit.statement_batch import StatementBatch

pytestmark = pytest.mark.unit


def _entry() -> EntryContent:
    raw = load_sample("ReferralRouted.v1")
    return describe(RecordFacts(REFERRAL_EVENTS, 2, 40, 1_700_000_000_000, b"k", raw))


def _dead_letter() -> EntryContent:
    headers = (
        ("dlq.reason", b"not_json"),
        ("dlq.consumer", b"intake/police.intelligence"),
        ("dlq.source.topic", b"police.intelligence"),
        ("dlq.source.partition", b"3"),
        ("dlq.source.offset", b"41"),
    )
    return describe(RecordFacts(DEAD_LETTER, 0, 9, None, b"k", b"{not json", headers))


@pytest.mark.parametrize("make", [_entry, _dead_letter])
def test_equal_entries_compare_as_their_canonical_bytes_do(make: Any) -> None:
    a, b = make(), make()
    assert a is not b
    assert same_canonical(a, b, 7)
    changed = dataclasses.replace(b, actor="user:someone-else")
    assert not same_canonical(a, changed, 7)
    assert a.canonical(7) != changed.canonical(7)


def test_the_same_instant_in_another_zone_is_the_same_entry() -> None:
    a = _entry()
    assert a.event_time is not None
    elsewhere = a.event_time.astimezone(timezone(timedelta(hours=5)))
    b = dataclasses.replace(a, event_time=elsewhere)
    assert same_canonical(a, b, 3) == (a.canonical(3) == b.canonical(3)) is True
    later = dataclasses.replace(a, event_time=a.event_time + timedelta(microseconds=1))
    assert not same_canonical(a, later, 3)


def test_a_dead_letter_equal_in_python_but_not_in_json_is_a_difference() -> None:
    a = _dead_letter()
    assert a.dead_letter is not None
    as_float = dataclasses.replace(a, dead_letter={**a.dead_letter, "source_offset": 41.0})
    assert a == as_float, "Python calls them equal"
    assert a.canonical(1) != as_float.canonical(1)
    assert not same_canonical(a, as_float, 1)


class _Recorded:
    def __init__(self) -> None:
        self.calls: list[tuple[str, list[tuple[Any, ...]]]] = []

    async def executemany(self, sql: str, rows: list[tuple[Any, ...]]) -> None:
        self.calls.append((sql, rows))


async def test_batched_statements_keep_their_order() -> None:
    batch = StatementBatch()
    conn = batch.as_connection()
    rid = uuid.uuid4()
    await conn.execute("A", 1)
    await conn.execute("A", 2)
    await conn.execute("B", rid)
    await conn.execute("A", 3)
    target = _Recorded()
    assert await batch.run(target) == 4  # type: ignore[arg-type]
    assert target.calls == [("A", [(1,), (2,)]), ("B", [(rid,)]), ("A", [(3,)])]
    assert await batch.run(target) == 0, "sent statements are not sent twice"  # type: ignore[arg-type]


async def test_a_store_function_that_reads_cannot_be_batched() -> None:
    conn = StatementBatch().as_connection()
    with pytest.raises(AttributeError):
        await conn.fetchval("SELECT 1")
