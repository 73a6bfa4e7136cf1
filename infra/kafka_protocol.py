"""The few Kafka admin requests provisioning needs that aiokafka's admin client lacks: SCRAM
credentials (upsert, delete) and ACLs (describe, create, delete), sent on the
KRaft controller listener with the brokers' own principal.

Why the controller listener: it authenticates with PLAIN against the password in each node's
own config, so it works before any SCRAM credential exists (a state dir formatted before the
brokers authenticated clients) and never depends on the credentials it provisions. Both APIs
are served there (their request schemas list the "controller" listener); only the active
controller acts on a change, the others answer NOT_CONTROLLER and the next node is tried.

The wire formats are those of Kafka's own schemas (clients/src/main/resources/common/message:
AlterUserScramCredentials v0, CreateAcls/DescribeAcls/DeleteAcls v1), built from aiokafka's
protocol types.
"""

import hashlib
import logging
import secrets
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from aiokafka.conn import create_conn
from aiokafka.errors import KafkaError
from aiokafka.protocol.admin import (
    CreateAclsRequest_v1,
    DeleteAclsRequest_v1,
    DescribeAclsRequest_v1,
)
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from infra import InfraError
from infra.kafka_principals import AclBinding, Operation, PatternType, ResourceType

SCRAM_SHA_512 = 2
SCRAM_ITERATIONS = 8192  # Kafka accepts 4096 to 16384 for SCRAM-SHA-512
NOT_CONTROLLER = 41
RESOURCE_NOT_FOUND = 91
RESOURCE: dict[ResourceType, int] = {"topic": 2, "group": 3}
RESOURCE_NAME = {code: name for name, code in RESOURCE.items()}
PATTERN: dict[PatternType, int] = {"literal": 3, "prefixed": 4}
PATTERN_NAME = {code: name for name, code in PATTERN.items()}
OPERATION: dict[Operation, int] = {"read": 3, "write": 4}
OPERATION_NAME = {code: name for name, code in OPERATION.items()}
ANY, ALLOW = 1, 3
ANY_HOST = "*"


class _AlterScramResponse(Response):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _AlterScramStruct(RequestStruct):  # type: ignore[misc]
    FLEXIBLE_VERSION = True
    API_KEY = 51
    API_VERSION = 0
    RESPONSE_TYPE = _AlterScramResponse
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class _Fixed(Request[RequestStruct]):  # type: ignore[misc]
    """A request whose one version we built ourselves (``struct``)."""

    API_KEY = -1

    def __init__(self, struct: Any) -> None:
        self._struct = struct

    def prepare(self, versions: dict[int, tuple[int, int]]) -> Any:
        low, high = versions.get(self._struct.API_KEY, (0, -1))
        if not low <= self._struct.API_VERSION <= high:
            raise InfraError(
                f"the broker does not speak {type(self._struct).__name__} "
                f"v{self._struct.API_VERSION} (it offers v{low}-v{high})"
            )
        return self._struct

    def build(self, request_struct_class: Any) -> Any:  # pragma: no cover - prepare() builds
        return self._struct


def salted_password(password: str, salt: bytes, iterations: int = SCRAM_ITERATIONS) -> bytes:
    """SCRAM's Hi(password, salt, i) for SHA-512 (RFC 5802), what the broker stores keys from."""
    return hashlib.pbkdf2_hmac("sha512", password.encode(), salt, iterations)


def _acl_row(binding: AclBinding) -> tuple[Any, ...]:
    return (
        RESOURCE[binding.resource_type],
        binding.name,
        PATTERN[binding.pattern],
        binding.principal,
        ANY_HOST,
        OPERATION[binding.operation],
        ALLOW,
    )


class ControllerAdmin:
    """Admin requests on the controller listeners ``addresses`` (``host:port``), as
    ``username`` with the PLAIN password of the nodes' config."""

    def __init__(self, addresses: Sequence[str], username: str, password: str) -> None:
        self._addresses = list(addresses)
        self._username = username
        self._password = password

    async def _send(self, struct: Any) -> Any:
        """Send to each node in turn until one acts on it: a controller that is not the
        active one answers NOT_CONTROLLER to what only the active one may do."""
        failures: list[str] = []
        for address in self._addresses:
            host, _, port = address.rpartition(":")
            try:
                with _plain_on_loopback_accepted():
                    conn = await create_conn(
                        host,
                        int(port),
                        client_id="hub-provisioning",
                        request_timeout_ms=10_000,
                        security_protocol="SASL_PLAINTEXT",
                        sasl_mechanism="PLAIN",
                        sasl_plain_username=self._username,
                        sasl_plain_password=self._password,
                    )
            except (KafkaError, OSError, TimeoutError) as err:
                failures.append(f"{address}: {type(err).__name__}")
                continue
            try:
                response = await conn.send(_Fixed(struct))
            except (KafkaError, OSError, TimeoutError) as err:
                failures.append(f"{address}: {type(err).__name__}")
                continue
            finally:
                conn.close()
            if NOT_CONTROLLER in _error_codes(response):
                failures.append(f"{address}: not the active controller")
                continue
            return response
        raise InfraError("no Kafka controller took the request: " + "; ".join(failures))

    async def alter_scram(self, upserts: dict[str, str], deletions: Sequence[str] = ()) -> None:
        """Set the password of each user in ``upserts``, remove the credential of each in
        ``deletions``; one request, applied by the active controller."""
        rows: list[tuple[Any, ...]] = []
        for name, password in upserts.items():
            salt = secrets.token_bytes(32)
            hashed = salted_password(password, salt)
            rows.append((name, SCRAM_SHA_512, SCRAM_ITERATIONS, salt, hashed, {}))
        gone: list[tuple[Any, ...]] = [(name, SCRAM_SHA_512, {}) for name in deletions]
        response = await self._send(_AlterScramStruct(gone, rows, {}))
        # Removing a credential that is already gone is what was wanted.
        errors = [
            f"{r[0]}: {r[2] or r[1]}"
            for r in response.results
            if r[1] and not (r[1] == RESOURCE_NOT_FOUND and r[0] in deletions)
        ]
        if errors:
            raise InfraError("setting SCRAM credentials failed: " + "; ".join(errors))

    async def acls(self) -> set[AclBinding]:
        """Every ALLOW rule on a topic or group, from any host, that the hub can express."""
        request = DescribeAclsRequest_v1(ANY, None, ANY, None, None, ANY, ANY)
        response = await self._send(request)
        if response.error_code:
            raise InfraError(f"describing ACLs failed: {response.error_message}")
        found: set[AclBinding] = set()
        for rtype, name, pattern, rules in response.resources:
            for principal, host, operation, permission in rules:
                known = (
                    rtype in RESOURCE_NAME
                    and pattern in PATTERN_NAME
                    and operation in OPERATION_NAME
                )
                if known and host == ANY_HOST and permission == ALLOW:
                    found.add(
                        AclBinding(
                            principal,
                            RESOURCE_NAME[rtype],
                            name,
                            PATTERN_NAME[pattern],
                            OPERATION_NAME[operation],
                        )
                    )
        return found

    async def create_acls(self, bindings: Sequence[AclBinding]) -> None:
        if not bindings:
            return
        request = CreateAclsRequest_v1([_acl_row(b) for b in bindings])
        response = await self._send(request)
        errors = [f"{code}: {message}" for code, message in response.creation_responses if code]
        if errors:
            raise InfraError("creating ACLs failed: " + "; ".join(errors))

    async def delete_acls(self, bindings: Sequence[AclBinding]) -> None:
        if not bindings:
            return
        request = DeleteAclsRequest_v1([_acl_row(b) for b in bindings])
        response = await self._send(request)
        errors = [f"{code}: {message}" for code, message, _ in response.filter_responses if code]
        if errors:
            raise InfraError("deleting ACLs failed: " + "; ".join(errors))


@contextmanager
def _plain_on_loopback_accepted() -> Iterator[None]:
    """aiokafka warns that PLAIN over plaintext sends the password in the clear; on the
    controller listener that is the design (docs/security.md, "Kafka"), so not every
    `hub infra up` needs to say it."""
    logger = logging.getLogger("aiokafka.conn")
    previous = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(previous)


def _error_codes(response: Any) -> set[int]:
    """Every error code anywhere in a response of the requests above."""
    obj = response.to_object()
    codes = {obj.get("error_code", 0)}
    for key in ("results", "creation_responses", "filter_responses"):
        codes |= {item.get("error_code", 0) for item in obj.get(key) or []}
    return codes
