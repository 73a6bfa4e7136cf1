"""`hub intelligence send FILE --force F` and `withdraw REF --force F --reason R`: what they
build from a file, and every way a file is refused before anything is sent (the message
names the file, the field and the rule, never the value)."""

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from referral_schemas import IntelligenceWithdrawn, WithdrawalReason, load_sample
from typer.testing import CliRunner

from services.hub.intelligence_file import (
    FileProblem,
    Sender,
    checked_force,
    checked_ref,
    read_file,
    submission,
    withdrawal,
)
from services.hub.main import app

pytestmark = pytest.mark.unit

NOW = datetime(2025, 3, 14, 10, 0, tzinfo=UTC)
CUMBRIA = Sender("cumbria", "support-7", NOW)


def sample() -> dict[str, Any]:
    message: dict[str, Any] = json.loads(load_sample("IntelligenceSubmitted.v1"))
    return message


def as_bytes(body: object) -> bytes:
    return json.dumps(body).encode()


def problem(raw: bytes, sender: Sender = CUMBRIA) -> str:
    with pytest.raises(FileProblem) as caught:
        submission("intel.json", raw, sender)
    return str(caught.value)


def test_a_whole_envelope_is_sent_as_it_is() -> None:
    envelope = submission("intel.json", as_bytes(sample()), CUMBRIA)
    assert str(envelope.id) == sample()["id"]
    assert envelope.source == "urn:police:cumbria:records"
    assert envelope.data.kafka_key() == "cumbria:CUM/2025/004217"


def test_data_alone_gets_an_envelope_of_the_force_with_ids_derived_from_its_key() -> None:
    data = sample()["data"]
    envelope = submission("intel.json", as_bytes(data), CUMBRIA)
    assert envelope.type == "IntelligenceSubmitted"
    assert envelope.subject == "cumbria:CUM/2025/004217"
    assert envelope.source == "urn:police:cumbria:hub-cli"
    assert envelope.actor == "user:support-7"
    assert envelope.time == envelope.data.recorded_at
    again = submission("intel.json", as_bytes(data), Sender("cumbria", "other", NOW))
    assert again.id == envelope.id, "the same intelligence sent twice is one event"
    assert again.correlationid == envelope.correlationid


@pytest.mark.parametrize(
    ("raw", "said"),
    [
        (b"\xff\xfe{}", "intel.json: not UTF-8 text"),
        (b'{"force": "cumbria",', "intel.json: not JSON (Expecting property name"),
        (b"[1, 2]", "intel.json: expected a JSON object"),
        (b"x" * (256 * 1024 + 1), "intel.json: larger than an event may be"),
    ],
)
def test_a_file_that_is_not_one_json_object_is_refused(raw: bytes, said: str) -> None:
    assert problem(raw).startswith(said)


def test_a_missing_field_is_named_as_in_the_file() -> None:
    data = sample()["data"]
    del data["address"]
    assert (
        problem(as_bytes(data)) == "intel.json: address: Field required (1 error) [missing_field]"
    )
    whole = sample()
    del whole["data"]["address"]
    assert problem(as_bytes(whole)).startswith("intel.json: data.address: Field required")


def test_a_bad_value_is_named_by_field_and_rule_never_shown() -> None:
    data = sample()["data"]
    data["address"]["postcode"] = "NOT A POSTCODE MARSH"
    said = problem(as_bytes(data))
    assert said.startswith("intel.json: address.postcode:")
    assert said.endswith("[invalid_value]")
    assert "MARSH" not in said
    data = sample()["data"]
    data["favourite_colour"] = "Marsh green"
    said = problem(as_bytes(data))
    assert "favourite_colour" in said
    assert "[unknown_field]" in said
    assert "Marsh green" not in said


def test_the_file_must_be_the_force_given() -> None:
    said = problem(as_bytes(sample()), Sender("lancashire", "support-7", NOW))
    assert said == (
        "intel.json: data.force is 'cumbria', not 'lancashire' (--force): a force sends only "
        "its own intelligence"
    )
    assert "not 'lancashire'" in problem(as_bytes(sample()["data"]), Sender("lancashire", "s", NOW))


def test_a_withdrawal_envelope_is_not_a_submission() -> None:
    said = problem(load_sample("IntelligenceWithdrawn.v1"))
    assert said.startswith("intel.json: is a IntelligenceWithdrawn;")
    assert "hub intelligence withdraw REF" in said


def test_an_envelope_whose_subject_is_not_its_key_is_refused() -> None:
    whole = sample()
    whole["subject"] = "cumbria:SOMETHING/ELSE"
    assert problem(as_bytes(whole)) == (
        "intel.json: subject must be 'cumbria:CUM/2025/004217' ('<force>:<intelligence_ref>')"
    )


def test_an_unknown_type_is_refused_with_the_known_ones() -> None:
    whole = sample()
    whole["type"] = "IntelligenceSubmited"
    said = problem(as_bytes(whole))
    assert said.startswith("intel.json: type: not a known event type")
    assert said.endswith("[unknown_event_type]")


def test_reading_a_file_that_is_not_there_or_is_a_folder(tmp_path: Path) -> None:
    with pytest.raises(FileProblem, match="no such file"):
        read_file(tmp_path / "missing.json")
    with pytest.raises(FileProblem, match="is a folder"):
        read_file(tmp_path)


@pytest.mark.parametrize("force", ["Cumbria", "", "c", "cumbria police"])
def test_a_force_that_is_not_a_force_code_is_refused(force: str) -> None:
    with pytest.raises(FileProblem, match="--force must be a force code"):
        checked_force(force)


def test_a_withdrawal_is_the_forces_with_the_reason_given() -> None:
    ref = checked_ref("CUM/2025/004217")
    envelope = withdrawal(ref, WithdrawalReason.SUBMITTED_IN_ERROR, CUMBRIA)
    assert isinstance(envelope.data, IntelligenceWithdrawn)
    assert (envelope.data.force, envelope.data.reason) == ("cumbria", "submitted_in_error")
    assert envelope.data.withdrawn_at == NOW
    assert envelope.subject == "cumbria:CUM/2025/004217"
    sent = submission("intel.json", as_bytes(sample()["data"]), CUMBRIA)
    assert envelope.correlationid == sent.correlationid, "one chain with its submission"
    with pytest.raises(FileProblem, match="REF must be"):
        checked_ref("no spaces allowed")


def test_the_command_prints_the_problem_and_sends_nothing(tmp_path: Path) -> None:
    """It fails before looking for a stack: nothing could have been sent."""
    bad = tmp_path / "intel.json"
    data = sample()["data"]
    del data["indicators"]
    bad.write_text(json.dumps(data))
    result = CliRunner().invoke(app, ["intelligence", "send", str(bad), "--force", "cumbria"])
    assert result.exit_code == 2
    assert f"not sent: {bad}: indicators: Field required" in result.output
    other = CliRunner().invoke(app, ["intelligence", "send", str(bad), "--force", "Not A Force"])
    assert other.exit_code == 2
    assert "--force must be a force code" in other.output
    withdrawn = CliRunner().invoke(
        app,
        ["intelligence", "withdraw", "bad ref", "--force", "cumbria", "--reason", "discredited"],
    )
    assert withdrawn.exit_code == 2
    assert "REF must be" in withdrawn.output
