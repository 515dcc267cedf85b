"""One Telegram inbox: its aiogram Bot and Dispatcher, its webhook or polling loop, its sender.

Nothing is acknowledged to Telegram before it is stored: the webhook answers 200 only after
the update was handled (an error answers 500, and Telegram delivers the update again), and the
polling loop moves its offset past an update only once it was handled.
"""

from __future__ import annotations

import asyncio
import hmac
import logging

from aiogram import Bot, Dispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Update
from aiohttp import web
from redis.asyncio import Redis

from bots.telegram import agents, customers, delivery, presses
from bots.telegram.forum import Forum
from bots.telegram.fsm import SharedStorage
from bots.telegram.limits import TelegramLimits
from core.channels import Sent
from core.desk import Desk
from core.messages import Outbound
from core.ratelimit_redis import RedisRateLimiter
from core.seen import RecentUpdates, RedisUpdates, Seen
from core.stopping import unless_stopped
from settings.config import TelegramInbox

log = logging.getLogger("otklik.telegram")
UPDATES = ["message", "edited_message", "callback_query"]
POLL_SECONDS = 25


class TelegramChannel:
    """With ``redis``, the bot's flood limits, the updates seen and aiogram's FSM states are
    shared with every process serving the bot; without, kept in this process."""

    capabilities = delivery.CAPABILITIES

    def __init__(
        self,
        inbox: TelegramInbox,
        desk: Desk,
        locale: str,
        public_url: str,
        *,
        redis: Redis | None = None,
        prefix: str = "otklik",
    ) -> None:
        self.inbox = inbox
        self.bot = Bot(
            inbox.token,
            session=AiohttpSession(api=TelegramAPIServer.from_base(inbox.api_server)),
        )
        storage: BaseStorage = MemoryStorage()
        self.seen: Seen = RecentUpdates()
        self.limits = TelegramLimits()
        if redis is not None:  # keyed by the bot's id, never by its token
            storage = SharedStorage(redis, prefix)
            self.seen = RedisUpdates(redis, f"telegram:{inbox.name}", prefix=prefix)
            limiter = RedisRateLimiter(redis, f"telegram:{self.bot.id}", prefix=prefix)
            self.limits = TelegramLimits(limiter)
        self.dispatcher = Dispatcher(
            storage=storage, desk=desk, inbox=inbox, locale=locale, limits=self.limits
        )
        self.dispatcher.include_routers(customers.router(), presses.router())
        self.forum: Forum | None = None
        if inbox.agents_chat_id is not None:
            self.forum = Forum(
                self.bot,
                inbox,
                inbox.agents_chat_id,
                desk.db,
                locale,
                self.limits,
                public_url,
                desk.zone,  # the service's time zone (config.tz)
            )
            self.forum.subscribe(desk.bus)
            self.dispatcher["forum"] = self.forum
            self.dispatcher.include_router(agents.router(inbox.agents_chat_id))
        self.username: str | None = None
        self._webhook_url = f"{public_url}{self.path}"

    @property
    def path(self) -> str:
        return f"/webhooks/telegram/{self.inbox.name}"

    # -- the core's side -------------------------------------------------------------------

    async def send(self, outbound: Outbound) -> Sent:
        return await delivery.send(self.bot, outbound, limits=self.limits)

    async def tell_agent(self, chat_id: int, text: str) -> None:
        await delivery.tell(self.bot, chat_id, text, self.limits)

    async def open_file(self, file_id: str) -> bytes:
        """A customer's file, fetched from Telegram (bots may download up to 20 MB)."""
        file = await self.bot.get_file(file_id)
        if not file.file_path:
            raise FileNotFoundError(f"Telegram has no path for file {file_id}")
        content = await self.bot.download_file(file.file_path)
        assert content is not None
        return content.read()

    # -- lifecycle -------------------------------------------------------------------------

    def mount(self, app: web.Application, *, routes: bool = True) -> None:
        """The webhook route and setting the webhook (when ``routes``: a web process), and
        the lifecycle."""
        if routes and self.inbox.mode == "webhook":
            app.router.add_post(self.path, self.webhook)
            app.on_startup.append(self._set_webhook)
        app.on_startup.append(self._start)
        app.on_cleanup.append(self._stop)

    @property
    def polls(self) -> bool:
        return self.inbox.mode == "polling"

    def agent_link(self, code: str) -> str | None:
        """The deep link that hands the bot an agent's link code."""
        return f"https://t.me/{self.username}?start=link-{code}" if self.username else None

    async def _start(self, _app: web.Application) -> None:
        try:
            self.username = (await self.bot.me()).username
        except Exception as exc:  # the inbox still works; only agent links wait for a name
            log.warning("inbox %s: getMe failed (%s)", self.inbox.name, exc)

    async def _set_webhook(self, _app: web.Application) -> None:
        await self.bot.set_webhook(
            self._webhook_url,
            secret_token=self.inbox.webhook_secret,
            allowed_updates=UPDATES,
        )
        log.info("inbox %s: webhook set to %s", self.inbox.name, self._webhook_url)

    async def _stop(self, _app: web.Application) -> None:
        await self.bot.session.close()

    # -- updates in ------------------------------------------------------------------------

    async def webhook(self, request: web.Request) -> web.Response:
        given = request.headers.get("X-Telegram-Bot-Api-Secret-Token", "")
        expected = self.inbox.webhook_secret or ""
        if not expected or not hmac.compare_digest(given.encode(), expected.encode()):
            raise web.HTTPUnauthorized(text="wrong or missing X-Telegram-Bot-Api-Secret-Token")
        update = Update.model_validate(await request.json(), context={"bot": self.bot})
        await self.handle(update)
        return web.Response(text="ok")

    async def handle(self, update: Update) -> None:
        """Handle an update once; the same update delivered again is skipped here, and a
        message or press Telegram sends twice under new update ids is stored once by the core."""
        if await self.seen.seen(str(update.update_id)):
            return
        if all(getattr(update, kind) is None for kind in UPDATES):
            # None of the types we asked for: acknowledged and ignored. (aiogram would warn
            # with the update's JSON in the message, and vkbottle's warning hook formats
            # that message as a template: its braces raised, which answered 500.)
            log.info("update %s has none of %s; ignored", update.update_id, ", ".join(UPDATES))
            return
        await self.dispatcher.feed_update(self.bot, update)
        await self.seen.mark(str(update.update_id))

    async def poll(self) -> None:
        """Long polling until cancelled; an update that fails is fetched and tried again."""
        await self.bot.delete_webhook(drop_pending_updates=False)
        log.info("inbox %s: polling Telegram", self.inbox.name)
        offset: int | None = None
        pause = 1.0
        while True:
            unless_stopped()
            try:
                updates = await self.bot.get_updates(
                    offset=offset,
                    timeout=POLL_SECONDS,
                    allowed_updates=UPDATES,
                    request_timeout=POLL_SECONDS + 10,
                )
                for update in updates:
                    await self.handle(update)
                    offset = update.update_id + 1
                pause = 1.0
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Telegram, the network or our database: wait, try again
                unless_stopped()
                log.warning(
                    "inbox %s: polling failed (%s), retrying in %ss", self.inbox.name, exc, pause
                )
                await asyncio.sleep(pause)
                pause = min(pause * 2, 30.0)
