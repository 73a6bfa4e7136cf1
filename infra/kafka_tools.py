"""Kafka's own command-line tools (``kafka-topics``, ``kafka-consumer-groups``, ``kafka-acls``...),
run from the jar cache the broker runs from, against a stack's bootstrap list.

The main classes are those of Kafka 4.4's ``kafka-tools`` jar (the ``bin/*.sh`` scripts of a
Kafka download run the same classes). Tools that print or delete records are left out on
purpose: see ``WITHHELD``.
"""

from dataclasses import dataclass
from pathlib import Path

from infra.kafka_local import ensure_jars, java_command
from infra.settings import REPO_ROOT, InfraSettings

TOOLS_LOG4J = REPO_ROOT / "infra" / "kafka" / "tools-log4j2.xml"
TOOL_HEAP = "256m"
_PACKAGE = "org.apache.kafka.tools"


@dataclass(frozen=True)
class KafkaTool:
    """One tool: the name of its script in a Kafka download, its main class, what it does."""

    name: str
    main_class: str
    summary: str


TOOLS: dict[str, KafkaTool] = {
    tool.name: tool
    for tool in (
        KafkaTool("kafka-topics", f"{_PACKAGE}.TopicCommand", "list, describe, create topics"),
        KafkaTool(
            "kafka-consumer-groups",
            f"{_PACKAGE}.consumer.group.ConsumerGroupCommand",
            "consumer groups: members, offsets, lag; reset offsets",
        ),
        KafkaTool("kafka-acls", f"{_PACKAGE}.AclCommand", "list, add, remove ACLs"),
        KafkaTool("kafka-configs", f"{_PACKAGE}.ConfigCommand", "describe, alter configs"),
        KafkaTool(
            "kafka-metadata-quorum",
            f"{_PACKAGE}.MetadataQuorumCommand",
            "the KRaft controller quorum: leader, voters, lag",
        ),
        KafkaTool("kafka-get-offsets", f"{_PACKAGE}.GetOffsetShell", "offsets of partitions"),
        KafkaTool("kafka-log-dirs", f"{_PACKAGE}.LogDirsCommand", "replica sizes per disk"),
        KafkaTool(
            "kafka-reassign-partitions",
            f"{_PACKAGE}.reassign.ReassignPartitionsCommand",
            "move replicas between brokers",
        ),
        KafkaTool(
            "kafka-leader-election",
            f"{_PACKAGE}.LeaderElectionCommand",
            "give partitions back to their preferred leaders",
        ),
        KafkaTool("kafka-groups", f"{_PACKAGE}.GroupsCommand", "every kind of group"),
        KafkaTool("kafka-transactions", f"{_PACKAGE}.TransactionsCommand", "producer transactions"),
        KafkaTool("kafka-features", f"{_PACKAGE}.FeatureCommand", "feature (metadata) versions"),
        KafkaTool(
            "kafka-broker-api-versions",
            f"{_PACKAGE}.BrokerApiVersionsCommand",
            "the API versions each broker speaks",
        ),
    )
}

WITHHELD: dict[str, str] = {
    "kafka-console-consumer": "prints records, which hold personal data, without the access "
    "record every read of a referral needs: use `hub referrals show ID`",
    "kafka-console-producer": "publishes unchecked records; intelligence comes from a force's "
    "systems, directory versions from `hub directory load`",
    "kafka-delete-records": "the event log is the system of record, kept forever for auditors",
}


def find_tool(name: str) -> KafkaTool | None:
    """The tool called ``name``, as in a Kafka download: ``kafka-topics``, ``kafka-topics.sh``
    and ``topics`` all name the same one."""
    bare = name.removesuffix(".sh")
    return TOOLS.get(bare) or TOOLS.get(f"kafka-{bare}")


def _gives(args: list[str], option: str) -> bool:
    """True when the caller passed ``option`` (as ``--x value`` or ``--x=value``)."""
    return any(arg == option or arg.startswith(f"{option}=") for arg in args)


def tool_argv(
    tool: KafkaTool,
    args: list[str],
    *,
    bootstrap: str,
    libs: Path,
    command_config: Path | None = None,
) -> list[str]:
    """The JVM command that runs ``tool`` with ``args``, aimed at ``bootstrap`` and given
    ``command_config`` (client properties: credentials once the broker authenticates clients),
    unless ``args`` name their own server or properties file.

    Both come before ``args``: a tool with sub-commands (kafka-transactions) takes its global
    options before the sub-command.
    """
    ours: list[str] = []
    if not (_gives(args, "--bootstrap-server") or _gives(args, "--bootstrap-controller")):
        ours += ["--bootstrap-server", bootstrap]
    if command_config is not None and not _gives(args, "--command-config"):
        ours += ["--command-config", str(command_config)]
    java = java_command(libs, TOOLS_LOG4J, TOOL_HEAP)
    # A tool runs for a second or two: the quick JIT tier starts it sooner.
    return [java[0], "-XX:TieredStopAtLevel=1", *java[1:], tool.main_class, *ours, *args]


def tool_command(
    settings: InfraSettings,
    tool: KafkaTool,
    args: list[str],
    *,
    bootstrap: str,
    command_config: Path | None = None,
) -> list[str]:
    """``tool_argv`` with the jar cache of ``settings`` (fetched on first use)."""
    libs = ensure_jars(settings)
    return tool_argv(tool, args, bootstrap=bootstrap, libs=libs, command_config=command_config)
