"""parse_event validates the bytes as received when it can, and re-encoded JSON when it must
(an upcast event, a surrogate escape): both paths give the same envelope."""

import json

import pytest
from referral_schemas import SAMPLE_NAMES, load_sample, parse_event


@pytest.mark.parametrize("name", SAMPLE_NAMES)
def test_the_same_event_in_any_json_spelling_parses_to_the_same_envelope(name: str) -> None:
    raw = load_sample(name)
    event = json.loads(raw)
    spellings = [
        json.dumps(event, ensure_ascii=True, indent=2).encode(),
        json.dumps(event, ensure_ascii=False, separators=(",", ":")).encode(),
    ]

    parsed = parse_event(raw)

    assert all(parse_event(other) == parsed for other in spellings)


def test_an_escaped_surrogate_pair_is_the_character_it_spells() -> None:
    event = json.loads(load_sample("IntelligenceSubmitted.v1"))
    event["data"]["narrative"] = "Seen near the station \U0001f6b2 most evenings."
    escaped = json.dumps(event, ensure_ascii=True).encode()
    assert b"\\ud83d\\udeb2" in escaped

    parsed = parse_event(escaped)

    assert parsed.data.narrative == "Seen near the station \U0001f6b2 most evenings."
