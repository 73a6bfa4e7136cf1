"""The scenarios, in the order they run, and how one runs: load for a few seconds, the fault,
load until a few seconds after it healed, then wait for every referral and count."""

import asyncio
import json
import time
from dataclasses import dataclass

from tests.chaos import faults
from tests.chaos.checker import Figures, Window, completions, dead_letter_count, figures
from tests.chaos.faults import Chaos, Fault
from tests.chaos.load import Load
from tests.chaos.recorder import Recorder

WARM_UP_S = 5.0
TAIL_S = 5.0
STALL_S = 90.0
SETTLE_S = 3.0


@dataclass(frozen=True)
class Scenario:
    key: str
    fault: Fault
    title: str


SCENARIOS = (
    Scenario("healthy", faults.nothing, "no fault (the same load on a healthy system)"),
    Scenario(
        "kill-intake",
        faults.kill_each_instance_of("intake"),
        "SIGKILL of each intake instance in turn, restarted after 3 s",
    ),
    Scenario(
        "kill-routing",
        faults.kill_each_instance_of("routing"),
        "SIGKILL of each routing instance in turn, restarted after 3 s",
    ),
    Scenario(
        "kill-casework",
        faults.kill_each_instance_of("casework"),
        "SIGKILL of each casework instance in turn, restarted after 3 s",
    ),
    Scenario(
        "freeze-intake",
        faults.freeze_relay_leader_of("intake", 15.0),
        "SIGSTOP of one of two intake instances (its relay leader) for 15 s",
    ),
    Scenario(
        "freeze-routing",
        faults.freeze_relay_leader_of("routing", 60.0),
        "SIGSTOP of one of two routing instances (its relay leader) for 60 s",
    ),
    Scenario(
        "freeze-casework",
        faults.freeze_relay_leader_of("casework", 15.0),
        "SIGSTOP of one of two casework instances (its relay leader) for 15 s",
    ),
    Scenario(
        "kill-brokers",
        faults.kill_each_broker_in_turn,
        "SIGKILL of each Kafka broker in turn, restarted after 5 s (leaders move)",
    ),
    Scenario(
        "freeze-controller",
        faults.freeze_quorum_leader,
        "SIGSTOP of the leader broker (the active controller) for 30 s",
    ),
    Scenario(
        "kill-postgres",
        faults.kill_postgres,
        "PostgreSQL SIGKILLed, restarted after 5 s",
    ),
    Scenario(
        "rolling-restart",
        faults.rolling_restart,
        "rolling restart of all six service instances (SIGTERM, start, next)",
    ),
)


async def run(chaos: Chaos, recorder: Recorder, scenario: Scenario, rate: float) -> Figures:
    dead_before = await dead_letter_count(chaos.env)
    load = Load(chaos.bootstrap, scenario.key, rate)
    stop = asyncio.Event()
    began = time.time()
    sending = asyncio.create_task(load.run(stop))
    await asyncio.sleep(WARM_UP_S)
    fault_at = time.time()
    try:
        await scenario.fault(chaos)
        await asyncio.sleep(TAIL_S)
    finally:
        stop.set()
        await sending
    await recorder.wait_accepted(list(load.sent_at), STALL_S)
    await asyncio.sleep(SETTLE_S)  # a late duplicate would show up now
    window = Window(began, fault_at)
    await asyncio.to_thread(_keep_timings, chaos, scenario, recorder, load, window)
    return await figures(
        scenario.title, recorder.seen, load.sent_at, window, chaos.env, dead_before
    )


def _keep_timings(
    chaos: Chaos, scenario: Scenario, recorder: Recorder, load: Load, window: Window
) -> None:
    """Each referral's send, routing and acceptance time, for a closer look after the run."""
    opened = {r: ids[0] for r in load.sent_at if (ids := recorder.seen.opened.get(r))}
    done = completions(recorder.seen, opened)
    routed = {
        ref: times[0] for ref, rid in opened.items() if (times := recorder.seen.routed.get(rid))
    }
    timings = {ref: [sent, routed.get(ref), done.get(ref)] for ref, sent in load.sent_at.items()}
    body = {"began": window.began, "fault_at": window.fault_at, "timings": timings}
    path = chaos.settings.root / f"chaos-{scenario.key}.json"
    path.write_text(json.dumps(body))
