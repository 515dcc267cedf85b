"""The rating scales: their values, default labels, and how a value scores and counts."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.errors import InvalidInput


class Scale(StrEnum):
    BINARY = "binary"
    FIVE = "five"
    NPS = "nps"


class Bucket(StrEnum):
    POSITIVE = "positive"
    NEUTRAL = "neutral"
    NEGATIVE = "negative"


@dataclass(frozen=True)
class ScaleSpec:
    values: tuple[int, ...]  # in the order the buttons show them
    labels: tuple[str, ...]  # the default labels, one per value
    per_row: int  # buttons on one line
    low: int  # the worst value: score 0
    high: int  # the best: score 100
    positive: int  # at least this is positive
    negative: int  # at most this is negative

    def score(self, value: int) -> int:
        return round((value - self.low) * 100 / (self.high - self.low))

    def bucket(self, value: int) -> Bucket:
        if value >= self.positive:
            return Bucket.POSITIVE
        return Bucket.NEGATIVE if value <= self.negative else Bucket.NEUTRAL

    def check(self, value: int) -> int:
        if value not in self.values:
            shown = ", ".join(str(v) for v in sorted(self.values))
            raise InvalidInput(f"{value} is not on this scale: expected one of {shown}")
        return value


SCALES: dict[Scale, ScaleSpec] = {
    Scale.BINARY: ScaleSpec((1, 0), ("👍", "👎"), 2, 0, 1, 1, 0),
    Scale.FIVE: ScaleSpec((1, 2, 3, 4, 5), ("😡", "🙁", "😐", "🙂", "😍"), 5, 1, 5, 4, 2),
    Scale.NPS: ScaleSpec(tuple(range(11)), tuple(str(v) for v in range(11)), 6, 0, 10, 9, 6),
}
