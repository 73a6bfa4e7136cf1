"""What a service process is started with: its own part of the stack's env, nothing else."""

import pytest

from infra.stack import service_env

pytestmark = pytest.mark.unit

STACK = {
    "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "INTAKE_DATABASE_URL": "postgresql://intake:pw-intake@h/db",
    "INTAKE_MATCHING_KEY": "matching-key",
    "CASEWORK_DATABASE_URL": "postgresql://casework:pw-casework@h/db",
    "CASEWORK_TOKEN_PUBLIC_KEY_FILE": "/state/secrets/token.pub.pem",
    "CONSOLE_SESSION_SECRET": "session-secret",
    "HUB_ADMIN_DATABASE_URL": "postgresql://postgres:pw-admin@h/postgres",
}


def test_a_service_gets_the_kafka_address_and_its_own_values_only() -> None:
    assert service_env("intake", STACK, base={}) == {
        "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
        "INTAKE_DATABASE_URL": "postgresql://intake:pw-intake@h/db",
        "INTAKE_MATCHING_KEY": "matching-key",
    }
    assert set(service_env("console", STACK, base={})) == {
        "HUB_KAFKA_BOOTSTRAP",
        "CONSOLE_SESSION_SECRET",
    }


def test_the_starting_shell_passes_on_what_is_not_a_secret_of_someone_else() -> None:
    shell = {
        "PATH": "/usr/bin",
        "HUB_STATE_DIR": "/state",
        "INTAKE_LOG_LEVEL": "DEBUG",
        "DATABASE_URL": "postgresql://postgres:pw-admin@h/postgres",
        "HUB_ADMIN_DATABASE_URL": "postgresql://postgres:pw-admin@h/postgres",
        "CASEWORK_DATABASE_URL": "postgresql://casework:pw-casework@h/db",
        "CONSOLE_OIDC_CLIENT_SECRET": "oidc-secret",
        "INTAKE_MATCHING_KEY": "stale-key-from-the-shell",
    }
    env = service_env("intake", STACK, base=shell)
    assert env["PATH"] == "/usr/bin"
    assert env["HUB_STATE_DIR"] == "/state"
    assert env["INTAKE_LOG_LEVEL"] == "DEBUG"
    assert env["INTAKE_MATCHING_KEY"] == "matching-key", "the stack's value wins"
    foreign = ("pw-admin", "pw-casework", "oidc-secret", "session-secret", "token.pub")
    assert [value for value in env.values() if any(f in value for f in foreign)] == []
    assert "DATABASE_URL" not in env


def test_an_unknown_service_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown service"):
        service_env("payments", STACK, base={})


KAFKA_STACK = {
    "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
    "HUB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "HUB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "HUB_KAFKA_USERNAME": "operator",
    "HUB_KAFKA_PASSWORD": "pw-operator",
    "HUB_KAFKA_COMMAND_CONFIG": "/state/secrets/kafka-operator.properties",
    "HUB_FORCE_CUMBRIA_KAFKA_USERNAME": "force-cumbria",
    "HUB_FORCE_CUMBRIA_KAFKA_PASSWORD": "pw-force",
    "INTAKE_KAFKA_USERNAME": "intake",
    "INTAKE_KAFKA_PASSWORD": "pw-intake",
    "FEEDBACK_KAFKA_USERNAME": "feedback",
    "FEEDBACK_KAFKA_PASSWORD": "pw-feedback",
}


def test_a_service_gets_its_own_kafka_principal_and_nobody_elses() -> None:
    assert service_env("feedback", KAFKA_STACK, base={}) == {
        "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:19092",
        "HUB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
        "HUB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "FEEDBACK_KAFKA_USERNAME": "feedback",
        "FEEDBACK_KAFKA_PASSWORD": "pw-feedback",
    }
    assert not [k for k in service_env("console", KAFKA_STACK, base={}) if "PASSWORD" in k]


def test_the_operators_and_forces_kafka_credentials_never_pass_from_the_shell() -> None:
    shell = {k: v for k, v in KAFKA_STACK.items() if k.startswith("HUB_") and "PASSWORD" in k}
    env = service_env("intake", {"HUB_KAFKA_BOOTSTRAP": "127.0.0.1:19092"}, base=shell)

    assert not [value for value in env.values() if value.startswith("pw-")]
