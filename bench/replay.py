"""Audit replay beside a raw aiokafka read of the same topics from offset 0.

The raw read of referral.events is always measured. ``hub audit replay`` (the audit issue)
is timed only when services/hub/audit_commands.py defines it; it runs as an auditor runs it,
after the audit service has ledgered every record (that catch-up is timed too), and its
figure counts only if the command exits 0 (the rebuilt state and ledger match the live
ones). Otherwise it is reported as not available.
"""

import asyncio
import os
import sys
import time
from asyncio.subprocess import PIPE
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaConsumer
from referral_schemas.topics import REFERRAL_EVENTS

from bench.kafka_io import LagSampler, topic_partitions
from bench.system import System, free_port, start_service, stop_service
from infra.settings import REPO_ROOT
from services.audit.ledgered import LEDGERED_TOPICS
from services.runtime.kafka_clients import MAX_REQUEST_BYTES
from tests.support.kafka_auth import client_kwargs

AUDIT_COMMANDS = REPO_ROOT / "services" / "hub" / "audit_commands.py"


async def raw_read(bootstrap: str, topics: Sequence[str] = (REFERRAL_EVENTS,)) -> dict[str, Any]:
    """Every record of ``topics`` from the beginning to the end they had at the start."""
    consumer = AIOKafkaConsumer(
        **client_kwargs(bootstrap),
        enable_auto_commit=False,
        max_partition_fetch_bytes=MAX_REQUEST_BYTES,
    )
    await consumer.start()
    try:
        partitions = [tp for topic in topics for tp in await topic_partitions(bootstrap, topic)]
        consumer.assign(partitions)
        begins = await consumer.beginning_offsets(partitions)
        ends = await consumer.end_offsets(partitions)
        expected = sum(ends[tp] - begins[tp] for tp in partitions)
        for tp in partitions:
            consumer.seek(tp, begins[tp])
        read, size = 0, 0
        began = time.perf_counter()
        todo = {tp for tp in partitions if ends[tp] > begins[tp]}
        while todo:
            batches = await consumer.getmany(*todo, timeout_ms=1000, max_records=10_000)
            for tp, records in batches.items():
                for record in records:
                    if record.offset < ends[tp]:
                        read += 1
                        size += len(record.value or b"")
                if await consumer.position(tp) >= ends[tp]:
                    todo.discard(tp)
        elapsed = time.perf_counter() - began
    finally:
        await consumer.stop()
    ok = read == expected
    return {
        "topics": list(topics),
        "events": read,
        "expected": expected,
        "mib": round(size / 2**20, 1),
        "seconds": round(elapsed, 2),
        "events_per_s": round(read / elapsed, 1) if ok and elapsed > 0 else None,
        "verified": ok,
        "problems": [] if ok else [f"read {read} of {expected} records"],
    }


def _replay_command() -> list[str] | None:
    """``hub audit replay``, if the audit issue has landed (and the command is wired)."""
    hub_main = REPO_ROOT / "services" / "hub" / "main.py"
    if not AUDIT_COMMANDS.is_file() or "def replay" not in AUDIT_COMMANDS.read_text():
        return None
    if "audit" not in hub_main.read_text():
        return None
    return [sys.executable, "-m", "services.hub.main", "audit", "replay"]


async def _ledger_catch_up(system: System) -> float:
    """Start the audit service, wait until it has ledgered every record (and casework has
    folded every event), stop it; seconds taken."""
    lag = LagSampler(system.bootstrap, [("audit", t) for t in LEDGERED_TOPICS])
    lag.lags += LagSampler(system.bootstrap, [("casework", REFERRAL_EVENTS)]).lags
    began = time.perf_counter()
    try:
        start_service(system, "audit", {"AUDIT_HTTP_PORT": str(free_port())})
        await lag.wait_idle(timeout_s=1800)
        return time.perf_counter() - began
    finally:
        stop_service(system, "audit")


async def audit_replay(system: System, enabled: bool) -> dict[str, Any]:
    """The command as an auditor runs it (its exit status says whether the rebuilt state and
    ledger match the live ones); its rate is the records present when it started, divided
    by its wall time (interpreter start included, about a second)."""
    argv = _replay_command()
    if argv is None:
        return {"available": False, "note": "hub audit replay does not exist yet"}
    if not enabled:
        return {"available": False, "note": "skipped in a smoke run"}
    catch_up = await _ledger_catch_up(system)
    raw = await raw_read(system.bootstrap, LEDGERED_TOPICS)
    env = {**os.environ, "HUB_STATE_DIR": str(system.settings.root)}
    began = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *argv, cwd=REPO_ROOT, env=env, stdout=PIPE, stderr=PIPE
    )
    out, err = await process.communicate()
    elapsed = time.perf_counter() - began
    problems = [] if raw["verified"] else raw["problems"]
    if process.returncode != 0:
        tail = (out + err).decode(errors="replace").strip().splitlines()[-3:]
        problems.append(f"exit {process.returncode}: " + " / ".join(tail))
    ok = not problems
    return {
        "available": True,
        "command": "hub audit replay (whole log, from offset 0)",
        "events": raw["events"],
        "seconds": round(elapsed, 2),
        "events_per_s": round(raw["events"] / elapsed, 1) if ok else None,
        "raw_read_same_topics": raw,
        "ledger_catch_up_s": round(catch_up, 1),
        "verified": ok,
        "problems": problems,
    }
