"""Who may do what on the hub's Kafka: one principal per service, one per force's sending
system, the operator, and the brokers themselves; deny by default, so each principal may read,
write and join exactly what this table grants (docs/security.md, "Kafka").

The table is derived from the code: each service's ``Subscription`` topics and consumer group
(services/*/main.py, its settings' ``consumer_group``), the topics its outbox publishes to,
and the dead-letter topic every consuming service writes refusals to. No principal but the
operator reads hub.dead-letter: it holds refused records unchanged, personal data included.
``tests/unit/test_kafka_principals.py`` checks it against the services' subscriptions.
"""

from dataclasses import dataclass
from typing import Literal

from referral_schemas.topics import (
    ACCESS_EVENTS,
    ALL_TOPICS,
    DEAD_LETTER,
    DIRECTORY,
    POLICE_INTELLIGENCE,
    POLICE_OUTCOMES,
    REFERRAL_EVENTS,
)

BROKER = "broker"
"""The brokers' own principal: inter-broker replication and the controller listener."""
OPERATOR = "operator"
"""The person operating the stack: the `hub` CLI, Kafka's tools (`hub kafka`), the tests."""
SUPER_USERS = (BROKER, OPERATOR)
"""Principals the authorizer lets do everything (``super.users``). Why the operator is one:
docs/security.md, "Kafka"."""


@dataclass(frozen=True)
class Access:
    """What one principal may do: topics it reads, topics it writes, the consumer group it
    joins (a prefix when ``group_prefixed``: a rebuild runs under a fresh group name)."""

    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    group: str | None = None
    group_prefixed: bool = False


SERVICE_ACCESS: dict[str, Access] = {
    "intake": Access(
        reads=(POLICE_INTELLIGENCE, REFERRAL_EVENTS),
        writes=(REFERRAL_EVENTS, DEAD_LETTER),
        group="intake",
    ),
    "routing": Access(
        reads=(DIRECTORY, REFERRAL_EVENTS),
        writes=(REFERRAL_EVENTS, DEAD_LETTER),
        group="routing",
    ),
    "casework": Access(
        reads=(REFERRAL_EVENTS, DIRECTORY),
        writes=(REFERRAL_EVENTS, ACCESS_EVENTS, DEAD_LETTER),
        group="casework",
    ),
    "feedback": Access(
        reads=(REFERRAL_EVENTS,),
        writes=(POLICE_OUTCOMES, DEAD_LETTER),
        group="feedback",
    ),
    # INSIGHTS_CONSUMER_GROUP names a rebuild's fresh group (e.g. insights-2): a prefix.
    "insights": Access(
        reads=(DIRECTORY, POLICE_INTELLIGENCE, REFERRAL_EVENTS),
        writes=(DEAD_LETTER,),
        group="insights",
        group_prefixed=True,
    ),
    # The ledger reads every topic but hub.dead-letter (refused records, readable by the
    # operator alone; docs/audit.md); checkpoints and the auditors' reads go to hub.access.
    "audit": Access(
        reads=tuple(topic for topic in ALL_TOPICS if topic != DEAD_LETTER),
        writes=(ACCESS_EVENTS,),
        group="audit",
        group_prefixed=True,
    ),
}
"""Every service process that talks to Kafka (the console does not)."""

FORCE_ACCESS = Access(writes=(POLICE_INTELLIGENCE,))
"""A force's sending system writes intelligence and nothing else. It reads no outcomes:
police.outcomes holds every force's outcomes, and Kafka's ACLs cannot filter records."""

DEFAULT_FORCES = ("cumbria",)

ResourceType = Literal["topic", "group"]
PatternType = Literal["literal", "prefixed"]
Operation = Literal["read", "write"]


@dataclass(frozen=True, order=True)
class AclBinding:
    """One ALLOW rule from any host: ``principal`` may ``operation`` on the resource."""

    principal: str
    resource_type: ResourceType
    name: str
    pattern: PatternType
    operation: Operation


def force_principal(force: str) -> str:
    """The principal of a force's sending system: ``force-cumbria``."""
    return f"force-{force}"


def user(principal: str) -> str:
    """As the authorizer names it: ``User:intake``."""
    return f"User:{principal}"


def grants(principal: str, access: Access) -> set[AclBinding]:
    """The ACLs that give ``principal`` exactly ``access``. Read on a topic also lets it
    describe the topic and fetch its offsets; Write also lets an idempotent producer get its
    producer id (Kafka 3.0+)."""
    who = user(principal)
    found = {AclBinding(who, "topic", topic, "literal", "read") for topic in access.reads}
    found |= {AclBinding(who, "topic", topic, "literal", "write") for topic in access.writes}
    if access.group is not None:
        pattern: PatternType = "prefixed" if access.group_prefixed else "literal"
        found.add(AclBinding(who, "group", access.group, pattern, "read"))
    return found


def accesses(forces: tuple[str, ...]) -> dict[str, Access]:
    """Principal -> access of everyone below the super users."""
    table = dict(SERVICE_ACCESS)
    table |= {force_principal(force): FORCE_ACCESS for force in forces}
    return table


def desired_bindings(forces: tuple[str, ...]) -> set[AclBinding]:
    """Every ACL the hub's brokers should hold."""
    return {b for p, access in accesses(forces).items() for b in grants(p, access)}


def principals(forces: tuple[str, ...]) -> tuple[str, ...]:
    """Every principal that gets a SCRAM credential, the brokers' and the operator's first."""
    return (*SUPER_USERS, *accesses(forces))
