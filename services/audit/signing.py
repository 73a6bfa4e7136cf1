"""Ed25519 signatures of checkpoints (and of export files), with a key kept outside the
database: a PEM file in ``<state_dir>/secrets/`` (AUDIT_CHECKPOINT_KEY_FILE).

Someone who can rewrite the database cannot forge a checkpoint without that file; verifiers
need only the public key (``<key>.pub.pem``, or derived from the private key).
"""

import base64
import hashlib
import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from referral_schemas.audit_v1 import AuditCheckpoint

from services.audit.entries import time_text
from services.runtime.key_files import CHECKPOINT_KEY, stack_key_pair

LEDGER_NAME = "referral-hub/audit"
KEY_FILE_NAME = CHECKPOINT_KEY


def key_id(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(raw).hexdigest()


def public_pem(public: Ed25519PublicKey) -> str:
    return public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode("ascii")


@dataclass(frozen=True)
class SigningKey:
    private: Ed25519PrivateKey

    @property
    def public(self) -> Ed25519PublicKey:
        return self.private.public_key()

    @property
    def key_id(self) -> str:
        return key_id(self.public)

    def sign(self, data: bytes) -> str:
        return base64.b64encode(self.private.sign(data)).decode("ascii")


def load_signing_key(path: Path) -> SigningKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return SigningKey(key)


def load_public_key(path: Path) -> Ed25519PublicKey:
    """From a public key PEM, or derived from a private key PEM."""
    data = path.read_bytes()
    if b"PRIVATE KEY" in data:
        return load_signing_key(path).public
    return public_key_from_pem(data.decode("ascii"))


def public_key_from_pem(pem: str) -> Ed25519PublicKey:
    key = serialization.load_pem_public_key(pem.encode("ascii"))
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def verify(public: Ed25519PublicKey, data: bytes, signature: str) -> bool:
    try:
        public.verify(base64.b64decode(signature, validate=True), data)
    except (InvalidSignature, ValueError):
        return False
    return True


def statement(
    sequence: int, count: int, head: str, signed_at: datetime, previous: str | None, kid: str
) -> bytes:
    """What a checkpoint signature covers: canonical JSON of the checkpoint's facts."""
    body = {
        "ledger": LEDGER_NAME,
        "sequence": sequence,
        "count": count,
        "head": head,
        "signed_at": time_text(signed_at),
        "previous": previous,
        "key_id": kid,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("ascii")


def statement_of(cp: AuditCheckpoint) -> bytes:
    return statement(cp.sequence, cp.count, cp.head, cp.signed_at, cp.previous, cp.key_id)


def statement_digest(cp: AuditCheckpoint) -> str:
    """What the next checkpoint names as ``previous``: checkpoints chain too."""
    return hashlib.sha256(statement_of(cp)).hexdigest()


def sign_checkpoint(
    key: SigningKey,
    *,
    sequence: int,
    count: int,
    head: str,
    signed_at: datetime,
    previous: str | None,
) -> AuditCheckpoint:
    kid = key.key_id
    signature = key.sign(statement(sequence, count, head, signed_at, previous, kid))
    return AuditCheckpoint(
        sequence=sequence,
        count=count,
        head=head,
        signed_at=signed_at,
        previous=previous,
        key_id=kid,
        signature=signature,
    )


def checkpoint_signed_by(public: Ed25519PublicKey, cp: AuditCheckpoint) -> bool:
    return cp.key_id == key_id(public) and verify(public, statement_of(cp), cp.signature)


def ensure_checkpoint_key(state_dir: Path) -> Path:
    """``<state_dir>/secrets/audit-checkpoint-key.pem`` (0600) and its ``.pub.pem``, made once."""
    return stack_key_pair(state_dir, CHECKPOINT_KEY)[0]
