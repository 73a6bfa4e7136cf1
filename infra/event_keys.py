"""The stack's event-signing keys and the trust store that names them (docs/security.md,
"Event provenance").

Each producer has one Ed25519 key pair: every service, the operator and each force's
sending system of HUB_KAFKA_FORCES. Private keys sit in ``<state>/keys/events/`` (0600,
one file per producer, each given only to its producer: ``<SERVICE>_EVENT_SIGNING_KEY_FILE``,
``HUB_EVENT_SIGNING_KEY_FILE`` for the operator, ``HUB_FORCE_<FORCE>_EVENT_SIGNING_KEY_FILE``);
the public halves are in the trust store ``<state>/trust/producers.json``, which every
consumer reads (``HUB_TRUST_STORE``).

Rotation writes a new key pair, adds its public key as ``active`` and marks the old one
``retired`` (still verifies what it signed), then replaces the private key file: signers and
verifiers re-read their files, so nothing stops. Revocation marks a key ``revoked``: what it
signed is refused from then on.
"""

import fcntl
import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from referral_schemas.producers import OPERATOR, SERVICES, force_producer, is_producer_name

from infra.kafka_users import force_env_prefix
from infra.settings import InfraSettings
from services.runtime.key_files import replace_private_key
from services.runtime.provenance import (
    key_id_of,
    load_private_key,
    parse_trust_store,
    public_text,
    trust_store_document,
)


@dataclass(frozen=True)
class KeyEntry:
    kid: str
    producer: str
    status: str
    created_at: str
    changed_at: str


def trust_store_path(root: Path) -> Path:
    return root / "trust" / "producers.json"


def key_dir(root: Path) -> Path:
    return root / "keys" / "events"


def key_file(root: Path, producer: str) -> Path:
    """``force:cumbria`` -> ``force-cumbria.pem``."""
    return key_dir(root) / f"{producer.replace(':', '-')}.pem"


def env_name(producer: str) -> str:
    """The env-file name of a producer's key file."""
    if producer == OPERATOR:
        return "HUB_EVENT_SIGNING_KEY_FILE"
    if producer in SERVICES:
        return f"{producer.upper()}_EVENT_SIGNING_KEY_FILE"
    return f"{force_env_prefix(producer.split(':', 1)[1])}_EVENT_SIGNING_KEY_FILE"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@contextmanager
def _locked(root: Path) -> Iterator[list[dict[str, Any]]]:
    """The trust store's entries, written back (atomically) when the block ends."""
    path = trust_store_path(root)
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    with (path.parent / ".lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        entries: list[dict[str, Any]] = (
            json.loads(path.read_text())["keys"] if path.is_file() else []
        )
        before = json.dumps(entries, sort_keys=True)
        yield entries
        if json.dumps(entries, sort_keys=True) != before:
            text = trust_store_document(entries)
            parse_trust_store(text)  # never write a store no consumer could read
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(text)
            os.chmod(tmp, 0o600)  # public keys, but in the owner's state dir like the rest
            tmp.replace(path)


def _entry(producer: str, public: Ed25519PublicKey) -> dict[str, Any]:
    now = _now()
    return {
        "kid": key_id_of(producer, public),
        "producer": producer,
        "public_key": public_text(public),
        "status": "active",
        "created_at": now,
        "changed_at": now,
    }


def _trust(entries: list[dict[str, Any]], producer: str, public: Ed25519PublicKey) -> str:
    """Make ``public`` the producer's active key (its earlier active keys retire)."""
    kid = key_id_of(producer, public)
    for entry in entries:
        if entry["producer"] == producer and entry["status"] == "active" and entry["kid"] != kid:
            entry["status"], entry["changed_at"] = "retired", _now()
    known = next((e for e in entries if e["kid"] == kid), None)
    if known is None:
        entries.append(_entry(producer, public))
    elif known["status"] == "revoked":
        raise ValueError(f"key {kid} was revoked; rotate to a new key")
    elif known["status"] != "active":
        known["status"], known["changed_at"] = "active", _now()
    return kid


def producers_of(settings: InfraSettings) -> list[str]:
    return [*SERVICES, OPERATOR, *(force_producer(f) for f in settings.kafka_force_list)]


def ensure_event_keys(settings: InfraSettings) -> dict[str, str]:
    """A key for every producer (made once), each trusted; returns the env values."""
    root = settings.root
    env = {"HUB_TRUST_STORE": str(trust_store_path(root))}
    with _locked(root) as entries:
        for producer in producers_of(settings):
            path = key_file(root, producer)
            if not path.is_file():
                replace_private_key(path, Ed25519PrivateKey.generate())
            key = load_private_key(path)
            kid = key_id_of(producer, key.public_key())
            known = next((e for e in entries if e["kid"] == kid), None)
            active = [e for e in entries if e["producer"] == producer and e["status"] == "active"]
            if not active:  # a key someone registered or rotated in stays the active one
                if known is not None and known["status"] == "revoked":
                    replace_private_key(
                        path, Ed25519PrivateKey.generate()
                    )  # never sign with it again
                    key = load_private_key(path)
                _trust(entries, producer, key.public_key())
            env[env_name(producer)] = str(path)
    return env


def rotate(root: Path, producer: str, revoke_old: bool = False) -> str:
    """A new key for ``producer``: trusted first, then written where its signer reads it.
    Returns the new key id."""
    if not is_producer_name(producer):
        raise ValueError(f"{producer!r} is not a producer (a service, operator or force:<code>)")
    path = key_file(root, producer)
    key = Ed25519PrivateKey.generate()
    with _locked(root) as entries:
        old = [e for e in entries if e["producer"] == producer and e["status"] == "active"]
        kid = _trust(entries, producer, key.public_key())
        if revoke_old:
            for entry in old:
                entry["status"], entry["changed_at"] = "revoked", _now()
    replace_private_key(path, key)
    return kid


def revoke(root: Path, kid: str) -> KeyEntry:
    """Refuse from now on whatever ``kid`` signed."""
    with _locked(root) as entries:
        entry = next((e for e in entries if e["kid"] == kid), None)
        if entry is None:
            raise ValueError(f"no key {kid!r} in the trust store (`hub keys list` shows them)")
        entry["status"], entry["changed_at"] = "revoked", _now()
        return _as_entry(entry)


def register(root: Path, producer: str, public_pem: bytes) -> str:
    """Trust a public key a producer made itself (a force's sending system keeps its own
    private key); its earlier active key retires."""
    if not is_producer_name(producer):
        raise ValueError(f"{producer!r} is not a producer (a service, operator or force:<code>)")
    public = serialization.load_pem_public_key(public_pem)
    if not isinstance(public, Ed25519PublicKey):
        raise ValueError("the file does not hold an Ed25519 public key (PEM)")
    with _locked(root) as entries:
        return _trust(entries, producer, public)


def list_keys(root: Path) -> list[KeyEntry]:
    path = trust_store_path(root)
    if not path.is_file():
        return []
    text = path.read_text()
    parse_trust_store(text)  # a clear ValueError for a malformed store
    return [_as_entry(e) for e in json.loads(text)["keys"]]


def _as_entry(entry: dict[str, Any]) -> KeyEntry:
    return KeyEntry(
        entry["kid"], entry["producer"], entry["status"], entry["created_at"], entry["changed_at"]
    )


__all__ = [
    "KeyEntry",
    "ensure_event_keys",
    "env_name",
    "key_file",
    "list_keys",
    "register",
    "revoke",
    "rotate",
    "trust_store_path",
]
