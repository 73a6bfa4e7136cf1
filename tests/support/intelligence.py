"""Unique, valid intelligence messages for tests, built from the golden sample, so tests
never collide with each other or with demo data on the shared broker and database."""

import json
import random
import string
import uuid
from datetime import UTC, datetime
from typing import Any

from referral_schemas import load_sample
from referral_schemas.topics import intelligence_key

_rng = random.SystemRandom()


def _token(n: int = 8) -> str:
    return "".join(_rng.choice(string.ascii_uppercase + string.digits) for _ in range(n))


def _name() -> str:
    return "Test" + "".join(_rng.choice(string.ascii_lowercase) for _ in range(8))


_UNIT_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"


def unique_postcode() -> str:
    return f"LA14 {_rng.randint(1, 9)}{_rng.choice(_UNIT_LETTERS)}{_rng.choice(_UNIT_LETTERS)}"


def submitted(**data_overrides: Any) -> dict[str, Any]:
    """An IntelligenceSubmitted envelope (as a dict) about a person nobody else uses."""
    message: dict[str, Any] = json.loads(load_sample("IntelligenceSubmitted.v1"))
    ref = f"TEST/{_token()}"
    message["id"] = str(uuid.uuid4())
    message["correlationid"] = str(uuid.uuid4())
    message["time"] = datetime.now(UTC).isoformat()
    message["subject"] = f"cumbria:{ref}"
    data = message["data"]
    data["intelligence_ref"] = ref
    data["subject"] = {
        "given_name": _name(),
        "family_name": _name(),
        "date_of_birth": f"19{_rng.randint(60, 99)}-0{_rng.randint(1, 9)}-1{_rng.randint(0, 9)}",
        "aliases": [],
        "phone": None,
    }
    data["address"] = {
        "line1": f"{_rng.randint(1, 999)} {_name()} Street",
        "line2": None,
        "town": "Barrow-in-Furness",
        "postcode": unique_postcode(),
    }
    data["narrative"] = f"Narrative {_token(12)} seen at the address."
    data.update(data_overrides)
    return message


def withdrawn(of: dict[str, Any], reason: str = "discredited") -> dict[str, Any]:
    message: dict[str, Any] = json.loads(load_sample("IntelligenceWithdrawn.v1"))
    message["id"] = str(uuid.uuid4())
    message["correlationid"] = of["correlationid"]
    message["time"] = datetime.now(UTC).isoformat()
    message["subject"] = of["subject"]
    message["data"].update(
        force=of["data"]["force"],
        intelligence_ref=of["data"]["intelligence_ref"],
        reason=reason,
        withdrawn_at=datetime.now(UTC).isoformat(),
    )
    return message


def key_of(message: dict[str, Any]) -> str:
    return intelligence_key(message["data"]["force"], message["data"]["intelligence_ref"])


def encode(message: dict[str, Any]) -> bytes:
    return json.dumps(message).encode()
