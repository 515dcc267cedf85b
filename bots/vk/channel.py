"""One VK community inbox: its vkbottle API, its Callback API webhook or long poll, its sender.

Nothing is acknowledged to VK before it is stored: the webhook answers ``ok`` only after the
event was handled (an error answers 500 and VK sends the event again), and the long poll
moves its ``ts`` past a batch only once it was handled.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging

from aiohttp import web
from redis.asyncio import Redis

from bots.vk import callback, delivery, longpoll
from bots.vk.api import VkApi
from bots.vk.events import VkEvents
from bots.vk.limits import VkLimits
from core.channels import Sent
from core.desk import Desk
from core.messages import Outbound
from core.ratelimit_redis import RedisRateLimiter
from core.seen import RecentUpdates, RedisUpdates
from settings.config import VkInbox

log = logging.getLogger("otklik.vk")


class VkChannel:
    # What VK offers the core: callback buttons, edits of our own messages, files as links.
    max_text = delivery.MAX_TEXT
    buttons = True
    edits = True

    def __init__(
        self, inbox: VkInbox, desk: Desk, locale: str, *, redis: Redis | None = None
    ) -> None:
        """With ``redis``, the token's limit and the events seen are shared with every
        process serving the community; without, kept in this process."""
        self.inbox = inbox
        self.desk = desk
        limits, seen = VkLimits(), RecentUpdates()
        if redis is not None:  # keyed by a hash of the token, never the token
            token = hashlib.sha256(inbox.token.encode()).hexdigest()[:16]
            limits = VkLimits(RedisRateLimiter(redis, f"vk:{token}"))
            seen = RedisUpdates(redis, f"vk:{inbox.name}")
        self.api = VkApi(inbox.token, inbox.api_url, limits)
        self.shown = delivery.SentKeyboards()
        self.events = VkEvents(inbox, desk, self.api, self.shown, locale, seen)
        self._polling: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return f"/webhooks/vk/{self.inbox.name}"

    # -- the core's side -------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Sent:
        try:
            return await delivery.send(self.api, outbound, self.shown)
        except delivery.CustomerRefuses as exc:
            await self.desk.unreachable(self.inbox.name, outbound.external_id, exc.reason)
            raise

    # -- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application) -> None:
        if self.inbox.mode == "callback":
            app.router.add_post(self.path, self.webhook)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    async def webhook(self, request: web.Request) -> web.Response:
        return await callback.receive(request, self.inbox, self.events)

    async def _start(self, _app: web.Application) -> None:
        if self.inbox.mode == "longpoll":
            self._polling = asyncio.create_task(
                longpoll.poll(self.api, self.inbox.group_id, self.events, self.inbox.name),
                name=f"vk-{self.inbox.name}",
            )
        else:
            log.info("inbox %s: VK Callback API at %s", self.inbox.name, self.path)

    async def _stop(self, _app: web.Application) -> None:
        if self._polling:
            self._polling.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._polling
        await self.api.close()
