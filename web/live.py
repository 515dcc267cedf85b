"""Live updates for agents: a WebSocket per open inbox page, fed from the event bus.

Each socket gets small notices (``{"event": "message.received", "ticket": 1042}``); the page
fetches what changed through the normal, escaped HTML routes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from aiohttp import WSMsgType, web

from core import events
from core.bus import EventBus
from core.events import Event
from web.auth import require

log = logging.getLogger("otklik.web")
_QUEUE_LIMIT = 500
FEED = web.AppKey("agent_feed", "AgentFeed")


class AgentFeed:
    def __init__(self, bus: EventBus) -> None:
        self._queues: set[asyncio.Queue[dict[str, Any]]] = set()
        bus.subscribe(self._on_event, events.ALL)

    async def _on_event(self, event: Event) -> None:
        number = event.data.get("ticket", {}).get("number") or event.data.get("ticket_number")
        notice = {"event": event.name, "ticket": number}
        for queue in list(self._queues):
            if queue.qsize() < _QUEUE_LIMIT:  # a stuck tab must not hold memory
                queue.put_nowait(notice)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        await require(request)
        ws = web.WebSocketResponse(heartbeat=30)
        await ws.prepare(request)
        queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._queues.add(queue)
        reader = asyncio.create_task(_drain_incoming(ws))
        try:
            while not ws.closed:
                getter = asyncio.create_task(queue.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                await ws.send_json(getter.result())
        finally:
            self._queues.discard(queue)
            reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await reader
        return ws


async def _drain_incoming(ws: web.WebSocketResponse) -> None:
    async for msg in ws:
        if msg.type == WSMsgType.ERROR:
            break


def setup(app: web.Application, bus: EventBus) -> None:
    feed = AgentFeed(bus)
    app[FEED] = feed
    app.router.add_get("/inbox/ws", feed.socket)
