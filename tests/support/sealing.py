"""Sealed personal details for tests, made as intake makes them (services.runtime.sealing),
for a reader key of the tests' own: ``sealed(...)`` seals and remembers the wrapped key,
``details_of(...)`` opens what was sealed, ``find_key`` serves the remembered keys to a
``DetailsOpener`` the way the keyring serves casework's."""

import uuid

from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from referral_schemas import Address, PersonalDetails, ReferralSubject, SealedPersonal

from services.runtime.db import Connection
from services.runtime.sealing import WrappedKey, seal, unseal, unwrap

READER = X25519PrivateKey.generate()
"""The tests' stand-in for casework's private key."""
_KEPT: dict[uuid.UUID, tuple[uuid.UUID, WrappedKey]] = {}


def remember(referral_id: uuid.UUID, key: WrappedKey) -> None:
    _KEPT[key.key_id] = (referral_id, key)


def sealed(referral_id: uuid.UUID, subject: ReferralSubject, address: Address) -> SealedPersonal:
    sealing = seal(
        PersonalDetails(subject=subject, address=address),
        referral_id=referral_id,
        reader=READER.public_key(),
    )
    remember(referral_id, sealing.key)
    return sealing.sealed


def seal_details(referral_id: uuid.UUID, details: PersonalDetails) -> SealedPersonal:
    """A ``Fresh.seal`` for intake's pure decisions."""
    return sealed(referral_id, details.subject, details.address)


def details_of(referral_id: uuid.UUID, value: SealedPersonal) -> PersonalDetails:
    _, key = _KEPT[value.key_id]
    return unseal(value, referral_id=referral_id, data_key=unwrap(key, READER))


async def find_key(
    conn: Connection, referral_id: uuid.UUID, key_id: uuid.UUID
) -> WrappedKey | None:
    kept = _KEPT.get(key_id)
    return kept[1] if kept is not None and kept[0] == referral_id else None
