"""VK's limit for a community token: about 20 API calls a second.

Beyond it VK answers error 6 ("too many requests per second"). Every call counts from when it
is made until a second after VK answered it (see core/ratelimit.py for why), so VK never
sees more than 20 calls of one token within a second, whatever the network does.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager

from core.ratelimit import Limiter, RateLimiter, Rule

CALLS_PER_SECOND = 20
PER_TOKEN = Rule("token", CALLS_PER_SECOND, 1.0)


class VkLimits:
    """One community token's limit: ``async with limits.calling(): <one API call>``."""

    def __init__(self, limiter: Limiter | None = None) -> None:
        self._limiter = limiter or RateLimiter()

    def calling(self) -> AbstractAsyncContextManager[None]:
        return self._limiter.slot(PER_TOKEN)
