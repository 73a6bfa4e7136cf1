"""The seal intake hands its decisions (``Fresh.seal``): each call seals one event's
details under a new data key, and the keys made (``made``) are kept in the keyring in the
transaction that publishes the events (``IntakeStore.keep_keys``, services.runtime.sealing)."""

import uuid

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PublicKey
from referral_schemas import PersonalDetails, SealedPersonal

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

    @property
    def made(self) -> tuple[tuple[uuid.UUID, WrappedKey], ...]:
        """The keys of what was sealed, each with its referral: to keep in the transaction
        that publishes it."""
        return tuple(self._made)
