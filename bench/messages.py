"""The intelligence the benchmark sends: the golden sample (so the same size and shape as a
force's real messages), each about a person and address nobody else uses, so every message
opens exactly one referral (nothing links) and can be traced by its reference."""

import json
import secrets
import string
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from referral_schemas import load_sample
from referral_schemas.topics import intelligence_key

# (postcode district, town) across the three areas of the Cumbria directory.
_DISTRICTS = (
    ("LA14", "Barrow-in-Furness"),
    ("LA13", "Barrow-in-Furness"),
    ("LA9", "Kendal"),
    ("LA8", "Kendal"),
    ("CA1", "Carlisle"),
    ("CA2", "Carlisle"),
    ("CA3", "Carlisle"),
)
_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def new_run_id() -> str:
    return "".join(secrets.choice(string.ascii_uppercase + string.digits) for _ in range(6))


def _letters(n: int) -> str:
    """0 -> 'a', 25 -> 'z', 26 -> 'ba': a name part unique per number."""
    out = ""
    while True:
        n, r = divmod(n, 26)
        out = string.ascii_lowercase[r] + out
        if n == 0:
            return out


@dataclass(frozen=True)
class Message:
    ref: str
    key: bytes
    value: bytes


class IntelligenceFactory:
    """Messages of one run; refs are ``BENCH/<run>/<phase>/<n>``."""

    def __init__(self, run_id: str) -> None:
        self.run_id = run_id
        self._sample: dict[str, Any] = json.loads(load_sample("IntelligenceSubmitted.v1"))

    def prefix(self, phase: str) -> str:
        return f"BENCH/{self.run_id}/{phase}/"

    def make(self, phase: str, n: int) -> Message:
        message = dict(self._sample)
        data = dict(message["data"])
        ref = f"{self.prefix(phase)}{n:07d}"
        district, town = _DISTRICTS[n % len(_DISTRICTS)]
        unit = _UNIT_LETTERS[n % 20] + _UNIT_LETTERS[(n // 20) % 20]
        tag = f"{self.run_id.lower()}{phase.lower()}{_letters(n)}"
        message["id"] = str(uuid.uuid4())
        message["correlationid"] = str(uuid.uuid4())
        message["time"] = datetime.now(UTC).isoformat()
        message["subject"] = f"cumbria:{ref}"
        data["intelligence_ref"] = ref
        data["subject"] = {
            **data["subject"],
            "given_name": "Bench",
            "family_name": f"Person {tag}",
            "aliases": [],
        }
        data["address"] = {
            "line1": f"Flat {n % 40 + 1}, {tag} Harbour View Terrace",
            "line2": None,
            "town": town,
            "postcode": f"{district} {n % 9 + 1}{unit}",
        }
        message["data"] = data
        key = intelligence_key(data["force"], ref).encode()
        return Message(ref, key, json.dumps(message).encode())

    def batch(self, phase: str, count: int) -> list[Message]:
        return [self.make(phase, n) for n in range(count)]
