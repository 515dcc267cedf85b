"""What counts as Redis not answering, for the parts that carry on without it."""

from __future__ import annotations

from redis.exceptions import RedisError

ANSWER_SECONDS = 2.0  # a Redis call that takes longer counts as Redis gone
UNREACHABLE = (RedisError, OSError, TimeoutError)
