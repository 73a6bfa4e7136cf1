"""Running a replay: read the topics once, feed both rebuilds, write them into an empty
scratch schema (``replay_scratch``), compare them with the live state by SQL-side digests.

The ledger comparison recomputes the chain from the rebuilt entries (in the ledger's own
order: the order records of different partitions were appended is the ledger's, and signed)
and names the first entry whose rebuilt hash differs from the stored one: this pinpoints an
entry that was edited and the chain recomputed, which verify alone can only bracket.
"""

import asyncio
import contextlib
import dataclasses
import gc
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from services.audit.replay_interface import (
    GENESIS,
    LEDGERED_TOPICS,
    EntryContent,
    LedgerEntry,
    iter_entries,
    link,
    make_entry,
    parse_record,
    provenance_of,
    same_canonical,
)
from services.replay import scratch as scratch_db
from services.replay.folds import (
    CaseworkReplay,
    LedgerReplay,
    Scope,
    StateComparison,
    compare_states,
)
from services.replay.topic_reader import Progress, first_offsets, read_all
from services.runtime.db import Connection, connect
from services.runtime.kafka_clients import KafkaAccess
from services.runtime.provenance import TrustStore

_MAX_LISTED = 20


@dataclass(frozen=True)
class LedgerComparison:
    entries_compared: int
    matched_through: int
    """Rebuilt and stored hashes agree for every entry up to this position."""
    differences: tuple[str, ...]
    rebuilt_digest: str = ""
    live_digest: str = ""
    """SQL-side digests of the rebuilt (scratch) and the live ledger, when a scratch schema
    was given; empty otherwise."""
    expired: int = 0
    """Entries whose records have passed their topic's retention: nothing to rebuild them
    from, so the replay takes them as the ledger holds them (`hub audit verify` checks their
    chain and the signed checkpoints)."""

    @property
    def same(self) -> bool:
        return not self.differences


@dataclass(frozen=True)
class ReplayReport:
    records_read: int
    casework_events: int
    sla_breaches: dict[uuid.UUID, int]
    casework: StateComparison
    ledger: LedgerComparison
    scratch_schema: str = ""
    kept: bool = False
    """Whether the scratch schema was kept (``--keep``) or dropped at the end."""

    @property
    def same(self) -> bool:
        return self.casework.same and self.ledger.same


def _changed_fields(live: Any, rebuilt: Any) -> str:
    names = [
        f.name
        for f in dataclasses.fields(live)
        if getattr(live, f.name) != getattr(rebuilt, f.name)
    ]
    return ", ".join(names) or "canonical form"


def _in_scope(entry: LedgerEntry, scope: Scope) -> bool:
    content = entry.content
    if scope.referral is not None and content.referral_id != scope.referral:
        return False
    return scope.covers_time(content.record_timestamp_ms)


async def compare_ledger(
    conn: Connection, replay: LedgerReplay, scratch: "Connection | None" = None
) -> LedgerComparison:
    """Each stored entry against the entry its record rebuilds, then records never ledgered.

    The chain is recomputed overall (no narrowing) or for the referral (``--referral``); a
    time window alone has no complete chain to recompute.

    With ``scratch`` (a connection to a migrated scratch schema), the rebuilt entries are
    written to its ``ledger`` at the positions of the live entries they match (records never
    ledgered after them), and both ledgers are digested by Postgres: equal digests, equal
    entries (with their hashes: overall, or the referral's with ``--referral``).
    """
    scope = replay.scope
    differences: list[str] = []
    matched: set[tuple[str, int, int]] = set()
    compared = matched_through = expired = 0
    chained = scope.referral is not None or not scope.narrowed
    running, in_step = GENESIS, True
    rebuilt_entries: list[LedgerEntry] = []
    live_positions: list[int] = []
    scratch_head, referral_heads = GENESIS, dict[uuid.UUID, bytes]()
    last_position = 0

    def rebuild(position: int, content: EntryContent, canonical: bytes | None = None) -> None:
        nonlocal scratch_head
        rid = content.referral_id
        referral_previous = referral_heads.get(rid) if rid else None
        entry = make_entry(position, scratch_head, content, referral_previous, canonical)
        if rid is not None and entry.referral_hash is not None:
            referral_heads[rid] = entry.referral_hash
        scratch_head = entry.hash
        rebuilt_entries.append(entry)

    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for entry in iter_entries(conn):
            c = entry.content
            where = (c.topic, c.partition, c.offset)
            last_position = max(last_position, entry.position)
            if scope.narrowed and not _in_scope(entry, scope):
                continue
            rebuilt = replay.contents.get(where)
            if rebuilt is None and replay.expired(*where):
                expired += 1
                live_positions.append(entry.position)
                canonical = c.canonical(entry.position)
                rebuild(entry.position, c, canonical)
                if chained and in_step:
                    running = link(running, canonical)
                    stored = entry.referral_hash if scope.referral is not None else entry.hash
                    if running == stored:
                        matched_through = entry.position
                continue
            if rebuilt is None:
                if replay.read_before_end(*where):
                    differences.append(f"entry {entry.position}: no such record on the topics")
                    live_positions.append(entry.position)
                in_step = False  # the recomputed chain cannot go past it
                continue
            compared += 1
            matched.add(where)
            live_positions.append(entry.position)
            canonical = rebuilt.canonical(entry.position)
            rebuild(entry.position, rebuilt, canonical)
            if not same_canonical(rebuilt, c, entry.position):
                differences.append(
                    f"entry {entry.position}: differs from {c.topic}[{c.partition}]@{c.offset} "
                    f"in {_changed_fields(c, rebuilt)}"
                )
            if not (chained and in_step):
                continue
            running = link(running, canonical)
            stored = entry.referral_hash if scope.referral is not None else entry.hash
            if running == stored:
                matched_through = entry.position
            else:
                differences.append(
                    f"entry {entry.position}: first entry whose hash, recomputed from the "
                    "topics, differs from the ledger's"
                )
                in_step = False
        copies = await conn.fetch('SELECT topic, partition, "offset" FROM ledger_copies')
    matched |= {(r["topic"], r["partition"], r["offset"]) for r in copies}
    missing = sorted(k for k in replay.contents if k not in matched)
    differences += [f"record {t}[{p}]@{o}: not in the ledger" for t, p, o in missing[:_MAX_LISTED]]
    if len(missing) > _MAX_LISTED:
        differences.append(f"... and {len(missing) - _MAX_LISTED} more records not in the ledger")
    if scratch is None:
        return LedgerComparison(compared, matched_through, tuple(differences), expired=expired)
    for offset, key in enumerate(missing, start=1):
        rebuild(last_position + offset, replay.contents[key])
    chain = "overall" if not scope.narrowed else "referral" if scope.referral else "none"

    async def write_and_digest(scratch: Connection) -> tuple[int, str]:
        await scratch_db.write_ledger(scratch, rebuilt_entries)
        return await scratch_db.ledger_digest(scratch, chain)

    async with asyncio.TaskGroup() as both:  # two connections: the live one digests meanwhile
        live_digested = both.create_task(scratch_db.ledger_digest(conn, chain, live_positions))
        rebuilt_digested = both.create_task(write_and_digest(scratch))
    (live_n, live_digest), (rebuilt_n, rebuilt_digest) = (
        live_digested.result(),
        rebuilt_digested.result(),
    )
    if live_digest != rebuilt_digest and not differences:
        differences.append(
            f"ledger digest differs: rebuilt {rebuilt_digest[:12]} ({rebuilt_n} entries), "
            f"live {live_digest[:12]} ({live_n} entries)"
        )
    return LedgerComparison(
        compared, matched_through, tuple(differences), rebuilt_digest, live_digest, expired
    )


async def run_replay(
    kafka: KafkaAccess,
    audit_dsn: str,
    casework_dsn: str,
    scope: Scope,
    progress: Progress | None = None,
    *,
    admin_dsn: str,
    trust: TrustStore,
    keep: bool = False,
    observe: scratch_db.Observer | None = None,
) -> ReplayReport:
    """Read the topics from offset 0, write the rebuilt casework states and ledger entries
    into a new scratch schema (``admin_dsn``: the superuser's, on the project's database),
    and compare them with the live tables by SQL-side digests. The scratch schema is dropped
    at the end unless ``keep``."""
    with _cycle_collector_paused():
        casework = CaseworkReplay(scope)
        ledger = LedgerReplay(scope, first_retained=await first_offsets(kafka, LEDGERED_TOPICS))
        read = 0
        async for record in read_all(kafka, LEDGERED_TOPICS, progress):
            read += 1
            parsed = parse_record(record.value)  # once, for both rebuilds
            provenance = provenance_of(record, parsed, trust)
            casework.feed(record, parsed, provenance)
            ledger.feed(record, parsed, provenance)
        states = [s for rid, s in casework.states.items() if rid in casework.in_scope]
        live_only = _live_filter(scope, [s.referral_id for s in states])
        async with scratch_db.scratch_schema(admin_dsn, keep=keep) as scratch:
            if observe is not None:
                await observe("created", scratch)
            work = await scratch.connect()
            try:
                await scratch_db.prepare(work)
                # Independent work on separate connections, so the database's waits overlap.
                async with asyncio.TaskGroup() as tasks:
                    live_states = tasks.create_task(_casework_digests(casework_dsn, live_only))
                    tasks.create_task(scratch_db.write_casework(work, states))
                    ledger_compared = tasks.create_task(_compare_ledger(audit_dsn, ledger, scratch))
                if observe is not None:
                    await observe("filled", scratch)
                rebuilt, rebuilt_overall = await scratch_db.casework_digests(work)
            finally:
                await work.close()
        ledger_result = ledger_compared.result()
        live, live_overall = live_states.result()
    comparison = compare_states(rebuilt, live, scope)
    comparison = dataclasses.replace(
        comparison, rebuilt_digest=rebuilt_overall, live_digest=live_overall
    )
    return ReplayReport(
        records_read=read,
        casework_events=casework.events,
        sla_breaches=dict(casework.sla_breaches),
        casework=comparison,
        ledger=ledger_result,
        scratch_schema=scratch.name,
        kept=keep,
    )


@contextlib.contextmanager
def _cycle_collector_paused() -> Iterator[None]:
    """Without the cyclic garbage collector while the replay runs. A replay builds a large
    heap that lives until the comparison (an entry per record, every state), with hardly
    any reference cycles; the collector's full passes over it cost about a quarter of the
    replay's CPU (measured). Reference counting still frees everything acyclic; the
    collector's previous state is restored at the end."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


async def _casework_digests(
    casework_dsn: str, only: list[uuid.UUID] | None
) -> tuple[dict[uuid.UUID, str], str]:
    conn = await connect(casework_dsn)
    try:
        return await scratch_db.casework_digests(conn, only)
    finally:
        await conn.close()


async def _compare_ledger(
    audit_dsn: str, replay: LedgerReplay, scratch: scratch_db.Scratch
) -> LedgerComparison:
    audit, work = await connect(audit_dsn), await scratch.connect()
    try:
        return await compare_ledger(audit, replay, work)
    finally:
        await audit.close()
        await work.close()


def _live_filter(scope: Scope, rebuilt: list[uuid.UUID]) -> list[uuid.UUID] | None:
    """The live referrals to compare: one, those the time window touched, or all."""
    if scope.referral is not None:
        return [scope.referral]
    if scope.start is not None or scope.end is not None:
        return rebuilt
    return None
