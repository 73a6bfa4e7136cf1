"""A clock that says what a test tells it (services take a ``Clock``: services/runtime/clock.py)."""

from dataclasses import dataclass
from datetime import datetime


@dataclass
class FixedClock:
    at: datetime

    def now(self) -> datetime:
        return self.at
