"""Bringing the brokers' identities and ACLs in line with the stack's: idempotent, run by
every ``hub infra up`` (and by ``python -m infra.provision`` for compose).

Credentials: every wanted principal's SCRAM-SHA-512 credential is set from the stack's file,
each time with a fresh salt; a retired one's is removed. Setting it again is harmless: a
handshake under way keeps the credential it started with, and the password is the same. (The
controllers cannot list SCRAM users, DescribeUserScramCredentials is a broker-only request,
and the brokers need a credential to be asked.)

ACLs: the brokers end up holding exactly ``desired_bindings`` for the principals the hub
manages (its services, its force systems, any ``force-*`` it once made): missing ones are
created, others of those principals deleted. Rules for anyone else are left alone.
"""

import asyncio
import logging
from dataclasses import dataclass

from pydantic import SecretStr

from infra import InfraError
from infra.kafka_config import controller_addresses
from infra.kafka_principals import (
    BROKER,
    OPERATOR,
    AclBinding,
    desired_bindings,
    force_principal,
    principals,
    user,
)
from infra.kafka_protocol import ControllerAdmin
from infra.kafka_users import KafkaUsers, forget_retired
from infra.settings import InfraSettings
from services.runtime.kafka_clients import KafkaAccess

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class AclChanges:
    created: tuple[AclBinding, ...]
    deleted: tuple[AclBinding, ...]


def controller_admin(settings: InfraSettings, users: KafkaUsers) -> ControllerAdmin:
    """Admin requests on the controller listeners, as the brokers' own principal."""
    return ControllerAdmin(controller_addresses(settings), BROKER, users.password(BROKER))


def operator_access(bootstrap: str, users: KafkaUsers) -> KafkaAccess:
    """The operator's Kafka identity (a super user): provisioning's and the probes'."""
    return KafkaAccess(bootstrap, OPERATOR, SecretStr(users.password(OPERATOR)))


async def sync_credentials(settings: InfraSettings, users: KafkaUsers) -> None:
    """Set every wanted principal's credential; remove the retired ones'."""
    await controller_admin(settings, users).alter_scram(users.passwords, sorted(users.retired))
    if users.retired:
        log.info("Kafka credentials removed: %s", ", ".join(sorted(users.retired)))
    forget_retired(settings, users)


async def set_credentials_when_ready(
    settings: InfraSettings, users: KafkaUsers, timeout_s: float = 120.0
) -> None:
    """``sync_credentials``, retried while no controller takes it yet (compose provisions
    right after the Kafka containers open their ports)."""
    deadline = asyncio.get_running_loop().time() + timeout_s
    while True:
        try:
            await sync_credentials(settings, users)
            return
        except InfraError:
            if asyncio.get_running_loop().time() > deadline:
                raise
            await asyncio.sleep(1.0)


def _managed(binding: AclBinding, managed: set[str]) -> bool:
    return binding.principal in managed or binding.principal.startswith(user(force_principal("")))


async def sync_acls(settings: InfraSettings, users: KafkaUsers) -> AclChanges:
    """Create the missing ACLs and delete the hub's principals' others."""
    admin = controller_admin(settings, users)
    forces = settings.kafka_force_list
    desired = desired_bindings(forces)
    managed = {user(name) for name in (*principals(forces), *users.retired)}
    existing = await admin.acls()
    stale = sorted(b for b in existing if _managed(b, managed) and b not in desired)
    missing = sorted(desired - existing)
    await admin.delete_acls(stale)
    await admin.create_acls(missing)
    if stale or missing:
        log.info("Kafka ACLs: %d created, %d removed", len(missing), len(stale))
    return AclChanges(tuple(missing), tuple(stale))
