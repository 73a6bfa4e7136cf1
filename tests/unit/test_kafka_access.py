"""How every Kafka client of the hub is told where the brokers are and who it is."""

import pytest
from faststream.security import SASLScram512
from pydantic import SecretStr

from services.feedback.settings import FeedbackSettings
from services.runtime.kafka_clients import KafkaAccess

pytestmark = pytest.mark.unit

ENV = {
    "HUB_KAFKA_BOOTSTRAP": "127.0.0.1:22092,127.0.0.1:22192",
    "HUB_KAFKA_SECURITY_PROTOCOL": "SASL_PLAINTEXT",
    "HUB_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
    "HUB_KAFKA_USERNAME": "operator",
    "HUB_KAFKA_PASSWORD": "pw-operator",
    "HUB_FORCE_CUMBRIA_KAFKA_USERNAME": "force-cumbria",
    "HUB_FORCE_CUMBRIA_KAFKA_PASSWORD": "pw-force",
}


def test_a_client_connects_with_scram_as_the_principal_it_was_given() -> None:
    assert KafkaAccess.from_env(ENV, "HUB_FORCE_CUMBRIA").client_kwargs() == {
        "bootstrap_servers": "127.0.0.1:22092,127.0.0.1:22192",
        "security_protocol": "SASL_PLAINTEXT",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "force-cumbria",
        "sasl_plain_password": "pw-force",
    }
    operator = KafkaAccess.from_env(ENV)
    assert operator.username == "operator"
    assert operator.servers == ["127.0.0.1:22092", "127.0.0.1:22192"]


def test_the_password_never_shows_in_a_repr_or_a_log_line() -> None:
    assert "pw-operator" not in repr(KafkaAccess.from_env(ENV))


def test_faststream_gets_the_same_identity() -> None:
    security = KafkaAccess.from_env(ENV).faststream_security()

    assert isinstance(security, SASLScram512)
    assert (security.username, security.password, security.use_ssl) == (
        "operator",
        "pw-operator",
        False,
    )


def test_sasl_ssl_adds_a_tls_context() -> None:
    access = KafkaAccess("broker:9093", "intake", SecretStr("pw"), security_protocol="SASL_SSL")

    assert access.client_kwargs()["ssl_context"] is not None
    security = access.faststream_security()
    assert security is not None
    assert security.use_ssl


def test_a_client_without_a_principal_is_refused_before_it_connects() -> None:
    with pytest.raises(ValueError, match="needs a principal"):
        KafkaAccess("127.0.0.1:22092").client_kwargs()
    with pytest.raises(ValueError, match="is not one of"):
        KafkaAccess.from_env({**ENV, "HUB_KAFKA_SECURITY_PROTOCOL": "SSL_MAYBE"})


def test_a_service_takes_its_own_principal_and_says_which_one_is_missing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for key, value in ENV.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("FEEDBACK_DATABASE_URL", "postgresql://feedback:pw@h/db")
    with pytest.raises(ValueError, match="set FEEDBACK_KAFKA_USERNAME and FEEDBACK_KAFKA_PASSWORD"):
        FeedbackSettings().kafka_access()

    monkeypatch.setenv("FEEDBACK_KAFKA_USERNAME", "feedback")
    monkeypatch.setenv("FEEDBACK_KAFKA_PASSWORD", "pw-feedback")
    kwargs = FeedbackSettings().kafka_access().client_kwargs()
    assert (kwargs["sasl_plain_username"], kwargs["sasl_plain_password"]) == (
        "feedback",
        "pw-feedback",
    )
    assert kwargs["bootstrap_servers"] == ENV["HUB_KAFKA_BOOTSTRAP"]
