"""One Kafka node or three: where each listens, what clients are given, how topics are kept."""

from pathlib import Path

import pytest
from pydantic import ValidationError

from infra.kafka_config import nodes, server_properties
from infra.settings import InfraSettings
from infra.topics import durability
from services.runtime.kafka_clients import bootstrap_servers

pytestmark = pytest.mark.unit


def settings(tmp_path: Path, brokers: int) -> InfraSettings:
    return InfraSettings(
        state_dir=tmp_path, kafka_brokers=brokers, kafka_port=22092, kafka_controller_port=22093
    )


def props(text: str) -> dict[str, str]:
    return dict(line.split("=", 1) for line in text.splitlines())


def test_one_node_is_the_default_and_clients_get_its_address(tmp_path: Path) -> None:
    one = InfraSettings(state_dir=tmp_path, kafka_port=22092)

    assert one.kafka_brokers == 1
    assert one.kafka_bootstrap == "127.0.0.1:22092"
    assert [n.name for n in nodes(one)] == ["kafka"]
    assert one.broker_heap == "768m"


def test_three_nodes_each_listen_on_their_own_ports_and_clients_get_all_three(
    tmp_path: Path,
) -> None:
    three = settings(tmp_path, 3)

    assert three.kafka_bootstrap == "127.0.0.1:22092,127.0.0.1:22192,127.0.0.1:22292"
    assert [(n.name, n.port, n.controller_port) for n in nodes(three)] == [
        ("kafka-1", 22092, 22093),
        ("kafka-2", 22192, 22193),
        ("kafka-3", 22292, 22293),
    ]
    assert len({n.data_dir for n in nodes(three)}) == 3
    assert three.broker_heap == "512m", "three heaps must fit beside the services on 2 cores"


def test_the_cluster_has_three_voters_and_keeps_three_replicas_two_in_sync(
    tmp_path: Path,
) -> None:
    three = settings(tmp_path, 3)
    second = props(server_properties(three, nodes(three)[1], "pw"))

    assert second["node.id"] == "2"
    assert second["controller.quorum.voters"] == (
        "1@127.0.0.1:22093,2@127.0.0.1:22193,3@127.0.0.1:22293"
    )
    assert second["listeners"] == "CLIENT://127.0.0.1:22192,CONTROLLER://127.0.0.1:22193"
    assert (second["default.replication.factor"], second["min.insync.replicas"]) == ("3", "2")
    assert second["offsets.topic.replication.factor"] == "3"
    assert three.kafka_replication == 3
    assert durability(three.kafka_replication) == {"min.insync.replicas": "2"}


def test_one_node_keeps_one_replica_and_formats_a_standalone_quorum(tmp_path: Path) -> None:
    one = settings(tmp_path, 1)
    only = props(server_properties(one, nodes(one)[0], "pw"))

    assert "controller.quorum.voters" not in only
    assert only["controller.quorum.bootstrap.servers"] == "127.0.0.1:22093"
    assert (only["default.replication.factor"], only["min.insync.replicas"]) == ("1", "1")
    assert durability(one.kafka_replication) == {"min.insync.replicas": "1"}


@pytest.mark.parametrize("brokers", [0, 2, 5])
def test_a_node_count_other_than_one_or_three_is_refused(tmp_path: Path, brokers: int) -> None:
    with pytest.raises(ValidationError, match="must be 1 or 3"):
        settings(tmp_path, brokers)


def test_a_bootstrap_list_reaches_the_services_kafka_clients_as_separate_servers() -> None:
    assert bootstrap_servers("127.0.0.1:22092, 127.0.0.1:22192,") == [
        "127.0.0.1:22092",
        "127.0.0.1:22192",
    ]


@pytest.mark.parametrize("brokers", [1, 3])
def test_every_listener_authenticates_and_nothing_is_allowed_without_an_acl(
    tmp_path: Path, brokers: int
) -> None:
    node = props(
        server_properties(
            settings(tmp_path, brokers), nodes(settings(tmp_path, brokers))[0], "s3cret"
        )
    )

    assert node["listener.security.protocol.map"] == (
        "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT"
    ), "no PLAINTEXT listener: every connection authenticates"
    assert node["inter.broker.listener.name"] == "CLIENT"
    assert node["sasl.mechanism.inter.broker.protocol"] == "SCRAM-SHA-512"
    assert node["listener.name.client.sasl.enabled.mechanisms"] == "SCRAM-SHA-512"
    assert node["listener.name.controller.sasl.enabled.mechanisms"] == "PLAIN"
    assert 'user_broker="s3cret"' in node["listener.name.controller.plain.sasl.jaas.config"]
    assert node["authorizer.class.name"].endswith("StandardAuthorizer")
    assert node["allow.everyone.if.no.acl.found"] == "false"
    assert node["super.users"] == "User:broker;User:operator"
    assert "ANONYMOUS" not in node["super.users"]
