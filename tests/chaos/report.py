"""The table the chaos suite prints at the end of the run and writes beside its state."""

from pathlib import Path

from tests.chaos.checker import Figures

RESULTS: list[Figures] = []
"""Figures of every scenario that ran, in order."""

HEADER = (
    "| scenario | sent | lost | duplicated | longest pause (s) | time to recover (s) "
    "| dead-lettered |",
    "|---|---:|---:|---:|---:|---:|---:|",
)


def row(f: Figures) -> str:
    return (
        f"| {f.scenario} | {f.sent} | {f.lost} | {f.duplicated} | {f.longest_pause_s:.1f} "
        f"| {f.recover_s:.1f} | {f.dead_lettered} |"
    )


def table(results: list[Figures]) -> str:
    return "\n".join([*HEADER, *(row(f) for f in results)])


def write(results: list[Figures], folder: Path) -> Path:
    path = folder / "chaos-results.md"
    details = "\n".join(f"- {f.scenario}: {f.detail}" for f in results)
    path.write_text(f"{table(results)}\n\n{details}\n")
    return path
