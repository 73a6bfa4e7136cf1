"""The stack's Kafka passwords: generated once, private, and what the env file says of them."""

import json
import stat
from pathlib import Path

import pytest
from pydantic import SecretStr

from infra.kafka_principals import BROKER, OPERATOR, SERVICE_ACCESS
from infra.kafka_users import (
    ensure_kafka_users,
    forget_retired,
    kafka_env,
    operator_kcat_path,
    operator_properties_path,
    users_path,
    write_client_configs,
)
from infra.settings import InfraSettings

pytestmark = pytest.mark.unit


def settings(tmp_path: Path, **changes: object) -> InfraSettings:
    return InfraSettings(state_dir=tmp_path).model_copy(update=changes)


def test_every_principal_gets_its_own_password_once_in_a_private_file(tmp_path: Path) -> None:
    first = ensure_kafka_users(settings(tmp_path))
    again = ensure_kafka_users(settings(tmp_path))

    assert set(first.passwords) == {BROKER, OPERATOR, *SERVICE_ACCESS, "force-cumbria"}
    assert len(set(first.passwords.values())) == len(first.passwords), "no two alike"
    assert again == first, "generated once, then kept"
    assert stat.S_IMODE(users_path(settings(tmp_path)).stat().st_mode) == 0o600


def test_a_removed_entry_is_a_rotation_a_dropped_force_a_retirement(tmp_path: Path) -> None:
    two = settings(tmp_path, kafka_forces="cumbria,lancashire")
    before = ensure_kafka_users(two)
    path = users_path(two)
    stored = json.loads(path.read_text())
    del stored["intake"]
    path.write_text(json.dumps(stored))

    after = ensure_kafka_users(settings(tmp_path))

    assert after.passwords["intake"] != before.passwords["intake"]
    assert after.passwords["routing"] == before.passwords["routing"]
    assert after.retired == {"force-lancashire"}
    forget_retired(settings(tmp_path), after)
    assert "force-lancashire" not in json.loads(path.read_text())
    assert ensure_kafka_users(settings(tmp_path)).retired == frozenset()


def test_compose_gives_the_brokers_password_its_containers_were_started_with(
    tmp_path: Path,
) -> None:
    given = settings(tmp_path, kafka_broker_password=SecretStr("from-the-env-file"))

    assert ensure_kafka_users(given).password(BROKER) == "from-the-env-file"


def test_the_env_names_each_principal_and_the_operators_client_files(tmp_path: Path) -> None:
    stack = settings(tmp_path)
    users = ensure_kafka_users(stack)
    write_client_configs(stack, users)
    env = kafka_env(stack, users)

    assert env["HUB_KAFKA_USERNAME"] == OPERATOR
    assert env["FEEDBACK_KAFKA_USERNAME"] == "feedback"
    assert env["FEEDBACK_KAFKA_PASSWORD"] == users.password("feedback")
    assert env["HUB_FORCE_CUMBRIA_KAFKA_USERNAME"] == "force-cumbria"
    assert BROKER not in env.values(), "the brokers' own password is no client's"
    assert users.password(BROKER) not in env.values()
    java = operator_properties_path(stack).read_text()
    assert "security.protocol=SASL_PLAINTEXT" in java
    assert "sasl.mechanism=SCRAM-SHA-512" in java
    assert f'username="operator" password="{users.password(OPERATOR)}"' in java
    kcat = operator_kcat_path(stack).read_text()
    assert f"sasl.password={users.password(OPERATOR)}" in kcat
    for path in (operator_properties_path(stack), operator_kcat_path(stack)):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert env["HUB_KAFKA_COMMAND_CONFIG"] == str(operator_properties_path(stack))


def test_a_force_code_that_is_not_one_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="not a force code"):
        InfraSettings(state_dir=tmp_path, kafka_forces="cumbria,Bad Force")
