"""Upcasters: turn the raw ``data`` of an old event version into the next version.

A breaking change to an event is a new version plus one upcaster from the previous version,
so stored and in-flight old events still parse as the newest model. Upcasters work on plain
JSON dicts (before validation), must be pure and must not mutate their input.
"""

from collections.abc import Callable
from typing import Any

Upcaster = Callable[[dict[str, Any]], dict[str, Any]]
"""Turns the ``data`` dict of version n into the ``data`` dict of version n + 1."""

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(event_type: str, from_version: int, upcaster: Upcaster) -> None:
    """Register the upcaster from ``from_version`` to ``from_version + 1`` of an event type."""
    key = (event_type, from_version)
    if key in _UPCASTERS:
        raise ValueError(f"an upcaster for {event_type} v{from_version} is already registered")
    _UPCASTERS[key] = upcaster


def unregister_upcaster(event_type: str, from_version: int) -> None:
    """Remove a registered upcaster (tests register fakes and remove them afterwards)."""
    del _UPCASTERS[(event_type, from_version)]


def has_upcaster(event_type: str, from_version: int) -> bool:
    """Whether version ``from_version`` of the event type can be upcast."""
    return (event_type, from_version) in _UPCASTERS


def upcast(event_type: str, version: int, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    """Apply upcasters from ``version`` on while one is registered.

    Returns the version reached and the data in that version's shape; unchanged when no
    upcaster applies.
    """
    while (upcaster := _UPCASTERS.get((event_type, version))) is not None:
        data = upcaster(data)
        version += 1
    return version, data
