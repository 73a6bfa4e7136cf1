"""Relay leadership as a lease row with an epoch (services/runtime/migrations/0003).

A leader keeps its lease by renewing it as it makes progress; one that stops (hung, cut off
from the database) loses it when it expires, and any instance may then take it with a new
epoch. Renewing checks the epoch, so an old leader that comes back finds it has lost: the
relay renews in the same transaction that marks rows published, which makes that mark the
fence. docs/runtime.md ("Relay leadership") argues why publishing before marking cannot
reorder events.
"""

from dataclasses import dataclass

from services.runtime.db import Connection


class LeadershipLost(Exception):
    """Another instance holds the relay lease now; this one must stop publishing."""


@dataclass(frozen=True)
class Lease:
    holder: str
    epoch: int


async def try_acquire(conn: Connection, holder: str, duration_s: float) -> Lease | None:
    """Take the lease if nobody holds it, it has expired, or ``holder`` held it before (a
    restarted relay of the same instance). A new epoch every time; None if another leads."""
    epoch = await conn.fetchval(
        """INSERT INTO relay_lease (holder, epoch, expires_at)
           VALUES ($1, 1, now() + make_interval(secs => $2))
           ON CONFLICT (singleton) DO UPDATE
              SET holder = excluded.holder,
                  epoch = relay_lease.epoch + 1,
                  expires_at = excluded.expires_at
            WHERE relay_lease.expires_at < now() OR relay_lease.holder = excluded.holder
           RETURNING epoch""",
        holder,
        duration_s,
    )
    return Lease(holder, int(epoch)) if epoch is not None else None


async def renew(conn: Connection, lease: Lease, duration_s: float) -> None:
    """Extend the lease, or raise ``LeadershipLost`` if another instance took it. Inside a
    transaction it also locks the row, so nobody can take over until that commits."""
    renewed = await conn.fetchval(
        """UPDATE relay_lease SET expires_at = now() + make_interval(secs => $3)
            WHERE holder = $1 AND epoch = $2
           RETURNING true""",
        lease.holder,
        lease.epoch,
        duration_s,
    )
    if not renewed:
        raise LeadershipLost(f"epoch {lease.epoch} is over")


async def current_holder(conn: Connection) -> str | None:
    """Who holds an unexpired lease (for operators and tests); None if nobody."""
    holder = await conn.fetchval("SELECT holder FROM relay_lease WHERE expires_at > now()")
    return str(holder) if holder is not None else None
