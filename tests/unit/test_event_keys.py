"""Event-signing keys and the trust store on a tmp dir (infra/event_keys.py,
services/runtime/provenance.py), who may publish what (referral_schemas.producers), and the
`hub keys` commands."""

import json
import stat
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from referral_schemas import load_sample, parse_event
from referral_schemas.producers import (
    OPERATOR,
    SERVICES,
    force_producer,
    is_producer_name,
    may_publish,
)
from referral_schemas.topics import (
    ACCESS_EVENTS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)
from typer.testing import CliRunner

from infra import event_keys
from infra.settings import InfraSettings
from services.hub.main import app
from services.runtime.provenance import (
    KID_HEADER,
    SIG_HEADER,
    EventSigner,
    TrustStore,
    parse_trust_store,
)

pytestmark = pytest.mark.unit

TOPIC = REFERRAL_EVENTS
KEY = b"5e0f3d8a-94c1-4b7e-8d26-3a71c9e4f0b2"
VALUE = b'{"type": "ReferralClosed"}'
FORCES = ("cumbria", "lancashire")


def _settings(root: Path) -> InfraSettings:
    return InfraSettings(state_dir=root, kafka_forces=",".join(FORCES))


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """A state dir whose keys `hub infra up` made."""
    event_keys.ensure_event_keys(_settings(tmp_path))
    return tmp_path


def _signer(root: Path, producer: str) -> EventSigner:
    return EventSigner(producer, event_keys.key_file(root, producer))


def _store(root: Path) -> TrustStore:
    return TrustStore(event_keys.trust_store_path(root), recheck_s=0)


def _statuses(root: Path) -> dict[str, str]:
    return {k.kid: k.status for k in event_keys.list_keys(root)}


def _own_key_file(folder: Path, name: str = "own.pem") -> tuple[Path, bytes]:
    """A fresh Ed25519 private key file and the PEM of its public half."""
    key = Ed25519PrivateKey.generate()
    path = folder / name
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return path, public


# --- keys and the trust store ---------------------------------------------------------


def test_every_producer_gets_a_private_key_and_a_trusted_public_one(root: Path) -> None:
    producers = [*SERVICES, OPERATOR, *(force_producer(f) for f in FORCES)]
    keys = event_keys.list_keys(root)
    assert sorted(k.producer for k in keys) == sorted(producers)
    assert {k.status for k in keys} == {"active"}
    for producer in producers:
        path = event_keys.key_file(root, producer)
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
        assert _signer(root, producer).key_id in _statuses(root)
    store_file = event_keys.trust_store_path(root)
    parsed = parse_trust_store(store_file.read_text())
    assert {t.producer for t in parsed.values()} == set(producers)
    assert "PRIVATE" not in store_file.read_text()
    assert event_keys.key_file(root, "force:cumbria").name == "force-cumbria.pem"


def test_making_the_keys_again_changes_nothing(root: Path) -> None:
    before = event_keys.trust_store_path(root).read_text()
    env = event_keys.ensure_event_keys(_settings(root))
    assert event_keys.trust_store_path(root).read_text() == before
    assert env["HUB_TRUST_STORE"] == str(event_keys.trust_store_path(root))
    assert env[event_keys.env_name("intake")] == str(event_keys.key_file(root, "intake"))
    assert event_keys.env_name(OPERATOR) == "HUB_EVENT_SIGNING_KEY_FILE"
    assert event_keys.env_name("intake") == "INTAKE_EVENT_SIGNING_KEY_FILE"


def test_a_signed_record_verifies_as_its_producer(root: Path) -> None:
    headers = _signer(root, "casework").headers(TOPIC, KEY, VALUE)
    assert [name for name, _ in headers] == [KID_HEADER, SIG_HEADER]
    verdict = _store(root).verify(TOPIC, KEY, VALUE, headers)
    assert verdict.trusted
    assert verdict.producer == "casework"


def test_sign_replaces_an_earlier_signature_and_keeps_other_headers(root: Path) -> None:
    forged = [(KID_HEADER, b"intake/0000"), (SIG_HEADER, b"AAAA"), ("traceparent", b"00-1")]
    headers = _signer(root, "casework").sign(TOPIC, KEY, VALUE, forged)
    assert ("traceparent", b"00-1") in headers
    assert [n for n, _ in headers].count(KID_HEADER) == 1
    assert _store(root).verify(TOPIC, KEY, VALUE, headers).producer == "casework"


@pytest.mark.parametrize(
    ("topic", "key", "value"),
    [
        (TOPIC, KEY, VALUE + b" "),
        (TOPIC, b"another-referral", VALUE),
        (TOPIC, None, VALUE),
        (POLICE_OUTCOMES, KEY, VALUE),
    ],
    ids=["value", "key", "no-key", "topic"],
)
def test_a_tampered_record_has_a_bad_signature(
    root: Path, topic: str, key: bytes | None, value: bytes
) -> None:
    headers = _signer(root, "casework").headers(TOPIC, KEY, VALUE)
    verdict = _store(root).verify(topic, key, value, headers)
    assert (verdict.producer, verdict.refusal) == (None, "bad_signature")


def test_an_unsigned_record_has_a_bad_signature(root: Path) -> None:
    verdict = _store(root).verify(TOPIC, KEY, VALUE, [("traceparent", b"00-1")])
    assert verdict.refusal == "bad_signature"
    assert "not signed" in verdict.detail


def test_a_key_the_hub_never_trusted_is_an_untrusted_producer(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    path, _ = _own_key_file(tmp_path_factory.mktemp("impostor"))
    headers = EventSigner("casework", path).headers(TOPIC, KEY, VALUE)  # claims casework
    verdict = _store(root).verify(TOPIC, KEY, VALUE, headers)
    assert (verdict.producer, verdict.refusal) == (None, "untrusted_producer")


def test_a_signature_under_another_producers_key_id_is_a_bad_signature(root: Path) -> None:
    headers = dict(_signer(root, "intake").headers(TOPIC, KEY, VALUE))
    headers[KID_HEADER] = _signer(root, "casework").key_id.encode()
    verdict = _store(root).verify(TOPIC, KEY, VALUE, list(headers.items()))
    assert verdict.refusal == "bad_signature"


def test_rotation_retires_the_old_key_and_the_signer_moves_to_the_new_one(root: Path) -> None:
    signer = _signer(root, "routing")
    old_kid = signer.key_id
    old_headers = signer.headers(TOPIC, KEY, VALUE)

    new_kid = event_keys.rotate(root, "routing")

    assert new_kid != old_kid
    assert new_kid.startswith("routing/")
    assert (_statuses(root)[old_kid], _statuses(root)[new_kid]) == ("retired", "active")
    new_headers = signer.headers(TOPIC, KEY, VALUE)  # the same signer re-reads its file
    assert signer.key_id == new_kid
    assert dict(new_headers)[KID_HEADER] == new_kid.encode()
    store = _store(root)
    assert store.verify(TOPIC, KEY, VALUE, old_headers).producer == "routing"  # in flight
    assert store.verify(TOPIC, KEY, VALUE, new_headers).producer == "routing"
    assert stat.S_IMODE(event_keys.key_file(root, "routing").stat().st_mode) == 0o600


def test_rotation_with_revoke_old_refuses_what_the_old_key_signed(root: Path) -> None:
    old_headers = _signer(root, "feedback").headers(TOPIC, KEY, VALUE)
    old_kid = _signer(root, "feedback").key_id
    new_kid = event_keys.rotate(root, "feedback", revoke_old=True)
    assert (_statuses(root)[old_kid], _statuses(root)[new_kid]) == ("revoked", "active")
    verdict = _store(root).verify(TOPIC, KEY, VALUE, old_headers)
    assert verdict.refusal == "untrusted_producer"


def test_rotating_an_unknown_producer_is_refused(root: Path) -> None:
    with pytest.raises(ValueError, match="not a producer"):
        event_keys.rotate(root, "mallory")


def test_a_revoked_key_is_an_untrusted_producer(root: Path) -> None:
    headers = _signer(root, "intake").headers(TOPIC, KEY, VALUE)
    kid = _signer(root, "intake").key_id
    assert event_keys.revoke(root, kid).status == "revoked"
    verdict = _store(root).verify(TOPIC, KEY, VALUE, headers)
    assert (verdict.producer, verdict.refusal) == (None, "untrusted_producer")
    assert "revoked" in verdict.detail
    with pytest.raises(ValueError, match="no key"):
        event_keys.revoke(root, "intake/0123456789abcdef")


def test_making_the_keys_again_replaces_a_revoked_key(root: Path) -> None:
    revoked = _signer(root, "insights").key_id
    event_keys.revoke(root, revoked)
    event_keys.ensure_event_keys(_settings(root))
    replacement = _signer(root, "insights").key_id
    assert replacement != revoked
    assert (_statuses(root)[revoked], _statuses(root)[replacement]) == ("revoked", "active")


def test_the_trust_store_is_read_again_when_its_file_changes(root: Path) -> None:
    store = _store(root)
    signer = _signer(root, "audit")
    headers = signer.headers(TOPIC, KEY, VALUE)
    assert store.verify(TOPIC, KEY, VALUE, headers).trusted
    event_keys.revoke(root, signer.key_id)
    assert store.verify(TOPIC, KEY, VALUE, headers).refusal == "untrusted_producer"


def test_the_trust_store_is_not_read_more_than_once_per_recheck_interval(root: Path) -> None:
    store = TrustStore(event_keys.trust_store_path(root), recheck_s=3600)
    signer = _signer(root, "audit")
    headers = signer.headers(TOPIC, KEY, VALUE)
    event_keys.revoke(root, signer.key_id)
    assert store.verify(TOPIC, KEY, VALUE, headers).trusted  # not re-read yet
    store.refresh(force=True)
    assert store.verify(TOPIC, KEY, VALUE, headers).refusal == "untrusted_producer"


def test_a_freshly_rotated_key_is_trusted_at_once(root: Path) -> None:
    store = TrustStore(event_keys.trust_store_path(root), recheck_s=3600)
    event_keys.rotate(root, "casework")
    headers = _signer(root, "casework").headers(TOPIC, KEY, VALUE)
    assert store.verify(TOPIC, KEY, VALUE, headers).trusted


def _document(root: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(event_keys.trust_store_path(root).read_text())
    return document


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: "{not json", "malformed trust store"),
        (lambda d: json.dumps({"version": 1}), "malformed trust store"),
        (lambda d: json.dumps({"keys": [{"kid": "x"}]}), "malformed trust store"),
        (
            lambda d: json.dumps({"keys": [{**d["keys"][0], "status": "maybe"}]}),
            "key status 'maybe'",
        ),
        (
            lambda d: json.dumps({"keys": [{**d["keys"][0], "producer": "mallory"}]}),
            "unknown producer 'mallory'",
        ),
        (
            lambda d: json.dumps({"keys": [{**d["keys"][0], "kid": "intake/0000000000000000"}]}),
            "does not match its public key",
        ),
        (
            lambda d: json.dumps({"keys": [{**d["keys"][0], "public_key": "!!"}]}),
            "malformed trust store",
        ),
    ],
    ids=["json", "no-keys", "no-fields", "status", "producer", "kid", "public-key"],
)
def test_a_malformed_trust_store_is_a_clear_error(root: Path, change: Any, message: str) -> None:
    path = event_keys.trust_store_path(root)
    path.write_text(change(_document(root)))
    with pytest.raises(ValueError, match=message):
        parse_trust_store(path.read_text())
    with pytest.raises(ValueError, match=message):
        TrustStore(path)


def test_register_trusts_a_key_a_force_made_itself(root: Path, tmp_path: Path) -> None:
    private, public = _own_key_file(tmp_path, "lancashire-own.pem")
    stack_kid = _signer(root, "force:lancashire").key_id
    kid = event_keys.register(root, "force:lancashire", public)
    signer = EventSigner("force:lancashire", private)
    assert signer.key_id == kid
    assert (_statuses(root)[kid], _statuses(root)[stack_kid]) == ("active", "retired")
    headers = signer.headers(POLICE_INTELLIGENCE, b"lancashire:REF", VALUE)
    verdict = _store(root).verify(POLICE_INTELLIGENCE, b"lancashire:REF", VALUE, headers)
    assert verdict.producer == "force:lancashire"
    assert event_keys.register(root, "force:lancashire", public) == kid  # once only
    assert [k.kid for k in event_keys.list_keys(root)].count(kid) == 1


def test_register_refuses_anything_but_an_ed25519_public_key(root: Path) -> None:
    ec_public = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    with pytest.raises(ValueError, match="Ed25519"):
        event_keys.register(root, "force:cumbria", ec_public)
    with pytest.raises(ValueError, match=r"(?i)deserialize|pem|key"):
        event_keys.register(root, "force:cumbria", b"not a key")
    _, public = _own_key_file(root)
    with pytest.raises(ValueError, match="not a producer"):
        event_keys.register(root, "Force:Cumbria", public)


def test_a_revoked_key_cannot_be_registered_again(root: Path, tmp_path: Path) -> None:
    _, public = _own_key_file(tmp_path)
    kid = event_keys.register(root, "force:cumbria", public)
    event_keys.revoke(root, kid)
    with pytest.raises(ValueError, match="revoked"):
        event_keys.register(root, "force:cumbria", public)


# --- who may publish what -------------------------------------------------------------


def _intelligence(force: str) -> Any:
    envelope = parse_event(load_sample("IntelligenceSubmitted.v1"))
    return envelope.data.model_copy(update={"force": force})


def test_a_force_publishes_its_own_intelligence_only() -> None:
    cumbria = _intelligence("cumbria")
    assert may_publish("force:cumbria", POLICE_INTELLIGENCE, "IntelligenceSubmitted", cumbria)
    assert not may_publish(
        "force:lancashire", POLICE_INTELLIGENCE, "IntelligenceSubmitted", cumbria
    )
    assert not may_publish("intake", POLICE_INTELLIGENCE, "IntelligenceSubmitted", cumbria)
    assert not may_publish(OPERATOR, POLICE_INTELLIGENCE, "IntelligenceSubmitted", cumbria)
    assert not may_publish("force:cumbria", POLICE_INTELLIGENCE, "ReferralOpened", cumbria)
    assert not may_publish("force:cumbria", POLICE_INTELLIGENCE, "IntelligenceSubmitted", None)
    assert not may_publish("force:cumbria", REFERRAL_EVENTS, "ReferralOpened")


def test_the_directory_is_the_operators() -> None:
    assert may_publish(OPERATOR, DIRECTORY, "DirectoryPublished")
    assert not may_publish("intake", DIRECTORY, "DirectoryPublished")
    assert not may_publish("routing", DIRECTORY, "DirectoryPublished")


def test_each_referral_event_has_its_producer() -> None:
    assert may_publish("intake", REFERRAL_EVENTS, "ReferralOpened")
    assert not may_publish("casework", REFERRAL_EVENTS, "ReferralOpened")
    assert may_publish("routing", REFERRAL_EVENTS, "ReferralRouted")
    assert not may_publish("casework", REFERRAL_EVENTS, "ReferralRouted")
    assert may_publish("casework", REFERRAL_EVENTS, "ReferralClosed")
    assert not may_publish(OPERATOR, REFERRAL_EVENTS, "ReferralClosed")
    assert may_publish("feedback", POLICE_OUTCOMES, "OutcomeReported")
    assert not may_publish("casework", POLICE_OUTCOMES, "OutcomeReported")
    assert may_publish(OPERATOR, ACCESS_EVENTS, "ReferralConsulted")
    assert not may_publish("casework", ACCESS_EVENTS, "AuditCheckpoint")
    assert not may_publish("intake", REFERRAL_EVENTS, "NoSuchEvent")


def test_any_service_may_dead_letter_nobody_else() -> None:
    for service in SERVICES:
        assert may_publish(service, DEAD_LETTER, "ReferralClosed")
        assert may_publish(service, DEAD_LETTER, "")
    assert not may_publish(OPERATOR, DEAD_LETTER, "ReferralClosed")
    assert not may_publish("force:cumbria", DEAD_LETTER, "IntelligenceSubmitted")


def test_producer_names() -> None:
    for name in [*SERVICES, OPERATOR, "force:cumbria", "force:west-yorkshire", "force:a1"]:
        assert is_producer_name(name), name
    for name in ["", "force:", "force:Cumbria", "force:cümbria", "mallory", "force:a b"]:
        assert not is_producer_name(name), name


# --- hub keys -------------------------------------------------------------------------


def _hub(root: Path, *args: str) -> Any:
    env = {"HUB_STATE_DIR": str(root), "COLUMNS": "300"}  # no message wrapped in its box
    return CliRunner().invoke(app, ["keys", *args], env=env)


def test_hub_keys_list_shows_every_key_and_no_private_material(root: Path) -> None:
    result = _hub(root, "list", "--json")
    assert result.exit_code == 0, result.output
    listed = json.loads(result.stdout)
    assert {k["kid"] for k in listed} == set(_statuses(root))
    assert set(listed[0]) == {"kid", "producer", "status", "created_at", "changed_at"}
    table = _hub(root, "list")
    assert table.exit_code == 0, table.output
    assert "force:cumbria" in table.stdout
    assert "active" in table.stdout
    for result in (table, _hub(root, "list", "--json")):
        assert "PRIVATE" not in result.output
        assert "public_key" not in result.output


def test_hub_keys_list_without_a_stack_says_so(tmp_path: Path) -> None:
    result = _hub(tmp_path, "list")
    assert result.exit_code == 2
    assert "hub infra up" in result.output


def test_hub_keys_rotate_prints_the_new_key(root: Path) -> None:
    old = _signer(root, "casework").key_id
    result = _hub(root, "rotate", "casework")
    assert result.exit_code == 0, result.output
    new = _signer(root, "casework").key_id
    assert new != old
    assert new in result.stdout
    assert "without a restart" in result.stdout
    assert (_statuses(root)[old], _statuses(root)[new]) == ("retired", "active")

    revoked = _hub(root, "rotate", "casework", "--revoke-old")
    assert revoked.exit_code == 0, revoked.output
    assert _statuses(root)[new] == "revoked"


def test_hub_keys_rotate_refuses_what_is_not_a_known_producer(root: Path) -> None:
    bad = _hub(root, "rotate", "mallory")
    assert bad.exit_code == 2
    assert "not a producer" in bad.output
    unknown = _hub(root, "rotate", "force:kent")  # a producer name, but never had a key
    assert unknown.exit_code == 2
    assert "no key of force:kent" in unknown.output
    assert "force:kent" not in {k.producer for k in event_keys.list_keys(root)}


def test_hub_keys_revoke_of_an_active_key_rotates_first(root: Path) -> None:
    signer = _signer(root, "routing")
    old = signer.key_id
    result = _hub(root, "revoke", old)
    assert result.exit_code == 0, result.output
    signer.headers(TOPIC, KEY, VALUE)  # the signer re-reads its replaced key file
    new = signer.key_id
    assert new != old
    assert (_statuses(root)[old], _statuses(root)[new]) == ("revoked", "active")
    assert new in result.stdout
    assert "revoked" in result.stdout
    assert _store(root).verify(TOPIC, KEY, VALUE, signer.headers(TOPIC, KEY, VALUE)).trusted

    again = _hub(root, "revoke", old)
    assert again.exit_code == 0
    assert "already revoked" in again.stdout


def test_hub_keys_revoke_of_a_key_made_elsewhere_leaves_the_producer_without_one(
    root: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    _, public = _own_key_file(tmp_path_factory.mktemp("force-system"))
    kid = event_keys.register(root, "force:kent", public)
    result = _hub(root, "revoke", kid)
    assert result.exit_code == 0, result.output
    assert _statuses(root)[kid] == "revoked"
    assert not [
        k for k in event_keys.list_keys(root) if k.producer == "force:kent" and k.status == "active"
    ]
    assert "no active key" in result.stdout


def test_hub_keys_revoke_of_an_unknown_key_fails_clearly(root: Path) -> None:
    before = event_keys.trust_store_path(root).read_text()
    result = _hub(root, "revoke", "intake/0123456789abcdef")
    assert result.exit_code == 2
    assert "no key 'intake/0123456789abcdef'" in result.output
    assert event_keys.trust_store_path(root).read_text() == before


def test_hub_keys_register(root: Path, tmp_path_factory: pytest.TempPathFactory) -> None:
    folder = tmp_path_factory.mktemp("force-system")
    private, public = _own_key_file(folder)
    public_file = folder / "public.pem"
    public_file.write_bytes(public)
    result = _hub(root, "register", "force:lancashire", str(public_file))
    assert result.exit_code == 0, result.output
    kid = EventSigner("force:lancashire", private).key_id
    assert kid in result.stdout
    assert _statuses(root)[kid] == "active"

    (folder / "garbage.pem").write_text("hello")
    refused = {
        "producer": _hub(root, "register", "lancashire", str(public_file)),
        "missing": _hub(root, "register", "force:lancashire", str(folder / "nope.pem")),
        "private": _hub(root, "register", "force:lancashire", str(private)),
        "garbage": _hub(root, "register", "force:lancashire", str(folder / "garbage.pem")),
    }
    for name, outcome in refused.items():
        assert outcome.exit_code == 2, (name, outcome.output)
    assert "not a producer" in refused["producer"].output
    assert "cannot read" in refused["missing"].output
    assert "private key" in refused["private"].output
    assert "not a PEM public key" in refused["garbage"].output
