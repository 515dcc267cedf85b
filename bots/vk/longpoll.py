"""The Bots Long Poll API: ask ``groups.getLongPollServer`` for a server, key and ``ts``, then
wait for events there; ``ts`` moves past a batch only once every event in it was handled.

VK's answers besides events: ``failed: 1`` (events were lost: go on from the ``ts`` given),
``failed: 2`` (the key expired: get a new key, keep our ``ts``), ``failed: 3`` (the key and
the events are lost: get a new key and ``ts``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiohttp import ClientTimeout

from bots.vk.api import VkApi
from bots.vk.events import BadUpdate, VkEvents
from core.stopping import unless_stopped

log = logging.getLogger("otklik.vk")
WAIT_SECONDS = 25


class Server:
    def __init__(self, answer: dict[str, Any]) -> None:
        self.url = str(answer["server"])
        self.key = str(answer["key"])
        self.ts = str(answer["ts"])


async def poll(api: VkApi, group_id: int, events: VkEvents, name: str) -> None:
    """Long polling until cancelled; a batch that fails is fetched and tried again."""
    server: Server | None = None
    pause = 1.0
    log.info("inbox %s: long polling VK", name)
    while True:
        unless_stopped()
        try:
            if server is None:
                server = Server(await api.call("groups.getLongPollServer", group_id=group_id))
            answer = await api.http_client.request_json(
                server.url,
                method="GET",
                params={"act": "a_check", "key": server.key, "ts": server.ts, "wait": WAIT_SECONDS},
                timeout=ClientTimeout(total=WAIT_SECONDS + 10),
            )
            server = await _follow(api, group_id, server, answer, events, name)
            pause = 1.0
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # VK, the network or our database: wait, try again
            unless_stopped()
            log.warning("inbox %s: long poll failed (%s), retrying in %ss", name, exc, pause)
            await asyncio.sleep(pause)
            pause = min(pause * 2, 30.0)


async def _follow(
    api: VkApi, group_id: int, server: Server, answer: Any, events: VkEvents, name: str
) -> Server | None:
    """Handle one answer; the server to ask next (None: ask VK for a new one)."""
    if not isinstance(answer, dict):
        raise ValueError(f"long poll answered {str(answer)[:100]!r}")
    failed = answer.get("failed")
    if failed == 1:
        server.ts = str(answer["ts"])
        log.warning("inbox %s: VK lost some events (failed=1), going on", name)
        return server
    if failed == 2:
        fresh = Server(await api.call("groups.getLongPollServer", group_id=group_id))
        fresh.ts = server.ts
        return fresh
    if failed == 3:
        log.warning("inbox %s: long poll key and events lost (failed=3), starting over", name)
        return None
    if failed is not None:
        raise ValueError(f"long poll failed with {failed!r}")
    for update in answer.get("updates") or []:
        try:
            await events.handle(update if isinstance(update, dict) else {})
        except BadUpdate as exc:  # nothing VK sends again would be better: skip it, loudly
            log.error("inbox %s: unreadable event skipped: %s", name, exc)
    server.ts = str(answer["ts"])
    return server
