"""Running a replay: read the topics once, feed both rebuilds, compare with the live state.

The ledger comparison recomputes the chain from the rebuilt entries (in the ledger's own
order: the order records of different partitions were appended is the ledger's, and signed)
and names the first entry whose rebuilt hash differs from the stored one: this pinpoints an
entry that was edited and the chain recomputed, which verify alone can only bracket.
"""

import dataclasses
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
from referral_schemas.topics import ALL_TOPICS

from services.audit import store
from services.audit.chain import GENESIS, LedgerEntry, link
from services.audit.replay import (
    CaseworkReplay,
    LedgerReplay,
    Scope,
    StateComparison,
    compare_states,
    state_digest,
)
from services.audit.topic_reader import Progress, read_all
from services.casework.domain import CaseState
from services.runtime.db import Connection, connect

_MAX_LISTED = 20


@dataclass(frozen=True)
class LedgerComparison:
    entries_compared: int
    matched_through: int
    """Rebuilt and stored hashes agree for every entry up to this position."""
    differences: tuple[str, ...]

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


async def compare_ledger(conn: Connection, replay: LedgerReplay) -> LedgerComparison:
    """Each stored entry against the entry its record rebuilds, then records never ledgered.

    The chain is recomputed overall (no narrowing) or for the referral (``--referral``); a
    time window alone has no complete chain to recompute.
    """
    scope = replay.scope
    differences: list[str] = []
    matched: set[tuple[str, int, int]] = set()
    compared = matched_through = 0
    chained = scope.referral is not None or not scope.narrowed
    running, in_step = GENESIS, True
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        async for entry in store.iter_entries(conn):
            c = entry.content
            where = (c.topic, c.partition, c.offset)
            if scope.narrowed and not _in_scope(entry, scope):
                continue
            rebuilt = replay.contents.get(where)
            if rebuilt is None:
                if replay.read_before_end(*where):
                    differences.append(f"entry {entry.position}: no such record on the topics")
                in_step = False  # the recomputed chain cannot go past it
                continue
            compared += 1
            matched.add(where)
            canonical = rebuilt.canonical(entry.position)
            if canonical != c.canonical(entry.position):
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
    return LedgerComparison(compared, matched_through, tuple(differences))


async def live_casework(conn: Connection, scope: Scope) -> dict[uuid.UUID, str]:
    """Digests of casework's live referral states (read with casework's role)."""
    rows = await conn.fetch("SELECT referral_id, state FROM referrals")
    return {
        r["referral_id"]: state_digest(CaseState.model_validate(r["state"]))
        for r in rows
        if scope.referral is None or r["referral_id"] == scope.referral
    }


async def run_replay(
    bootstrap: str,
    audit_dsn: str,
    casework_dsn: str,
    scope: Scope,
    progress: Progress | None = None,
) -> ReplayReport:
    casework = CaseworkReplay(scope)
    ledger = LedgerReplay(scope)
    read = 0
    async for record in read_all(bootstrap, ALL_TOPICS, progress):
        read += 1
        casework.feed(record)
        ledger.feed(record)
    conn = await connect(casework_dsn)
    try:
        live = await live_casework(conn, scope)
    finally:
        await conn.close()
    audit: asyncpg.Connection = await connect(audit_dsn)
    try:
        ledger_result = await compare_ledger(audit, ledger)
    finally:
        await audit.close()
    return ReplayReport(
        records_read=read,
        casework_events=casework.events,
        sla_breaches=dict(casework.sla_breaches),
        casework=compare_states(casework.digests(), live, scope),
        ledger=ledger_result,
    )
