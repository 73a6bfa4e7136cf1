"""Opening a referral's sealed details for a consultation (services.runtime.sealing).

Casework is the one service that holds the key to people: its X25519 private key opens the
data key the keyring still holds for the sealed value; the details are opened only for a
read that is recorded as a consultation, and never stored in clear. A destroyed key
(erasure) means there is nothing to open: None.
"""

import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from referral_schemas import PersonalDetails, SealedPersonal

from services.runtime import keyring
from services.runtime.db import Connection
from services.runtime.sealing import WrappedKey, load_reader_private, unseal, unwrap

KeyLookup = Callable[[Connection, uuid.UUID, uuid.UUID], Awaitable[WrappedKey | None]]
"""(connection, referral id, key id) -> the wrapped data key, None once destroyed."""


class DetailsOpener:
    def __init__(self, key: X25519PrivateKey, find: KeyLookup = keyring.find) -> None:
        self._key = key
        self._find = find

    @classmethod
    def from_file(cls, path: Path) -> "DetailsOpener":
        return cls(load_reader_private(path))

    async def open(
        self, conn: Connection, referral_id: uuid.UUID, sealed: SealedPersonal | None
    ) -> PersonalDetails | None:
        """The details; None when there are none to open (erased). SealingError when the
        key or the bytes are not theirs."""
        if sealed is None:
            return None
        wrapped = await self._find(conn, referral_id, sealed.key_id)
        if wrapped is None:
            return None
        data_key = unwrap(wrapped, self._key)
        return unseal(sealed, referral_id=referral_id, data_key=data_key)
