"""One VK community inbox: its vkbottle API, its Callback API webhook or long poll, its sender.

Nothing is acknowledged to VK before it is stored: the webhook answers ``ok`` only after the
event was handled (an error answers 500 and VK sends the event again), and the long poll
moves its ``ts`` past a batch only once it was handled.
"""

from __future__ import annotations

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
    capabilities = delivery.CAPABILITIES

    def __init__(
        self,
        inbox: VkInbox,
        desk: Desk,
        locale: str,
        *,
        redis: Redis | None = None,
        prefix: str = "otklik",
    ) -> None:
        """With ``redis``, the token's limit and the events seen are shared with every
        process serving the community; without, kept in this process."""
        self.inbox = inbox
        self.desk = desk
        limits, seen = VkLimits(), RecentUpdates()
        if redis is not None:  # keyed by a hash of the token, never the token
            token = hashlib.sha256(inbox.token.encode()).hexdigest()[:16]
            limits = VkLimits(RedisRateLimiter(redis, f"vk:{token}", prefix=prefix))
            seen = RedisUpdates(redis, f"vk:{inbox.name}", prefix=prefix)
        self.api = VkApi(inbox.token, inbox.api_url, limits)
        self.shown = delivery.SentKeyboards()
        self.events = VkEvents(inbox, desk, self.api, self.shown, locale, seen)

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

    def mount(self, app: web.Application, *, routes: bool = True) -> None:
        """The Callback API route (when ``routes``: a web process) and the lifecycle."""
        if routes and self.inbox.mode == "callback":
            app.router.add_post(self.path, self.webhook)
        app.on_cleanup.append(self._stop)

    @property
    def polls(self) -> bool:
        return self.inbox.mode == "longpoll"

    async def poll(self) -> None:
        """The long poll (run by the leader when ``polls``), until cancelled."""
        await longpoll.poll(self.api, self.inbox.group_id, self.events, self.inbox.name)

    async def webhook(self, request: web.Request) -> web.Response:
        return await callback.receive(request, self.inbox, self.events)

    async def _stop(self, _app: web.Application) -> None:
        await self.api.close()
