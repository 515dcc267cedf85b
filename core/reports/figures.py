"""The counts every rating report is made of, and what follows from them."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, case, func

from core.models import Rating
from core.scales import Bucket


@dataclass(frozen=True)
class Figures:
    """Ratings counted: all, positive and negative (for NPS: promoters and detractors), and
    their scores (0–100) summed."""

    count: int = 0
    positive: int = 0
    negative: int = 0
    score_sum: int = 0

    @property
    def neutral(self) -> int:
        return self.count - self.positive - self.negative

    @property
    def satisfaction(self) -> float | None:
        """Positive / all rated, 0–1; None with no ratings."""
        return self.positive / self.count if self.count else None

    @property
    def average(self) -> float | None:
        """The average score, 0–100."""
        return self.score_sum / self.count if self.count else None

    @property
    def nps(self) -> float | None:
        """% positive − % negative, −100…100 (meaningful for NPS-scale ratings)."""
        return (self.positive - self.negative) * 100 / self.count if self.count else None

    @classmethod
    def of(cls, row: Any) -> Figures:
        """From a row with the columns ``count, positive, negative, score_sum`` (NULL: 0)."""
        named = row._mapping
        return cls(*(int(named[c] or 0) for c in ("count", "positive", "negative", "score_sum")))

    @classmethod
    def total(cls, parts: Iterable[Figures]) -> Figures:
        """Several groups' figures added up (groups already counted by the database)."""
        sums = [0, 0, 0, 0]
        for part in parts:
            for i, value in enumerate((part.count, part.positive, part.negative, part.score_sum)):
                sums[i] += value
        return cls(*sums)


def counted(bucket: Bucket) -> ColumnElement[int]:
    """1 for a rating in ``bucket``, else 0: summed, the bucket's count."""
    return case((Rating.bucket == bucket, 1), else_=0)


def rating_columns() -> list[ColumnElement[Any]]:
    """The aggregates behind ``Figures``, over ratings: ``count, positive, negative, score_sum``."""
    return [
        func.count().label("count"),
        func.sum(counted(Bucket.POSITIVE)).label("positive"),
        func.sum(counted(Bucket.NEGATIVE)).label("negative"),
        func.sum(Rating.score).label("score_sum"),
    ]


def summed_columns(sub: Any) -> list[ColumnElement[Any]]:
    """The same aggregates over a subquery of ``rating_columns`` groups."""
    return [
        func.sum(sub.c["count"]).label("count"),
        func.sum(sub.c.positive).label("positive"),
        func.sum(sub.c.negative).label("negative"),
        func.sum(sub.c.score_sum).label("score_sum"),
    ]
