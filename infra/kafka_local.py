"""Apache Kafka (KRaft) on 127.0.0.1 from Maven Central jars: one node, or a cluster of three.

No Docker and no Apache download site here (DESIGN.md section 5): Maven fetches the broker
jars (and Kafka's command-line tools) once into a cache shared by every state dir, each node's
storage is formatted once per state dir, and each node runs as a detached process managed by
``infra.processes``. Layout and configuration of the nodes: ``infra.kafka_config``.
"""

import asyncio
import base64
import logging
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

from aiokafka.admin import AIOKafkaAdminClient

from infra import ComponentStatus, InfraError, processes, run_sync, write_private
from infra.kafka_config import (
    KafkaNode,
    cluster_folder,
    every_process_name,
    log4j2_xml,
    nodes,
    server_properties,
    single_folder,
)
from infra.kafka_principals import BROKER
from infra.kafka_security import operator_access, sync_credentials
from infra.kafka_users import KafkaUsers, ensure_kafka_users
from infra.settings import KAFKA_VERSION, LOCALHOST, REPO_ROOT, InfraSettings
from services.runtime.kafka_clients import KafkaAccess

log = logging.getLogger(__name__)

POM = REPO_ROOT / "infra" / "kafka" / "pom.xml"
START_TIMEOUT_S = 120.0
# A complete cache holds the broker and the tools (an older cache may lack the tools).
MARKER_JARS = (f"kafka_2.13-{KAFKA_VERSION}.jar", f"kafka-tools-{KAFKA_VERSION}.jar")


def ensure_jars(settings: InfraSettings | None = None) -> Path:
    """Fetch the broker and tools jars with Maven unless cached; returns the folder.

    Maven writes into a sibling folder that is renamed into place only when complete, so an
    interrupted download is never taken for a usable cache.
    """
    libs = (settings or InfraSettings()).kafka_jars_dir.expanduser()
    if all((libs / jar).is_file() for jar in MARKER_JARS):
        return libs
    log.info("fetching Kafka %s jars from Maven Central into %s", KAFKA_VERSION, libs)
    partial = libs.with_name(f"{libs.name}.partial-{uuid.uuid4().hex[:8]}")
    partial.parent.mkdir(parents=True, exist_ok=True)
    argv = ["mvn", "-q", "-B", "-f", str(POM), "dependency:copy-dependencies"]
    argv += [f"-DoutputDirectory={partial}", "-DincludeScope=runtime"]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=1800, check=False)
    if result.returncode != 0:
        shutil.rmtree(partial, ignore_errors=True)
        output = _tail(result.stdout + result.stderr)
        raise InfraError(f"mvn could not fetch the Kafka jars:\n{output}")
    if libs.exists():  # an incomplete cache of an earlier layout: replace it
        shutil.rmtree(libs, ignore_errors=True)
    try:
        partial.rename(libs)
    except OSError:  # another process finished first; its copy is as good as ours
        shutil.rmtree(partial, ignore_errors=True)
    return libs


def _write_configs(
    settings: InfraSettings, node: KafkaNode, broker_password: str
) -> tuple[Path, Path]:
    """(Re)write server.properties and log4j2.xml so port changes take effect on restart.
    server.properties holds the brokers' password: only its owner may read it."""
    (node.folder / "logs").mkdir(parents=True, exist_ok=True)
    props, log4j = node.folder / "server.properties", node.folder / "log4j2.xml"
    write_private(props, server_properties(settings, node, broker_password))
    log4j.write_text(log4j2_xml(node.folder / "logs"))
    return props, log4j


def _cluster_id(folder: Path) -> str:
    """The cluster id of this state dir, generated once like Kafka's Uuid.randomUuid()."""
    path = folder / "cluster.id"
    if path.is_file():
        return path.read_text().strip()
    cluster_id = "-"
    while cluster_id.startswith("-"):  # Kafka avoids ids that look like a CLI option
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).rstrip(b"=").decode()
    folder.mkdir(parents=True, exist_ok=True)
    path.write_text(cluster_id + "\n")
    return cluster_id


def java_command(libs: Path, log4j: Path, heap: str) -> list[str]:
    """The JVM command prefix shared by the storage tool, the nodes and Kafka's tools."""
    return [
        "java",
        f"-Xmx{heap}",
        "-XX:+UseG1GC",
        "-XX:+ExitOnOutOfMemoryError",
        "-Djava.awt.headless=true",
        "-Djava.net.preferIPv4Stack=true",
        f"-Dlog4j2.configurationFile={log4j}",
        "-cp",
        f"{libs}/*",
    ]


def _format_storage(
    settings: InfraSettings, node: KafkaNode, libs: Path, props: Path, log4j: Path
) -> None:
    """Format the node's KRaft storage once; meta.properties marks a formatted data dir.

    One node formats itself as a standalone (dynamic) quorum; the three nodes share one
    cluster id and the static voter list in their configs. No SCRAM credential is added here
    (``--add-scram`` would show every password in the process list to other users):
    ``wait_ready`` sets them on the controller listener, for old and new state dirs alike.
    """
    if (node.data_dir / "meta.properties").is_file():
        return
    single = settings.kafka_brokers == 1
    cluster_id = _cluster_id(node.folder if single else cluster_folder(settings))
    log.info("formatting Kafka storage of %s (cluster id %s)", node.name, cluster_id)
    argv = [*java_command(libs, log4j, "256m"), "kafka.tools.StorageTool", "format"]
    argv += ["--standalone"] if single else []
    argv += ["-t", cluster_id, "-c", str(props)]
    result = subprocess.run(argv, capture_output=True, text=True, timeout=180, check=False)
    if result.returncode != 0:
        raise InfraError(f"Kafka storage format failed:\n{_tail(result.stdout + result.stderr)}")


def _refuse_other_layout(settings: InfraSettings) -> None:
    """A state dir holds one Kafka layout: its PostgreSQL remembers offsets and events of that
    log, so silently starting an empty log of the other layout beside it would be wrong."""
    single_data = single_folder(settings) / "data" / "meta.properties"
    cluster_data = list(cluster_folder(settings).glob("node-*/data/meta.properties"))
    if settings.kafka_brokers == 1 and cluster_data:
        other = "three Kafka nodes"
    elif settings.kafka_brokers != 1 and single_data.is_file():
        other = "a one-node Kafka"
    else:
        return
    raise InfraError(
        f"{settings.root} already holds {other}; use HUB_KAFKA_BROKERS as before, or another "
        "HUB_STATE_DIR for the other layout"
    )


def start(settings: InfraSettings | None = None, *, wait: bool = True) -> list[int]:
    """Start every node that is not running; returns the pids of all nodes.

    With ``wait=False`` the caller can start PostgreSQL while the JVMs boot, then call
    ``wait_ready``. Also restarts a node that was killed while the others kept running.
    """
    settings = settings or InfraSettings()
    _refuse_other_layout(settings)
    _refuse_unauthenticated_nodes(settings)
    pids = [
        processes.read_pid(n.name, settings.root) or _launch(settings, n) for n in nodes(settings)
    ]
    if wait:
        wait_ready(settings)
    return pids


def _refuse_unauthenticated_nodes(settings: InfraSettings) -> None:
    """A node started by an earlier version (before the brokers authenticated clients) keeps
    its open listeners until it restarts; provisioning cannot reach it the new way, so say
    what to run instead of timing out. Its config on disk is the one it was started with."""
    for node in nodes(settings):
        props = node.folder / "server.properties"
        running = processes.read_pid(node.name, settings.root) is not None
        if (
            running
            and props.is_file()
            and "sasl.mechanism.controller.protocol" not in (props.read_text())
        ):
            raise InfraError(
                f"Kafka {node.name} was started before the brokers authenticated clients. "
                "Restart the stack once so that every client gets an identity (no data is "
                f"lost): `hub down && hub up` with HUB_STATE_DIR={settings.root} "
                "(`hub infra down && hub infra up` for Kafka and PostgreSQL alone)"
            )


def wait_ready(settings: InfraSettings | None = None) -> None:
    """Block until every node is a registered broker (up to 120 s), else stop them and fail."""
    settings = settings or InfraSettings()
    try:
        run_sync(lambda: _wait_ready(settings))
    except InfraError:
        stop(settings, 30.0)  # half-started nodes would block a retry
        raise


def _launch(settings: InfraSettings, node: KafkaNode) -> int:
    """Fetch, configure, format and spawn one node; returns its pid without waiting."""
    processes.require_free_port(node.port, what=f"Kafka ({node.name})")
    processes.require_free_port(node.controller_port, what=f"Kafka controller ({node.name})")
    libs = ensure_jars(settings)
    users = ensure_kafka_users(settings)
    props, log4j = _write_configs(settings, node, users.password(BROKER))
    _format_storage(settings, node, libs, props, log4j)
    argv = [*java_command(libs, log4j, settings.broker_heap), "kafka.Kafka", str(props)]
    processes.restrict_tree(node.folder)  # segments, checkpoints, logs: the owner's alone
    log.info("starting Kafka %s on %s", node.name, node.address)
    out = node.folder / "kafka.out"
    return processes.start(node.name, argv, log_path=out, state_dir=settings.root)


async def _wait_ready(settings: InfraSettings) -> None:
    """Poll until every node answers on its own port and the cluster lists each as a broker;
    fail early if a node died. (The list alone is not enough after a crash: a node killed a
    moment ago stays listed until its session times out, while its restart still boots.)

    First the credentials: as soon as the controllers answer, every principal gets its SCRAM
    credential (a state dir from before authentication has none), so the brokers can
    replicate and the operator, whose identity the probes use, can connect."""
    deadline = time.monotonic() + START_TIMEOUT_S
    expected = {n.node_id for n in nodes(settings)}
    users = ensure_kafka_users(settings)
    operator = operator_access(settings.kafka_bootstrap, users)
    credentials_set = False
    while time.monotonic() < deadline:
        for node in nodes(settings):
            if not processes.is_running(node.name, settings.root):
                log_tail = broker_log_tail(settings, node)
                raise InfraError(f"Kafka {node.name} exited during startup:\n{log_tail}")
        if not credentials_set:
            credentials_set = await _set_credentials(settings, users)
        if credentials_set:
            answering = [await _answers(node, operator) for node in nodes(settings)]
            if all(answering) and await registered_brokers(settings, operator) >= expected:
                return
        await asyncio.sleep(1.0)
    raise InfraError(
        f"Kafka did not answer within {START_TIMEOUT_S:.0f} s:\n{broker_log_tail(settings)}"
    )


async def _set_credentials(settings: InfraSettings, users: KafkaUsers) -> bool:
    """True once the controllers took the credentials; False while they cannot yet."""
    try:
        with _quiet("aiokafka"):
            await sync_credentials(settings, users)
        return True
    except InfraError:  # no controller answers yet (or none is active): ask again
        return False


async def registered_brokers(settings: InfraSettings, operator: KafkaAccess) -> set[int]:
    """Node ids of the live brokers the cluster reports; empty while it cannot be reached."""
    reachable = [n.address for n in nodes(settings) if await _accepts_tcp(n)]
    if not reachable:  # a bare TCP probe first keeps aiokafka quiet while the JVMs boot
        return set()
    probe = replace(operator, bootstrap=",".join(reachable))
    admin = AIOKafkaAdminClient(**probe.client_kwargs(), request_timeout_ms=5000)
    try:
        with _quiet("aiokafka"):  # failed probes are expected while the brokers boot
            await admin.start()
        cluster = await admin.describe_cluster()
        return {int(broker["node_id"]) for broker in cluster.get("brokers", [])}
    except Exception:  # any failure means "not ready yet"
        return set()
    finally:
        await admin.close()


async def _answers(node: KafkaNode, operator: KafkaAccess) -> bool:
    """True once ``node`` itself answers a metadata request: a broker serves requests only
    after it has recovered its logs and been admitted (unfenced) by the controller."""
    if not await _accepts_tcp(node):
        return False
    probe = replace(operator, bootstrap=node.address)
    admin = AIOKafkaAdminClient(**probe.client_kwargs(), request_timeout_ms=5000)
    try:
        with _quiet("aiokafka"):
            await admin.start()  # bootstrapping is a metadata round trip to this very node
        return True
    except Exception:  # still booting
        return False
    finally:
        await admin.close()


async def _accepts_tcp(node: KafkaNode) -> bool:
    try:
        _, writer = await asyncio.wait_for(asyncio.open_connection(LOCALHOST, node.port), 2.0)
        writer.close()
        return True
    except (OSError, TimeoutError):
        return False


@contextmanager
def _quiet(logger_name: str) -> Iterator[None]:
    """Silence a library logger for the duration of the block."""
    logger = logging.getLogger(logger_name)
    previous = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(previous)


def stop(settings: InfraSettings | None = None, timeout: float = 60.0) -> list[str]:
    """Graceful shutdown of every Kafka node of the state dir (SIGTERM lets KRaft flush its
    log); returns the names of the nodes that were running.

    The nodes of a cluster are stopped together: stopped one by one, the last would wait for
    a controller quorum that is gone before it shuts down.
    """
    settings = settings or InfraSettings()
    names = every_process_name()
    with ThreadPoolExecutor(max_workers=len(names)) as pool:
        stopped = pool.map(lambda name: processes.stop(name, timeout, settings.root), names)
        return [name for name, was_running in zip(names, stopped, strict=True) if was_running]


def status(settings: InfraSettings | None = None) -> list[ComponentStatus]:
    """One entry per node: alive?, where it listens, pid."""
    settings = settings or InfraSettings()
    configured = nodes(settings)
    shown = [
        ComponentStatus(n.name, pid is not None, n.address, pid)
        for n in configured
        for pid in [processes.read_pid(n.name, settings.root)]
    ]
    # A node of the other layout still running (HUB_KAFKA_BROKERS changed since) is shown too.
    others = set(every_process_name()) - {n.name for n in configured}
    for name in sorted(others):
        if (pid := processes.read_pid(name, settings.root)) is not None:
            shown.append(ComponentStatus(name, True, "(other HUB_KAFKA_BROKERS)", pid))
    return shown


def broker_log_tail(settings: InfraSettings, node: KafkaNode | None = None, lines: int = 40) -> str:
    """The end of the JVM output and of server.log of ``node`` (default: every node)."""
    parts = []
    for each in [node] if node is not None else nodes(settings):
        for path in (each.folder / "kafka.out", each.folder / "logs" / "server.log"):
            if path.is_file():
                parts.append(f"--- {path}\n{_tail(path.read_text(errors='replace'), lines)}")
    return "\n".join(parts) or "(no broker log yet)"


def _tail(text: str, lines: int = 40) -> str:
    """The last ``lines`` lines of ``text``."""
    return "\n".join(text.splitlines()[-lines:])
