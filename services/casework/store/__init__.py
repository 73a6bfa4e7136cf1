"""Where casework keeps its referrals, their timelines, idempotent answers and the agency
directory: the ``CaseworkStore`` seam (seam.py) its handlers and use cases take, the
PostgreSQL store (postgres.py) and an in-memory fake (memory.py)."""

from services.casework.store.memory import InMemoryCaseworkStore
from services.casework.store.postgres import PgCaseworkStore, add_to_timeline, save
from services.casework.store.seam import (
    CaseworkStore,
    IdempotencyKey,
    QueueQuery,
    Stored,
    StoredResponse,
)

__all__ = [
    "CaseworkStore",
    "IdempotencyKey",
    "InMemoryCaseworkStore",
    "PgCaseworkStore",
    "QueueQuery",
    "Stored",
    "StoredResponse",
    "add_to_timeline",
    "save",
]
