"""``python -m bench.run``: start the system on the bench's own stack, measure, check, report.

Phases, in order: warm-up; raw pass-through (the ceiling, batched and record-at-a-time);
pipeline throughput; open-loop latency at each rate; raw read of referral.events from 0;
``hub audit replay`` (when it exists) beside a raw read of the same topics; the casework
queue page. See docs/performance.md.
"""

import argparse
import asyncio
import os
import time
import traceback
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import asyncpg

from bench import queue_page
from bench.baseline import passthrough
from bench.config import Options, smoke
from bench.messages import IntelligenceFactory, new_run_id
from bench.pipeline import Ctx, latency, throughput, warm_up
from bench.profile import Profiler
from bench.replay import audit_replay, raw_read
from bench.report import busy_cpu_seconds, machine, show, write
from bench.resources import Resources
from bench.system import System, shutdown, start_services, start_stack
from tests.support.directory import cumbria_directory, next_directory_version, send_directory
from tests.support.kafka import wait_committed

AMPLE = 10_000_000
"""Capacity of every agency in the bench's directory: routing never runs out of places."""


def parse(argv: Sequence[str] | None = None) -> Options:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__)
    parser.add_argument("--events", type=int, default=20_000, help="throughput events")
    parser.add_argument("--rates", default="50,200,1000", help="open-loop rates, events/s")
    parser.add_argument("--rate-seconds", type=float, default=20.0, help="seconds per rate")
    parser.add_argument("--queue-rows", type=int, default=100_000)
    parser.add_argument("--queue-requests", type=int, default=300)
    parser.add_argument("--smoke", action="store_true", help="a few hundred events (CI)")
    parser.add_argument("--reuse", action="store_true", help="keep the state dir's data")
    parser.add_argument(
        "--use-running-stack", action="store_true", help="the stack in HUB_STATE_DIR, as is"
    )
    parser.add_argument("--keep-running", action="store_true", help="leave Kafka/PG up")
    parser.add_argument(
        "--service-env", action="append", default=[], metavar="KEY=VALUE", help="tuning env"
    )
    parser.add_argument(
        "--instances", default="", help="instances per service, e.g. routing=2,intake=2"
    )
    parser.add_argument(
        "--phases", default="", help="only these: warmup,baseline,throughput,latency,replay,queue"
    )
    parser.add_argument("--profile", default="", help="services to py-spy, e.g. routing,intake")
    parser.add_argument("--results-dir", type=Path, default=Options().results_dir)
    parser.add_argument("--label", default="", help="a note stored in the JSON")
    args = parser.parse_args(argv)
    options = Options(
        events=args.events,
        rates=tuple(float(r) for r in args.rates.split(",") if r.strip()),
        rate_seconds=args.rate_seconds,
        queue_rows=args.queue_rows,
        queue_requests=args.queue_requests,
        fresh=not args.reuse,
        use_running_stack=args.use_running_stack,
        keep_running=args.keep_running,
        service_env=dict(item.split("=", 1) for item in args.service_env),
        instances={k: int(v) for k, v in (i.split("=") for i in args.instances.split(",") if i)},
        phases=tuple(p for p in args.phases.split(",") if p),
        profile=tuple(p for p in args.profile.split(",") if p),
        results_dir=args.results_dir,
        label=args.label,
    )
    return smoke(options) if args.smoke else options


async def _phase(name: str, results: dict[str, Any], step: Callable[[], Awaitable[Any]]) -> None:
    print(f"[bench] {name} ...", flush=True)
    began = time.monotonic()
    try:
        results[name] = await step()
    except Exception as exc:  # a broken phase is reported, the others still run
        traceback.print_exc()
        results[name] = {"verified": False, "problems": [f"{type(exc).__name__}: {exc}"]}
    print(f"[bench] {name} done in {time.monotonic() - began:.0f}s", flush=True)


async def _directory(system: System) -> None:
    version = await next_directory_version(system.bootstrap)
    sent = await send_directory(system.bootstrap, cumbria_directory(version, capacity=AMPLE))
    await wait_committed(system.bootstrap, "routing", sent, timeout_s=120)


async def _postgres_version(system: System) -> str:
    conn = await asyncpg.connect(system.env["HUB_ADMIN_DATABASE_URL"])
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _profile(ctx: Ctx, stamp: str) -> dict[str, Any]:
    """A second burst with py-spy attached (never the headline figure: sampling costs CPU)."""
    pids = {s: p for s, p in ctx.system.pids.items() if s in ctx.options.profile}
    profiler = Profiler(pids, ctx.options.results_dir, stamp)
    problems = profiler.start()
    burst = await throughput(replace(ctx, factory=IntelligenceFactory(ctx.factory.run_id + "X")))
    return {"burst": burst, "services": profiler.stop(), "problems": problems}


async def measure(system: System, options: Options, run_id: str, stamp: str) -> dict[str, Any]:
    results: dict[str, Any] = {}
    resources = Resources.of(system)
    resources.start()
    results["machine"] = machine() | {"postgres": await _postgres_version(system)}
    factory = IntelligenceFactory(run_id)
    ctx = Ctx(system, options, factory, resources)
    await _directory(system)
    bootstrap = system.bootstrap

    def wanted(phase: str) -> bool:
        return not options.phases or phase in options.phases

    if wanted("warmup"):
        await _phase("warmup", results, lambda: warm_up(ctx))
    if wanted("baseline"):
        messages = factory.batch("P", options.events)
        await _phase("baseline", results, lambda: passthrough(bootstrap, messages, run_id))
        one = messages[: max(100, options.events // 10)]
        shaped = partial(passthrough, bootstrap, one, run_id, per_record=True)
        await _phase("baseline_per_record", results, shaped)
    if wanted("throughput"):
        await _phase("throughput", results, lambda: throughput(ctx))
    results["latency"] = []
    for rate in options.rates if wanted("latency") else ():
        holder: dict[str, Any] = {}
        await _phase(f"latency@{rate:g}", holder, partial(latency, ctx, rate))
        results["latency"].append(holder[f"latency@{rate:g}"] | {"rate_per_s": rate})
    if wanted("replay"):
        await _phase("raw_read", results, lambda: raw_read(bootstrap))
        await _phase("replay", results, lambda: audit_replay(system, not options.smoke))
    if wanted("queue"):
        rows, requests = options.queue_rows, options.queue_requests
        await _phase("queue", results, lambda: queue_page.measure(system, rows, requests))
    if options.profile:
        await _phase("profile", results, lambda: _profile(ctx, stamp))
    await resources.stop()
    results["resources"] = {
        "peak_rss_mib": resources.peak_mb,
        "cpu_seconds": resources.cpu_seconds(),
    }
    return results


def _verified(results: dict[str, Any]) -> bool:
    names = ("warmup", "baseline", "throughput", "queue", "raw_read")
    sections = [results[k] for k in names if k in results] + results.get("latency", [])
    replay = results.get("replay", {})
    if replay.get("available") or replay.get("problems"):
        sections.append(replay)
    return bool(sections) and all(s.get("verified") for s in sections)


def main(argv: Sequence[str] | None = None) -> int:
    options = parse(argv)
    run_id = new_run_id()
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    mode = "smoke" if options.smoke else "full"
    header: dict[str, Any] = {"run_id": run_id, "started_at": stamp, "mode": mode}
    header["label"] = options.label
    header["options"] = {
        k: (str(v) if isinstance(v, Path) else v) for k, v in vars(options).items()
    } | {"service_env": dict(options.service_env), "instances": dict(options.instances)}
    load_start, busy_start, wall_start = os.getloadavg(), busy_cpu_seconds(), time.monotonic()
    print(f"[bench] run {run_id}: starting the stack and the services", flush=True)
    settings, env, started_stack = start_stack(options)
    system: System | None = None
    results: dict[str, Any] = {}
    try:
        system = start_services(settings, env, options)
        system.started_stack = started_stack
        header["state_dir"] = str(settings.root)
        results = asyncio.run(measure(system, options, run_id, stamp))
    finally:
        shutdown(system, settings, options)
    wall = time.monotonic() - wall_start
    ours = sum(results.get("resources", {}).get("cpu_seconds", {}).values())
    results = header | results
    results["machine_busy"] = {
        "wall_s": round(wall, 1),
        "loadavg_start": [round(x, 2) for x in load_start],
        "busy_cpu_s": round(busy_cpu_seconds() - busy_start, 1),
        "others_cpu_s": round(busy_cpu_seconds() - busy_start - ours, 1),
    }
    results["verified"] = _verified(results)
    path = write(results, options.results_dir, stamp)
    show(results, path)
    return 0 if results["verified"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
