"""How the consumer shell tells failures apart."""

import asyncpg


class Rejection(Exception):
    """The domain refuses a well-formed message (e.g. withdrawing unknown intelligence).

    Deterministic: retrying cannot help, so the message is dead-lettered at once.
    ``detail`` is shown to operators and must hold no personal data.
    """

    def __init__(self, reason: str, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail


# Failures of the world rather than of the message: retried without limit, with backoff,
# because dead-lettering a good message while the database restarts would lose it.
TRANSIENT_ERRORS: tuple[type[BaseException], ...] = (
    OSError,
    TimeoutError,
    asyncpg.InterfaceError,
    asyncpg.PostgresConnectionError,
    asyncpg.CannotConnectNowError,
    asyncpg.TooManyConnectionsError,
    asyncpg.SerializationError,
    asyncpg.DeadlockDetectedError,
    asyncpg.AdminShutdownError,
    # The session limits (services/runtime/db.py): another session held a lock too long, a
    # statement ran too long, or this process hung inside a transaction and the server ended
    # it. The work is rolled back and done again; nothing about the message is wrong.
    asyncpg.LockNotAvailableError,
    asyncpg.QueryCanceledError,
    asyncpg.IdleInTransactionSessionTimeoutError,
)
