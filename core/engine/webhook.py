"""The ``webhook`` action's HTTP: POST JSON, retried with back-off while the failure may pass."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

log = logging.getLogger("otklik.rules")
_MAX_PAUSE = 30.0


class WebhookFailed(Exception):
    """The URL did not accept the POST, after every retry that made sense."""


async def post(
    session: aiohttp.ClientSession,
    url: str,
    body: dict[str, Any],
    *,
    seconds: float,
    retries: int,
    delivery: str,
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
) -> int:
    """POST ``body`` as JSON, each try given ``seconds``; returns the status. Connection
    errors, timeouts, 429 and 5xx are retried up to ``retries`` times (1 s, 2 s, 4 s … at most
    30 s apart); another 4xx is not, nor a redirect (not followed: the JSON would be lost).
    ``delivery`` is sent as ``X-Otklik-Delivery``, the same on every retry, so the receiver
    can tell a retry from a new call."""
    data = json.dumps(body, ensure_ascii=False, default=str).encode()
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "User-Agent": "Otklik-Webhook/1",
        "X-Otklik-Delivery": delivery,
        "X-Otklik-Event": str(body.get("event", "")),
    }
    for attempt in range(retries + 1):
        try:
            async with session.post(
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=seconds),
                allow_redirects=False,  # a 301 or 302 would turn the POST into a bare GET
            ) as response:
                if response.status < 300:
                    return response.status
                reason = f"HTTP {response.status}"
                if location := response.headers.get("Location"):
                    reason += f" (Location: {location})"
                if response.status < 500 and response.status != 429:
                    raise WebhookFailed(f"{url} answered {reason}; not retried")
        except (aiohttp.ClientError, TimeoutError) as exc:
            reason = f"{type(exc).__name__}: {exc}".rstrip(": ")
        if attempt < retries:
            pause = min(2.0**attempt, _MAX_PAUSE)
            log.info("webhook %s failed (%s); retry in %.0f s", url, reason, pause)
            await sleep(pause)
    raise WebhookFailed(f"{url} failed {retries + 1} time(s), last: {reason}")
