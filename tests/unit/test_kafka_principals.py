"""The ACL table says what each Kafka principal may do; it must give every service what its
code consumes, and nothing that would let one principal do another's job."""

from pathlib import Path

import pytest
from referral_schemas.topics import (
    ALL_TOPICS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

from infra.event_keys import ensure_event_keys
from infra.kafka_principals import (
    FORCE_ACCESS,
    SERVICE_ACCESS,
    SUPER_USERS,
    Access,
    desired_bindings,
    force_principal,
    principals,
)
from infra.personal_data_keys import ensure_personal_data_keys
from infra.settings import InfraSettings
from services.audit import main as audit_main
from services.audit.settings import AuditSettings
from services.audit.signing import ensure_checkpoint_key
from services.casework import main as casework_main
from services.casework.settings import CaseworkSettings
from services.feedback import main as feedback_main
from services.feedback.settings import FeedbackSettings
from services.insights import main as insights_main
from services.insights.settings import InsightsSettings
from services.intake import main as intake_main
from services.intake.settings import IntakeSettings
from services.routing import main as routing_main
from services.routing.settings import RoutingSettings
from services.runtime.app import ServiceSpec
from services.runtime.auth import ensure_signing_keys

pytestmark = pytest.mark.unit

DSN = "postgresql://svc:pw@127.0.0.1:1/db"


def specs(tmp_path: Path, insights_group: str = "insights") -> dict[str, ServiceSpec]:
    """Each consuming service's wiring, as its main.py builds it."""
    _, public = ensure_signing_keys(tmp_path)
    api = {"database_url": DSN, "token_public_key_file": public}
    people = ensure_personal_data_keys(tmp_path)
    intake = IntakeSettings(
        database_url=DSN,
        matching_key="k" * 32,
        personal_data_reader_key_file=people["INTAKE_PERSONAL_DATA_READER_KEY_FILE"],
    )
    casework = CaseworkSettings(
        **api,  # type: ignore[arg-type]
        personal_data_key_file=people["CASEWORK_PERSONAL_DATA_KEY_FILE"],
    )
    return {
        "intake": intake_main.build(intake),
        "routing": routing_main.build(RoutingSettings(database_url=DSN)),
        "casework": casework_main.build(casework),
        "feedback": feedback_main.build(FeedbackSettings(database_url=DSN)),
        "insights": insights_main.build(
            InsightsSettings(**api, consumer_group=insights_group)  # type: ignore[arg-type]
        ),
    }


def joins(access: Access, group: str) -> bool:
    if access.group is None:
        return False
    return group.startswith(access.group) if access.group_prefixed else group == access.group


@pytest.mark.parametrize("service", ["intake", "routing", "casework", "feedback", "insights"])
def test_each_service_may_read_what_it_subscribes_to_in_its_own_group(
    tmp_path: Path, service: str
) -> None:
    spec = specs(tmp_path)[service]
    access = SERVICE_ACCESS[service]

    assert {sub.topic for sub in spec.subscriptions} == set(access.reads)
    assert joins(access, spec.name), f"{service} consumes in group {spec.name}"
    assert set(access.writes) >= {"hub.dead-letter"}, "refusals are dead-lettered"


def test_an_insights_rebuild_under_a_fresh_group_is_still_insights_own(tmp_path: Path) -> None:
    spec = specs(tmp_path, insights_group="insights-rebuild-2")["insights"]

    assert joins(SERVICE_ACCESS["insights"], spec.name)
    assert not joins(SERVICE_ACCESS["insights"], "casework")


def test_the_audit_ledger_reads_every_topic_in_its_own_group(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, public = ensure_signing_keys(tmp_path)
    keys = ensure_event_keys(InfraSettings(state_dir=tmp_path))
    monkeypatch.setenv("HUB_TRUST_STORE", keys["HUB_TRUST_STORE"])
    settings = AuditSettings(
        database_url=DSN,
        token_public_key_file=public,
        checkpoint_key_file=ensure_checkpoint_key(tmp_path),
        kafka_username="audit",
        kafka_password="pw",
        event_signing_key_file=keys["AUDIT_EVENT_SIGNING_KEY_FILE"],
    )
    spec = audit_main.build(settings)
    access = SERVICE_ACCESS["audit"]

    assert set(settings.topics) == set(ALL_TOPICS) - {DEAD_LETTER} == set(access.reads)
    assert [group for group, _ in spec.kafka_consumers] == [settings.consumer_group]
    assert joins(access, settings.consumer_group)


def test_no_principal_but_the_operator_reads_the_dead_letters() -> None:
    """Refused records are kept unchanged, personal data included: every consuming service
    writes its refusals there, and none (the audit ledger neither) reads them back."""
    everyone = {**SERVICE_ACCESS, force_principal("cumbria"): FORCE_ACCESS}
    assert [p for p, access in everyone.items() if DEAD_LETTER in access.reads] == []
    writers = {p for p, access in SERVICE_ACCESS.items() if DEAD_LETTER in access.writes}
    assert writers == {"intake", "routing", "casework", "feedback", "insights"}


def test_no_two_principals_share_a_consumer_group() -> None:
    groups = [(a.group, a.group_prefixed) for a in SERVICE_ACCESS.values() if a.group]
    names = [g for g, _ in groups]
    assert len(set(names)) == len(names)
    for name, prefixed in groups:
        others = [g for g in names if g != name]
        assert not (prefixed and any(other.startswith(name) for other in others)), name


def test_only_a_force_writes_intelligence_and_only_feedback_writes_outcomes() -> None:
    writers = {
        topic: {p for p, a in SERVICE_ACCESS.items() if topic in a.writes} for topic in ALL_TOPICS
    }
    assert writers[POLICE_INTELLIGENCE] == set()
    assert writers[POLICE_OUTCOMES] == {"feedback"}
    assert writers[DIRECTORY] == set(), "directory versions come from the operator only"
    assert writers[REFERRAL_EVENTS] == {"intake", "routing", "casework"}
    assert FORCE_ACCESS.writes == (POLICE_INTELLIGENCE,)
    assert FORCE_ACCESS.reads == (), "a force reads nothing"
    assert FORCE_ACCESS.group is None


def test_every_principal_has_a_name_and_the_super_users_have_no_acls() -> None:
    forces = ("cumbria", "lancashire")
    named = principals(forces)
    assert named[:2] == SUPER_USERS
    assert force_principal("cumbria") in named
    assert "force-lancashire" in named
    assert len(set(named)) == len(named)
    bound = {b.principal for b in desired_bindings(forces)}
    assert bound == {f"User:{p}" for p in named if p not in SUPER_USERS}
