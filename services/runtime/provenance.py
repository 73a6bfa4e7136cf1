"""Event provenance: every record the hub publishes is signed by its producer, and every
consumer checks who signed it before anything else (docs/security.md, "Event provenance").

A signature is Ed25519 over the record's topic, key and value (length-prefixed, so no two
records share signed bytes), carried in two headers: ``hub.kid`` (the key id) and
``hub.sig`` (the signature). The trust store (``HUB_TRUST_STORE``, a JSON file written by
`hub infra up` and `hub keys`) maps key ids to producers and public keys. A key is
``active`` (signs now), ``retired`` (replaced by a rotation: what it signed still verifies)
or ``revoked`` (what it signed is refused). Signer and store re-read their files when they
change, so keys rotate while everything runs.
"""

import base64
import binascii
import hashlib
import json
import os
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from referral_schemas.producers import is_producer_name

KID_HEADER = "hub.kid"
SIG_HEADER = "hub.sig"
SIGNATURE_HEADERS = frozenset({KID_HEADER, SIG_HEADER})
_DOMAIN = b"referral-hub event v1\x00"

KeyStatus = Literal["active", "retired", "revoked"]
Refusal = Literal["bad_signature", "untrusted_producer"]


def signed_bytes(topic: str, key: bytes | None, value: bytes) -> bytes:
    """What a signature covers: the topic, the key (absent differs from empty) and value."""
    parts = [topic.encode(), b"" if key is None else b"\x01" + key, value]
    return _DOMAIN + b"".join(struct.pack(">Q", len(p)) + p for p in parts)


def key_id_of(producer: str, public: Ed25519PublicKey) -> str:
    """``<producer>/<first 16 hex of sha256(public key)>``: says whose key it is, and which."""
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return f"{producer}/{hashlib.sha256(raw).hexdigest()[:16]}"


def public_text(public: Ed25519PublicKey) -> str:
    raw = public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return base64.b64encode(raw).decode()


def load_private_key(path: Path) -> Ed25519PrivateKey:
    key = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError(f"{path} does not hold an Ed25519 private key")
    return key


def without_signature(headers: Sequence[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    return [(name, value) for name, value in headers if name not in SIGNATURE_HEADERS]


class EventSigner:
    """Signs as one producer with the private key in ``key_file`` (re-read when replaced)."""

    def __init__(self, producer: str, key_file: Path) -> None:
        self.producer = producer
        self._path = key_file
        self._stamp: tuple[int, int] | None = None
        self._key: Ed25519PrivateKey | None = None
        self._kid = ""
        self._load()

    def _load(self) -> None:
        info = self._path.stat()
        stamp = (info.st_mtime_ns, info.st_ino)
        if stamp == self._stamp:
            return
        key = load_private_key(self._path)
        self._key, self._kid, self._stamp = key, key_id_of(self.producer, key.public_key()), stamp

    @property
    def key_id(self) -> str:
        return self._kid

    def headers(self, topic: str, key: bytes | None, value: bytes) -> list[tuple[str, bytes]]:
        """The two headers that prove this producer published exactly these bytes."""
        self._load()
        assert self._key is not None
        signature = self._key.sign(signed_bytes(topic, key, value))
        return [(KID_HEADER, self._kid.encode()), (SIG_HEADER, base64.b64encode(signature))]

    def sign(
        self, topic: str, key: bytes | None, value: bytes, headers: Sequence[tuple[str, bytes]]
    ) -> list[tuple[str, bytes]]:
        """``headers`` without any earlier signature, plus this producer's."""
        return [*without_signature(headers), *self.headers(topic, key, value)]


@dataclass(frozen=True)
class TrustedKey:
    kid: str
    producer: str
    public: Ed25519PublicKey
    status: KeyStatus


@dataclass(frozen=True)
class Verdict:
    """Who signed a record, or why it is refused."""

    producer: str | None
    refusal: Refusal | None = None
    detail: str = ""

    @property
    def trusted(self) -> bool:
        return self.refusal is None


def parse_trust_store(text: str) -> dict[str, TrustedKey]:
    """The keys of a trust store file; a clear ``ValueError`` for anything malformed."""
    try:
        document = json.loads(text)
        entries = document["keys"]
        keys: dict[str, TrustedKey] = {}
        for entry in entries:
            producer, status = str(entry["producer"]), entry["status"]
            if not is_producer_name(producer):
                raise ValueError(f"unknown producer {producer!r}")
            if status not in ("active", "retired", "revoked"):
                raise ValueError(f"key status {status!r} is not active, retired or revoked")
            raw = base64.b64decode(entry["public_key"], validate=True)
            public = Ed25519PublicKey.from_public_bytes(raw)
            kid = str(entry["kid"])
            if kid != key_id_of(producer, public):
                raise ValueError(f"key id {kid!r} does not match its public key")
            keys[kid] = TrustedKey(kid, producer, public, status)
    except (KeyError, TypeError, binascii.Error, json.JSONDecodeError) as err:
        raise ValueError(f"malformed trust store: {type(err).__name__}: {err}") from err
    return keys


class TrustStore:
    """The trust store file, re-read (at most once a second) when it changes."""

    def __init__(self, path: Path, recheck_s: float = 1.0) -> None:
        self.path = path
        self._recheck_s = recheck_s
        self._checked = 0.0
        self._stamp: tuple[int, int, int] | None = None
        self.keys: dict[str, TrustedKey] = {}
        self.refresh(force=True)

    def refresh(self, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._checked < self._recheck_s:
            return
        self._checked = now
        info = os.stat(self.path)
        stamp = (info.st_mtime_ns, info.st_ino, info.st_size)
        if stamp != self._stamp:
            self.keys = parse_trust_store(self.path.read_text())
            self._stamp = stamp

    def verify(
        self,
        topic: str,
        key: bytes | None,
        value: bytes,
        headers: Sequence[tuple[str, bytes]],
    ) -> Verdict:
        """Check a record's signature against the store (never raises)."""
        found = {name: data for name, data in headers if name in SIGNATURE_HEADERS}
        kid_bytes, signature_text = found.get(KID_HEADER), found.get(SIG_HEADER)
        if kid_bytes is None or signature_text is None:
            return Verdict(None, "bad_signature", "the record is not signed")
        self.refresh()
        kid = kid_bytes.decode("utf-8", "replace")
        trusted = self.keys.get(kid)
        if trusted is None:  # perhaps a key rotated in this very moment: look again
            self.refresh(force=True)
            trusted = self.keys.get(kid)
        if trusted is None:
            return Verdict(None, "untrusted_producer", "signed with a key the hub does not trust")
        if trusted.status == "revoked":
            return Verdict(
                None, "untrusted_producer", f"signed with a revoked key of {trusted.producer}"
            )
        try:
            signature = base64.b64decode(signature_text, validate=True)
            trusted.public.verify(signature, signed_bytes(topic, key, value))
        except (InvalidSignature, binascii.Error, ValueError):
            return Verdict(None, "bad_signature", f"the signature is not {trusted.producer}'s")
        return Verdict(trusted.producer)


def trust_store_document(keys: Sequence[dict[str, Any]]) -> str:
    return json.dumps({"version": 1, "keys": list(keys)}, indent=2, sort_keys=True) + "\n"


__all__ = [
    "KID_HEADER",
    "SIGNATURE_HEADERS",
    "SIG_HEADER",
    "EventSigner",
    "TrustStore",
    "TrustedKey",
    "Verdict",
    "key_id_of",
    "load_private_key",
    "parse_trust_store",
    "public_text",
    "signed_bytes",
    "trust_store_document",
    "without_signature",
]
