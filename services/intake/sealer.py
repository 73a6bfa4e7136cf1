"""The seal intake hands its decisions (``Fresh.seal``): each call seals one event's
details under a new data key, and the keys made are kept in the keyring in the transaction
that publishes the events (services.runtime.sealing, services.runtime.keyring)."""

import uuid

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from referral_schemas import PersonalDetails, SealedPersonal

from services.runtime import keyring
from services.runtime.db import Connection
from services.runtime.sealing import WrappedKey, seal


class Sealer:
    """Seals for one message's decision, for the one reader allowed to see people."""

    def __init__(self, reader: X25519PublicKey) -> None:
        self._reader = reader
        self._made: list[tuple[uuid.UUID, WrappedKey]] = []

    def __call__(self, referral_id: uuid.UUID, details: PersonalDetails) -> SealedPersonal:
        sealing = seal(details, referral_id=referral_id, reader=self._reader)
        self._made.append((referral_id, sealing.key))
        return sealing.sealed

    async def keep(self, conn: Connection) -> None:
        """Keep the keys of what was sealed; call in the transaction that publishes it."""
        for referral_id, key in self._made:
            await keyring.keep(conn, referral_id, key)
