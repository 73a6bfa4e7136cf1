"""Where each local Kafka node lives and how it is configured: one node, or three.

One node (the default) is a combined broker+controller that formats itself as a standalone
quorum. Three nodes are three combined broker+controller processes on 127.0.0.1 with a static
three-voter controller quorum, every topic replicated three times and acknowledged by two
(``min.insync.replicas=2``, producers send with acks=all): one node may fail without losing an
acknowledged record or stopping the stack.
"""

from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import quoteattr

from infra.kafka_principals import BROKER, SUPER_USERS
from infra.settings import LOCALHOST, InfraSettings

SINGLE_NAME = "kafka"
MAX_MESSAGE_BYTES = 4 * 1024 * 1024
CLUSTER_SIZE = 3


@dataclass(frozen=True)
class KafkaNode:
    """One Kafka process: its KRaft node id, process name, listeners and folder."""

    node_id: int
    name: str
    port: int
    controller_port: int
    folder: Path

    @property
    def address(self) -> str:
        return f"{LOCALHOST}:{self.port}"

    @property
    def data_dir(self) -> Path:
        return self.folder / "data"


def single_folder(settings: InfraSettings) -> Path:
    """The one-node broker's folder (where it has always been)."""
    return settings.root / "kafka"


def cluster_folder(settings: InfraSettings) -> Path:
    """The three-node cluster's folder: one sub-folder per node and the shared cluster id."""
    return settings.root / "kafka-cluster"


def nodes(settings: InfraSettings) -> list[KafkaNode]:
    """The nodes HUB_KAFKA_BROKERS asks for, node 1 first."""
    if settings.kafka_brokers == 1:
        folder = single_folder(settings)
        port, ctrl = settings.kafka_port, settings.kafka_controller_port
        return [KafkaNode(1, SINGLE_NAME, port, ctrl, folder)]
    ports = zip(settings.kafka_ports, settings.kafka_controller_ports, strict=True)
    return [
        KafkaNode(n, f"kafka-{n}", port, ctrl, cluster_folder(settings) / f"node-{n}")
        for n, (port, ctrl) in enumerate(ports, start=1)
    ]


def with_layout_of_state_dir(settings: InfraSettings) -> InfraSettings:
    """``settings``, with the node count of the Kafka the state dir already holds unless
    HUB_KAFKA_BROKERS (or ``--brokers``) says otherwise: after ``hub infra up --brokers 3``
    every later command of that state dir finds the three nodes by itself."""
    if "kafka_brokers" in settings.model_fields_set:
        return settings
    if any(cluster_folder(settings).glob("node-*/data/meta.properties")):
        return settings.model_copy(update={"kafka_brokers": CLUSTER_SIZE})
    return settings


def every_process_name() -> list[str]:
    """Names of every Kafka process a state dir may hold, whatever HUB_KAFKA_BROKERS says now,
    so ``hub infra down`` stops a cluster even when run without the setting."""
    return [SINGLE_NAME, *(f"kafka-{n}" for n in range(1, CLUSTER_SIZE + 1))]


def voters(settings: InfraSettings) -> str:
    """``controller.quorum.voters`` of the three-node cluster: ``id@host:port,...``."""
    return ",".join(f"{n.node_id}@{LOCALHOST}:{n.controller_port}" for n in nodes(settings))


def _replication(settings: InfraSettings) -> dict[str, str]:
    """Internal topics and defaults: one replica on one node; three, two in sync, on three."""
    replicas = str(settings.kafka_replication)
    in_sync = "1" if settings.kafka_replication == 1 else "2"
    return {
        "default.replication.factor": replicas,
        "min.insync.replicas": in_sync,
        "offsets.topic.replication.factor": replicas,
        "transaction.state.log.replication.factor": replicas,
        "transaction.state.log.min.isr": in_sync,
        "share.coordinator.state.topic.replication.factor": replicas,
        "share.coordinator.state.topic.min.isr": in_sync,
        # Never elect a replica that may lack acknowledged records (Kafka's default, stated).
        "unclean.leader.election.enable": "false",
    }


def controller_addresses(settings: InfraSettings) -> list[str]:
    """Where provisioning reaches the KRaft controllers: HUB_KAFKA_CONTROLLER_BOOTSTRAP, else
    every local node's controller listener."""
    if settings.kafka_controller_bootstrap:
        return [a.strip() for a in settings.kafka_controller_bootstrap.split(",") if a.strip()]
    return [f"{LOCALHOST}:{n.controller_port}" for n in nodes(settings)]


def _security(broker_password: str) -> dict[str, str]:
    """Every listener authenticates and the authorizer denies what no ACL allows.

    CLIENT (clients and inter-broker replication): SASL/SCRAM-SHA-512 against the credentials
    in the cluster metadata. CONTROLLER (KRaft votes, broker registration, provisioning):
    SASL/PLAIN against the one user in this file, the brokers' own, because SCRAM credentials
    live in the metadata the controllers serve and cannot authenticate the controllers
    themselves. Both are plaintext on 127.0.0.1; see docs/security.md, "Kafka".
    """
    scram_login = (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{BROKER}" password="{broker_password}";'
    )
    plain_login = (
        "org.apache.kafka.common.security.plain.PlainLoginModule required "
        f'username="{BROKER}" password="{broker_password}" user_{BROKER}="{broker_password}";'
    )
    return {
        "listener.security.protocol.map": "CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT",
        "inter.broker.listener.name": "CLIENT",
        "sasl.mechanism.inter.broker.protocol": "SCRAM-SHA-512",
        "sasl.mechanism.controller.protocol": "PLAIN",
        "listener.name.client.sasl.enabled.mechanisms": "SCRAM-SHA-512",
        "listener.name.client.scram-sha-512.sasl.jaas.config": scram_login,
        "listener.name.controller.sasl.enabled.mechanisms": "PLAIN",
        "listener.name.controller.plain.sasl.jaas.config": plain_login,
        "authorizer.class.name": "org.apache.kafka.metadata.authorizer.StandardAuthorizer",
        "allow.everyone.if.no.acl.found": "false",
        "super.users": ";".join(f"User:{name}" for name in SUPER_USERS),
    }


RETENTION_CHECK_MS = 30_000


def server_properties(settings: InfraSettings, node: KafkaNode, broker_password: str) -> str:
    """The broker+controller config of ``node``: loopback only, explicit topics, every
    listener authenticated (it holds the brokers' password: written 0600)."""
    listeners = f"CLIENT://{LOCALHOST}:{node.port},CONTROLLER://{LOCALHOST}:{node.controller_port}"
    quorum = (
        {"controller.quorum.bootstrap.servers": f"{LOCALHOST}:{node.controller_port}"}
        if settings.kafka_brokers == 1
        else {"controller.quorum.voters": voters(settings)}
    )
    props = {
        "process.roles": "broker,controller",
        "node.id": str(node.node_id),
        **quorum,
        "controller.listener.names": "CONTROLLER",
        "listeners": listeners,
        "advertised.listeners": listeners,
        **_security(broker_password),
        "log.dirs": str(node.data_dir),
        "auto.create.topics.enable": "false",
        "num.partitions": "1",
        **_replication(settings),
        "group.initial.rebalance.delay.ms": "0",
        # Consumers commit after every record (at-least-once); Kafka 4 otherwise holds each
        # commit 5 ms. Measured: commit p50 7.2 -> 1.95 ms, pipeline 47 -> 69 events/s.
        "group.coordinator.append.linger.ms": "0",
        # Accept up to 4 MiB so an oversize intelligence message reaches the consumer and is
        # dead-lettered with a reason, instead of being refused at the producer.
        "message.max.bytes": str(MAX_MESSAGE_BYTES),
        "replica.fetch.max.bytes": str(MAX_MESSAGE_BYTES),
        # Segments past retention, or wholly before a start an erasure moved, are deleted at
        # the next check: every 30 s instead of 5 min, so erased bytes leave the disk sooner
        # (docs/privacy.md). A check only compares each segment's offsets and times.
        "log.retention.check.interval.ms": str(RETENTION_CHECK_MS),
    }
    return "".join(f"{key}={value}\n" for key, value in props.items())


def log4j2_xml(logs_dir: Path) -> str:
    """Everything at INFO to logs/server.log; only warnings reach the console (the .out file)."""
    pattern = "[%d] %p %m (%c)%n"
    file_name = quoteattr(str(logs_dir / "server.log"))
    rolled = quoteattr(str(logs_dir / "server.log.%i"))
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<Configuration status="WARN">
  <Appenders>
    <Console name="console" target="SYSTEM_OUT">
      <ThresholdFilter level="WARN"/>
      <PatternLayout pattern="{pattern}"/>
    </Console>
    <RollingFile name="server" fileName={file_name} filePattern={rolled}>
      <PatternLayout pattern="{pattern}"/>
      <Policies><SizeBasedTriggeringPolicy size="20 MB"/></Policies>
      <DefaultRolloverStrategy max="3"/>
    </RollingFile>
  </Appenders>
  <Loggers>
    <Logger name="kafka.request.logger" level="WARN"/>
    <Root level="INFO"><AppenderRef ref="console"/><AppenderRef ref="server"/></Root>
  </Loggers>
</Configuration>
"""
