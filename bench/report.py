"""The benchmark's output: a table beside the targets on the terminal, and JSON files
(bench/results/latest.json and a timestamped copy)."""

import json
import os
import platform
from pathlib import Path
from typing import Any

import psutil
from rich.console import Console
from rich.table import Table

from bench import config
from infra.settings import KAFKA_VERSION


def machine() -> dict[str, Any]:
    import aiokafka

    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(psutil.virtual_memory().total / 2**30, 1),
        "cpu": platform.processor() or platform.machine(),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "kafka": KAFKA_VERSION,
        "aiokafka": aiokafka.__version__,
    }


def busy_cpu_seconds() -> float:
    """CPU seconds the whole machine spent busy so far (every process, ours or not)."""
    times = psutil.cpu_times()
    return float(sum(times) - times.idle - getattr(times, "iowait", 0.0))


def write(results: dict[str, Any], results_dir: Path, stamp: str) -> Path:
    results_dir.mkdir(parents=True, exist_ok=True)
    text = json.dumps(results, indent=2, sort_keys=False, default=str) + "\n"
    latest = results_dir / "latest.json"
    latest.write_text(text)
    (results_dir / f"{stamp}.json").write_text(text)
    return latest


def _status(ok: bool | None) -> str:
    if ok is None:
        return "[yellow]n/a[/yellow]"
    return "[green]PASS[/green]" if ok else "[red]MISS[/red]"


def _unverified(section: dict[str, Any]) -> str:
    return "[red]NOT REPORTED[/red]: " + "; ".join(section.get("problems") or ["check failed"])


def _rows(r: dict[str, Any]) -> list[tuple[str, str, str, str]]:
    rows: list[tuple[str, str, str, str]] = []
    base, thr = r.get("baseline", {}), r.get("throughput", {})
    raw = base.get("msgs_per_s")
    if "baseline" in r:
        rows.append(
            ("raw pass-through (aiokafka)", f"{raw} msg/s" if raw else _unverified(base), "", "")
        )
    one = r.get("baseline_per_record", {})
    if one.get("msgs_per_s"):
        rows.append(
            ("raw, one record at a time + commit each", f"{one['msgs_per_s']} msg/s", "", "")
        )
    routed = thr.get("routed_per_s")
    if routed and raw:
        ratio = routed / raw
        measured = f"{routed} ev/s ({ratio:.1%} of raw)"
        rows.append(
            (
                "pipeline throughput",
                measured,
                ">= 30% of raw",
                _status(ratio >= config.TARGET_PIPELINE_RATIO),
            )
        )
    elif routed:  # verified, but this run measured no raw pass-through to compare with
        measured = f"{routed} ev/s (no raw pass-through in this run)"
        rows.append(("pipeline throughput", measured, ">= 30% of raw", _status(None)))
    elif "throughput" in r:
        rows.append(("pipeline throughput", _unverified(thr), ">= 30% of raw", _status(None)))
    for lat in r.get("latency", []):
        rate = lat["rate_per_s"]
        target = rate == config.TARGET_P99_RATE
        name = f"latency at {rate:g}/s"
        if "to_routed_ms" not in lat:
            rows.append((name, _unverified(lat), "", ""))
            continue
        s = lat["to_routed_ms"]
        measured = (
            f"p50 {s['p50']:.0f} / p95 {s['p95']:.0f} / p99 {s['p99']:.0f} / "
            f"max {s['max']:.0f} ms; routing lag peak {lat['peak_lag'].get('routing')}"
        )
        rows.append(
            (
                name,
                measured,
                "p99 < 250 ms" if target else "",
                _status(s["p99"] < config.TARGET_P99_MS) if target else "",
            )
        )
    queue = r.get("queue", {})
    for variant in queue.get("variants", []):
        name = f"queue: {variant['variant']} ({queue['rows']:,} stored)"
        if not variant["verified"]:
            rows.append((name, _unverified(variant), "", ""))
            continue
        first = variant is queue["variants"][0]
        measured = f"p50 {variant['p50']:.1f} / p95 {variant['p95']:.1f} ms"
        full = queue["rows"] >= config.TARGET_QUEUE_ROWS
        ok = variant["p95"] < config.TARGET_QUEUE_P95_MS if full else None
        rows.append(
            (
                name,
                measured,
                "p95 < 50 ms at 100,000" if first else "",
                _status(ok) if first else "",
            )
        )
    if "raw_read" not in r:
        return rows
    replay, raw_read = r.get("replay", {}), r.get("raw_read", {})
    read_rate = raw_read.get("events_per_s")
    rows.append(
        (
            "raw read of referral.events from 0",
            f"{read_rate} ev/s ({raw_read.get('events')} events)"
            if read_rate
            else _unverified(raw_read),
            "",
            "",
        )
    )
    if not replay.get("available") and replay.get("problems"):
        rows.append(("hub audit replay", _unverified(replay), ">= 30% of raw read", ""))
    elif not replay.get("available"):
        rows.append(
            (
                "hub audit replay",
                "not available (" + replay.get("note", "") + ")",
                ">= 30% of raw read",
                _status(None),
            )
        )
    elif replay.get("events_per_s"):
        same = replay["raw_read_same_topics"]
        ratio = replay["events_per_s"] / same["events_per_s"]
        rows.append(
            (
                "raw read of the topics replay reads",
                f"{same['events_per_s']} ev/s ({same['events']} records)",
                "",
                "",
            )
        )
        rows.append(
            (
                "hub audit replay",
                f"{replay['events_per_s']} ev/s ({ratio:.1%} of raw); "
                f"ledger catch-up {replay['ledger_catch_up_s']} s",
                ">= 30% of raw read",
                _status(ratio >= config.TARGET_REPLAY_RATIO),
            )
        )
    else:
        rows.append(("hub audit replay", _unverified(replay), ">= 30% of raw read", ""))
    return rows


def show(results: dict[str, Any], path: Path, console: Console | None = None) -> None:
    console = console or Console()
    table = Table(title=f"referral-hub bench {results['run_id']} ({results['mode']})")
    for column in ("figure", "measured", "target", ""):
        table.add_column(column)
    for row in _rows(results):
        table.add_row(*row)
    console.print(table)
    res = results.get("resources", {})
    per_event = results.get("throughput", {}).get("cpu_ms_per_event", {})
    usage = Table(title="resources (whole run)")
    for column in ("process", "peak RSS MiB", "CPU s", "CPU ms / event (throughput)"):
        usage.add_column(column)
    for name, peak in res.get("peak_rss_mib", {}).items():
        usage.add_row(
            name, f"{peak}", f"{res['cpu_seconds'].get(name)}", f"{per_event.get(name, '')}"
        )
    console.print(usage)
    noise = results.get("machine_busy", {})
    console.print(
        f"machine: {results['machine']['nproc']} cores; CPU used by other processes during the "
        f"run: {noise.get('others_cpu_s')} s of {noise.get('wall_s')} s wall "
        f"(load avg at start {noise.get('loadavg_start')})"
    )
    verdict = (
        "[green]all figures verified[/green]"
        if results["verified"]
        else ("[red]some figures failed their checks and are not reported[/red]")
    )
    console.print(f"{verdict}; JSON: {path}")
