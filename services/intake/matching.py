"""Keys that tell when two pieces of intelligence concern the same person or address.

Keys are keyed hashes (HMAC-SHA256) of normalised identity, so intake can match without
keeping names and addresses in its lookup columns. Pure: the secret is passed in.
"""

import hashlib
import hmac
import re
import unicodedata
from dataclasses import dataclass

from referral_schemas import Address, Person

_NOT_ALNUM = re.compile(r"[^a-z0-9]+")


def _normalise(text: str) -> str:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _NOT_ALNUM.sub(" ", folded).strip()


def _digest(secret: bytes, *parts: str) -> bytes:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).digest()


@dataclass(frozen=True)
class MatchKeys:
    person: bytes | None
    """None when the date of birth is unknown: a name alone is too weak to merge people."""
    address: bytes


def match_keys(person: Person, address: Address, secret: bytes) -> MatchKeys:
    person_key = None
    if person.date_of_birth is not None:
        person_key = _digest(
            secret,
            "person",
            _normalise(person.family_name),
            _normalise(person.given_name),
            person.date_of_birth.isoformat(),
        )
    address_key = _digest(secret, "address", address.postcode, _normalise(address.line1))
    return MatchKeys(person=person_key, address=address_key)
