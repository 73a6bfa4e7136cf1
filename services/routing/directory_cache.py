"""The directory in force, parsed once per version rather than once per referral.

Each call reads which version is in force from the caller's store, so inside the caller's
transaction, and parses that version's jsonb only when it differs from the one kept. A
version is identified by its number and the event that carried it, and a stored version
never changes, so what is kept is never stale: a version seen in a transaction that later
rolled back simply no longer matches what the next transaction reads. Every routing
instance keeps its own, read against the shared table.
"""

from referral_schemas.directory_v1 import DirectoryPublished

from services.routing.store import DirectoryRef, RoutingStore


class DirectoryCache:
    def __init__(self) -> None:
        self._kept: tuple[DirectoryRef, DirectoryPublished] | None = None

    async def in_force(self, store: RoutingStore) -> DirectoryPublished | None:
        """The highest version received, as the caller's transaction sees it."""
        ref = await store.latest_directory()
        if ref is None:
            return None
        kept = self._kept
        if kept is not None and kept[0] == ref:
            return kept[1]
        directory = await store.load_directory(ref)
        self._kept = (ref, directory)
        return directory
