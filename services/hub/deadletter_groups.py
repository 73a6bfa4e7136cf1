"""Dead letters as operators think of them: one refused message, however many consumers
refused it. Each consuming service keeps its own row per refusal (``dead_letters``); the
rows of one record share its origin (topic, partition, offset), and so does its one copy on
hub.dead-letter (services/runtime/dead_letter.py). Pure: rows in, messages out."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from services.runtime.dead_letter import NOT_REPLAYABLE, DeadLetter, Origin


@dataclass(frozen=True)
class Refusal:
    """One service's row of one refusal."""

    service: str
    row: DeadLetter

    @property
    def ident(self) -> str:
        """As `hub deadletters list` shows it: ``casework-12``."""
        return f"{self.service}-{self.row['id']}"

    @property
    def origin(self) -> Origin:
        return (self.row["source_topic"], self.row["source_partition"], self.row["source_offset"])

    @property
    def purged(self) -> bool:
        return self.row["purged_at"] is not None

    @property
    def replayable(self) -> bool:
        return self.row["reason"] not in NOT_REPLAYABLE


@dataclass(frozen=True)
class RefusedMessage:
    """Every refusal of one record, the first first."""

    refusals: tuple[Refusal, ...]

    @property
    def first(self) -> Refusal:
        return self.refusals[0]

    @property
    def ident(self) -> str:
        """The message's id: its first refusal's (any refusal's id names it too)."""
        return self.first.ident

    @property
    def origin(self) -> Origin:
        return self.first.origin

    @property
    def dead_lettered_at(self) -> datetime:
        return self.first.row["dead_lettered_at"]  # type: ignore[no-any-return]

    @property
    def services(self) -> tuple[str, ...]:
        """Who refused it, in the order they did."""
        return tuple(dict.fromkeys(r.service for r in self.refusals))

    @property
    def reasons(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.row["reason"] for r in self.refusals))

    @property
    def details(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(r.row["detail"] for r in self.refusals))

    @property
    def purge(self) -> Refusal | None:
        """The refusal that records the latest purge, if any was purged."""
        purged = [r for r in self.refusals if r.purged]
        return max(purged, key=lambda r: r.row["purged_at"]) if purged else None

    @property
    def purged(self) -> bool:
        """Every refusal is purged: nothing of it should be left on hub.dead-letter."""
        return all(r.purged for r in self.refusals)

    @property
    def refused_since_purge(self) -> tuple[str, ...]:
        """Services whose refusal came after a purge (their copy is on the topic again)."""
        if self.purge is None:
            return ()
        return tuple(dict.fromkeys(r.service for r in self.refusals if not r.purged))

    @property
    def re_driven(self) -> Refusal | None:
        replayed = [r for r in self.refusals if r.row["replayed_at"] is not None]
        return max(replayed, key=lambda r: r.row["replayed_at"]) if replayed else None


def group(refusals: Iterable[Refusal]) -> list[RefusedMessage]:
    """One message per origin, the newest first."""
    by_origin: dict[Origin, list[Refusal]] = {}
    for refusal in refusals:
        by_origin.setdefault(refusal.origin, []).append(refusal)
    messages = [
        RefusedMessage(tuple(sorted(found, key=lambda r: (r.row["dead_lettered_at"], r.ident))))
        for found in by_origin.values()
    ]
    messages.sort(key=lambda m: (m.dead_lettered_at, m.ident), reverse=True)
    return messages


def purge_state(message: RefusedMessage) -> str:
    """The list's "purged" column."""
    latest = message.purge
    if latest is None:
        return ""
    said = f"{latest.row['purged_at']:%Y-%m-%d %H:%M} by {latest.row['purged_by']}"
    again = message.refused_since_purge
    if again:
        return f"{said}; refused again since by {', '.join(again)}: purge again"
    return said
