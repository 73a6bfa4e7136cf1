"""Sealing a referral's personal details (crypto-shredding; docs/privacy.md).

Each ``ReferralOpened``/``ReferralAmended`` intake publishes seals the person and address
under a fresh 256-bit data key with AES-256-GCM; the associated data binds the ciphertext to
its referral and key id. The data key itself is kept only in the keyring table
(``services.runtime.keyring``), wrapped for the one reader allowed to see people: casework's
X25519 key pair. Wrapping is ECIES: an ephemeral X25519 key agreement with casework's
public key, HKDF-SHA256 over the shared secret and both public keys, AES-256-GCM over the
data key. Intake holds only the public key (it can seal, never unseal); casework holds the
private key (it can unseal what the keyring still has). Destroying a referral's keyring rows
makes every sealed copy of its details, on the log and in every table, unreadable for good.
"""

import base64
import json
import os
import uuid
from dataclasses import dataclass
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from referral_schemas import PersonalDetails, SealedPersonal

_WRAP_INFO = b"referral-hub data key wrap v1"
_NONCE = 12


class SealingError(Exception):
    """A sealed value or a wrapped key that does not open: wrong key, altered bytes."""


@dataclass(frozen=True)
class WrappedKey:
    """A data key as the keyring keeps it: only the holder of the reader's private key
    opens it."""

    key_id: uuid.UUID
    ephemeral_public: bytes
    nonce: bytes
    wrapped: bytes


@dataclass(frozen=True)
class Sealing:
    """What intake publishes (the sealed details) and keeps (the wrapped key, same
    transaction)."""

    sealed: SealedPersonal
    key: WrappedKey


def _associated(referral_id: uuid.UUID, key_id: uuid.UUID) -> bytes:
    return f"{referral_id}:{key_id}".encode()


def _wrapping_key(shared: bytes, ephemeral: bytes, recipient: bytes) -> bytes:
    return HKDF(hashes.SHA256(), 32, salt=None, info=_WRAP_INFO + ephemeral + recipient).derive(
        shared
    )


def _raw(key: X25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def seal(details: PersonalDetails, *, referral_id: uuid.UUID, reader: X25519PublicKey) -> Sealing:
    """``details`` sealed under a new data key, and that key wrapped for ``reader``."""
    key_id = uuid.uuid4()
    data_key = AESGCM.generate_key(256)
    nonce = os.urandom(_NONCE)
    plaintext = details.model_dump_json().encode()
    ciphertext = AESGCM(data_key).encrypt(nonce, plaintext, _associated(referral_id, key_id))
    ephemeral = X25519PrivateKey.generate()
    ephemeral_public = _raw(ephemeral.public_key())
    wrap_with = _wrapping_key(ephemeral.exchange(reader), ephemeral_public, _raw(reader))
    wrap_nonce = os.urandom(_NONCE)
    wrapped = AESGCM(wrap_with).encrypt(wrap_nonce, data_key, key_id.bytes)
    sealed = SealedPersonal(
        key_id=key_id,
        nonce=base64.b64encode(nonce).decode(),
        ciphertext=base64.b64encode(ciphertext).decode(),
    )
    return Sealing(sealed, WrappedKey(key_id, ephemeral_public, wrap_nonce, wrapped))


def unwrap(key: WrappedKey, reader: X25519PrivateKey) -> bytes:
    """The data key, opened with the reader's private key."""
    ephemeral = X25519PublicKey.from_public_bytes(key.ephemeral_public)
    wrap_with = _wrapping_key(
        reader.exchange(ephemeral), key.ephemeral_public, _raw(reader.public_key())
    )
    try:
        return AESGCM(wrap_with).decrypt(key.nonce, key.wrapped, key.key_id.bytes)
    except InvalidTag:
        raise SealingError("the data key does not open with this reader's key") from None


def unseal(sealed: SealedPersonal, *, referral_id: uuid.UUID, data_key: bytes) -> PersonalDetails:
    """The details ``sealed`` holds; SealingError if the key or the bytes are not theirs."""
    try:
        plaintext = AESGCM(data_key).decrypt(
            base64.b64decode(sealed.nonce),
            base64.b64decode(sealed.ciphertext),
            _associated(referral_id, sealed.key_id),
        )
    except InvalidTag:
        raise SealingError("the sealed details do not open with this key") from None
    return PersonalDetails.model_validate(json.loads(plaintext))


def load_reader_private(path: Path) -> X25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, X25519PrivateKey):
        raise ValueError(f"{path} does not hold an X25519 private key")
    return key


def load_reader_public(path: Path) -> X25519PublicKey:
    key = serialization.load_pem_public_key(path.read_bytes())
    if not isinstance(key, X25519PublicKey):
        raise ValueError(f"{path} does not hold an X25519 public key")
    return key
