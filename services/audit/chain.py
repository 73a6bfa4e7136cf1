"""The hash chains and how a break in them is named. Pure.

Each entry's hash is ``sha256(previous hash + canonical bytes of the entry)``; the first
entry's previous hash is 32 zero bytes. One chain runs over every entry (by position), and
one per referral (over that referral's entries, in position order).

``ChainWalker`` recomputes both from entries fed in position order and stops at the first
entry that breaks the overall chain, naming it and why: a gap (deleted), altered content,
an entry out of place (reordered), an entry that does not belong (inserted), or an entry
whose hash changed after the next one was chained to it (rewritten).
"""

import hashlib
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from services.audit.entries import EntryContent

GENESIS = bytes(32)


def link(previous: bytes, canonical: bytes) -> bytes:
    return hashlib.sha256(previous + canonical).digest()


@dataclass(frozen=True)
class LedgerEntry:
    """One stored entry: its position, content and both chains' hashes."""

    position: int
    content: EntryContent
    prev_hash: bytes
    hash: bytes
    referral_prev_hash: bytes | None = None
    referral_hash: bytes | None = None


def make_entry(
    position: int,
    previous: bytes,
    content: EntryContent,
    referral_previous: bytes | None,
    canonical: bytes | None = None,
) -> LedgerEntry:
    """The entry appended at ``position`` after ``previous`` (and, for an entry about a
    referral, after that referral's last hash, ``referral_previous``). ``canonical``:
    ``content.canonical(position)``, when the caller has it already."""
    if canonical is None:
        canonical = content.canonical(position)
    referral_hash = None
    if content.referral_id is not None:
        referral_previous = referral_previous or GENESIS
        referral_hash = link(referral_previous, canonical)
    else:
        referral_previous = None
    return LedgerEntry(
        position, content, previous, link(previous, canonical), referral_previous, referral_hash
    )


def build_chain(contents: Iterable[EntryContent]) -> list[LedgerEntry]:
    """Entries for ``contents`` appended in order to an empty ledger."""
    entries: list[LedgerEntry] = []
    previous = GENESIS
    heads: dict[uuid.UUID, bytes] = {}
    for position, content in enumerate(contents, start=1):
        rid = content.referral_id
        entry = make_entry(position, previous, content, heads.get(rid) if rid else None)
        if rid is not None and entry.referral_hash is not None:
            heads[rid] = entry.referral_hash
        entries.append(entry)
        previous = entry.hash
    return entries


def of_referral(entries: Iterable[LedgerEntry], referral_id: uuid.UUID) -> list[LedgerEntry]:
    """Of ``entries`` (in position order), the referral's and the collection of the
    intelligence it was opened from or combined with (what store.referral_entries selects)."""
    ordered = list(entries)
    own = [e for e in ordered if e.content.referral_id == referral_id]
    intelligence = {e.content.intelligence for e in own} - {None}
    return [
        e
        for e in ordered
        if e.content.referral_id == referral_id
        or (e.content.referral_id is None and e.content.intelligence in intelligence)
    ]


@dataclass(frozen=True)
class Finding:
    """The first bad entry (``position``; None for a problem of a checkpoint itself), a
    reason code and a sentence for people."""

    position: int | None
    reason: str
    detail: str


@dataclass(frozen=True)
class _Suspect:
    """An entry whose previous hash is not the hash of the entry before it."""

    entry: LedgerEntry
    expected_position: int
    intact: bool
    """Its own hash still matches its previous hash and content."""
    moved_up: bool
    """Its hash matches if it were one position further on: the entry before was deleted
    and the ones after it renumbered."""


@dataclass
class ChainWalker:
    """Feed entries in position order; ``finding`` is set at the first break."""

    remember: frozenset[int] = frozenset()
    """Positions whose hashes to keep (the checkpoints' counts)."""
    count: int = 0
    head: bytes = GENESIS
    before_head: bytes = GENESIS
    remembered: dict[int, bytes] = field(default_factory=dict)
    referral_heads: dict[uuid.UUID, bytes] = field(default_factory=dict)
    finding: Finding | None = None
    suspect: _Suspect | None = None
    referral_finding: Finding | None = None

    @property
    def stopped(self) -> bool:
        return self.finding is not None or self.suspect is not None

    def feed(self, entry: LedgerEntry) -> None:
        if self.stopped:
            return
        expected = self.count + 1
        if entry.position != expected:
            missing = (
                f"{expected}"
                if entry.position == expected + 1
                else (f"{expected} to {entry.position - 1}")
            )
            self.finding = Finding(expected, "gap", f"entry {missing} is missing (deleted)")
            return
        canonical = entry.content.canonical(entry.position)
        if entry.prev_hash == self.head:
            if link(self.head, canonical) != entry.hash:
                self.finding = Finding(
                    expected, "altered", f"entry {expected}'s content does not match its hash"
                )
                return
        elif entry.prev_hash == self.before_head and expected > 1:
            self.finding = Finding(
                expected - 1,
                "inserted",
                f"entry {expected} is chained to entry {expected - 2}: "
                f"entry {expected - 1} is not part of the original chain",
            )
            return
        else:
            intact = link(entry.prev_hash, canonical) == entry.hash
            moved = link(entry.prev_hash, entry.content.canonical(expected + 1)) == entry.hash
            self.suspect = _Suspect(entry, expected, intact, moved)
            return
        self._referral(entry, canonical)
        self.before_head, self.head, self.count = self.head, entry.hash, expected
        if expected in self.remember:
            self.remembered[expected] = entry.hash

    def _referral(self, entry: LedgerEntry, canonical: bytes) -> None:
        rid = entry.content.referral_id
        if rid is None or self.referral_finding is not None:
            return
        expected = self.referral_heads.get(rid, GENESIS)
        prev, own = entry.referral_prev_hash, entry.referral_hash
        if prev != expected or own is None or link(prev, canonical) != own:
            self.referral_finding = Finding(
                entry.position,
                "referral_chain",
                f"entry {entry.position} breaks the chain of referral {rid}",
            )
            return
        self.referral_heads[rid] = own

    def resolve(self, located: int | None) -> None:
        """Name a suspect's break, given where the entry its previous hash names now is."""
        suspect = self.suspect
        if suspect is None:
            return
        p = suspect.expected_position
        if located is not None and located > p - 1:
            self.finding = Finding(
                p, "reordered", f"entry {p} belongs after the entry now at position {located}"
            )
        elif located is not None:
            self.finding = Finding(
                located + 1,
                "inserted",
                f"entry {p} is chained to entry {located}: "
                f"entries {located + 1} to {p - 1} are not part of the original chain",
            )
        elif suspect.moved_up:
            self.finding = Finding(
                p,
                "gap",
                f"the entry at position {p} was deleted and the entries after it renumbered",
            )
        elif suspect.intact:
            self.finding = Finding(
                p - 1,
                "rewritten",
                f"entry {p - 1} is not the entry that entry {p} was chained to "
                "(it was rewritten or replaced)",
            )
        else:
            self.finding = Finding(p, "altered", f"entry {p}'s links and content do not match")
        self.suspect = None

    def first_finding(self) -> Finding | None:
        found = [f for f in (self.finding, self.referral_finding) if f is not None]
        return min(found, key=lambda f: f.position or 0) if found else None


def walk(
    entries: Iterable[LedgerEntry],
    locate: Callable[[bytes], int | None],
    remember: frozenset[int] = frozenset(),
) -> ChainWalker:
    """Walk entries already in memory (an export file); ``locate`` finds a hash's position."""
    walker = ChainWalker(remember=remember)
    for entry in entries:
        walker.feed(entry)
        if walker.suspect is not None:
            walker.resolve(locate(walker.suspect.entry.prev_hash))
        if walker.stopped:
            break
    return walker
