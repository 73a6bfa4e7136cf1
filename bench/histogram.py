"""An HDR-style histogram: log-linear buckets with bounded relative error, so the tail
(p99, max) is kept as faithfully as the median and one stall is never averaged away.

Values are integers (the benchmark records microseconds). Below 2,048 every value has its
own bucket; above, each power of two is split into 1,024 buckets, so a recorded value is
reported within 0.1% of itself (the bucket's highest value, i.e. never flattered). The exact
minimum and maximum are kept beside the buckets.
"""

import math
from dataclasses import dataclass, field

_SUB_BITS = 11
_SUB_COUNT = 1 << _SUB_BITS  # 2048
_HALF = _SUB_COUNT >> 1  # 1024


def bucket_of(value: int) -> int:
    if value < _SUB_COUNT:
        return value
    shift = value.bit_length() - _SUB_BITS
    return _SUB_COUNT + (shift - 1) * _HALF + ((value >> shift) - _HALF)


def highest_in(bucket: int) -> int:
    """The highest value that falls in ``bucket``."""
    if bucket < _SUB_COUNT:
        return bucket
    shift, sub = divmod(bucket - _SUB_COUNT, _HALF)
    shift += 1
    return ((sub + _HALF + 1) << shift) - 1


@dataclass
class Histogram:
    counts: dict[int, int] = field(default_factory=dict)
    total: int = 0
    min: int | None = None
    max: int | None = None

    def record(self, value: int) -> None:
        value = max(0, value)
        index = bucket_of(value)
        self.counts[index] = self.counts.get(index, 0) + 1
        self.total += 1
        self.min = value if self.min is None else min(self.min, value)
        self.max = value if self.max is None else max(self.max, value)

    def percentile(self, p: float) -> int:
        """The value at or below which ``p`` percent of the records fall."""
        if not self.total or self.max is None:
            raise ValueError("empty histogram")
        rank = max(1, math.ceil(p / 100 * self.total))
        seen = 0
        for index in sorted(self.counts):
            seen += self.counts[index]
            if seen >= rank:
                return min(highest_in(index), self.max)
        return self.max

    def summary_ms(self) -> dict[str, float]:
        """p50/p95/p99/p99.9/max in milliseconds, from microsecond records."""
        marks = {"p50": 50.0, "p95": 95.0, "p99": 99.0, "p99_9": 99.9}
        out = {name: self.percentile(p) / 1000 for name, p in marks.items()}
        out["max"] = (self.max or 0) / 1000
        out["min"] = (self.min or 0) / 1000
        return out
