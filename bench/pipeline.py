"""Intelligence -> ReferralRouted through the real services: sustained throughput (a burst
published as fast as Kafka takes it) and latency under an open-loop generator.

Times: a ReferralRouted is "there" at its Kafka record timestamp (CreateTime, set by routing's
relay as it publishes); the clock is the same machine's wall clock as the generator's.
"""

import asyncio
import time
from dataclasses import dataclass
from typing import Any

from referral_schemas.topics import POLICE_INTELLIGENCE, REFERRAL_EVENTS

from bench.checks import dead_letters, verify
from bench.config import Options
from bench.histogram import Histogram
from bench.kafka_io import LagSampler, ReferralWatch, Seen, send_intelligence, started_producer
from bench.messages import IntelligenceFactory, Message
from bench.resources import Resources, delta
from bench.system import System

GROUPS = [
    ("intake", POLICE_INTELLIGENCE),
    ("routing", REFERRAL_EVENTS),
    ("casework", REFERRAL_EVENTS),
]


@dataclass
class Ctx:
    system: System
    options: Options
    factory: IntelligenceFactory
    resources: Resources


def _first_routed_s(seen: Seen, ref: str) -> float | None:
    rid = seen.referral_of(ref)
    stamps = seen.routed.get(rid) if rid else None
    return stamps[0] / 1000 if stamps else None


async def warm_up(ctx: Ctx) -> dict[str, Any]:
    """A few events end to end: the whole path is live before anything is timed."""
    return await _burst(ctx, "W", ctx.options.warmup)


async def throughput(ctx: Ctx) -> dict[str, Any]:
    return await _burst(ctx, "T", ctx.options.events)


async def _burst(ctx: Ctx, phase: str, count: int) -> dict[str, Any]:
    messages = ctx.factory.batch(phase, count)
    refs = [m.ref for m in messages]
    prefix = ctx.factory.prefix(phase)
    lag = LagSampler(ctx.system.bootstrap, GROUPS)
    await lag.wait_idle()
    dead = await dead_letters(ctx.system)
    producer = await started_producer(ctx.system.bootstrap, "bench-publisher")
    try:
        async with ReferralWatch(ctx.system.bootstrap, prefix) as watch:
            lag.start()
            cpu_before = ctx.resources.cpu_seconds()
            began = time.time()
            bootstrap = ctx.system.bootstrap
            sent = [await send_intelligence(producer, bootstrap, m.value, m.key) for m in messages]
            await asyncio.gather(*sent)
            published = time.time()
            complete = await watch.wait_routed(refs, ctx.options.drain_timeout_s)
            cpu = delta(ctx.resources.cpu_seconds(), cpu_before)
            peaks = await lag.stop()
            await watch.settle()
            seen = watch.seen
    finally:
        await producer.stop()
    verdict = await verify(ctx.system, prefix, refs, seen, dead)
    ok = complete and verdict.ok
    routed = [t for ref in refs if (t := _first_routed_s(seen, ref)) is not None]
    opened = [ms / 1000 for ms in seen.opened_at_ms.values()]
    elapsed = (max(routed) - began) if routed else 0.0
    result: dict[str, Any] = {
        "events": count,
        "verified": ok,
        "problems": verdict.problems + ([] if complete else ["not every event was routed"]),
        "counts": verdict.counts,
        "seconds": round(elapsed, 2),
        "publish_per_s": round(count / (published - began), 1),
        "peak_lag": peaks,
        "cpu_seconds": cpu,
        "cpu_ms_per_event": {k: round(v * 1000 / count, 2) for k, v in cpu.items()},
    }
    if ok and elapsed > 0:
        result["opened_per_s"] = round(count / (max(opened) - began), 1)
        result["routed_per_s"] = round(count / elapsed, 1)
    return result


async def _open_loop(
    producer: Any, bootstrap: str, messages: list[Message], rate: float
) -> tuple[dict[str, float], float]:
    """Send message i at start + i/rate whatever happened before (open loop); returns each
    ref's scheduled wall time, and how far behind schedule the generator itself fell."""
    loop = asyncio.get_running_loop()
    wall_offset = time.time() - loop.time()
    start = loop.time() + 0.2
    scheduled: dict[str, float] = {}
    behind = 0.0
    pending = []
    for i, message in enumerate(messages):
        target = start + i / rate
        wait = target - loop.time()
        if wait > 0:
            await asyncio.sleep(wait)
        else:
            behind = max(behind, -wait)
        scheduled[message.ref] = wall_offset + target
        pending.append(await send_intelligence(producer, bootstrap, message.value, message.key))
    await asyncio.gather(*pending)
    return scheduled, behind


async def latency(ctx: Ctx, rate: float) -> dict[str, Any]:
    phase = f"L{int(rate)}"
    count = max(1, round(rate * ctx.options.rate_seconds))
    messages = ctx.factory.batch(phase, count)
    refs = [m.ref for m in messages]
    prefix = ctx.factory.prefix(phase)
    lag = LagSampler(ctx.system.bootstrap, GROUPS)
    await lag.wait_idle()
    dead = await dead_letters(ctx.system)
    producer = await started_producer(ctx.system.bootstrap, "bench-generator")
    try:
        async with ReferralWatch(ctx.system.bootstrap, prefix) as watch:
            lag.start()
            scheduled, behind = await _open_loop(producer, ctx.system.bootstrap, messages, rate)
            complete = await watch.wait_routed(refs, ctx.options.drain_timeout_s)
            peaks = await lag.stop()
            await watch.settle()
            seen = watch.seen
    finally:
        await producer.stop()
    verdict = await verify(ctx.system, prefix, refs, seen, dead)
    to_routed, to_opened = Histogram(), Histogram()
    for ref in refs:
        if (routed := _first_routed_s(seen, ref)) is not None:
            to_routed.record(int((routed - scheduled[ref]) * 1_000_000))
        if (opened_ms := seen.opened_at_ms.get(ref)) is not None:
            to_opened.record(int((opened_ms / 1000 - scheduled[ref]) * 1_000_000))
    ok = complete and verdict.ok
    result: dict[str, Any] = {
        "rate_per_s": rate,
        "events": count,
        "verified": ok,
        "problems": verdict.problems + ([] if complete else ["not every event was routed"]),
        "counts": verdict.counts,
        "generator_max_behind_ms": round(behind * 1000, 1),
        "peak_lag": peaks,
    }
    if ok:
        result["to_routed_ms"] = to_routed.summary_ms()
        result["to_opened_ms"] = to_opened.summary_ms()
    return result
