"""What counts as Redis not answering, for the parts that carry on without it, and the log of it."""

from __future__ import annotations

import logging

from redis.exceptions import RedisError

ANSWER_SECONDS = 2.0  # a Redis call that takes longer counts as Redis gone
UNREACHABLE = (RedisError, OSError, TimeoutError)


class Outage:
    """Says once that Redis stopped answering ``what`` (and what is done instead), and once
    that it answers again: a warning each, not one per call."""

    def __init__(self, log: logging.Logger, what: str, instead: str) -> None:
        self._log = log
        self._what = what
        self._instead = instead
        self.down = False

    def failed(self, exc: BaseException) -> None:
        if not self.down:
            self._log.warning("%s: Redis does not answer (%r); %s", self._what, exc, self._instead)
        self.down = True

    def answered(self) -> None:
        if self.down:
            self._log.warning("%s: Redis answers again", self._what)
        self.down = False
