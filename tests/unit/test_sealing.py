"""Sealing a person's details (services.runtime.sealing): only the reader's private key opens
them, only for their own referral, and not once their data key is gone."""

import uuid

import pytest
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from referral_schemas import Address, PersonalDetails, ReferralSubject

from services.casework.personal import DetailsOpener
from services.runtime.sealing import SealingError, WrappedKey, seal, unseal, unwrap

pytestmark = pytest.mark.unit

DETAILS = PersonalDetails(
    subject=ReferralSubject(given_name="Casey", family_name="Marsh", phone="+447700900123"),
    address=Address(line1="27 Harbour View", town="Barrow-in-Furness", postcode="LA14 9ZZ"),
)
READER = X25519PrivateKey.generate()
RID = uuid.uuid4()


def test_the_reader_opens_what_was_sealed_for_it_and_nothing_is_in_clear() -> None:
    sealing = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    assert "Marsh" not in sealing.sealed.model_dump_json()
    assert b"Marsh" not in sealing.key.wrapped
    data_key = unwrap(sealing.key, READER)
    assert unseal(sealing.sealed, referral_id=RID, data_key=data_key) == DETAILS


def test_each_seal_has_its_own_key_and_nonce() -> None:
    one = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    two = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    assert one.sealed.key_id != two.sealed.key_id
    assert one.sealed.ciphertext != two.sealed.ciphertext


def test_another_key_cannot_open_the_data_key() -> None:
    sealing = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    with pytest.raises(SealingError):
        unwrap(sealing.key, X25519PrivateKey.generate())


def test_a_sealed_value_moved_to_another_referral_or_altered_does_not_open() -> None:
    sealing = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    data_key = unwrap(sealing.key, READER)
    with pytest.raises(SealingError):
        unseal(sealing.sealed, referral_id=uuid.uuid4(), data_key=data_key)
    flipped = sealing.sealed.ciphertext[:-4] + (
        "AAAA" if sealing.sealed.ciphertext[-4:] != "AAAA" else "BBBB"
    )
    with pytest.raises(SealingError):
        unseal(
            sealing.sealed.model_copy(update={"ciphertext": flipped}),
            referral_id=RID,
            data_key=data_key,
        )


async def test_once_the_key_is_destroyed_the_details_cannot_be_opened() -> None:
    sealing = seal(DETAILS, referral_id=RID, reader=READER.public_key())
    keyring: dict[uuid.UUID, WrappedKey] = {sealing.key.key_id: sealing.key}

    async def find(_conn: object, referral_id: uuid.UUID, key_id: uuid.UUID) -> WrappedKey | None:
        return keyring.get(key_id) if referral_id == RID else None

    opener = DetailsOpener(READER, find)
    conn: object = None
    assert await opener.open(conn, RID, sealing.sealed) == DETAILS  # type: ignore[arg-type]
    keyring.clear()  # erasure
    assert await opener.open(conn, RID, sealing.sealed) is None  # type: ignore[arg-type]
    assert await opener.open(conn, RID, None) is None  # type: ignore[arg-type]
